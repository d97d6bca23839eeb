import Foundation

/// Checks `Authorization: Bearer` secrets and scopes. Known-good secrets are cached by their
/// keyed hash; every operation then re-confirms the credential inside its own transaction
/// (`VaultTransaction.confirm`), so the cache never outlives a revocation. Every denial is
/// audited; an audit failure makes the request fail too.
public struct ClientAuthenticator: Sendable {
    public let store: any VaultStore
    public let keys: KeyRing
    public let clock: @Sendable () -> Date
    let cache: ClientCache

    public init(store: any VaultStore, keys: KeyRing, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.init(store: store, keys: keys, cache: ClientCache(), clock: clock)
    }

    init(store: any VaultStore, keys: KeyRing, cache: ClientCache, clock: @escaping @Sendable () -> Date) {
        self.store = store
        self.keys = keys
        self.cache = cache
        self.clock = clock
    }

    public static let missingSecret = VaultError(.unauthenticated, code: .unauthenticated, message: "send Authorization: Bearer <client secret>")
    public static let badSecret = VaultError(.unauthenticated, code: .unauthenticated, message: "the client secret is not valid")

    /// The active client that presented `secret` and holds `scope`.
    public func authenticate(secret: String?, scope: Scope, actor: AuditActor) async throws -> Caller {
        let derived = try keys.derivedKeys()
        guard let secret, secret.hasPrefix(ClientSecret.prefix), secret.utf8.count < 200 else {
            try await deny(AuditEvent(action: "auth.denied", subject: secret == nil ? "missing_secret" : "bad_secret", outcome: .denied, actor: actor), derived)
            throw secret == nil ? Self.missingSecret : Self.badSecret
        }
        let hash = ClientSecret.lookupHash(of: secret, key: derived.clientSecret)
        var client = cache.client(for: hash)
        if client == nil {
            client = try await load(hash, derived: derived, actor: actor)
            if let found = client, found.isActive { cache.store(found, for: hash) }
        }
        guard let client, client.isActive else {
            try await deny(AuditEvent(action: "auth.denied", subject: "bad_secret", outcome: .denied, actor: actor), derived)
            throw Self.badSecret
        }
        guard client.scopes.contains(scope) else {
            var named = actor
            named.client = client.name
            named.tenant = client.tenant.rawValue
            try await deny(AuditEvent(action: "auth.forbidden", subject: scope.rawValue, outcome: .denied, actor: named), derived)
            throw VaultError(.forbidden, code: .missingScope, message: "this client lacks the scope \(scope.rawValue)")
        }
        return Caller(client: client, secretHash: hash, requestID: actor.requestID, source: actor.source, cache: cache)
    }

    /// Confirms `caller`'s credential against storage now: a secret revoked or rotated since it
    /// was cached is audited and answered 401. For answers that did not come out of a
    /// transaction that confirmed it already (refusals, replays).
    public func confirm(_ caller: Caller, action: String) async throws {
        try await store.confirm(caller, action: action, chain: AuditChain(key: try keys.derivedKeys().audit), at: clock())
    }

    /// The client whose secret has `hash`, its row checked (`ClientRows`): a row that fails is
    /// counted, audited and refused as `integrity_failure`, never served or cached.
    private func load(_ hash: [UInt8], derived: DerivedKeys, actor: AuditActor) async throws -> Client? {
        guard var row = try await store.read({ try $0.client(secretHash: hash) }) else { return nil }
        if row.mac == nil {
            try await ClientRows.authenticateLegacyRows(store: store, keys: derived, actor: ClientAdministration.system, at: clock())
            guard let again = try await store.read({ try $0.client(secretHash: hash) }) else { return nil }
            row = again
        }
        let checked = row
        return try await store.auditingIntegrity(actor: actor, chain: AuditChain(key: derived.audit), at: clock()) {
            try ClientRows.verified(checked, keys: derived)
        }
    }

    private func deny(_ event: AuditEvent, _ derived: DerivedKeys) async throws {
        let chain = AuditChain(key: derived.audit)
        let now = clock()
        try await store.write { tx in _ = try tx.appendAudit(event, chain: chain, at: now) }
    }
}
