import VaultCrypto

/// An unwrapped data-encryption key (DEK) with its version.
public struct DataKey: Sendable {
    public let version: Int
    let key: SymmetricKey

    init(version: Int, key: SymmetricKey) {
        self.version = version
        self.key = key
    }
}

/// Life cycle of a data-key version.
public enum DataKeyState: String, Sendable, Codable {
    /// Encrypts new records (exactly one version at a time).
    case active
    /// Decrypts records still sealed under it; `keys rewrap` moves them to the active version.
    case decryptOnly = "decrypt-only"
    /// Destroyed: its wrapped bytes are gone and no record may use it.
    case retired
}
