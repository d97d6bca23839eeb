import VaultCrypto

/// A card security code (CVV2/CVC2/CID). Held only in guarded memory, never encoded,
/// logged or stored. `description` is `<redacted>`.
public struct SecurityCode: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let bytes: SecureBytes

    /// Three digits, or four for American Express.
    public init(validating raw: String, brand: CardBrand) throws(VaultError) {
        let utf8 = Array(raw.utf8)
        guard utf8.count == brand.securityCodeLength, utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .invalid(
                "verification_value", code: "invalid_verification_value",
                brand == .amex ? "verification_value must be 4 digits" : "verification_value must be 3 digits")
        }
        bytes = SecureBytes(copying: utf8)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
