import Foundation
import GRDB
import VaultDomain

/// A row of `idempotency_keys`: the first answer to a request, by client and key.
struct IdempotencyRecord: FetchableRecord, PersistableRecord, TableRecord {
    static let databaseTableName = "idempotency_keys"

    enum Columns {
        static let client = Column("client")
        static let key = Column("key")
        static let requestHash = Column("request_hash")
        static let status = Column("status")
        static let body = Column("body")
        static let createdAt = Column("created_at")
    }

    var client: String
    var key: String
    var response: StoredResponse

    init(client: String, key: String, response: StoredResponse) {
        self.client = client
        self.key = key
        self.response = response
    }

    init(row: Row) throws {
        client = row[Columns.client]
        key = row[Columns.key]
        response = StoredResponse(
            requestHash: [UInt8](row[Columns.requestHash] as Data), status: row[Columns.status],
            body: [UInt8](row[Columns.body] as Data), createdAt: row[Columns.createdAt])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.client] = client
        container[Columns.key] = key
        container[Columns.requestHash] = Data(response.requestHash)
        container[Columns.status] = response.status
        container[Columns.body] = Data(response.body)
        container[Columns.createdAt] = response.createdAt
    }
}
