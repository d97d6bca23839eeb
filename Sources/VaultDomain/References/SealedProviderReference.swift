import Foundation
import VaultCrypto

/// A provider reference as stored: the vault token it belongs to, its kind, a keyed blind index
/// to find it by value, and the value AEAD-encrypted under a data-key version. The associated
/// data binds the ciphertext to its token, kind, version and (outside `default`) tenant.
public struct SealedProviderReference: Sendable, Equatable {
    public var token: CardToken
    public let tenant: Tenant
    public var kind: ProviderReferenceKind
    public var blindIndex: [UInt8]
    public var keyVersion: Int
    public var box: SealedBox
    public var details: ReferenceDetails
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        token: CardToken, tenant: Tenant, kind: ProviderReferenceKind, blindIndex: [UInt8], keyVersion: Int, box: SealedBox,
        details: ReferenceDetails, createdAt: Date, updatedAt: Date
    ) {
        self.token = token
        self.tenant = tenant
        self.kind = kind
        self.blindIndex = blindIndex
        self.keyVersion = keyVersion
        self.box = box
        self.details = details
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    static func associatedData(token: CardToken, tenant: Tenant, kind: ProviderReferenceKind, keyVersion: Int) -> [UInt8] {
        let base = "cardvault.provider-reference.v1|\(kind.rawValue)|\(token.rawValue)|\(keyVersion)"
        return Array((tenant == .default ? base : base + "|tenant=" + tenant.rawValue).utf8)
    }

    static func seal(
        _ reference: ProviderReference, token: CardToken, tenant: Tenant, details: ReferenceDetails, key: DataKey,
        indexKey: SymmetricKey, at date: Date
    ) -> SealedProviderReference {
        SealedProviderReference(
            token: token, tenant: tenant, kind: reference.kind, blindIndex: reference.blindIndex(key: indexKey), keyVersion: key.version,
            box: key.sealText(reference.value, associatedData: associatedData(token: token, tenant: tenant, kind: reference.kind, keyVersion: key.version)),
            details: details, createdAt: date, updatedAt: date)
    }

    func open(with key: DataKey) throws(VaultError) -> String {
        try key.openText(
            box, version: keyVersion, associatedData: Self.associatedData(token: token, tenant: tenant, kind: kind, keyVersion: keyVersion),
            unreadable: VaultError(.unavailable, code: .referenceUnreadable, message: "a stored provider reference failed its integrity check"))
    }

    /// Refuses any of `references` whose ciphertext does not open for the row it sits in (its
    /// token, kind and tenant are in the associated data): a row moved to another tenant or
    /// token by SQL fails here, is counted, and is never shown, not even its masked details.
    /// A key version the ring does not know yet answers `key_unavailable` (callers reload
    /// keys and try again).
    static func verify(_ references: [SealedProviderReference], keys: KeyRing) throws(VaultError) {
        for reference in references {
            let key = try keys.key(version: reference.keyVersion)
            do {
                _ = try reference.open(with: key)
            } catch {
                IntegrityFailures.record(.providerReferences)
                throw VaultError.integrityFailure.naming(row: .providerReferences, reference.token.rawValue)
            }
        }
    }

    /// The references `token` holds in `tenant`, each verified (`verify`).
    static func verified(token: CardToken, tenant: Tenant, in tx: any VaultReader, keys: KeyRing) throws -> [SealedProviderReference] {
        let references = try tx.references(token: token, tenant: tenant)
        try verify(references, keys: keys)
        return references
    }

    /// The same reference sealed under `key` (rewrap).
    func resealed(with key: DataKey, from old: DataKey) throws(VaultError) -> SealedProviderReference {
        var copy = self
        copy.box = key.sealText(try open(with: old), associatedData: Self.associatedData(token: token, tenant: tenant, kind: kind, keyVersion: key.version))
        copy.keyVersion = key.version
        return copy
    }
}
