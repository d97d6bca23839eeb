import Foundation
import GRDB
import VaultCrypto
import VaultDomain

/// Rows of `data_keys` (each wrapped data-key version), the single row of `index_key` and the
/// single row of `seal` (the seal descriptor as JSON).
enum KeyRecords {
    static let dataKeys = "SELECT version, state, kek_id, nonce, wrapped, created_at, retired_at FROM data_keys ORDER BY version"
    static let upsertDataKey = """
        INSERT INTO data_keys (version, state, kek_id, nonce, wrapped, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(version) DO UPDATE SET state = excluded.state, kek_id = excluded.kek_id, nonce = excluded.nonce,
            wrapped = excluded.wrapped, retired_at = excluded.retired_at
        """
    static let indexKey = "SELECT kek_id, nonce, wrapped, created_at FROM index_key WHERE id = 1"
    static let upsertIndexKey = """
        INSERT INTO index_key (id, kek_id, nonce, wrapped, created_at) VALUES (1, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET kek_id = excluded.kek_id, nonce = excluded.nonce, wrapped = excluded.wrapped
        """

    static func dataKey(_ row: Row) throws -> WrappedDataKey {
        guard let state = DataKeyState(rawValue: row[1]) else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "malformed row in data_keys")
        }
        let nonce: Data? = row[3]
        let wrapped: Data? = row[4]
        var box: SealedBox? = nil
        if let nonce, let wrapped { box = SealedBox(nonce: [UInt8](nonce), ciphertext: [UInt8](wrapped)) }
        return WrappedDataKey(
            version: row[0], state: state, kekID: row[2], box: box, createdAt: StoredDate.date(row[5]),
            retiredAt: (row[6] as Int64?).map(StoredDate.date))
    }

    static func dataKeyArguments(_ k: WrappedDataKey) -> StatementArguments {
        [
            k.version, k.state.rawValue, k.kekID, k.box.map { Data($0.nonce) }, k.box.map { Data($0.ciphertext) },
            StoredDate.millis(k.createdAt), k.retiredAt.map(StoredDate.millis),
        ]
    }

    static func indexKey(_ row: Row) -> WrappedIndexKey {
        WrappedIndexKey(kekID: row[0], box: SealedBox(nonce: [UInt8](row[1] as Data), ciphertext: [UInt8](row[2] as Data)), createdAt: StoredDate.date(row[3]))
    }

    static func indexKeyArguments(_ k: WrappedIndexKey) -> StatementArguments {
        [k.kekID, Data(k.box.nonce), Data(k.box.ciphertext), StoredDate.millis(k.createdAt)]
    }

    static let seal = "SELECT descriptor FROM seal WHERE id = 1"
    static let upsertSeal = """
        INSERT INTO seal (id, descriptor, updated_at) VALUES (1, ?, ?)
        ON CONFLICT(id) DO UPDATE SET descriptor = excluded.descriptor, updated_at = excluded.updated_at
        """

    static func seal(_ row: Row) throws -> SealDescriptor {
        let text: String = row[0]
        return try JSONDecoder().decode(SealDescriptor.self, from: Data(text.utf8))
    }

    static func sealArguments(_ seal: SealDescriptor, at date: Date) throws -> StatementArguments {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [String(decoding: try encoder.encode(seal), as: UTF8.self), StoredDate.millis(date)]
    }
}
