import Foundation
import VaultCrypto

/// What a provider call needs of a vaulted card.
public struct ProviderCard: Sendable {
    public let token: CardToken
    public let fingerprint: CardFingerprint
    public let data: CardData
}

extension CardVault {
    /// Reads and decrypts the cards a provider call names, auditing the access in one
    /// transaction (action `action`, one row per card). An unknown token is `card_not_found`. `alongside`
    /// runs in the same transaction (an idempotency claim); if it throws, nothing is kept.
    public func cardsForProvider(
        _ tokens: [CardToken], action: String, caller: Caller,
        alongside: (@Sendable (any VaultTransaction) throws -> Void)? = nil
    ) async throws -> [CardToken: ProviderCard] {
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let (actor, tenant) = (caller.actor, caller.tenant)
        let cards = try await store.write { tx -> [SealedCard]? in
            guard try tx.confirm(caller, action: action, chain: chain, at: now) else { return nil }
            var found: [SealedCard] = []
            for token in tokens {
                let card = try tx.card(token: token, tenant: tenant)
                try tx.appendAudit(
                    AuditEvent(action: action, subject: token.rawValue, outcome: card == nil ? .failure : .success, actor: actor), chain: chain, at: now)
                if let card { found.append(card) }
            }
            if found.count == Set(tokens).count { try alongside?(tx) }
            return found
        }
        guard let cards else { throw ClientAuthenticator.badSecret }
        guard cards.count == Set(tokens).count else { throw VaultError.cardNotFound }
        var result: [CardToken: ProviderCard] = [:]
        for card in cards {
            result[card.token] = ProviderCard(token: card.token, fingerprint: card.fingerprint, data: try await open(card, auditedAs: actor))
        }
        return result
    }

    /// Appends one audit row for a provider call (its outcome, never card data), with
    /// `alongside` (recording the answer for idempotency) in the same transaction.
    public func auditProviderCall(
        action: String, subject: String, outcome: AuditOutcome, caller: Caller,
        alongside: (@Sendable (any VaultTransaction) throws -> Void)? = nil
    ) async throws {
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let actor = caller.actor
        try await writeConfirmed(caller, action: action, chain: chain, at: now) { tx in
            try alongside?(tx)
            _ = try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: outcome, actor: actor), chain: chain, at: now)
        }
    }
}
