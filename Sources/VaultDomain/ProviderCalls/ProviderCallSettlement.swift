import Foundation
import VaultCrypto

/// The second commit of a provider call, as the forwarder sees it: what the provider's answer
/// leaves behind (captured provider tokens, registered references, remembered provider
/// objects, the idempotency record) and the outcome's audit row, all in one transaction.
public struct ProviderCallSettlement {
    /// The transaction itself, for the idempotency record.
    public let transaction: any VaultTransaction
    let caller: Caller
    let keys: KeyRing
    let derived: DerivedKeys
    let chain: AuditChain
    let now: Date

    /// Appends one audit row for the call (its outcome, never card data).
    public func audit(action: String, subject: String, outcome: AuditOutcome) throws {
        try transaction.appendAudit(AuditEvent(action: action, subject: subject, outcome: outcome, actor: caller.actor), chain: chain, at: now)
    }

    /// Stores a provider's token for a vault card of the caller's tenant, sealed under the
    /// active data key, and audits it. A value that is empty or over 512 bytes is ignored.
    public func captureProviderToken(_ value: String, provider: String, for card: CardToken) throws {
        guard !value.isEmpty, value.utf8.count <= 512 else { return }
        guard try transaction.card(token: card, tenant: caller.tenant) != nil else { return }
        try transaction.save(SealedProviderToken.seal(value, card: card, provider: provider, key: try keys.activeKey(), at: now))
        try audit(action: "\(provider).token.capture", subject: card.rawValue, outcome: .success)
    }

    /// The vault tokens of references seen in a provider's answer: a reference the vault knows
    /// keeps its token (its details filled from what was seen); a new one is registered under a
    /// new token (audited, with `source` naming the call), unless `register` is false (it then
    /// has no token).
    public func tokens(for sightings: [ReferenceSighting], source: String, register: Bool) throws -> [ProviderReference: CardToken] {
        guard !sightings.isEmpty else { return [:] }
        let tenant = caller.tenant
        let indexKey = try derived.tenant(tenant).providerReference
        var tokens: [ProviderReference: CardToken] = [:]
        for sighting in Array(Set(sightings)) {
            let blind = sighting.reference.blindIndex(key: indexKey)
            if var existing = try transaction.reference(kind: sighting.reference.kind, blindIndex: blind, tenant: tenant) {
                let merged = existing.details.merged(with: sighting.details)
                if merged != existing.details {
                    existing.details = merged
                    existing.updatedAt = now
                    try transaction.save(existing)
                }
                tokens[sighting.reference] = existing.token
            } else if register {
                let token = CardToken.generate()
                try transaction.save(
                    SealedProviderReference.seal(
                        sighting.reference, token: token, tenant: tenant, details: sighting.details, key: try keys.activeKey(), indexKey: indexKey, at: now))
                try audit(action: "\(sighting.reference.kind.rawValue).register", subject: "\(token.rawValue)|source=\(source)", outcome: .success)
                tokens[sighting.reference] = token
            }
        }
        return tokens
    }

    /// Remembers that the caller's tenant owns provider object `id`, started with `cards`.
    public func remember(_ id: String, cards: [String: CardLabel], provider: String) throws {
        try ProviderObjects(keys: derived).remember(id, cards: cards, provider: provider, tenant: caller.tenant, at: now, in: transaction)
    }

    /// The cards provider object `id` was started with, when the caller's tenant owns it.
    public func owned(_ id: String, provider: String) throws -> [String: CardLabel]? {
        try ProviderObjects(keys: derived).owned(id, provider: provider, tenant: caller.tenant, in: transaction)
    }
}
