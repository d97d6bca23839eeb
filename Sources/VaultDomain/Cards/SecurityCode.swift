import VaultCrypto

/// A card security code (CVV2/CVC2/CID). Held only in one slot of the pending-code slab
/// (guarded, locked memory), never encoded, logged or stored. `description` is `<redacted>`.
/// Made by `SecurityCodeVault.seal`, which refuses cleanly when the slab is full.
public struct SecurityCode: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let bytes: GuardedSlot

    init(bytes: GuardedSlot) { self.bytes = bytes }

    /// Three digits, or four for American Express. Checks the text only; nothing is kept.
    public static func validate(_ raw: String, brand: CardBrand) throws(VaultError) {
        try validate(bytes: raw.utf8, brand: brand)
    }

    public static func validate(_ raw: SensitiveBytes, brand: CardBrand) throws(VaultError) {
        try raw.withUnsafeBytes { (bytes) throws(VaultError) in try validate(bytes: bytes, brand: brand) }
    }

    static func validate<Bytes: Collection<UInt8>>(bytes utf8: Bytes, brand: CardBrand) throws(VaultError) {
        guard utf8.count == brand.securityCodeLength, utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .invalid(
                "verification_value", code: .invalidVerificationValue,
                brand == .amex ? "verification_value must be 4 digits" : "verification_value must be 3 digits")
        }
    }

    /// The code as text, for the one provider body that carries it.
    public var text: String { bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
