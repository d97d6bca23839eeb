import Foundation
import Synchronization
import VaultCrypto

/// Pending security codes, in guarded memory only: never on disk, gone after a restart.
/// Each code has a time-to-live, is handed out at most once (`take`), and is wiped on use,
/// replacement, deletion of its card, or expiry.
public final class SecurityCodeVault: Sendable {
    struct Pending: Sendable {
        let code: SecurityCode
        let expiresAt: Date
    }

    public let timeToLive: TimeInterval
    private let pending = Mutex<[CardToken: Pending]>([:])

    public init(timeToLive: TimeInterval = 15 * 60) {
        self.timeToLive = timeToLive
    }

    /// Stores `code` for `token`, replacing (and wiping) any earlier one.
    public func put(_ code: SecurityCode, for token: CardToken, expiresAt: Date) {
        let old = pending.withLock { $0.updateValue(Pending(code: code, expiresAt: expiresAt), forKey: token) }
        old?.code.bytes.wipe()
    }

    /// When the pending code of `token` expires, or nil when there is none.
    public func expiry(for token: CardToken, now: Date) -> Date? {
        pending.withLock { entries in
            guard let entry = entries[token] else { return nil }
            return entry.expiresAt > now ? entry.expiresAt : nil
        }
    }

    /// Removes and returns the code for one provider call. The caller wipes it after use.
    public func take(for token: CardToken, now: Date) -> SecurityCode? {
        guard let entry = pending.withLock({ $0.removeValue(forKey: token) }) else { return nil }
        guard entry.expiresAt > now else {
            entry.code.bytes.wipe()
            return nil
        }
        return entry.code
    }

    /// Wipes the code of `token`, if any.
    public func discard(for token: CardToken) {
        pending.withLock { $0.removeValue(forKey: token) }?.code.bytes.wipe()
    }

    /// Wipes every expired code; returns how many.
    @discardableResult
    public func sweep(now: Date) -> Int {
        let expired = pending.withLock { entries -> [Pending] in
            let gone = entries.filter { $0.value.expiresAt <= now }
            for token in gone.keys { entries.removeValue(forKey: token) }
            return Array(gone.values)
        }
        for entry in expired { entry.code.bytes.wipe() }
        return expired.count
    }

    public var count: Int { pending.withLock { $0.count } }
}
