import ArgumentParser
import Foundation
import Logging
import VaultCrypto

/// `cardvault`: the vault's server and its admin commands. Parsing and printing only; the work
/// is done by the libraries, the same code for both.
@main
struct Cardvault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cardvault",
        abstract: "PCI-scoped card vault: tokenizes card numbers into encrypted SQLite (or PostgreSQL) and serves them over a local JSON API.",
        subcommands: [
            Serve.self, Keys.self, Operator.self, Clients.self, Tenants.self, Audit.self, Backup.self, Restore.self, MigrateStorage.self, OpenAPI.self,
            ImportKey.self, Import.self, Export.self, SealFile.self, MappingKey.self, OpenFile.self,
        ]
    )

    static func main() async {
        // No core file may ever hold key bytes or card data.
        ProcessHardening.disableCoreDumps()
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        do {
            var command = try parseAsRoot()
            if let code = try await forwardToServer(command) { throw ExitCode(code) }
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            await OfflineRuntimes.finish()
            exit(withError: error)
        }
        await OfflineRuntimes.finish()
    }

    /// Under the shamir and pkcs11 seals the keys live in the running server: a command that
    /// needs them is sent there over the admin socket when a server answers, and runs here
    /// (shares on standard input, or the token) only when none does. Under the file seal every
    /// command runs here, as before. Answers the remote exit status, or nil to run locally.
    static func forwardToServer(_ command: ParsableCommand) async throws -> Int32? {
        guard AdminSession.current == nil, let remote = command as? RemoteAdminCommand else { return nil }
        let vault = remote.vault
        guard let seal = try? await vault.seal(), seal.kind != .file, var client = try AdminClient.connect(vault) else { return nil }
        defer { client.close() }
        var shares: [String] = []
        if command is DualControlCommand, seal.kind == .shamir {
            shares = try ShareInput.read(count: seal.threshold ?? 0, purpose: "dual control")
        }
        var request: [String: Any] = [
            "op": "run", "argv": absolutePaths(Array(CommandLine.arguments.dropFirst())), "shares": shares,
            "database": URL(fileURLWithPath: vault.databasePath).standardizedFileURL.path,
        ]
        if let sudo = ProcessInfo.processInfo.environment["SUDO_UID"], let uid = Int(sudo) { request["sudo_uid"] = uid }
        let result = try client.exchange(
            request, shareFiles: (command as? HandsOverShares)?.shareFiles ?? [], json: CommandLine.arguments.contains("--json"))
        if let error = result["error"] as? [String: Any] {
            FileHandle.standardError.write(Data("error: \(error["message"] as? String ?? "the server refused the command")\n".utf8))
            return 1
        }
        return AdminClient.finish(result)
    }

    /// The server runs the command in its own working folder: file arguments (`backup --to`,
    /// `audit verify --anchor`) are made absolute here, against the operator's.
    static func absolutePaths(_ arguments: [String]) -> [String] {
        // `--to` is a file for `backup` only (`keys migrate-seal --to` names a seal).
        var pathOptions: Set<String> = ["--anchor", "--database", "--keys-dir"]
        if arguments.first == "backup" { pathOptions.insert("--to") }
        if arguments.first == "import" { pathOptions.insert("--mapping") }
        if arguments.first == "export" { pathOptions.formUnion(["--out", "--tokens"]) }
        // `import`'s one positional argument is its card file; its other options take values.
        let importValues: Set<String> = ["--tenant", "--mapping-key", "--batch-size", "--admin-socket", "--service-user", "--mapping"]
        let here = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: here)).standardizedFileURL.path
        }
        var result: [String] = []
        var next = false
        for argument in arguments {
            if next {
                result.append(absolute(argument))
                next = false
            } else if let equals = argument.firstIndex(of: "="), pathOptions.contains(String(argument[..<equals])) {
                result.append(String(argument[..<equals]) + "=" + absolute(String(argument[argument.index(after: equals)...])))
            } else if arguments.first == "import", result.count > 0, !argument.hasPrefix("-"), !importValues.contains(result.last ?? "") {
                result.append(absolute(argument))
            } else {
                result.append(argument)
                next = pathOptions.contains(argument)
            }
        }
        return result
    }
}
