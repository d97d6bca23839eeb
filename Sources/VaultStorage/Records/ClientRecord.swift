import Foundation
import GRDB
import VaultDomain

/// A row of `clients`. The secret exists here only as a keyed hash.
enum ClientRecord {
    static let columns = "id, name, scopes, created_at, revoked_at, secret_rotated_at, tenant, secret_hash, mac"
    static let bySecretHash = "SELECT \(columns) FROM clients WHERE secret_hash = ?"
    static let byName = "SELECT \(columns) FROM clients WHERE name = ?"
    static let all = "SELECT \(columns) FROM clients ORDER BY created_at, name"
    static let insert =
        "INSERT INTO clients (id, name, scopes, created_at, revoked_at, secret_rotated_at, tenant, secret_hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    static let update =
        "UPDATE clients SET name = ?, scopes = ?, created_at = ?, revoked_at = ?, secret_rotated_at = ?, tenant = ?, secret_hash = ?, mac = ? WHERE id = ?"

    static func client(_ row: Row) -> StoredClient {
        StoredClient(
            client: Client(
                id: row[0], name: row[1], scopes: Scope.parseStored(row[2]), createdAt: StoredDate.date(row[3]),
                revokedAt: (row[4] as Int64?).map(StoredDate.date), secretRotatedAt: (row[5] as Int64?).map(StoredDate.date),
                tenant: Tenant(stored: row[6])),
            secretHash: Array(row[7] as Data), mac: (row[8] as Data?).map(Array.init))
    }

    static func arguments(_ row: StoredClient) -> [any DatabaseValueConvertible & Sendable] {
        let c = row.client
        return [
            c.name, scopes(c), StoredDate.millis(c.createdAt), c.revokedAt.map(StoredDate.millis), c.secretRotatedAt.map(StoredDate.millis),
            c.tenant.rawValue, Data(row.secretHash), row.mac.map { Data($0) },
        ]
    }

    static func scopes(_ client: Client) -> String {
        client.scopes.map(\.rawValue).sorted().joined(separator: ",")
    }
}
