import VaultCrypto

/// The master key as the key ring uses it: something that wraps and unwraps the data and index
/// keys. A software key (file and shamir seals) holds 32 bytes in guarded memory; a PKCS#11 key
/// (`pkcs11` seal) stays inside the token and only its handle is here.
public protocol KeyEncryptionKey: Sendable {
    /// Names the key in the database (`kek_id`): a check value, never key bytes.
    var id: String { get }
    func wrap(_ key: SymmetricKey, associatedData: [UInt8]) throws(VaultError) -> SealedBox
    func unwrap(_ box: SealedBox, associatedData: [UInt8]) throws(VaultError) -> SymmetricKey
}

/// A master key in guarded memory: XChaCha20-Poly1305 with the key's role as associated data.
public struct SoftwareKeyEncryptionKey: KeyEncryptionKey {
    public let key: SymmetricKey
    public let id: String

    public init(_ key: SymmetricKey) {
        self.key = key
        self.id = key.checkValue
    }

    public func wrap(_ key: SymmetricKey, associatedData: [UInt8]) throws(VaultError) -> SealedBox {
        key.withUnsafeBytes { XChaCha20Poly1305.seal($0, associatedData: associatedData, key: self.key) }
    }

    public func unwrap(_ box: SealedBox, associatedData: [UInt8]) throws(VaultError) -> SymmetricKey {
        do {
            return try SymmetricKey(XChaCha20Poly1305.open(box, associatedData: associatedData, key: key))
        } catch {
            throw VaultError(.unavailable, code: .keyUnwrapFailed, message: "a stored key does not unwrap under the master key")
        }
    }
}
