import Foundation

/// The retention aggregate: cards whose `retain_until` has passed are deleted, in batches,
/// each deletion audited.
public struct RetentionSweeper: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    /// The actor of deletions made by the retention sweeper.
    public static let retentionActor = AuditActor(client: "system:retention", requestID: nil, source: "server")

    /// Deletes every card whose `retain_until` has passed, `batchSize` per transaction, each
    /// deletion audited (`card.expire`) in the same commit, with the card's ioka references and
    /// Horizonpay tokens and its pending code. SQLite's `secure_delete` zeroes the freed pages;
    /// once anything was deleted the WAL is checkpointed and truncated, so no copy of the
    /// ciphertext lingers there. Returns how many cards were deleted.
    @discardableResult
    public func sweepExpired(now: Date, batchSize: Int = 500) async throws -> Int {
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let actor = Self.retentionActor
        var total = 0
        while true {
            let deleted = try await store.write { tx -> [CardToken] in
                let cards = try tx.cards(expiringBy: now, limit: batchSize)
                for card in cards {
                    _ = try tx.deleteCard(token: card.token, tenant: card.tenant)
                    _ = try tx.deleteReferences(token: card.token, tenant: card.tenant)
                    var owner = actor
                    owner.tenant = card.tenant.rawValue
                    try tx.appendAudit(AuditEvent(action: "card.expire", subject: card.token.rawValue, outcome: .success, actor: owner), chain: chain, at: now)
                }
                return cards.map(\.token)
            }
            for token in deleted { await codes.forget(token) }
            total += deleted.count
            if deleted.count < batchSize { break }
        }
        if total > 0 { try await store.checkpoint() }
        return total
    }
}
