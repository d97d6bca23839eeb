import Foundation

/// Expiry month and four-digit year. A card is valid through the last day of its month.
public struct CardExpiry: Sendable, Equatable, Codable {
    public let month: Int
    public let year: Int

    public init(month: Int, year: Int) {
        self.month = month
        self.year = year
    }

    /// Validates month (1-12, given as one or two digits) and year (four digits, not in the
    /// past, at most 50 years ahead), and that the card has not expired at `now` (UTC).
    public static func validating(month rawMonth: String, year rawYear: String, now: Date) throws(VaultError) -> CardExpiry {
        let m = rawMonth.trimmingCharacters(in: .whitespaces)
        guard (1...2).contains(m.count), m.allSatisfy({ $0.isASCII && $0.isNumber }), let month = Int(m), (1...12).contains(month) else {
            throw .invalid("exp_month", code: .invalidExpiry, "exp_month must be a month from 1 to 12")
        }
        let y = rawYear.trimmingCharacters(in: .whitespaces)
        guard y.count == 4, y.allSatisfy({ $0.isASCII && $0.isNumber }), let year = Int(y) else {
            throw .invalid("exp_year", code: .invalidExpiry, "exp_year must be a four-digit year")
        }
        let current = Self.yearMonth(now)
        guard year <= current.year + 50 else {
            throw .invalid("exp_year", code: .invalidExpiry, "exp_year is too far in the future")
        }
        guard (year, month) >= (current.year, current.month) else {
            throw .invalid("exp_year", code: .cardExpired, "the card has expired")
        }
        return CardExpiry(month: month, year: year)
    }

    public var monthText: String { month < 10 ? "0\(month)" : "\(month)" }
    public var yearText: String { String(year) }

    static func yearMonth(_ date: Date) -> (year: Int, month: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month], from: date)
        return (c.year!, c.month!)
    }
}
