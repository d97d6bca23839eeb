import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// A row of `data_keys`: one wrapped data-key version.
struct DataKeyRecord: FetchableRecord, PersistableRecord, TableRecord {
    static let databaseTableName = "data_keys"

    enum Columns {
        static let version = Column("version")
        static let state = Column("state")
        static let kekID = Column("kek_id")
        static let nonce = Column("nonce")
        static let wrapped = Column("wrapped")
        static let createdAt = Column("created_at")
        static let retiredAt = Column("retired_at")
    }

    var key: WrappedDataKey

    init(_ key: WrappedDataKey) { self.key = key }

    init(row: Row) throws {
        let nonce: Data? = row[Columns.nonce]
        let wrapped: Data? = row[Columns.wrapped]
        guard let state = DataKeyState(rawValue: row[Columns.state]) else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "unknown data key state")
        }
        key = WrappedDataKey(
            version: row[Columns.version], state: state, kekID: row[Columns.kekID],
            box: zip2(nonce, wrapped).map { SealedBox(nonce: [UInt8]($0), ciphertext: [UInt8]($1)) },
            createdAt: row[Columns.createdAt], retiredAt: row[Columns.retiredAt])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container[Columns.version] = key.version
        container[Columns.state] = key.state.rawValue
        container[Columns.kekID] = key.kekID
        container[Columns.nonce] = key.box.map { Data($0.nonce) }
        container[Columns.wrapped] = key.box.map { Data($0.ciphertext) }
        container[Columns.createdAt] = key.createdAt
        container[Columns.retiredAt] = key.retiredAt
    }
}

func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
