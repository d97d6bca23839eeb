import ArgumentParser
import Foundation
import VaultDomain
import VaultPostgres
import VaultStorage

/// `cardvault migrate-storage --to postgres://...`: moves a stopped SQLite vault to PostgreSQL.
struct MigrateStorage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-storage",
        abstract: "Copy a stopped SQLite vault (--database) into an empty PostgreSQL database, then verify every table and the audit chain.")
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .customLong("to"), help: "postgres://USER@HOST:PORT/DB (password from CARDVAULT_DATABASE_PASSWORD_FILE).")
    var destination: String

    struct Report: Encodable {
        let rows: [String: Int]
        let seconds: Double
        let auditRows: Int
        let destination: String
        enum CodingKeys: String, CodingKey {
            case rows, seconds, destination
            case auditRows = "audit_rows"
        }
    }

    func run() async throws {
        try await Output.run(json: output.json) {
            guard !PostgresDatabaseURL.isPostgres(vault.databasePath) else {
                throw ValidationError("--database names the SQLite vault to copy; the PostgreSQL URL goes in --to")
            }
            // A running server would keep writing to the file being copied.
            if AdminClient(path: vault.adminSocketPath) != nil {
                throw ValidationError("a cardvault server answers on \(vault.adminSocketPath); stop it before migrating its storage")
            }
            let url = try PostgresDatabaseURL(destination, passwordFile: ProcessInfo.processInfo.environment["CARDVAULT_DATABASE_PASSWORD_FILE"])
            let summary = try await StorageMigration.copy(from: vault.databasePath, to: try PostgresVaultStore(url: url))
            // The copy opened with the vault's own keys: the chain verifies, and the move is the
            // first row the new database adds to it.
            var target = vault
            target.database = destination
            let runtime = try await target.openLoadedRuntime()
            guard case .intact(let auditRows) = try await runtime.audit.verify(actor: Output.actor) else {
                throw ValidationError("the audit chain of the copy does not verify")
            }
            try await runtime.audit.record(
                "storage.migrate", subject: "sqlite->\(url.description)", outcome: .success, actor: Output.actor)
            let report = Report(rows: summary.rows, seconds: summary.seconds, auditRows: auditRows, destination: url.description)
            if output.json { Output.json(report); return }
            let total = summary.rows.values.reduce(0, +)
            Output.line(
                String(
                    format: "copied %d row(s) (%d card(s), %d audit row(s)) to %@ in %.1f s; every table matches, audit chain intact",
                    total, summary.rows["cards"] ?? 0, auditRows, url.description, summary.seconds))
            Output.line(
                "start the vault with --database \(destination) (the keys folder and seal are unchanged); keep the SQLite file until you have checked it")
        }
    }
}
