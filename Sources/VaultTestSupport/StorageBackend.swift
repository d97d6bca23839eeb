import Foundation
import VaultDomain
import VaultStorage

/// A storage backend the conformance suite runs against: it makes a fresh, initialised vault
/// over that backend. Today SQLite (a file in a temporary folder); the PostgreSQL backend
/// (issue 15) adds itself here with a throwaway cluster, and every conformance test then runs
/// against both.
public struct StorageBackend: Sendable {
    public let name: String
    public let make: @Sendable () async throws -> TemporaryVault

    public static let sqlite = StorageBackend(name: "sqlite") { try await TemporaryVault() }

    /// Every backend this machine can run.
    public static var all: [StorageBackend] { [.sqlite] }
}
