import Foundation
import VaultCrypto

/// What a provider call needs of a vaulted card.
public struct ProviderCard: Sendable {
    public let token: CardToken
    public let fingerprint: CardFingerprint
    public let data: CardData
}
