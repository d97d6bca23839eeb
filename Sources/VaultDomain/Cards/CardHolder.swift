/// Cardholder name as printed on the card: at most 35 characters (Horizonpay's limit),
/// no control characters, not a card number.
public struct CardHolder: Sendable, Equatable {
    public static let maxLength = 35
    public let name: String

    public init(validating raw: String) throws(VaultError) {
        let name = raw.trimmingWhitespace()
        guard !name.isEmpty else { throw .invalid("holder", code: .invalidHolder, "holder must not be empty") }
        guard name.count <= Self.maxLength else {
            throw .invalid("holder", code: .invalidHolder, "holder must be at most 35 characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.value == 0x1F }) else {
            throw .invalid("holder", code: .invalidHolder, "holder must not contain control characters")
        }
        // A long run of digits in the name field is how PANs end up in the wrong column.
        var run = 0
        for c in name.unicodeScalars {
            if ("0"..."9").contains(c) { run += 1 } else if c != " " && c != "-" { run = 0 }
            guard run < 8 else { throw .invalid("holder", code: .invalidHolder, "holder must not contain a number") }
        }
        self.name = name
    }

    init(trusted name: String) { self.name = name }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
