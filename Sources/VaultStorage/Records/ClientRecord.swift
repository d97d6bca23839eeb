import Foundation
import GRDB
import VaultDomain

/// A row of `clients`. The secret exists here only as a keyed hash.
struct ClientRecord: FetchableRecord, PersistableRecord, TableRecord {
    static let databaseTableName = "clients"

    enum Columns {
        static let id = Column("id")
        static let name = Column("name")
        static let scopes = Column("scopes")
        static let secretHash = Column("secret_hash")
        static let createdAt = Column("created_at")
        static let revokedAt = Column("revoked_at")
        static let secretRotatedAt = Column("secret_rotated_at")
    }

    var client: Client
    /// Set only when inserting; updates leave the stored hash alone.
    var secretHash: [UInt8]?

    init(_ client: Client, secretHash: [UInt8]? = nil) {
        self.client = client
        self.secretHash = secretHash
    }

    init(row: Row) throws {
        client = Client(
            id: row[Columns.id], name: row[Columns.name], scopes: Scope.parseStored(row[Columns.scopes]),
            createdAt: row[Columns.createdAt], revokedAt: row[Columns.revokedAt], secretRotatedAt: row[Columns.secretRotatedAt])
    }

    /// Writes the secret hash only when one is given (insert); `setSecretHash` changes it later.
    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.id] = client.id
        container[Columns.name] = client.name
        container[Columns.scopes] = client.scopes.map(\.rawValue).sorted().joined(separator: ",")
        container[Columns.createdAt] = client.createdAt
        container[Columns.revokedAt] = client.revokedAt
        container[Columns.secretRotatedAt] = client.secretRotatedAt
        if let secretHash { container[Columns.secretHash] = Data(secretHash) }
    }
}
