import Foundation
import VaultCrypto

/// A card as stored: token, fingerprint, and the AEAD ciphertext of its `CardData` under one
/// data-key version. The associated data binds the ciphertext to the token and the version, so a
/// ciphertext moved to another row or relabelled with another version does not decrypt.
public struct SealedCard: Sendable, Equatable {
    public var token: CardToken
    public var fingerprint: CardFingerprint
    public var keyVersion: Int
    public var box: SealedBox
    public var createdAt: Date
    public var updatedAt: Date
    /// When the retention sweeper deletes the card; nil keeps it until deleted.
    public var retainUntil: Date?

    public init(token: CardToken, fingerprint: CardFingerprint, keyVersion: Int, box: SealedBox, createdAt: Date, updatedAt: Date,
                retainUntil: Date? = nil) {
        self.token = token
        self.fingerprint = fingerprint
        self.keyVersion = keyVersion
        self.box = box
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.retainUntil = retainUntil
    }

    static func associatedData(token: CardToken, keyVersion: Int) -> [UInt8] {
        Array("cardvault.card.v1|\(token.rawValue)|\(keyVersion)".utf8)
    }

    static func seal(_ data: CardData, token: CardToken, key: DataKey) -> SealedBox {
        data.withPlaintext { XChaCha20Poly1305.seal($0, associatedData: associatedData(token: token, keyVersion: key.version), key: key.key) }
    }

    func open(with key: DataKey) throws(VaultError) -> CardData {
        guard key.version == keyVersion else { throw VaultError.keyUnavailable }
        let data: Result<CardData, VaultError>
        do {
            data = try XChaCha20Poly1305.open(box, associatedData: Self.associatedData(token: token, keyVersion: keyVersion), key: key.key) { plaintext in
                Result { () throws(VaultError) in try CardData(plaintext: plaintext) }
            }
        } catch {
            throw VaultError(.unavailable, code: "card_unreadable", message: "the stored card failed its integrity check")
        }
        return try data.get()
    }
}
