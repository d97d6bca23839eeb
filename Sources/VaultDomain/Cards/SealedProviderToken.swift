import Foundation
import VaultCrypto

/// A provider's own token for a vaulted card (a Horizonpay `credit_card.token`), stored like a
/// PAN: AEAD-encrypted under a data-key version, bound by associated data to its card, its
/// provider and the version. Never handed to a caller.
public struct SealedProviderToken: Sendable, Equatable {
    public var card: CardToken
    public var provider: String
    public var keyVersion: Int
    public var box: SealedBox
    public var createdAt: Date

    public init(card: CardToken, provider: String, keyVersion: Int, box: SealedBox, createdAt: Date) {
        self.card = card
        self.provider = provider
        self.keyVersion = keyVersion
        self.box = box
        self.createdAt = createdAt
    }

    static func associatedData(card: CardToken, provider: String, keyVersion: Int) -> [UInt8] {
        Array("cardvault.provider-token.v1|\(provider)|\(card.rawValue)|\(keyVersion)".utf8)
    }

    static func seal(_ value: String, card: CardToken, provider: String, key: DataKey, at date: Date) -> SealedProviderToken {
        let box = key.sealText(value, associatedData: associatedData(card: card, provider: provider, keyVersion: key.version))
        return SealedProviderToken(card: card, provider: provider, keyVersion: key.version, box: box, createdAt: date)
    }

    func open(with key: DataKey) throws(VaultError) -> String {
        try key.openText(
            box, version: keyVersion, associatedData: Self.associatedData(card: card, provider: provider, keyVersion: keyVersion),
            unreadable: VaultError(.unavailable, code: .providerTokenUnreadable, message: "a stored provider token failed its integrity check"))
    }

    func resealed(with key: DataKey, from old: DataKey) throws(VaultError) -> SealedProviderToken {
        SealedProviderToken.seal(try open(with: old), card: card, provider: provider, key: key, at: createdAt)
    }
}
