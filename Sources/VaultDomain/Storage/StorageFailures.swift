import Synchronization

/// Why the database could not be written, as a storage backend found it: counted per cause for
/// `/metrics` (`cardvault_storage_failures_total{cause=…}`, a fixed name, never input), in
/// episodes that the backend logs once (its first failure, a change of cause, its end), never
/// once per request.
public enum StorageFailures {
    public enum Cause: String, Sendable, CaseIterable {
        /// The server refused the connection (nothing listens on the port).
        case refused
        /// No answer to connecting: host down, partitioned, or no route.
        case unreachable
        /// The server has no connection slot left (`max_connections`).
        case tooManyConnections = "too_many_connections"
        /// The server refused the vault's credentials.
        case credentials
        /// The TLS handshake failed (a certificate that does not verify, or no TLS on the server).
        case tls
        /// Only standbys answered: no server accepts writes (a failover in progress).
        case noPrimary = "no_primary"
        /// The server is starting up, shutting down or in recovery.
        case startingUp = "starting_up"
        /// A statement got no answer within the database timeout.
        case timeout
        /// A commit got no confirmation within the database timeout (a synchronous standby that
        /// does not answer, or the connection lost during COMMIT): it may have been applied.
        case unconfirmed
        /// Every connection of the pool stayed busy for the whole database timeout.
        case poolExhausted = "pool_exhausted"
        /// Anything else the server or the network said.
        case other
    }

    private struct Episode {
        var cause: Cause
        var since: ContinuousClock.Instant
        var failures: Int
    }

    private static let counts = Mutex<[Cause: Int]>([:])
    private static let episode = Mutex<Episode?>(nil)

    /// Counts one failure; answers whether it starts an episode or changes its cause (then
    /// the backend logs it; see `StorageFailures+Logging` in VaultPostgres).
    public static func record(_ cause: Cause) -> Bool {
        counts.withLock { $0[cause, default: 0] += 1 }
        let now = ContinuousClock.now
        return episode.withLock { current -> Bool in
            if var ongoing = current, ongoing.cause == cause {
                ongoing.failures += 1
                current = ongoing
                return false
            }
            current = Episode(cause: cause, since: current?.since ?? now, failures: (current?.failures ?? 0) + 1)
            return true
        }
    }

    /// A write committed: ends the episode going on, if any, and answers how it went.
    public static func recovered() -> (lasted: Duration, failures: Int, lastCause: Cause)? {
        episode.withLock { current in
            defer { current = nil }
            return current.map { (ContinuousClock.now - $0.since, $0.failures, $0.cause) }
        }
    }

    /// Whether an episode is going on (cheap: the store checks it after every commit).
    public static var failing: Bool { episode.withLock { $0 != nil } }

    /// Failures per cause since the process started.
    public static func snapshot() -> [Cause: Int] { counts.withLock { $0 } }
}
