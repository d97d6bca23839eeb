import VaultCrypto

/// The opaque handle callers keep instead of a PAN: `tok_` and 128 random bits from libsodium,
/// base64url (22 characters). Unrelated to the PAN and never all digits.
public struct CardToken: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let prefix = "tok_"
    public let rawValue: String

    public static func generate() -> CardToken {
        CardToken(unchecked: prefix + Base64URL.encode(SecureRandom.bytes(16)))
    }

    /// Accepts only the exact shape a vault token has.
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), text.utf8.count == Self.prefix.utf8.count + 22 else { return nil }
        guard Base64URL.isAlphabet(text.dropFirst(Self.prefix.count)) else { return nil }
        rawValue = text
    }

    init(unchecked: String) { rawValue = unchecked }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let token = CardToken(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a vault token"))
        }
        self = token
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }
}
