import VaultCrypto

extension DataKey {
    /// Seals a short secret text (a provider token or reference) under this key; the plaintext
    /// copy is wiped.
    func sealText(_ value: String, associatedData: [UInt8]) -> SealedBox {
        var bytes = Array(value.utf8)
        defer { wipe(&bytes) }
        return XChaCha20Poly1305.seal(bytes, associatedData: associatedData, key: key)
    }

    /// Opens a text sealed by `sealText` under version `version`. A wrong version or a failed
    /// integrity check is `unreadable` (a vague error for the caller).
    func openText(_ box: SealedBox, version: Int, associatedData: [UInt8], unreadable: VaultError) throws(VaultError) -> String {
        guard self.version == version else { throw VaultError.keyUnavailable }
        do {
            return try XChaCha20Poly1305.open(box, associatedData: associatedData, key: key) { String(decoding: $0, as: UTF8.self) }
        } catch {
            throw unreadable
        }
    }
}
