import ArgumentParser
import Logging
import VaultCrypto

/// `cardvault`: the vault's server and its admin commands. Parsing and printing only; the work
/// is done by the libraries, the same code for both.
@main
struct Cardvault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cardvault",
        abstract: "PCI-scoped card vault: tokenizes card numbers into encrypted SQLite and serves them over a local JSON API.",
        subcommands: [Serve.self, Keys.self, Clients.self, Audit.self, Backup.self, Restore.self, OpenAPI.self]
    )

    static func main() async {
        // No core file may ever hold key bytes or card data.
        ProcessHardening.disableCoreDumps()
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
