import Synchronization

/// The time one request has spent waiting on the database, across all its transactions (its
/// caller's authentication, the work, the audit row of a failure). A store that waits on a
/// server gives each transaction only what is left of its timeout, so a request waits at most
/// CARDVAULT_DATABASE_TIMEOUT in all, not that much once per transaction. The HTTP layer sets
/// one per request (`$current`); background work (sequencing, checkpoints) has none and gets
/// the full timeout for each transaction.
public final class DatabaseWaitBudget: Sendable {
    @TaskLocal public static var current: DatabaseWaitBudget?

    private let spentTime = Mutex(Duration.zero)

    public init() {}

    /// Time spent waiting so far.
    public var spent: Duration { spentTime.withLock { $0 } }

    /// What is left of `limit`, never negative.
    public func remaining(of limit: Duration) -> Duration { max(.zero, limit - spent) }

    public func charge(_ duration: Duration) { spentTime.withLock { $0 += duration } }
}
