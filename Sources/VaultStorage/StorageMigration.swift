import Foundation
import Synchronization
import GRDB
import VaultCrypto
import VaultDomain
import VaultPostgres

/// `cardvault migrate-storage --to postgres://...`: copies a stopped SQLite vault into an empty
/// PostgreSQL database in one transaction (every row as stored: ciphertext, wrapped keys and
/// hashes as bytes; nothing is decrypted), then checks every table on both sides: same rows,
/// by a keyed digest of each row. The keys folder and the seal stay as they are.
public enum StorageMigration {
    struct Table {
        let name: String
        let orderBy: String
    }

    /// Every table the vault keeps, parents first (keys before the rows sealed under them).
    static let tables = [
        Table(name: "seal", orderBy: "id"), Table(name: "data_keys", orderBy: "version"), Table(name: "index_key", orderBy: "id"),
        Table(name: "clients", orderBy: "id"), Table(name: "cards", orderBy: "token"),
        Table(name: "provider_tokens", orderBy: "card_token, provider"), Table(name: "provider_references", orderBy: "token, kind"),
        Table(name: "audit_log", orderBy: "seq"), Table(name: "idempotency_keys", orderBy: "client, key"),
        Table(name: "provider_calls", orderBy: "provider, reference"), Table(name: "provider_notifications", orderBy: "key"),
        Table(name: "enumeration_guard", orderBy: "day, client, bucket, card"), Table(name: "vault_markers", orderBy: "name"),
        Table(name: "card_imports", orderBy: "tenant, reference_hash"),
    ]

    public struct Summary: Sendable, Encodable {
        /// Rows copied per table.
        public let rows: [String: Int]
        public let seconds: Double
    }

    static func failure(_ message: String) -> VaultError { VaultError(.failedPrecondition, code: .invalidSetting, message: message) }

    public static func copy(from sqlitePath: String, to store: PostgresVaultStore) async throws -> Summary {
        let started = Date()
        guard FileManager.default.fileExists(atPath: sqlitePath) else { throw failure("no SQLite vault at \(sqlitePath)") }
        let source = try AppDatabase(path: sqlitePath)
        guard try await !store.holdsVault() else { throw failure("the PostgreSQL database already holds a vault; migrate into an empty one") }
        // The columns come from SQLite's own schema: a column PostgreSQL lacks fails the copy.
        let columns = try await source.pool.read { db -> [String: [String]] in
            let known = Set(tables.map(\.name))
            let present = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'")
            if let unknown = present.first(where: { !known.contains($0) }) {
                throw failure("this build does not know how to copy the table \(unknown)")
            }
            var out: [String: [String]] = [:]
            for table in tables { out[table.name] = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table.name))").map { $0["name"] as String } }
            return out
        }
        let counts = Mutex<[String: Int]>([:])
        try await store.importing { importer in
            try source.pool.read { db in
                for table in tables {
                    let names = columns[table.name] ?? []
                    let cursor = try Row.fetchCursor(db, sql: "SELECT \(names.joined(separator: ", ")) FROM \(table.name) ORDER BY \(table.orderBy)")
                    var n = 0
                    while let row = try cursor.next() {
                        do {
                            try importer.insert(table: table.name, columns: names, values: (0..<names.count).map { value(row[$0] as DatabaseValue) })
                        } catch {
                            // Named by table and row number; the server's text may quote a value.
                            throw failure("PostgreSQL refused row \(n + 1) of \(table.name); nothing was written there")
                        }
                        n += 1
                    }
                    counts.withLock { $0[table.name] = n }
                }
            }
        }
        // Both sides, table by table: the same multiset of rows (order-free: the databases sort
        // text differently), by a keyed hash of each row under a key made for this run.
        let key = try SymmetricKey.generate()
        for table in tables {
            let names = columns[table.name] ?? []
            let there = Digest(key: key)
            try await store.exporting(table: table.name, columns: names, orderBy: table.orderBy) { rows in rows.forEach(there.add) }
            let here = Digest(key: key)
            try await source.pool.read { db in
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(names.joined(separator: ", ")) FROM \(table.name)")
                while let row = try cursor.next() { here.add((0..<names.count).map { value(row[$0] as DatabaseValue) }) }
            }
            guard here.value == there.value else { throw failure("the copy of \(table.name) differs from the SQLite vault; nothing was changed there") }
        }
        return Summary(rows: counts.withLock { $0 }, seconds: Date().timeIntervalSince(started))
    }

    static func value(_ value: DatabaseValue) -> StoredValue {
        switch value.storage {
        case .null: return .null
        case .int64(let number): return .integer(number)
        case .double(let number): return .integer(Int64(number))
        case .string(let text): return .text(text)
        case .blob(let data): return .bytes([UInt8](data))
        }
    }

    /// Row count and the XOR of keyed row hashes: equal for the same set of distinct rows in
    /// any order (every table has a primary key, so no row repeats).
    final class Digest: @unchecked Sendable {
        let key: SymmetricKey
        private let lock = NSLock()
        private var count = 0
        private var folded = [UInt8](repeating: 0, count: 32)

        init(key: SymmetricKey) { self.key = key }

        func add(_ row: [StoredValue]) {
            let hash = KeyedHash.hash(row.flatMap(\.canonical), key: key)
            lock.withLock {
                count += 1
                for i in 0..<32 { folded[i] ^= hash[i] }
            }
        }

        var value: (Int, [UInt8]) { lock.withLock { (count, folded) } }
    }
}
