import Foundation
import NIOCore
import PostgresNIO
import VaultDomain

/// Bulk copy into and out of the PostgreSQL tables, for `cardvault migrate-storage`: rows move
/// as they are stored (ciphertext, wrapped keys and hashes as bytes; nothing is decrypted).
extension PostgresVaultStore {
    /// Whether the database already holds a vault (any key or card row).
    public func holdsVault() async throws -> Bool {
        try await onWorker { session in
            try session.rows("SELECT EXISTS (SELECT 1 FROM data_keys) OR EXISTS (SELECT 1 FROM cards) OR EXISTS (SELECT 1 FROM seal)").first?
                .decode(Bool.self) ?? true
        }
    }

    /// Runs `body` in one write transaction: every row it inserts commits together, or none.
    public func importing(_ body: @escaping @Sendable (PostgresImport) throws -> Void) async throws {
        try await onWorker { session in
            try Self.transaction(session, begin: "BEGIN") {
                try session.run("SELECT pg_advisory_xact_lock(\(Self.writeLock))")
                try body(PostgresImport(session: session))
            }
        }
    }

    /// Every row of `table` (its `columns`, ordered by `orderBy`), `batch` rows at a time through
    /// a server-side cursor in one snapshot.
    public func exporting(
        table: String, columns: [String], orderBy: String, batch: Int = 1_000, _ body: @escaping @Sendable ([[StoredValue]]) throws -> Void
    ) async throws {
        try await onWorker { session in
            try Self.transaction(session, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                try session.run(
                    PostgresQuery(unsafeSQL: "DECLARE export NO SCROLL CURSOR FOR SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY \(orderBy)"))
                while true {
                    let rows = try session.rows(PostgresQuery(unsafeSQL: "FETCH \(batch) FROM export"))
                    if rows.isEmpty { break }
                    try body(try rows.map { row in try row.map(Self.value) })
                }
            }
        }
    }

    static func value(_ cell: PostgresCell) throws -> StoredValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .text, .varchar, .name: return .text(try cell.decode(String.self))
        case .bytea: return .bytes(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        default: throw VaultError(.unavailable, code: .storageUnavailable, message: "a column of \(cell.columnName) has an unexpected type")
        }
    }
}

/// Inserts rows inside `PostgresVaultStore.importing`.
public struct PostgresImport: Sendable {
    let session: PostgresSession

    public func insert(table: String, columns: [String], values: [StoredValue]) throws {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .bytes(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        let placeholders = (1...max(values.count, 1)).map { "$\($0)" }.joined(separator: ", ")
        try session.run(
            PostgresQuery(unsafeSQL: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))", binds: bindings))
    }
}
