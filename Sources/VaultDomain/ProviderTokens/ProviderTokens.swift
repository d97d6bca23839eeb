import Foundation
import VaultCrypto

/// The provider-tokens aggregate: the card tokens a provider hands back (Horizonpay's saved
/// card token), sealed under the vault token they belong to, read only for the call that uses
/// them.
public struct ProviderTokens: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    /// Stores a provider's token for a card, encrypted under the active data key, and audits it.
    public func captureProviderToken(_ value: String, provider: String, for card: CardToken, caller: Caller) async throws {
        guard !value.isEmpty, value.utf8.count <= 512 else { return }
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let keys = self.keys
        let actor = caller.actor
        try await writeConfirmed(caller, action: "\(provider).token.capture", chain: chain, at: now) { tx in
            guard try tx.card(token: card, tenant: caller.tenant) != nil else { return }
            try tx.save(SealedProviderToken.seal(value, card: card, provider: provider, key: try keys.activeKey(), at: now))
            try tx.appendAudit(AuditEvent(action: "\(provider).token.capture", subject: card.rawValue, outcome: .success, actor: actor), chain: chain, at: now)
        }
    }

    /// The provider's token for a card, decrypted for one provider call; nil when none is stored.
    /// The read is audited.
    public func providerToken(provider: String, for card: CardToken, caller: Caller) async throws -> String? {
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let actor = caller.actor
        let sealed = try await writeConfirmed(caller, action: "\(provider).token.use", chain: chain, at: now) { tx -> SealedProviderToken? in
            let sealed = try tx.providerToken(card: card, provider: provider, tenant: caller.tenant)
            try tx.appendAudit(
                AuditEvent(action: "\(provider).token.use", subject: card.rawValue, outcome: sealed == nil ? .failure : .success, actor: actor), chain: chain,
                at: now)
            return sealed
        }
        guard let sealed else { return nil }
        if (try? keys.key(version: sealed.keyVersion)) == nil { try await refreshKeys() }
        return try sealed.open(with: try keys.key(version: sealed.keyVersion))
    }
}
