import Foundation
import VaultCrypto

/// A card as stored: token, fingerprint, and the AEAD ciphertext of its `CardData` under one
/// data-key version. The associated data binds the ciphertext to the token, the version and
/// (outside the `default` tenant) the tenant, so a ciphertext moved to another row, relabelled
/// with another version or handed to another tenant does not decrypt.
public struct SealedCard: Sendable, Equatable {
    public var token: CardToken
    /// The tenant that owns the card; every look-up is scoped to it.
    public let tenant: Tenant
    public var fingerprint: CardFingerprint
    public var keyVersion: Int
    public var box: SealedBox
    public var createdAt: Date
    public var updatedAt: Date
    /// When the retention sweeper deletes the card; nil keeps it until deleted.
    public var retainUntil: Date?

    public init(
        token: CardToken, tenant: Tenant, fingerprint: CardFingerprint, keyVersion: Int, box: SealedBox, createdAt: Date, updatedAt: Date,
        retainUntil: Date? = nil
    ) {
        self.token = token
        self.tenant = tenant
        self.fingerprint = fingerprint
        self.keyVersion = keyVersion
        self.box = box
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.retainUntil = retainUntil
    }

    /// Cards of the `default` tenant keep the form they had before tenants existed.
    static func associatedData(token: CardToken, tenant: Tenant, keyVersion: Int) -> [UInt8] {
        let base = "cardvault.card.v1|\(token.rawValue)|\(keyVersion)"
        return Array((tenant == .default ? base : base + "|tenant=" + tenant.rawValue).utf8)
    }

    static func seal(_ data: CardData, token: CardToken, tenant: Tenant, key: DataKey) -> SealedBox {
        data.withPlaintext { XChaCha20Poly1305.seal($0, associatedData: associatedData(token: token, tenant: tenant, keyVersion: key.version), key: key.key) }
    }

    /// Seals `data` again for this card's row under `key`.
    mutating func reseal(_ data: CardData, key: DataKey) {
        box = Self.seal(data, token: token, tenant: tenant, key: key)
        keyVersion = key.version
    }

    /// Opens the card and checks that its row still names it: the fingerprint stored beside the
    /// ciphertext must be the keyed hash of the PAN inside it (the fingerprint key is not in the
    /// database), so a row whose fingerprint a database writer swapped is refused, not served.
    func open(with key: DataKey, fingerprintKey: SymmetricKey) throws(VaultError) -> CardData {
        guard key.version == keyVersion else { throw VaultError.keyUnavailable }
        let data: Result<CardData, VaultError>
        do {
            data = try XChaCha20Poly1305.open(box, associatedData: Self.associatedData(token: token, tenant: tenant, keyVersion: keyVersion), key: key.key) {
                plaintext in
                Result { () throws(VaultError) in try CardData(plaintext: plaintext) }
            }
        } catch {
            IntegrityFailures.record(.cards)
            throw VaultError.cardUnreadable.naming(row: .cards, token.rawValue)
        }
        let card = try data.get()
        guard CardFingerprint(pan: card.pan, key: fingerprintKey) == fingerprint else {
            IntegrityFailures.record(.cards)
            throw VaultError.cardUnreadable.naming(row: .cards, token.rawValue)
        }
        return card
    }
}

extension VaultError {
    /// A stored card failed its check (its ciphertext, or the fingerprint beside it, was changed
    /// without the vault's keys). Counted and audited where it is met.
    public static let cardUnreadable = VaultError(.unavailable, code: .cardUnreadable, message: "the stored card failed its integrity check")
}
