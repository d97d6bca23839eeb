import Foundation
import VaultDomain
import VaultStorage

/// A storage backend the conformance suite runs against: it makes a fresh, initialised vault
/// over that backend: SQLite (a file in a temporary folder) or PostgreSQL (a database in a
/// throwaway cluster).
public struct StorageBackend: Sendable {
    public let name: String
    public let make: @Sendable () async throws -> TemporaryVault

    public static let sqlite = StorageBackend(name: "sqlite") { try await TemporaryVault() }

    /// A new database in the test process's throwaway cluster (`PostgresCluster`).
    public static let postgres = StorageBackend(name: "postgres") {
        try await TemporaryVault(database: try PostgresCluster.shared.get().makeDatabase())
    }

    /// Every backend this machine can run: PostgreSQL when its server is installed (`.ci/run`
    /// installs it, so CI always runs both).
    public static var all: [StorageBackend] { PostgresCluster.isInstalled ? [.sqlite, .postgres] : [.sqlite] }
}
