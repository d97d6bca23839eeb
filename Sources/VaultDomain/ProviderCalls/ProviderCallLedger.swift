import Foundation
import VaultCrypto

/// Storage for provider calls, in the two commits every call makes and no more:
///
/// 1. `release`, before anything leaves the vault: confirms the caller's credential, reads the
///    cards, saved provider tokens and references the call sends and the provider object it
///    names, audits every read (the release of card data is on record before the data leaves),
///    and runs the call's idempotency claim. A refusal (an unknown card, no saved token,
///    another tenant's object) commits its audit rows and no claim.
/// 2. `settle`, once the provider answered or failed: records the outcome (the idempotency
///    record, captured tokens and references, remembered objects) and its audit row, so the
///    outcome is on record before the caller hears it. It does not check the credential again:
///    what happened at the provider is recorded whatever became of the caller since.
///
/// Routes that call no provider (notifications and events passed on by the edge service)
/// `settle` once, after `confirm`ing in the same commit.
public struct ProviderCallLedger: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    /// Commit 1 of a provider call (see the type). `claim` runs last, only when everything
    /// asked for was found. Throws the refusal after its audit rows committed.
    public func release(
        _ request: ProviderCallRelease, caller: Caller, claim: (@Sendable (any VaultTransaction) throws -> Void)? = nil
    ) async throws -> ProviderCallReleased {
        let now = clock()
        let derived = try await loadedKeys().derivedKeys()
        let chain = AuditChain(key: derived.audit)
        let (actor, tenant, objects) = (caller.actor, caller.tenant, ProviderObjects(keys: derived))
        let found = try await writeConfirmed(caller, action: request.action, chain: chain, at: now) { tx -> Result<Found, VaultError> in
            func audit(_ action: String, _ subject: String, _ outcome: AuditOutcome) throws {
                try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: outcome, actor: actor), chain: chain, at: now)
            }
            var found = Found()
            if let object = request.object {
                guard let cards = try objects.owned(object.id, provider: object.provider, tenant: tenant, in: tx) else {
                    try audit(request.action, object.auditedAs + "|not_found", .failure)
                    return .failure(object.notFound)
                }
                found.objectCards = cards
            }
            var refusal: VaultError?
            for token in Array(Set(request.cards)).sorted(by: { $0.rawValue < $1.rawValue }) {
                let card = try tx.card(token: token, tenant: tenant)
                try audit(request.action + ".card", token.rawValue, card == nil ? .failure : .success)
                if let card { found.cards.append(card) } else { refusal = refusal ?? .cardNotFound }
            }
            for need in request.references {
                let references = try tx.references(token: need.token, tenant: tenant)
                let match = references.first { $0.kind == need.kind }
                try audit(request.action + ".reference", need.token.rawValue, match == nil ? .failure : .success)
                if let match {
                    found.references.append((need.field, match))
                } else if refusal == nil {
                    let unknown = try references.isEmpty && tx.card(token: need.token, tenant: tenant) == nil
                    refusal =
                        unknown
                        ? VaultError(.notFound, code: .cardNotFound, message: "no token \(need.field) names exists in the vault", field: need.field)
                        : .invalid(need.field, code: need.kind.missingCode, "the token in \(need.field) holds no \(need.kind.rawValue) reference")
                }
            }
            // Saved tokens are looked up only for a call whose cards are all there.
            if refusal == nil {
                for need in request.providerTokens {
                    let sealed = try tx.providerToken(card: need.card, provider: need.provider, tenant: tenant)
                    try audit("\(need.provider).token.use", need.card.rawValue, sealed == nil ? .failure : .success)
                    guard let sealed else {
                        refusal = need.missing
                        break
                    }
                    found.providerTokens.append(sealed)
                }
            }
            if let refusal { return .failure(refusal) }
            try claim?(tx)
            return .success(found)
        }.get()
        var released = ProviderCallReleased()
        released.objectCards = found.objectCards
        for card in found.cards {
            released.cards[card.token] = ProviderCard(token: card.token, fingerprint: card.fingerprint, data: try await open(card, actor: actor))
        }
        for (field, sealed) in found.references {
            if (try? keys.key(version: sealed.keyVersion)) == nil { try await refreshKeys() }
            released.references[field] = try sealed.open(with: keys.key(version: sealed.keyVersion))
        }
        for sealed in found.providerTokens {
            if (try? keys.key(version: sealed.keyVersion)) == nil { try await refreshKeys() }
            released.providerTokens[sealed.card] = try sealed.open(with: keys.key(version: sealed.keyVersion))
        }
        return released
    }

    /// Commit 2 of a provider call (see the type), or the one commit of a route that calls no
    /// provider when `confirming` is set: `body` records what the call leaves behind through the
    /// settlement. Runs again once on a key version retired meanwhile; like every write body it
    /// may run more than once, and acts only through its transaction.
    public func settle<T: Sendable>(
        caller: Caller, confirming action: String? = nil, _ body: @escaping @Sendable (ProviderCallSettlement) throws -> T
    ) async throws -> T {
        let now = clock()
        let derived = try await loadedKeys().derivedKeys()
        let (keys, chain) = (self.keys, AuditChain(key: derived.audit))
        try await refreshKeysIfNeeded()
        return try await withKeyRetry {
            try await auditingIntegrity(actor: caller.actor, chain: chain, at: now) {
                let result = try await store.write { tx -> T? in
                    if let action, try !tx.confirm(caller, action: action, chain: chain, at: now) { return nil }
                    return try body(ProviderCallSettlement(transaction: tx, caller: caller, keys: keys, derived: derived, chain: chain, now: now))
                }
                guard let result else { throw ClientAuthenticator.badSecret }
                return result
            }
        }
    }

    /// The rows the first commit found, still sealed.
    struct Found: Sendable {
        var objectCards: [String: CardLabel] = [:]
        var cards: [SealedCard] = []
        var references: [(String, SealedProviderReference)] = []
        var providerTokens: [SealedProviderToken] = []
    }

    private func open(_ card: SealedCard, actor: AuditActor) async throws -> CardData {
        if (try? keys.key(version: card.keyVersion)) == nil { try await refreshKeys() }
        return try await auditingIntegrity(actor: actor, chain: AuditChain(key: try keys.derivedKeys().audit), at: clock()) { try keys.open(card) }
    }

    /// Loads keys when no active version is known yet (a settlement seals with the active key).
    private func refreshKeysIfNeeded() async throws {
        if (try? keys.activeKey()) == nil { try await refreshKeys() }
    }
}
