import Synchronization

/// An authenticated request: the client, the keyed hash of the secret it presented, and where
/// the request came from. The authenticator may answer from its cache, so every operation
/// confirms the credential again inside its own transaction (`VaultTransaction.confirm`): a
/// revocation or secret rotation by the CLI takes effect at the very next request.
public struct Caller: Sendable {
    public let client: Client
    let secretHash: [UInt8]
    public let requestID: String?
    public let source: String?
    let cache: ClientCache?

    init(client: Client, secretHash: [UInt8], requestID: String?, source: String?, cache: ClientCache?) {
        self.client = client
        self.secretHash = secretHash
        self.requestID = requestID
        self.source = source
        self.cache = cache
    }

    /// How this caller appears in audit rows.
    public var actor: AuditActor { AuditActor(client: client.name, requestID: requestID, source: source, tenant: client.tenant.rawValue) }

    /// The tenant every card look-up of this caller is scoped to.
    public var tenant: Tenant { client.tenant }

    /// For in-process callers (tests, tools) that act as a given client without a secret;
    /// `confirm` still checks the client is active.
    public static func trusted(_ client: Client, requestID: String? = nil, source: String? = nil) -> Caller {
        Caller(client: client, secretHash: [], requestID: requestID, source: source, cache: nil)
    }
}

/// Secret hash → client, for active clients only. Bounded; entries are dropped as soon as a
/// transaction finds them stale.
final class ClientCache: Sendable {
    private let entries = Mutex<[[UInt8]: Client]>([:])
    private let capacity: Int

    init(capacity: Int = 1024) { self.capacity = capacity }

    func client(for hash: [UInt8]) -> Client? { entries.withLock { $0[hash] } }

    func store(_ client: Client, for hash: [UInt8]) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[hash] = client
        }
    }

    func evict(_ hash: [UInt8]) { _ = entries.withLock { $0.removeValue(forKey: hash) } }
}

extension VaultStore {
    /// A transaction that only confirms the caller's credential (see `VaultTransaction.confirm`);
    /// throws 401 when it is stale.
    func confirm(_ caller: Caller, action: String, chain: AuditChain, at date: Date) async throws {
        guard try await write({ tx in try tx.confirm(caller, action: action, chain: chain, at: date) }) else {
            throw ClientAuthenticator.badSecret
        }
    }
}

extension VaultTransaction {
    /// Confirms, inside the operation's own transaction, that the caller's credential is still
    /// valid. When it is not, the denial is audited in this transaction and false is returned;
    /// the operation must then do nothing else.
    public func confirm(_ caller: Caller, action: String, chain: AuditChain, at date: Date) throws -> Bool {
        let current =
            caller.secretHash.isEmpty
            ? try client(name: caller.client.name)?.client.isActive == true
            : try clientIsCurrent(id: caller.client.id, secretHash: caller.secretHash)
        if current { return true }
        caller.cache?.evict(caller.secretHash)
        var actor = caller.actor
        actor.client = nil
        actor.tenant = nil
        try appendAudit(AuditEvent(action: "auth.denied", subject: "stale_secret:\(action)", outcome: .denied, actor: actor), chain: chain, at: date)
        return false
    }
}

import Foundation
