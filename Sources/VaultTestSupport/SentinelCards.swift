/// Card numbers and security codes used only to prove they never leak: each test vaults them
/// and then scans everything observable for them.
public enum SentinelCards {
    /// Luhn-valid PANs of several brands that appear nowhere else in the test suite's output.
    public static let pans: [String] = [
        luhnComplete("400000777711112"),  // Visa
        luhnComplete("522204777722223"),  // Mastercard
        luhnComplete("220077773333444"),  // Mir
        luhnComplete("62127777444455556"),  // UnionPay, 18 digits
        luhnComplete("37777755556666"),  // Amex, 15 digits
    ]

    /// Security codes unlikely to occur by chance next to other digits.
    public static let codes: [String] = ["917", "828", "739", "646", "5517"]

    /// Completes `prefix` with its Luhn check digit.
    public static func luhnComplete(_ prefix: String) -> String {
        let digits = prefix.compactMap { $0.wholeNumberValue }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            var v = d
            if i % 2 == 0 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return prefix + String((10 - sum % 10) % 10)
    }

    /// A Luhn-valid Visa number derived from `n`, for bulk tests.
    public static func visa(_ n: Int) -> String {
        let body = String(n)
        let padded = "4" + String(repeating: "0", count: 14 - body.count) + body
        return luhnComplete(padded)
    }
}
