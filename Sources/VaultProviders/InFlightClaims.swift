import Synchronization
import VaultDomain

/// The idempotency claims this process is sending right now. A pending claim in storage that
/// is not in here was left by a request that timed out or lost its connection after sending,
/// or by a process that died mid-call: its outcome is unknown, and a retry is told so
/// (`outcome_unknown`) instead of being sent again. Counted, not a set, so that a duplicate that
/// loses the race for the claim cannot unregister the winner. Bounded by concurrent requests.
public final class InFlightClaims: Sendable {
    private let claims = Mutex<[String: Int]>([:])

    public init() {}

    func enter(_ id: String) { claims.withLock { $0[id, default: 0] += 1 } }

    func leave(_ id: String) {
        claims.withLock { table in
            guard let n = table[id] else { return }
            table[id] = n > 1 ? n - 1 : nil
        }
    }

    func contains(_ id: String) -> Bool { claims.withLock { $0[id] != nil } }
}
