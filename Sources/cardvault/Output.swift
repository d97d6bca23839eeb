import ArgumentParser
import Foundation
import VaultDomain

/// Printing for the admin commands: plain text for people, `--json` for scripts, and errors as
/// one line (or one JSON object) with a non-zero exit status.
enum Output {
    static func json<T: Encodable>(_ value: T) {
        let encoder = VaultJSON.makeEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func status(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Runs an admin action and reports a vault error the way the output mode asks.
    static func run(json: Bool, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as VaultError {
            if json {
                Output.json(["error": ["code": error.code.rawValue, "message": error.message]])
            } else {
                FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            }
            throw ExitCode(1)
        }
    }

    static var operatorName: String {
        let env = ProcessInfo.processInfo.environment
        return env["SUDO_USER"] ?? env["USER"] ?? "uid\(getuid())"
    }

    static var actor: AuditActor { .operatorCLI(user: operatorName) }
}
