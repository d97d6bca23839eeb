import ArgumentParser
import Foundation
import VaultStorage

/// `cardvault backup --to FILE`: an online backup while the server runs.
struct Backup: AsyncParsableCommand, RemoteAdminCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database to FILE while the vault runs (as encrypted as the database; no master key in it).")
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .customLong("to"), help: "The backup file to create (must not exist).") var destination: String

    func run() async throws {
        try await Output.run(json: output.json) {
            let summary = try await VaultBackup.create(try await vault.openRuntime(), to: destination, actor: Output.actor)
            if output.json { Output.json(summary); return }
            Output.line(
                String(
                    format: "backed up %d card(s) and %d provider reference(s) to %@ (%d bytes, master key %@) in %.1f s",
                    summary.cards, summary.providerReferences, summary.path, summary.bytes, summary.masterKeyID, summary.seconds))
        }
    }
}

/// `cardvault restore --from FILE`: puts a backup in place, with the server stopped.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a backup in place as the database (server stopped, destination moved aside); checks it fits the master key.")
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .customLong("from"), help: "The backup file made by `cardvault backup`.") var source: String

    func run() async throws {
        try await Output.run(json: output.json) {
            // A shamir backup is restored under dual control: its shares on standard input.
            var custody: [String] = []
            let seal = try VaultBackup.seal(of: source)
            if seal.kind == .shamir { custody = try ShareInput.read(count: seal.threshold ?? 0, purpose: "restore (dual control)") }
            let summary = try await VaultBackup.restore(
                from: source, to: vault.databasePath, keysDirectory: vault.keysDirectory, actor: Output.actor, custody: custody,
                hardwareKeys: VaultOptions.hardwareKeys())
            if output.json { Output.json(summary); return }
            Output.line("restored \(summary.cards) card(s) and \(summary.providerReferences) provider reference(s) into \(summary.path)")
        }
    }
}
