import VaultCrypto

/// `fp_` and a keyed BLAKE2b hash of the PAN alone (blind index): the same card number always
/// gives the same fingerprint, whatever its expiry or holder, and without the index key the
/// fingerprint cannot be linked back to a PAN.
public struct CardFingerprint: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let prefix = "fp_"
    public let rawValue: String

    public init(pan: PrimaryAccountNumber, key: SymmetricKey) {
        let mac = pan.withDigits { KeyedHash.hash($0, key: key, length: 32) }
        rawValue = Self.prefix + Base64URL.encode(mac)
    }

    public init(stored: String) { rawValue = stored }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }
}
