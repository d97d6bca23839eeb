import Foundation
import VaultCrypto
import VaultDomain

/// The `Idempotency-Key` of one forwarded provider call. A retry replays the first answer; a
/// duplicate that arrives while the first is in flight is refused (409). The key is claimed in
/// the same commit that reads the card data, before anything leaves the vault, so a provider is
/// never called twice for one key; it is released only when nothing was sent.
struct ProviderIdempotency: Sendable {
    let store: any VaultStore
    let client: String
    let key: IdempotencyKey?
    let requestHash: [UInt8]?
    let now: Date

    /// `operation` and `canonical` identify the request (keyed hash, never stored in clear).
    init(operation: String, canonical: [UInt8], given: IdempotencyKey?, caller: Caller, cards: CardVault) throws {
        let hashKey = try cards.keys.derivedKeys().idempotency
        store = cards.store
        client = caller.client.id
        key = given?.blinded(with: hashKey)
        requestHash = key.map { _ in StoredResponse.requestHash(operation: operation, canonical: canonical, key: hashKey) }
        now = cards.clock()
    }

    /// The first answer when this is a retry; nil for a first call.
    func replay() async throws -> ProviderAnswer? {
        guard let key, let requestHash else { return nil }
        let client = self.client
        guard let stored = try await store.read({ try $0.idempotentResponse(client: client, key: key) }) else { return nil }
        guard KeyedHash.equal(stored.requestHash, requestHash) else { throw StoredResponse.conflict }
        guard !stored.isPending else { throw StoredResponse.inFlight }
        return ProviderAnswer(status: stored.status, body: stored.body)
    }

    /// Claims the key inside the transaction that reads the card data; nil without a key.
    var claim: (@Sendable (any VaultTransaction) throws -> Void)? {
        guard let key, let requestHash else { return nil }
        let (client, now) = (self.client, self.now)
        return { tx in
            if try tx.idempotentResponse(client: client, key: key) != nil { throw StoredResponse.inFlight }
            try tx.save(.pending(requestHash: requestHash, at: now), client: client, key: key)
        }
    }

    /// Frees the key when the call certainly sent nothing, so it may be retried.
    func release() async throws {
        guard let key else { return }
        let client = self.client
        try await store.write { tx in try tx.deleteIdempotency(client: client, key: key) }
    }

    /// Records a failure after the request may have been sent: a retry gets the same 502/504
    /// and the provider is not called again.
    func fail(_ error: VaultError) async throws {
        guard let key, let requestHash else { return }
        let body = VaultJSON.encode(["error": ["code": error.code, "message": error.message]])
        let stored = StoredResponse(requestHash: requestHash, status: error.kind == .gatewayTimeout ? 504 : 502, body: body, createdAt: now)
        let client = self.client
        try await store.write { tx in try tx.replace(stored, client: client, key: key) }
    }

    /// Records the answer, to run in the commit of the call's audit row.
    func record(_ answer: ProviderAnswer) -> (@Sendable (any VaultTransaction) throws -> Void)? {
        guard let key, let requestHash else { return nil }
        let stored = StoredResponse(requestHash: requestHash, status: answer.status, body: answer.body, createdAt: now)
        let client = self.client
        return { tx in try tx.replace(stored, client: client, key: key) }
    }
}
