import Foundation
import Synchronization

/// A token bucket per key (a client id): `rate` tokens a second, at most `burst` saved up. One
/// lock per request, no allocation once a key is known. The table is bounded: when it is full,
/// buckets that have refilled completely (and so carry no state worth keeping) are dropped.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public let rate: Double
    public let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    static let capacity = 10_000

    /// `rate` tokens a second (at least one a day), `burst` >= 1.
    public init(rate: Double, burst: Int) {
        self.rate = max(rate, 1.0 / 86_400)
        self.burst = Double(max(1, burst))
    }

    /// Takes one token for `key`; nil when allowed, otherwise how long until one is available.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { table -> Duration? in
            var bucket = table[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + max(0, seconds) * rate)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                table[key] = bucket
                return .seconds((1 - bucket.tokens) / rate)
            }
            bucket.tokens -= 1
            if table[key] == nil && table.count >= Self.capacity {
                let burst = self.burst, rate = self.rate
                table = table.filter { _, b in
                    let idle = now - b.updated
                    return b.tokens + (Double(idle.components.seconds) * rate) < burst
                }
                if table.count >= Self.capacity { table.removeAll() }
            }
            table[key] = bucket
            return nil
        }
    }
}
