import Foundation
import VaultDomain

/// Group commit for PostgreSQL, as `GroupCommitWriter` does for SQLite: write bodies that arrive
/// while a batch runs wait and share the next transaction. One connection, one thread: BEGIN,
/// the writers' advisory lock, each body in its own savepoint (a failing body rolls back alone),
/// one COMMIT. Writes are serial across instances anyway (the advisory lock), so one commit
/// (and one WAL flush, and one wait for the synchronous standby) per batch instead of per
/// request is where the throughput is.
final class PostgresGroupCommit: Sendable {
    private let writer: PostgresWriterConnection
    private let jobs: CommitQueue<Job>

    /// One caller's body and continuation, type-erased; `finish` resumes it exactly once.
    struct Job: Sendable {
        let run: @Sendable (PostgresSession, PostgresBatch) throws -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    static let unavailable = VaultError(.unavailable, code: .storageUnavailable, message: "the database is not available")

    init(lock: Int64, maxBatch: Int = 256, connect: @escaping @Sendable () throws -> PostgresSession) {
        let writer = PostgresWriterConnection(connect: connect)
        self.writer = writer
        jobs = CommitQueue(label: "cardvault.postgres.group-commit", maxBatch: maxBatch) { batch in
            Self.run(batch, on: writer, lock: lock)
        }
    }

    func submit<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let box = Box<T>()
            let job = Job(
                run: { session, batch in
                    try session.send("SAVEPOINT job")
                    do {
                        let value = try body(PostgresTransaction(session: session, batch: batch))
                        try session.settle()  // every write of the body succeeded
                        box.result = .success(value)
                    } catch {
                        batch.reset()  // whatever the job did is gone
                        try? session.settle()  // its queued writes' outcome no longer matters
                        // The server's own text (which may quote a value) never reaches a caller.
                        box.result = .failure(error is VaultError ? error : PostgresGroupCommit.unavailable)
                        try session.run("ROLLBACK TO SAVEPOINT job")
                    }
                    try session.send("RELEASE SAVEPOINT job")
                },
                finish: { batchError in
                    if let batchError {
                        continuation.resume(throwing: batchError)
                    } else {
                        continuation.resume(with: box.result ?? .failure(CancellationError()))
                    }
                })
            jobs.enqueue(job)
        }
    }

    /// One batch: BEGIN, the writers' advisory lock, every job in its savepoint, COMMIT.
    private static func run(_ batch: [Job], on writer: PostgresWriterConnection, lock: Int64) {
        var failure: (any Error)?
        do {
            let session = try writer.current()
            try PostgresVaultStore.transaction(session, begin: "BEGIN") {
                try session.run("SELECT pg_advisory_xact_lock(\(lock))")
                let shared = PostgresBatch()
                for job in batch { try job.run(session, shared) }
            }
        } catch {
            failure = error is VaultError ? error : unavailable
            writer.dropIfBroken()
        }
        for job in batch { job.finish(failure) }
    }

    /// Closes the writer's connection.
    func close() { writer.close() }
}

private final class Box<T>: @unchecked Sendable {
    // @unchecked: written by the drain queue in `run`, read by it in `finish`.
    var result: Result<T, any Error>?
}

/// What the jobs of one batch share, as SQLite's `BatchState`: while the batch holds the
/// writers' advisory lock nobody else appends to the audit log, so its head is read once; a
/// client credential confirmed stays valid until a job of the batch changes a client.
final class PostgresBatch: @unchecked Sendable {
    // @unchecked: used only on the writer's queue, within one transaction.
    var lastAudit: AuditEntry??
    var currentClients: Set<[UInt8]> = []

    func reset() {
        lastAudit = nil
        currentClients.removeAll()
    }
}
