/// Last line of defence for text that comes from outside (provider answers, notifications,
/// events): a card number is replaced by its masked form wherever it stands, written as 12 to 19
/// digits in a row, or in groups with one space or one dash between them (`4111 1111 1111 1111`,
/// `4111-1111-1111-1111`), as long as the digits pass the Luhn check. JSON numbers are checked
/// with `isCardNumber`.
public enum PANScrubber {
    public static func scrub(_ text: String) -> String {
        // Almost every string in an answer holds fewer than 12 digits: answer those without copying.
        var digitCount = 0
        for byte in text.utf8 where (0x30...0x39).contains(byte) { digitCount += 1 }
        guard digitCount >= 12 else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var changed = false
        while i < bytes.count {
            guard isDigit(bytes[i]) else { out.append(bytes[i]); i += 1; continue }
            // A sequence of digit groups, each joined to the next by exactly one space or dash.
            var groups: [Range<Int>] = []
            var j = i
            while true {
                let start = j
                while j < bytes.count, isDigit(bytes[j]) { j += 1 }
                groups.append(start..<j)
                guard j + 1 < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x2D, isDigit(bytes[j + 1]) else { break }
                j += 1
            }
            let end = groups.last!.upperBound
            var g = 0
            while g < groups.count {
                if let (last, masked) = cardNumber(in: groups, from: g, bytes: bytes) {
                    out.append(contentsOf: masked)
                    changed = true
                    // Keep the separator after the masked span, if any.
                    if last + 1 < groups.count { out.append(bytes[groups[last].upperBound]) }
                    g = last + 1
                } else {
                    out.append(contentsOf: bytes[groups[g]])
                    if g + 1 < groups.count { out.append(bytes[groups[g].upperBound]) }
                    g += 1
                }
            }
            i = end
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    /// Whether a JSON integer is a card number (12 to 19 digits, Luhn-valid).
    public static func isCardNumber(_ value: Int64) -> Bool {
        value >= 100_000_000_000 && luhn(Array(String(value).utf8))
    }

    /// The masked form of a JSON integer that is a card number.
    public static func masked(_ value: Int64) -> String? {
        guard isCardNumber(value) else { return nil }
        return String(decoding: mask(Array(String(value).utf8)), as: UTF8.self)
    }

    /// The longest run of groups starting at `first` whose digits (12 to 19 of them) pass the
    /// Luhn check, and their masked form; a single group counts only whole. A span of several
    /// groups must stand alone (no letter or digit right before or after it), so identifiers
    /// such as a UUID's `bb56-401200103714` are not read as a grouped card number.
    private static func cardNumber(in groups: [Range<Int>], from first: Int, bytes: [UInt8]) -> (Int, [UInt8])? {
        var digits: [UInt8] = []
        var best: (Int, [UInt8])?
        let startsAlone = groups[first].lowerBound == 0 || !isAlphanumeric(bytes[groups[first].lowerBound - 1])
        for g in first..<groups.count {
            digits += bytes[groups[g]]
            if digits.count > 19 { break }
            guard digits.count >= 12, luhn(digits) else { continue }
            let endsAlone = groups[g].upperBound == bytes.count || !isAlphanumeric(bytes[groups[g].upperBound])
            if g == first || (startsAlone && endsAlone) { best = (g, mask(digits)) }
        }
        return best
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        isDigit(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
    }

    /// At most the first six and the last four digits, at least five hidden (as `masked` of a PAN).
    static func mask(_ digits: [UInt8]) -> [UInt8] {
        let shown = max(0, min(6, digits.count - 4 - 5))
        return Array(digits.prefix(shown)) + Array(repeating: 0x2A, count: digits.count - shown - 4) + Array(digits.suffix(4))
    }

    public static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (i, byte) in digits.reversed().enumerated() {
            guard (0x30...0x39).contains(byte) else { return false }
            var d = Int(byte - 0x30)
            if i % 2 == 1 { d *= 2; if d > 9 { d -= 9 } }
            sum += d
        }
        return sum % 10 == 0
    }

    private static func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }
}
