import Foundation
import VaultCrypto

/// `cardvault export`: the cards of one tenant, decrypted for a file sealed to a recipient the
/// operator names (another vault's import key, a processor's key). Cards are read a page at a
/// time; each page's reads are audited (`card.export`, one row per card) in one commit before
/// any of them is decrypted, as every release of card data is.
public struct CardExporter: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    /// One exported card: what another vault's import takes, and the token and fingerprint it
    /// had here (the token is the importer's reference).
    public struct Card: Sendable {
        public let token: CardToken
        public let fingerprint: CardFingerprint
        public let data: CardData
    }

    /// The next page of the tenant's cards after `token` (from the first when nil), at most
    /// `limit`, audited; empty at the end.
    public func page(tenant: Tenant, after token: CardToken?, limit: Int, actor: AuditActor) async throws -> [Card] {
        try await release(actor: actor) { tx in try tx.cards(tenant: tenant, after: token, limit: limit) }
    }

    /// The named cards of the tenant, audited; a token the tenant does not hold is `card_not_found`
    /// (audited as a failure), and nothing is released.
    public func cards(_ tokens: [CardToken], tenant: Tenant, actor: AuditActor) async throws -> [Card] {
        try await release(actor: actor, requireAll: tokens.count) { tx in try tokens.compactMap { try tx.card(token: $0, tenant: tenant) } }
    }

    private func release(
        actor: AuditActor, requireAll: Int? = nil, _ read: @escaping @Sendable (any VaultTransaction) throws -> [SealedCard]
    ) async throws
        -> [Card]
    {
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let sealed = try await store.write { tx -> [SealedCard]? in
            let cards = try read(tx)
            if let requireAll, cards.count != requireAll {
                try tx.appendAudit(AuditEvent(action: "card.export", subject: "not_found", outcome: .failure, actor: actor), chain: chain, at: now)
                return nil
            }
            for card in cards {
                try tx.appendAudit(AuditEvent(action: "card.export", subject: card.token.rawValue, outcome: .success, actor: actor), chain: chain, at: now)
            }
            return cards
        }
        guard let sealed else { throw VaultError.cardNotFound }
        var out: [Card] = []
        out.reserveCapacity(sealed.count)
        for card in sealed {
            if (try? keys.key(version: card.keyVersion)) == nil { try await refreshKeys() }
            let data = try await auditingIntegrity(actor: actor, chain: chain, at: now) { try keys.open(card) }
            out.append(Card(token: card.token, fingerprint: card.fingerprint, data: data))
        }
        return out
    }

    /// The run's own audit row (`cards.export`): the tenant, the count and the recipient key's
    /// check value (its first bytes, hex), so the audit says to whom the cards went.
    public func recordRun(tenant: Tenant, count: Int, recipient: [UInt8], actor: AuditActor) async throws {
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let subject = "tenant=\(tenant.rawValue)|cards=\(count)|recipient=\(Hex.encode(recipient.prefix(8)))"
        try await store.write { tx in
            _ = try tx.appendAudit(AuditEvent(action: "cards.export", subject: subject, outcome: .success, actor: actor), chain: chain, at: now)
        }
    }
}
