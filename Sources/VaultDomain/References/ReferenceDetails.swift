/// What a provider reported about a saved card, safe to show: the masked PAN, expiry, payment
/// system, issuer and (for ioka cards) the customer it is saved under. Stored in clear beside
/// the sealed reference; each field is checked so that nothing card-like slips in.
public struct ReferenceDetails: Sendable, Equatable, Codable {
    public var panMasked: String?
    public var expiryDate: String?
    public var paymentSystem: String?
    public var emitter: String?
    public var customerID: String?

    enum CodingKeys: String, CodingKey {
        case emitter
        case panMasked = "pan_masked"
        case expiryDate = "expiry_date"
        case paymentSystem = "payment_system"
        case customerID = "customer_id"
    }

    public init(panMasked: String? = nil, expiryDate: String? = nil, paymentSystem: String? = nil, emitter: String? = nil, customerID: String? = nil) {
        self.panMasked = panMasked
        self.expiryDate = expiryDate
        self.paymentSystem = paymentSystem
        self.emitter = emitter
        self.customerID = customerID
    }

    public var isEmpty: Bool { self == ReferenceDetails() }

    /// Validates caller input; every bad field is reported at once (each issue names its field).
    public static func validating(
        panMasked: String?, expiryDate: String?, paymentSystem: String?, emitter: String?,
        customerID: String?
    ) throws(VaultError) -> ReferenceDetails {
        var v = FieldValidator()
        let details = ReferenceDetails(
            panMasked: v.check { () throws(VaultError) in try panMasked.map(checkMaskedPAN) } ?? nil,
            expiryDate: v.check { () throws(VaultError) in try expiryDate.map(checkExpiry) } ?? nil,
            paymentSystem: v.check { () throws(VaultError) in
                try paymentSystem.map { s throws(VaultError) in try checkText(s, field: "payment_system", code: .invalidPaymentSystem, max: 32) }
            } ?? nil,
            emitter: v.check { () throws(VaultError) in
                try emitter.map { s throws(VaultError) in try checkText(s, field: "emitter", code: .invalidEmitter, max: 64) }
            } ?? nil,
            customerID: v.check { () throws(VaultError) in
                try customerID.map { s throws(VaultError) in try checkText(s, field: "customer_id", code: .invalidCustomerId, max: 128) }
            } ?? nil)
        try v.finish()
        return details
    }

    /// Details taken from a provider's answer: a field that does not pass is dropped, never
    /// stored and never fatal to the call.
    public static func lenient(panMasked: String?, expiryDate: String?, paymentSystem: String?, emitter: String?) -> ReferenceDetails {
        ReferenceDetails(
            panMasked: panMasked.flatMap { try? checkMaskedPAN($0) },
            expiryDate: expiryDate.flatMap { try? checkExpiry($0) },
            paymentSystem: paymentSystem.flatMap { try? checkText($0, field: "payment_system", code: .invalidPaymentSystem, max: 32) },
            emitter: emitter.flatMap { try? checkText($0, field: "emitter", code: .invalidEmitter, max: 64) })
    }

    /// Fills the fields this value lacks from `other`.
    public func merged(with other: ReferenceDetails) -> ReferenceDetails {
        ReferenceDetails(
            panMasked: panMasked ?? other.panMasked, expiryDate: expiryDate ?? other.expiryDate,
            paymentSystem: paymentSystem ?? other.paymentSystem, emitter: emitter ?? other.emitter,
            customerID: customerID ?? other.customerID)
    }

    /// `440563******5096`: 12 to 19 characters, digits and `*` only, at most the first six and
    /// last four digits shown.
    static func checkMaskedPAN(_ text: String) throws(VaultError) -> String {
        let bytes = Array(text.utf8)
        let digits = bytes.filter { (0x30...0x39).contains($0) }.count
        guard (12...19).contains(bytes.count), bytes.allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2A }),
            digits <= 10, bytes.count - digits >= 2,
            !bytes.dropFirst(6).dropLast(4).contains(where: { (0x30...0x39).contains($0) })
        else {
            throw .invalid("pan_masked", code: .invalidPanMasked, "pan_masked must be a masked card number such as 440563******5096")
        }
        return text
    }

    /// `MM/YY`.
    static func checkExpiry(_ text: String) throws(VaultError) -> String {
        let b = Array(text.utf8)
        guard b.count == 5, b[2] == 0x2F, let month = Int(text.prefix(2)), (1...12).contains(month), Int(text.suffix(2)) != nil,
            b[0...1].allSatisfy({ (0x30...0x39).contains($0) }), b[3...4].allSatisfy({ (0x30...0x39).contains($0) })
        else {
            throw .invalid("expiry_date", code: .invalidExpiryDate, "expiry_date must be MM/YY")
        }
        return text
    }

    /// Printable text of at most `max` characters, without a run of 8 or more digits.
    static func checkText(_ text: String, field: String, code: VaultError.Code, max: Int) throws(VaultError) -> String {
        guard (1...max).contains(text.count), !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
            !hasDigitRun(text, atLeast: 8)
        else {
            throw .invalid(field, code: code, "\(field) must be 1 to \(max) printable characters without long digit runs")
        }
        return text
    }

    /// Whether `text` holds a run of at least `n` digits.
    public static func hasDigitRun(_ text: String, atLeast n: Int) -> Bool {
        var run = 0
        for b in text.utf8 {
            run = (0x30...0x39).contains(b) ? run + 1 : 0
            if run >= n { return true }
        }
        return false
    }
}
