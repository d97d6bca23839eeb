/// The vault's names for a card in a provider answer: its token and fingerprint, never card
/// data.
public struct CardLabel: Sendable, Equatable, Codable {
    public let token: String
    public let fingerprint: String

    public init(token: String, fingerprint: String) {
        self.token = token
        self.fingerprint = fingerprint
    }

    public init(_ card: ProviderCard) {
        self.init(token: card.token.rawValue, fingerprint: card.fingerprint.rawValue)
    }
}
