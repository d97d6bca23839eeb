import Foundation

/// What every service of the vault shares: storage, the key ring, the pending security codes
/// and the clock. Services (`CardVault`, `ProviderReferences`, `ProviderCallLedger`,
/// `RetentionSweeper`) are cheap values over one context, composed where the process starts.
public struct VaultContext: Sendable {
    public let store: any VaultStore
    public let keys: KeyRing
    public let codes: SecurityCodeVault
    public let clock: @Sendable () -> Date

    public init(store: any VaultStore, keys: KeyRing, codes: SecurityCodeVault, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.keys = keys
        self.codes = codes
        self.clock = clock
    }
}

/// A service over a `VaultContext`, with the transaction helpers every service uses.
public protocol VaultService: Sendable {
    var context: VaultContext { get }
}

extension VaultService {
    public var store: any VaultStore { context.store }
    public var keys: KeyRing { context.keys }
    public var codes: SecurityCodeVault { context.codes }
    public var clock: @Sendable () -> Date { context.clock }

    /// Confirms the caller's credential against storage now (a revoked or rotated secret is
    /// audited and refused), for an operation whose first storage access would otherwise
    /// come only after a provider call.
    public func confirm(_ caller: Caller, action: String) async throws {
        try await store.confirm(caller, action: action, chain: AuditChain(key: try await loadedKeys().derivedKeys().audit), at: clock())
    }

    /// Runs `body` in a write transaction after confirming the caller's credential there. A
    /// stale credential (revoked or rotated since it was cached) is audited and refused, and
    /// `body` does not run.
    func writeConfirmed<T: Sendable>(
        _ caller: Caller, action: String, chain: AuditChain, at now: Date,
        _ body: @escaping @Sendable (any VaultTransaction) throws -> T
    ) async throws -> T {
        let result = try await auditingIntegrity(actor: caller.actor, chain: chain, at: now) {
            try await store.write { tx -> T? in
                guard try tx.confirm(caller, action: action, chain: chain, at: now) else { return nil }
                return try body(tx)
            }
        }
        guard let result else { throw ClientAuthenticator.badSecret }
        return result
    }

    /// The one idempotent write: in a confirmed transaction, a stored answer under `key` is
    /// replayed (or refused as `idempotency_conflict` when it answered another request);
    /// otherwise `body` runs and, when it answers, its answer is stored under `key` in the same
    /// commit. Without a key, `body` just runs. `body` returns the answer (nil when there is
    /// none to store, such as a refusal it recorded) and a value for the caller alone.
    func idempotentWrite<Extra: Sendable>(
        _ caller: Caller, action: String, chain: AuditChain, at now: Date,
        key: IdempotencyKey?, requestHash: [UInt8]?,
        _ body: @escaping @Sendable (any VaultTransaction) throws -> (CardAnswer?, Extra?)
    )
        async throws -> (CardAnswer?, Extra?)
    {
        let client = caller.client.id
        let macKey = try await loadedKeys().derivedKeys().idempotency
        return try await writeConfirmed(caller, action: action, chain: chain, at: now) { tx in
            if let key, let requestHash, let stored = try tx.idempotentResponse(client: client, key: key) {
                return (CardAnswer(try stored.verified(client: client, key: key, macKey: macKey).replaying(requestHash)), nil)
            }
            let (answer, extra) = try body(tx)
            if let answer, let key, let requestHash {
                try tx.save(
                    StoredResponse(requestHash: requestHash, status: answer.outcome.stored, body: answer.body, createdAt: now)
                        .sealed(client: client, key: key, macKey: macKey),
                    client: client, key: key)
            }
            return (answer, extra)
        }
    }

    /// See `VaultStore.auditingIntegrity`.
    func auditingIntegrity<T>(actor: AuditActor, chain: AuditChain, at now: Date, _ body: () async throws -> T) async throws -> T {
        try await store.auditingIntegrity(actor: actor, chain: chain, at: now, body)
    }

    /// The key ring, loaded from storage the first time.
    func loadedKeys() async throws -> KeyRing {
        if !keys.isLoaded { try await refreshKeys() }
        return keys
    }

    public func refreshKeys() async throws {
        let snapshot = try await store.read { try $0.keySnapshot() }
        try keys.refresh(from: snapshot)
    }

    /// Runs `body` again once, after reloading keys, when the version it used was retired or
    /// replaced between the ring's last refresh and the commit.
    func withKeyRetry<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as VaultError where error == .keyVersionNotUsable || error == .keyUnavailable {
            try await refreshKeys()
            return try await body()
        }
    }
}

extension VaultStore {
    /// Runs `body`; when it fails because a stored row failed its integrity check (its
    /// transaction rolled back), appends an `integrity.failure` audit row naming the row, in
    /// its own commit, and rethrows. The row was already counted where the check failed.
    public func auditingIntegrity<T>(actor: AuditActor, chain: AuditChain, at now: Date, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as VaultError where error.failedRow != nil {
            // The request fails either way; a failed audit write does not hide the first error.
            _ = try? await write { tx in
                try tx.appendAudit(AuditEvent(action: "integrity.failure", subject: error.failedRow, outcome: .failure, actor: actor), chain: chain, at: now)
            }
            throw error
        }
    }
}
