import Foundation
import VaultCrypto
import VaultDomain

/// The `Idempotency-Key` of one forwarded provider call. A retry replays the first answer; a
/// duplicate that arrives while the first is in flight is refused (409 `request_in_flight`).
/// The key is claimed in the same commit that reads the card data, before anything leaves the
/// vault, so a provider is never called twice for one key; it is released only when nothing was
/// sent.
///
/// Calls that move money require a key, and their claim is never given up once the request may
/// have reached the provider: when the answer is lost (a timeout, a dropped connection, a crash
/// of the vault) the claim stays pending and every retry is answered 409 `outcome_unknown`,
/// naming the provider reference the call was sent with, so the caller asks the provider
/// instead of paying twice.
struct ProviderIdempotency: Sendable {
    let store: any VaultStore
    let client: String
    let key: IdempotencyKey?
    let requestHash: [UInt8]?
    let now: Date
    let movesMoney: Bool
    /// What the provider knows the call by (`tracking_id`, `order_id`, ...), stored with the claim.
    let reference: [String: String]
    let inFlight: InFlightClaims
    /// With several instances on one database: how long another process's pending claim is
    /// taken as still in flight there (`request_in_flight`) before its outcome counts as
    /// unknown: the provider timeout and a margin. Nil on one host, where the in-process
    /// table knows.
    let othersInFlightFor: TimeInterval?
    let confirm: @Sendable () async throws -> Void
    /// Audits a record that failed its check (`integrity.failure`) before the error goes on.
    let auditIntegrity: @Sendable (VaultError) async -> Void
    /// The key of the records' MACs (`StoredResponse.sealed`).
    let macKey: SymmetricKey

    /// `operation` and `canonical` identify the request (keyed hash, never stored in clear).
    init(
        operation: IdempotentOperation, canonical: [UInt8], given: IdempotencyKey?, caller: Caller, cards: some VaultService, inFlight: InFlightClaims,
        movesMoney: Bool = false, reference: [String: String] = [:], providerTimeout: Duration = .seconds(30)
    ) throws {
        if movesMoney && given == nil { throw StoredResponse.keyRequired }
        let hashKey = try cards.keys.derivedKeys().idempotency
        store = cards.store
        client = caller.client.id
        key = given?.blinded(with: hashKey)
        requestHash = key.map { _ in StoredResponse.requestHash(operation: operation, canonical: canonical, key: hashKey) }
        now = cards.clock()
        self.movesMoney = movesMoney
        self.reference = reference.filter { Self.isReference($0.value) }
        self.inFlight = inFlight
        othersInFlightFor = cards.store.servesSeveralInstances ? Double(providerTimeout.components.seconds) + 30 : nil
        confirm = { try await cards.confirm(caller, action: operation.id) }
        macKey = hashKey
        let (store, actor, chain) = (cards.store, caller.actor, AuditChain(key: try cards.keys.derivedKeys().audit))
        auditIntegrity = { error in
            _ = try? await store.auditingIntegrity(actor: actor, chain: chain, at: Date()) { () async throws -> Void in throw error }
        }
    }

    /// A provider reference worth storing and echoing: short, plain, and never a card number.
    static func isReference(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || [0x2D, 0x5F, 0x2E, 0x3A].contains($0)
            }
            && !ReferenceDetails.hasDigitRun(text, atLeast: 12) && PANScrubber.scrub(text) == text
    }

    private var claimID: String? { key.map { client + "|" + $0.rawValue } }

    /// The first answer when this is a retry; nil for a first call.
    func replay() async throws -> ProviderAnswer? {
        guard let key, let requestHash, let claimID else { return nil }
        let client = self.client
        guard let found = try await store.read({ try $0.idempotentResponse(client: client, key: key) }) else { return nil }
        // A replay is no transaction of its own: the credential is confirmed first.
        try await confirm()
        let stored: StoredResponse
        do {
            stored = try found.verified(client: client, key: key, macKey: macKey)
        } catch {
            await auditIntegrity(error)
            throw error
        }
        _ = try stored.replaying(requestHash)
        if let failure = stored.recordedFailure { throw ProviderFailure(code: failure).vaultError }
        if stored.isPending {
            if inFlight.contains(claimID) { throw StoredResponse.inFlight }
            if let horizon = othersInFlightFor, now.timeIntervalSince(stored.createdAt) < horizon { throw StoredResponse.inFlight }
            throw StoredResponse.outcomeUnknown(reference: stored.pendingReference)
        }
        return ProviderAnswer(status: stored.status, body: stored.body)
    }

    /// Runs `body` as the call that holds the claim (if any): while it runs, a duplicate is told
    /// `request_in_flight`; afterwards a claim still pending means the outcome is unknown.
    func holding<T>(_ body: () async throws -> T) async throws -> T {
        guard let claimID else { return try await body() }
        inFlight.enter(claimID)
        defer { inFlight.leave(claimID) }
        return try await body()
    }

    /// Claims the key inside the transaction that reads the card data; nil without a key.
    var claim: (@Sendable (any VaultTransaction) throws -> Void)? {
        guard let key, let requestHash else { return nil }
        let (client, now, reference, macKey) = (self.client, self.now, self.reference, self.macKey)
        return { tx in
            if try tx.idempotentResponse(client: client, key: key) != nil { throw StoredResponse.inFlight }
            let claim = StoredResponse.pending(requestHash: requestHash, at: now, reference: reference).sealed(client: client, key: key, macKey: macKey)
            try tx.save(claim, client: client, key: key)
        }
    }

    /// Frees the key when the call certainly sent nothing, so it may be retried (in the call's
    /// second commit).
    func releasing(in tx: any VaultTransaction) throws {
        guard let key else { return }
        try tx.deleteIdempotency(client: client, key: key)
    }

    /// After a failure once the request may have been sent, in the call's second commit. A
    /// money move whose answer was lost keeps its pending claim (a retry gets
    /// `outcome_unknown`); anything else records the failure (its error code, which the HTTP
    /// layer renders as it rendered the first answer), so a retry gets the same error and the
    /// provider is not called again.
    func failing(_ error: ProviderFailure, in tx: any VaultTransaction) throws {
        guard let key, let requestHash else { return }
        if movesMoney && error.outcomeUnknown { return }
        let stored = StoredResponse.failure(requestHash: requestHash, code: error.vaultError.code, at: now).sealed(client: client, key: key, macKey: macKey)
        try tx.replace(stored, client: client, key: key)
    }

    /// Records the answer, in the commit of the call's outcome audit row.
    func recording(_ answer: ProviderAnswer, in tx: any VaultTransaction) throws {
        guard let key, let requestHash else { return }
        let stored = StoredResponse(requestHash: requestHash, status: answer.status, body: answer.body, createdAt: now)
            .sealed(client: client, key: key, macKey: macKey)
        try tx.replace(stored, client: client, key: key)
    }
}
