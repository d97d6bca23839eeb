import Foundation

/// What a provider call needs from storage before anything leaves the vault: the cards whose
/// data it sends, the saved provider tokens and provider references it swaps in, and the
/// provider object it names. `ProviderCallLedger.release` reads all of it in one commit.
public struct ProviderCallRelease: Sendable {
    /// A saved provider token (Horizonpay's card token) that stands in for a card's data.
    public struct TokenNeed: Sendable {
        public let card: CardToken
        public let provider: String
        /// The refusal when none is stored (it names the field that asked for it).
        public let missing: VaultError

        public init(card: CardToken, provider: String, missing: VaultError) {
            self.card = card
            self.provider = provider
            self.missing = missing
        }
    }

    /// A provider object (an ioka order, a Horizonpay job) the call names, which the caller's
    /// tenant must own; `notFound` is what anyone else gets, exactly what an unknown id gets.
    public struct ObjectNeed: Sendable {
        public let id: String
        public let provider: String
        public let notFound: VaultError
        /// The subject of the refusal's audit row (the id as it may be audited).
        public let auditedAs: String

        public init(id: String, provider: String, notFound: VaultError, auditedAs: String) {
            self.id = id
            self.provider = provider
            self.notFound = notFound
            self.auditedAs = auditedAs
        }
    }

    /// The audit action of the call (`horizonpay.p2p_transfer`, `ioka.transfer_order.topup`).
    public let action: String
    public var cards: [CardToken] = []
    public var providerTokens: [TokenNeed] = []
    public var references: [ProviderReferences.ReferenceNeed] = []
    public var object: ObjectNeed?

    public init(action: String) { self.action = action }
}

/// What the first commit of a provider call released, decrypted for this one call.
public struct ProviderCallReleased: Sendable {
    public var cards: [CardToken: ProviderCard] = [:]
    /// Saved provider tokens by the vault card they stand in for.
    public var providerTokens: [CardToken: String] = [:]
    /// Provider references by the field that named their vault token.
    public var references: [String: String] = [:]
    /// The cards the named provider object was started with (empty when it has none).
    public var objectCards: [String: CardLabel] = [:]

    public init() {}
}
