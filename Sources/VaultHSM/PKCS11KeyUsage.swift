import CPKCS11

/// What a token key may be used for, as the token reports it (`PKCS11KeyStore.usage`).
public struct PKCS11KeyUsage: Sendable, Equatable {
    /// `CKA_ALLOWED_MECHANISMS`: the mechanism numbers the key works with (empty: any).
    public let allowedMechanisms: [UInt]
    public let sign: Bool
    public let verify: Bool
    public let derive: Bool
    public let modifiable: Bool
    public let copyable: Bool

    /// `CKM_AES_GCM`, the one mechanism the vault's master key is made for.
    public static let aesGCM = UInt(CKM_AES_GCM)
}
