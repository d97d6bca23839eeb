import VaultCrypto

/// A client's bearer secret: `cvs_` and 256 random bits. Shown once at creation; the vault
/// keeps only `lookupHash`, a keyed hash, so a database copy does not yield usable secrets.
public struct ClientSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public static let prefix = "cvs_"
    /// The secret itself, for printing once to the operator.
    public let revealed: String

    public static func generate() -> ClientSecret {
        ClientSecret(revealed: prefix + Base64URL.encode(SecureRandom.bytes(32)))
    }

    init(revealed: String) { self.revealed = revealed }

    /// Keyed hash of a presented secret, used as the look-up key.
    public static func lookupHash(of presented: String, key: SymmetricKey) -> [UInt8] {
        KeyedHash.hash(Array(presented.utf8), key: key, length: 32)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
