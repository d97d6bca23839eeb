import Logging
import ServiceLifecycle
import VaultDomain
import VaultStorage

/// Gives committed audit rows their place in the log, where writers only queue them
/// (PostgreSQL: see `VaultStore.sequenceAudit`). Every instance runs it; the database lets one
/// at a time sequence a batch, so the log has one order whichever instances live. A row waits
/// at most about `interval` plus one batch after its commit while an instance runs; rows
/// committed while none runs (or while all are sealed) are sequenced by the next to run.
/// Added to the server only where the store sequences after commit (a service that returned
/// at once would stop the server).
struct AuditSequencerService: Service {
    let runtime: VaultRuntime
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Sealed: no audit key in memory to chain with.
        await PeriodicWork(interval: interval, logger: logger, failure: "audit sequencing failed").run(
            when: { !runtime.keys.isSealed && runtime.keys.isLoaded }
        ) {
            // A full batch: more may wait, go on at once.
            try await runtime.audit.sequence() == 1_000
        }
    }
}
