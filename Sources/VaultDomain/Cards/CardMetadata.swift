import Foundation

/// What a caller may see about a vaulted card: never the PAN or the security code.
public struct CardMetadata: Sendable, Codable, Equatable {
    public var token: CardToken
    public var fingerprint: CardFingerprint
    public var brand: CardBrand
    public var bin: String
    public var last4: String
    public var masked: String
    public var expMonth: String
    public var expYear: String
    public var holder: String?
    public var hasVerificationValue: Bool
    public var verificationValueExpiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var retainUntil: Date?
    /// The provider references this token also holds (shown as flags and masked details).
    public var ioka: ReferenceSummary?
    public var iokaCard: Bool
    public var iokaSender: Bool
    /// Always true here; false in `ReferenceMetadata` (a token without a card number).
    public var hasCard = true

    enum CodingKeys: String, CodingKey {
        case token, fingerprint, brand, bin, masked, holder
        case last4 = "last_4"
        case expMonth = "exp_month"
        case expYear = "exp_year"
        case hasVerificationValue = "has_verification_value"
        case verificationValueExpiresAt = "verification_value_expires_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case retainUntil = "retain_until"
        case ioka
        case iokaCard = "ioka_card"
        case iokaSender = "ioka_sender"
        case hasCard = "has_card"
    }

    init(card: SealedCard, data: CardData, codeExpiresAt: Date?, references: [SealedProviderReference] = []) {
        token = card.token
        fingerprint = card.fingerprint
        brand = data.pan.brand
        bin = data.pan.bin
        last4 = data.pan.last4
        masked = data.pan.masked
        expMonth = data.expiry.monthText
        expYear = data.expiry.yearText
        holder = data.holder?.name
        hasVerificationValue = codeExpiresAt != nil
        verificationValueExpiresAt = codeExpiresAt
        createdAt = card.createdAt
        updatedAt = card.updatedAt
        retainUntil = card.retainUntil
        ioka = ReferenceSummary(references)
        iokaCard = ioka?.card != nil
        iokaSender = ioka?.sender != nil
    }
}
