import Foundation
import GRDB
import VaultDomain

/// A row of `idempotency_keys`: the first answer to a request, by client and key.
enum IdempotencyRecord {
    static let find = "SELECT request_hash, status, body, created_at, mac FROM idempotency_keys WHERE client = ? AND key = ?"
    static let insert = "INSERT INTO idempotency_keys (client, key, request_hash, status, body, created_at, mac) VALUES (?, ?, ?, ?, ?, ?, ?)"
    /// Pending claims (status 0: sent, outcome unknown) stay: see `VaultTransaction.purgeIdempotency`.
    static let purge = "DELETE FROM idempotency_keys WHERE created_at < ? AND status <> 0"

    static func response(_ row: Row) -> StoredResponse {
        StoredResponse(
            requestHash: [UInt8](row[0] as Data), status: row[1], body: [UInt8](row[2] as Data), createdAt: StoredDate.date(row[3]),
            mac: (row[4] as Data?).map { [UInt8]($0) })
    }

    static func arguments(_ r: StoredResponse, client: String, key: String) -> StatementArguments {
        [client, key, Data(r.requestHash), r.status, Data(r.body), StoredDate.millis(r.createdAt), r.mac.map { Data($0) }]
    }
}
