import Foundation
import Synchronization
import VaultCrypto

/// Pending security codes shared by every instance on one database, so a code posted to one
/// instance is spent through another (PCI DSS 3.3.2: sensitive authentication data kept before
/// authorisation is encrypted with strong cryptography; 3.3.1: none kept after it).
///
/// How a code is held:
/// - each instance has a **recipient key**, an X25519 pair made in guarded memory and never
///   written anywhere; its public half is published in the database;
/// - a code is stored as one sealed box (`crypto_box_seal`) per live recipient key, bound to its
///   tenant and token inside the box; the store keeps boxes in UNLOGGED tables (no WAL, no
///   standby, no base backup) and deletes them when the code is spent, replaced, its card
///   deleted, or it expires;
/// - every `timeToLive` an instance makes a new recipient key and destroys the one before the
///   previous, so every box becomes unreadable for good at most two lifetimes after it was
///   sealed, whatever copy of a table file, a dump or a disk survives. Codes still pending are
///   resealed to the new key (and to instances that joined) each tick.
///
/// A code is spent once: `take` removes every copy in one transaction, serial with the others.
/// If every instance stops, pending codes are lost (callers send the code again), never exposed.
public final class SharedSecurityCodes: Sendable {
    public let store: any SharedCodeStore
    public let instance: String
    public let timeToLive: TimeInterval
    public let capacity: Int
    /// A recipient key not refreshed for this long is no longer sealed to.
    public static let liveness: TimeInterval = 10
    /// A recipient key not refreshed for this long is dropped with its copies (its instance
    /// stopped, or it was replaced and its codes resealed to the new key).
    public static let staleness: TimeInterval = 60
    private let keys: Mutex<(current: SealedBoxKeyPair, previous: SealedBoxKeyPair?, madeAt: Date)>
    /// The recipients seen at the last tick, and until when to look for codes lacking a copy
    /// (15 s after the set or this instance's key changed: a code sealed just before a
    /// recipient became visible is caught, and a quiet fleet does no scan at all).
    private let resealing = Mutex<(recipients: [[UInt8]], until: Date)>(([], .distantPast))
    private let held = Mutex<Int>(0)
    /// How many codes this instance's current key holds (refreshed each tick; for metrics).
    public var count: Int { held.withLock { $0 } }

    public init(store: any SharedCodeStore, timeToLive: TimeInterval, capacity: Int, now: Date = Date()) throws {
        self.store = store
        self.instance = UUID().uuidString.lowercased()
        self.timeToLive = timeToLive
        self.capacity = capacity
        keys = Mutex((try SealedBoxKeyPair(), nil, now))
    }

    private var mine: [[UInt8]] { keys.withLock { [$0.current.publicKey] + ($0.previous.map { [$0.publicKey] } ?? []) } }

    /// Seals `code` for every live instance and stores it for (tenant, token), replacing any
    /// earlier code. Refused with `SecurityCodeVault.capacityReached` when this instance already
    /// holds `capacity` codes.
    public func put(_ code: SecurityCode, for token: CardToken, tenant: Tenant, expiresAt: Date, now: Date) async throws {
        try await admit()
        let current = keys.withLock { $0.current.publicKey }
        var recipients = try await store.recipients(since: now.addingTimeInterval(-Self.liveness))
        if !recipients.contains(current) { recipients.append(current) }
        let copies = try code.bytes.withUnsafeBytes { digits in
            try Self.withPlaintext(token: token, tenant: tenant, digits: digits) { plaintext in
                try recipients.map { recipient in PendingCodeCopy(recipient: recipient, box: try SealedBoxKeyPair.seal(plaintext, to: recipient)) }
            }
        }
        try await store.replace(PendingCodeRow(token: token, tenant: tenant, expiresAt: expiresAt, copies: copies))
    }

    /// Refuses with `SecurityCodeVault.capacityReached` when this instance's key already holds
    /// `capacity` codes: checked before a card is written, so a full store refuses the whole
    /// request, and again when the code is put.
    public func admit() async throws {
        let current = keys.withLock { $0.current.publicKey }
        guard try await store.count(for: current) < capacity else { throw SecurityCodeVault.capacityReached }
    }

