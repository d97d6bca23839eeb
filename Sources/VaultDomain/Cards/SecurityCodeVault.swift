import Foundation
import Synchronization
import VaultCrypto

/// Pending security codes, in guarded memory only: never on disk, gone after a restart.
/// Each code has a time-to-live, is handed out at most once (`take`), and is wiped on use,
/// replacement, deletion of its card, or expiry.
///
/// Every code lives in one slot of a single guarded region sized at start (`capacity`): a
/// flood of codes fills the region and is then refused with `verification_value_capacity`
/// (`verification_value_capacity`) while everything else keeps working; the process never runs out of lockable memory.
/// A code taken for a provider call keeps its slot until the call is done with it.
public final class SecurityCodeVault: Sendable {
    struct Pending: Sendable {
        let code: SecurityCode
        let expiresAt: Date
    }

    public static let defaultCapacity = 100_000

    public let timeToLive: TimeInterval
    /// Set when instances share a database (PostgreSQL): codes are kept there, sealed, and the
    /// slab holds only codes on their way in or out (see `keep`, `take(for:tenant:now:)`).
    public let shared: SharedSecurityCodes?
    private let slab: GuardedSlab
    private let pending = Mutex<[CardToken: Pending]>([:])

    public init(
        timeToLive: TimeInterval = 15 * 60, capacity: Int = SecurityCodeVault.defaultCapacity, sharedStore: (any SharedCodeStore)? = nil
    ) throws(VaultError) {
        self.timeToLive = timeToLive
        do {
            shared = try sharedStore.map { try SharedSecurityCodes(store: $0, timeToLive: timeToLive, capacity: capacity) }
        } catch {
            throw VaultError(.failedPrecondition, code: .secureMemoryUnavailable, message: "cannot make a recipient key for pending security codes")
        }
        do {
            // A slot holds up to 7 bytes: codes are 3 or 4 digits.
            slab = try GuardedSlab(capacity: capacity, slotSize: 7)
        } catch {
            throw VaultError(
                .failedPrecondition, code: .secureMemoryUnavailable,
                message: "cannot reserve locked memory for \(capacity) pending security codes")
        }
    }

    public static let capacityReached = VaultError(
        .unavailable, code: .verificationValueCapacity,
        message: "too many security codes are pending; retry later, or send the card without verification_value")

    /// Checks `raw` for `brand` and moves it into a slot. Refused with `capacityReached` when
    /// every slot is taken.
    public func seal(_ raw: String, brand: CardBrand) throws(VaultError) -> SecurityCode {
        try seal(SensitiveBytes(copying: raw.utf8), brand: brand)
    }

    public func seal(_ raw: SensitiveBytes, brand: CardBrand) throws(VaultError) -> SecurityCode {
        try SecurityCode.validate(raw, brand: brand)
        do {
            return SecurityCode(bytes: try raw.withUnsafeBytes { bytes throws(CryptoError) in try slab.store(bytes) })
        } catch {
            throw Self.capacityReached
        }
    }

    /// Moves digits opened from a shared copy into a slot (refused when the slab is full).
    func hold(_ digits: SecureBytes) throws(VaultError) -> SecurityCode {
        defer { digits.wipe() }
        do {
            return SecurityCode(bytes: try digits.withUnsafeBytes { bytes throws(CryptoError) in try slab.store(bytes) })
        } catch {
            throw Self.capacityReached
        }
    }

    /// How many slots the vault has, and how many are held (pending or in a provider call).
    public var capacity: Int { slab.capacity }
    public var slotsInUse: Int { slab.inUse }

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

    /// Codes pending (not taken, possibly expired but not yet swept).
    public var count: Int { pending.withLock { $0.count } }
}
