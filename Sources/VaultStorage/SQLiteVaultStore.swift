import Foundation
import GRDB
import Logging
import VaultDomain

/// `VaultStore` on SQLite: writes are group-committed, reads use the pool's readers.
/// Storage failures reach callers as `storage_unavailable` (the detail goes to the log, without
/// SQL arguments, which GRDB keeps private by default).
public final class SQLiteVaultStore: VaultStore {
    public let database: AppDatabase
    private let writer: GroupCommitWriter
    private let logger: Logger

    public init(database: AppDatabase, logger: Logger = Logger(label: "cardvault.storage")) {
        self.database = database
        writer = GroupCommitWriter(pool: database.pool)
        self.logger = logger
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T {
        StorageCommits.record()
        do {
            return try await writer.submit { db, batch in try body(SQLiteTransaction(db: db, batch: batch)) }
        } catch {
            throw map(error)
        }
    }

    /// Reads run on the calling thread (GRDB's synchronous read): the look-ups behind a request
    /// take microseconds, less than a hop to a reader queue and back would.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any VaultReader) throws -> T) async throws -> T {
        do {
            return try readOnCallingThread(body)
        } catch {
            throw map(error)
        }
    }

    /// `AppDatabase.checkpoint()` on the writer connection, between group commits.
    public func checkpoint() async throws {
        do {
            try await database.checkpoint()
        } catch {
            throw map(error)
        }
    }

    private func readOnCallingThread<T>(_ body: (any VaultReader) throws -> T) throws -> T {
        try database.pool.read { db in try body(SQLiteTransaction(db: db)) }
    }

    private func map(_ error: any Error) -> any Error {
        if error is VaultError { return error }
        if let db = error as? DatabaseError {
            logger.error("storage failure", metadata: ["sqlite_code": "\(db.resultCode)", "extended_code": "\(db.extendedResultCode)"])
        } else {
            logger.error("storage failure", metadata: ["error_type": "\(type(of: error))"])
        }
        return VaultError(.unavailable, code: .storageUnavailable, message: "the vault's storage is not available")
    }
}
