/// Payment system, recognised from the leading digits (IIN/BIN ranges).
public enum CardBrand: String, Sendable, Codable, CaseIterable {
    case visa, mastercard, mir, unionpay, amex, maestro, jcb, discover, diners, unknown

    /// Allowed PAN lengths for the brand.
    var allowedLengths: ClosedRange<Int> {
        switch self {
        case .visa: 13...19
        case .mastercard: 16...16
        case .mir: 16...19
        case .unionpay: 16...19
        case .amex: 15...15
        case .maestro: 12...19
        case .jcb: 16...19
        case .discover: 16...19
        case .diners: 14...19
        case .unknown: 12...19
        }
    }

    /// Length of the security code the brand uses.
    public var securityCodeLength: Int { self == .amex ? 4 : 3 }

    /// Brand of a digits-only PAN. Order matters where ranges nest (Mir 2200-2204 sits below
    /// Mastercard's 2221-2720; UnionPay's 62 before Discover's co-branded 622126-622925).
    public static func detect<Digits: Collection<UInt8>>(_ digits: Digits) -> CardBrand {
        func prefix(_ n: Int) -> Int {
            var v = 0
            for d in digits.prefix(n) { v = v * 10 + Int(d) }
            return v
        }
        let p1 = prefix(1), p2 = prefix(2), p3 = prefix(3), p4 = prefix(4), p6 = prefix(6)
        if p1 == 4 { return .visa }
        if (2200...2204).contains(p4) { return .mir }
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return .mastercard }
        if p2 == 34 || p2 == 37 { return .amex }
        if p2 == 62 || p2 == 81 { return .unionpay }
        if (3528...3589).contains(p4) { return .jcb }
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65 { return .discover }
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 { return .diners }
        if p2 == 50 || (56...58).contains(p2) || p2 == 63 || p2 == 67 || p6 == 676770 || p6 == 676774 { return .maestro }
        return .unknown
    }
}
