import VaultCrypto

/// Purpose keys derived from the index key, so that no two uses share a key.
public struct DerivedKeys: Sendable {
    /// Card fingerprints (blind index of the PAN).
    public let fingerprint: SymmetricKey
    /// The audit log's hash chain.
    public let audit: SymmetricKey
    /// Look-up hashes of client secrets.
    public let clientSecret: SymmetricKey
    /// Request hashes behind `Idempotency-Key`.
    public let idempotency: SymmetricKey
    /// Blind indexes of provider references (ioka card ids and the like).
    public let providerReference: SymmetricKey

    init(index: SymmetricKey) {
        fingerprint = KeyDerivation.derive(from: index, id: 1, context: "cvfinger")
        audit = KeyDerivation.derive(from: index, id: 2, context: "cvauditl")
        clientSecret = KeyDerivation.derive(from: index, id: 3, context: "cvclient")
        idempotency = KeyDerivation.derive(from: index, id: 4, context: "cvidempo")
        providerReference = KeyDerivation.derive(from: index, id: 5, context: "cvprovrf")
    }
}
