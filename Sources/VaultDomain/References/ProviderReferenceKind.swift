/// What a provider reference names. ioka keeps a saved recipient card as a `card_id` (sent as
/// `receiver_id`) and a saved sender card as a `sender_id` (`pyr_...`). Whoever holds one and
/// the shop's API key can move money with that card, so the vault keeps them like PANs.
public enum ProviderReferenceKind: String, Sendable, CaseIterable, Codable {
    case iokaCard = "ioka.card"
    case iokaSender = "ioka.sender"

    /// The request field that carries the reference at the provider.
    public var field: String {
        switch self {
        case .iokaCard: "card_id"
        case .iokaSender: "sender_id"
        }
    }

    /// The error code for a vault token that lacks this reference.
    public var missingCode: VaultError.Code {
        switch self {
        case .iokaCard: .iokaCardMissing
        case .iokaSender: .iokaSenderMissing
        }
    }
}
