import VaultCrypto

/// A validated card number. Its textual forms are `<redacted>`; the digits leave only through
/// `withDigits` (to seal them, hash them, or build a provider payload).
public struct PrimaryAccountNumber: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Digit values 0...9, not ASCII, in one allocation wiped on release.
    private let digits: SensitiveBytes
    public let brand: CardBrand

    /// Strips spaces and dashes, then checks digits only, 12 to 19 digits, the brand's
    /// lengths and the Luhn checksum. Errors name the field `number`.
    public init(validating raw: String, field: String = "number") throws(VaultError) {
        try self.init(validatingUTF8: raw.utf8, field: field)
    }

    /// The same, over the bytes a request carried.
    public init(validating raw: SensitiveBytes, field: String = "number") throws(VaultError) {
        self = try raw.withUnsafeBytes { (bytes) throws(VaultError) in try Self(validatingUTF8: bytes, field: field) }
    }

    private init<Bytes: Collection<UInt8>>(validatingUTF8 utf8: Bytes, field: String) throws(VaultError) {
        // At most 19 digits are ever appended, so the array never reallocates (no copy left behind).
        var out = [UInt8]()
        out.reserveCapacity(19)
        defer { wipe(&out) }
        for c in utf8 {
            switch c {
            case 0x20, 0x2D: continue
            case 0x30...0x39:
                guard out.count < 19 else {
                    throw .invalid(field, code: .invalidCardNumber, "card number must have 12 to 19 digits")
                }
                out.append(c - 0x30)
            default:
                throw .invalid(field, code: .invalidCardNumber, "card number may contain only digits, spaces and dashes")
            }
        }
        guard (12...19).contains(out.count) else {
            throw .invalid(field, code: .invalidCardNumber, "card number must have 12 to 19 digits")
        }
        guard Self.luhnValid(out) else {
            throw .invalid(field, code: .invalidCardNumber, "card number fails the Luhn check")
        }
        let brand = CardBrand.detect(out)
        guard brand.allowedLengths.contains(out.count) else {
            throw .invalid(field, code: .invalidCardNumber, "card number length does not match its payment system")
        }
        self.digits = SensitiveBytes(copying: out)
        self.brand = brand
    }

    /// Rebuilds from decrypted storage bytes (ASCII digits), trusted to be valid.
    init(storedASCII: ArraySlice<UInt8>) {
        let digits = SensitiveBytes(copying: storedASCII.lazy.map { $0 &- 0x30 })
        self.digits = digits
        brand = digits.withUnsafeBytes { CardBrand.detect($0) }
    }

    static func luhnValid(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if i % 2 == 1 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return sum % 10 == 0
    }

    public var length: Int { digits.count }

    /// Whether two numbers have the same digits (in time that depends only on their lengths).
    public func matches(_ other: PrimaryAccountNumber) -> Bool {
        guard digits.count == other.digits.count else { return false }
        return digits.withUnsafeBytes { a in
            other.digits.withUnsafeBytes { b in zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0 }
        }
    }

    /// How many leading digits may be shown: six at most, and never so many that fewer than
    /// nine digits stay hidden (PCI DSS display rule: at most BIN and last four).
    private var visiblePrefix: Int { max(0, min(6, digits.count - 9)) }

    public var bin: String { digits.withUnsafeBytes { ascii($0.prefix(visiblePrefix)) } }
    public var last4: String { digits.withUnsafeBytes { ascii($0.suffix(4)) } }
    public var masked: String {
        bin + String(repeating: "*", count: digits.count - visiblePrefix - 4) + last4
    }

    /// The ASCII digits, for sealing, keyed hashing or a provider payload. The buffer is
    /// wiped after `body` returns.
    public func withDigits<R>(_ body: ([UInt8]) throws -> R) rethrows -> R {
        var ascii = digits.withUnsafeBytes { $0.map { $0 + 0x30 } }
        defer { wipe(&ascii) }
        return try body(ascii)
    }

    private func ascii<S: Sequence>(_ s: S) -> String where S.Element == UInt8 {
        String(decoding: s.map { $0 + 0x30 }, as: UTF8.self)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
