/// A PKCS#11 token as the `pkcs11` seal uses it (implemented in VaultHSM, over SoftHSM2 in the
/// tests): it makes and finds a non-extractable AES-256 key by label, and that key wraps and
/// unwraps inside the token.
public protocol HardwareKeyStore: Sendable {
    /// Generates a new token key under `label`; refuses when the label is taken.
    func generateKey(label: String) throws(VaultError) -> any KeyEncryptionKey
    /// The token key under `label`.
    func key(label: String) throws(VaultError) -> any KeyEncryptionKey
    /// Removes the token key under `label` (after `migrate-seal` away from it, never before).
    func destroyKey(label: String) throws(VaultError)
    /// The token's label, for `keys status`.
    var tokenLabel: String { get }
}
