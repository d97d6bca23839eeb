import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// The single row of `index_key`: the wrapped root of all keyed hashes.
struct IndexKeyRecord: FetchableRecord, PersistableRecord, TableRecord {
    static let databaseTableName = "index_key"

    enum Columns {
        static let id = Column("id")
        static let kekID = Column("kek_id")
        static let nonce = Column("nonce")
        static let wrapped = Column("wrapped")
        static let createdAt = Column("created_at")
    }

    var key: WrappedIndexKey

    init(_ key: WrappedIndexKey) { self.key = key }

    init(row: Row) throws {
        key = WrappedIndexKey(
            kekID: row[Columns.kekID],
            box: SealedBox(nonce: [UInt8](row[Columns.nonce] as Data), ciphertext: [UInt8](row[Columns.wrapped] as Data)),
            createdAt: row[Columns.createdAt])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.id] = 1
        container[Columns.kekID] = key.kekID
        container[Columns.nonce] = Data(key.box.nonce)
        container[Columns.wrapped] = Data(key.box.ciphertext)
        container[Columns.createdAt] = key.createdAt
    }
}
