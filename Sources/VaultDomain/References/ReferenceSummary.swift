import Foundation

/// The ioka references a token holds, as a caller may see them: which kinds, and the masked
/// details ioka reported. Never the reference itself.
public struct ReferenceSummary: Sendable, Equatable, Codable {
    public var card: ReferenceDetails?
    public var sender: ReferenceDetails?

    /// nil when the token holds no reference.
    init?(_ references: [SealedProviderReference]) {
        guard !references.isEmpty else { return nil }
        for reference in references {
            switch reference.kind {
            case .iokaCard: card = reference.details
            case .iokaSender: sender = reference.details
            }
        }
    }
}

/// Metadata of a token that holds provider references but no card number.
public struct ReferenceMetadata: Sendable, Equatable, Codable {
    public var token: CardToken
    public var ioka: ReferenceSummary
    public var iokaCard: Bool
    public var iokaSender: Bool
    public var hasCard = false
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case token, ioka
        case iokaCard = "ioka_card"
        case iokaSender = "ioka_sender"
        case hasCard = "has_card"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    init?(token: CardToken, references: [SealedProviderReference]) {
        guard let summary = ReferenceSummary(references) else { return nil }
        self.token = token
        ioka = summary
        iokaCard = summary.card != nil
        iokaSender = summary.sender != nil
        createdAt = references.map(\.createdAt).min() ?? Date()
        updatedAt = references.map(\.updatedAt).max() ?? Date()
    }

    public var jsonBytes: [UInt8] { VaultJSON.encode(self) }
}
