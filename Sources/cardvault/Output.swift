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
        text(String(decoding: data, as: UTF8.self) + "\n")
    }

    static func line(_ text: String) {
        self.text(text + "\n")
    }

    /// Standard output, or the operator's terminal when the command runs over the admin socket.
    static func text(_ text: String) {
        // `write(contentsOf:)` throws on a closed pipe (`cardvault ... | head`); `write(_:)` traps.
        if let session = AdminSession.current { session.write(text, error: false) } else { try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8)) }
    }

    static func status(_ text: String) {
        if let session = AdminSession.current { session.write(text, error: true) } else { try? FileHandle.standardError.write(contentsOf: Data(text.utf8)) }
    }

    /// Runs an admin action and reports a vault error the way the output mode asks.
    static func run(json: Bool, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as VaultError {
            if json {
                Output.json(["error": ["code": error.code.rawValue, "message": error.message]])
            } else {
                status("error: \(error.namedMessage)\n")
            }
            throw ExitCode(1)
        }
    }

    /// Who runs the command, from the kernel, never from the environment (`$USER` and
    /// `$SUDO_USER` are whatever the caller set): the account of the real user id, as
    /// `name(uid)`. Under sudo the real id is root's; the invoking account sudo recorded in
    /// `SUDO_UID` is added as `via-sudo-uid=N`, marked as sudo's claim (only root can set it
    /// for a root process, and root is already trusted with the vault).
    static var operatorName: String {
        let uid = getuid()
        var name = "uid\(uid)"
        if let entry = getpwuid(uid), let pwName = entry.pointee.pw_name {
            name = "\(String(cString: pwName))(\(uid))"
        }
        if uid == 0, let sudoUID = ProcessInfo.processInfo.environment["SUDO_UID"], let invoker = UInt32(sudoUID) {
            name += "|via-sudo-uid=\(invoker)"
        }
        return name
    }

    /// Over the admin socket: the peer the kernel names.
    static var actor: AuditActor { AdminSession.current?.actor ?? .operatorCLI(user: operatorName) }
}
