import Foundation

/// One sealed copy of a pending security code: the box, and the recipient key (an instance's
/// X25519 public key) that opens it.
public struct PendingCodeCopy: Sendable, Equatable {
    public var recipient: [UInt8]
    public var box: [UInt8]

    public init(recipient: [UInt8], box: [UInt8]) {
        self.recipient = recipient
        self.box = box
    }
}

/// A pending code as stored: its card, its expiry and its copies.
public struct PendingCodeRow: Sendable {
    public var token: CardToken
    public var tenant: Tenant
    public var expiresAt: Date
    public var copies: [PendingCodeCopy]

    public init(token: CardToken, tenant: Tenant, expiresAt: Date, copies: [PendingCodeCopy]) {
        self.token = token
        self.tenant = tenant
        self.expiresAt = expiresAt
        self.copies = copies
    }
}

/// Where instances on one database keep the pending security codes they share (PostgreSQL:
/// UNLOGGED tables, so no WAL, standby or base backup ever holds a row). Rows hold only boxes
/// sealed to instances' short-lived recipient keys (`SharedSecurityCodes`). The table of one
/// storage trait, like the others; SQLite has none (one host keeps codes in memory).
///
/// Every method is one transaction, and the code-changing ones are serial among themselves, so
/// `take` hands a code to at most one caller and `share` never brings back a code taken.
public protocol SharedCodeStore: Sendable {
    /// Publishes (or refreshes) a recipient key of `instance`.
    func publish(recipient: [UInt8], instance: String, at date: Date) async throws
    /// Withdraws recipient keys (an instance stopping or rotating).
    func withdraw(recipients: [[UInt8]]) async throws
    /// Recipient keys refreshed at or after `date`.
    func recipients(since date: Date) async throws -> [[UInt8]]
    /// How many codes hold a copy for `recipient` (the capacity check).
    func count(for recipient: [UInt8]) async throws -> Int
    /// Replaces the pending code of (tenant, token), if any, with `row`.
    func replace(_ row: PendingCodeRow) async throws
    /// Removes the pending code of (tenant, token) and answers it, when one of its copies opens
    /// with a key in `openableBy`; otherwise leaves it and answers nil.
    func take(token: CardToken, tenant: Tenant, openableBy: [[UInt8]]) async throws -> PendingCodeRow?
    /// Removes the pending code of `token` in any tenant (the card was deleted).
    func delete(token: CardToken) async throws
    /// Pending codes, unexpired at `date`, with a copy for one of `mine` and none for at least one
    /// of `recipients`; at most `limit`. Each answered row carries only the copies for `mine`.
    func unshared(mine: [[UInt8]], recipients: [[UInt8]], at date: Date, limit: Int) async throws -> [PendingCodeRow]
    /// Adds copies to a code still pending (nothing when it was taken or deleted meanwhile).
    func share(_ copies: [PendingCodeCopy], token: CardToken, tenant: Tenant) async throws
    /// Removes codes expired at `date` and recipient keys not refreshed since `stale`.
    func purge(expiredAt date: Date, recipientsBefore stale: Date) async throws -> Int
}
