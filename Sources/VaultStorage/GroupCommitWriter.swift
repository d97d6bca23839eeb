import Foundation
import GRDB
import VaultDomain

/// Group commit: write requests that arrive while a commit is in progress wait and then share
/// the next one. Each request runs in its own savepoint inside one `BEGIN IMMEDIATE`
/// transaction, so one failing request rolls back alone; the callers resume only after the
/// shared `COMMIT` (and its fsync, with `synchronous=FULL`) has returned. Under load this turns
/// one fsync per request into one fsync per batch.
final class GroupCommitWriter: Sendable {
    private let jobs: CommitQueue<PendingWrite>

    init(pool: DatabasePool, maxBatch: Int = 512) {
        jobs = CommitQueue(label: "cardvault.group-commit", maxBatch: maxBatch) { batch in
            var commitError: (any Error)?
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        let state = BatchState()
                        for job in batch { try job.run(db, state) }
                        return .commit
                    }
                }
            } catch {
                commitError = error
            }
            for job in batch { job.finish(commitError) }
        }
    }

    func submit<T: Sendable>(_ body: @escaping @Sendable (Database, BatchState) throws -> T) async throws -> T {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<T, any Error>) in
            jobs.enqueue(PendingWrite(body: body, continuation: continuation))
        }
    }
}

/// One caller's transaction body and its continuation, type-erased for the batch. Each
/// continuation is resumed exactly once, by `finish`, which the drain loop calls once per job
/// (so the unchecked continuation's contract holds without the checked one's bookkeeping).
final class PendingWrite: @unchecked Sendable {
    // @unchecked: `result` is written by the drain queue in `run` and read by it in `finish`;
    // the closures are only ever called from that queue.
    /// Runs the body in its own savepoint. Throws only when the savepoint machinery itself
    /// fails, which aborts the whole batch.
    let run: (Database, BatchState) throws -> Void
    let finish: ((any Error)?) -> Void

    init<T: Sendable>(body: @escaping @Sendable (Database, BatchState) throws -> T, continuation: UnsafeContinuation<T, any Error>) {
        let box = ResultBox<T>()
        run = { db, state in
            // Prepared once per connection: GRDB's inSavepoint would parse these on every job.
            try db.cachedStatement(sql: "SAVEPOINT job").execute()
            do {
                box.result = .success(try body(db, state))
            } catch {
                box.result = .failure(error)
                try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT job").execute()
                state.reset()  // whatever the job did is gone
            }
            try db.cachedStatement(sql: "RELEASE SAVEPOINT job").execute()
        }
        finish = { commitError in
            if let commitError {
                continuation.resume(throwing: commitError)
            } else {
                continuation.resume(with: box.result ?? .failure(CancellationError()))
            }
        }
    }
}

/// What the jobs of one batch transaction share. While the batch holds the write lock no other
/// connection can append to the audit log, so the newest row need only be read once.
/// The same holds for client credentials: one confirmed in this batch stays valid until a job
/// of the batch changes a client.
final class BatchState: @unchecked Sendable {
    // @unchecked: used only on the drain queue, within one transaction.
    var lastAudit: AuditEntry??
    var currentClients: Set<[UInt8]> = []

    func reset() {
        lastAudit = nil
        currentClients.removeAll()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