    /// Removes the code of (tenant, token) for one provider call and opens it into `slab`
    /// (via `vault`); nil when there is none, it expired, or no copy opens here.
    public func take(for token: CardToken, tenant: Tenant, now: Date, into vault: SecurityCodeVault) async throws -> (SecurityCode, Date)? {
        guard let row = try await store.take(token: token, tenant: tenant, openableBy: mine), row.expiresAt > now else { return nil }
        for copy in row.copies {
            guard let digits = open(copy, token: token, tenant: tenant) else { continue }
            return (try vault.hold(digits), row.expiresAt)
        }
        return nil
    }

    /// Wipes the code of `token` everywhere.
    public func discard(for token: CardToken) async throws {
        try await store.delete(token: token)
    }

    /// Once a second: refreshes this instance's recipient key (making a new one every
    /// `timeToLive` and destroying the one before), reseals pending codes to recipients that
    /// lack a copy, and drops expired codes and stale recipients.
    public func tick(now: Date) async throws {
        let retired: SealedBoxKeyPair? = try keys.withLock { keys in
            guard now.timeIntervalSince(keys.madeAt) >= timeToLive else { return nil }
            let old = keys.previous
            keys = (try SealedBoxKeyPair(), keys.current, now)
            return old
        }
        if let retired {
            try await store.withdraw(recipients: [retired.publicKey])
            retired.wipe()
        }
        let current = keys.withLock { $0.current.publicKey }
        try await store.publish(recipient: current, instance: instance, at: now)
        let recipients = try await store.recipients(since: now.addingTimeInterval(-Self.liveness))
        let scan = resealing.withLock { state in
            if state.recipients != recipients || retired != nil { state = (recipients, now.addingTimeInterval(15)) }
            return now < state.until
        }
        let rows = scan ? try await store.unshared(mine: mine, recipients: recipients, at: now, limit: 1_000) : []
        for row in rows {
            let have = Set(row.copies.map(\.recipient))
            guard let copy = row.copies.first, let digits = open(copy, token: row.token, tenant: row.tenant) else { continue }
            let copies = try digits.withUnsafeBytes { bytes in
                try Self.withPlaintext(token: row.token, tenant: row.tenant, digits: bytes) { plaintext in
                    try recipients.filter { !have.contains($0) }.map { PendingCodeCopy(recipient: $0, box: try SealedBoxKeyPair.seal(plaintext, to: $0)) }
                }
            }
            try await store.share(copies, token: row.token, tenant: row.tenant)
        }
        _ = try await store.purge(expiredAt: now, recipientsBefore: now.addingTimeInterval(-Self.staleness))
        let holding = try await store.count(for: current)
        held.withLock { $0 = holding }
    }

    /// Stopping: withdraws this instance's keys and destroys them (codes sealed only to them
    /// become unreadable; other instances keep their copies).
    public func shutDown() async {
        let pairs = keys.withLock { [$0.current] + ($0.previous.map { [$0] } ?? []) }
        try? await store.withdraw(recipients: pairs.map(\.publicKey))
        for pair in pairs { pair.wipe() }
    }

    /// The digits of a copy, when it opens with one of this instance's keys and names (tenant,
    /// token): a box moved to another row is refused.
    private func open(_ copy: PendingCodeCopy, token: CardToken, tenant: Tenant) -> SecureBytes? {
        let pair = keys.withLock { keys in [keys.current, keys.previous].compactMap { $0 }.first { $0.publicKey == copy.recipient } }
        guard let opened = pair?.open(copy.box) else { return nil }
        let prefix = Self.prefix(token: token, tenant: tenant)
        let digits: SecureBytes? = opened.withUnsafeBytes { bytes in
            guard bytes.count > prefix.count, bytes.prefix(prefix.count).elementsEqual(prefix) else { return nil }
            return try? SecureBytes(copying: bytes.dropFirst(prefix.count))
        }
        opened.wipe()
        return digits
    }

    static func prefix(token: CardToken, tenant: Tenant) -> [UInt8] {
        Array("cardvault.code.v1\u{1F}\(tenant.rawValue)\u{1F}\(token.rawValue)\u{1F}".utf8)
    }

    /// `body` over prefix + digits in guarded memory, wiped after.
    static func withPlaintext<T>(token: CardToken, tenant: Tenant, digits: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let prefix = prefix(token: token, tenant: tenant)
        let plaintext = try SecureBytes(count: prefix.count + digits.count) { out in
            out.copyBytes(from: prefix)
            UnsafeMutableRawBufferPointer(rebasing: out[prefix.count...]).copyMemory(from: digits)
        }
        defer { plaintext.wipe() }
        return try plaintext.withUnsafeBytes(body)
    }
}
