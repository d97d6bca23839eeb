import VaultCrypto

/// A card as a caller submits it, before validation. Fields are optional so that every missing
/// one can be named in a single answer.
public struct CardInput: Sendable {
    /// The card number and the security code as the request carried them, never as Swift
    /// strings (wiped when the request's last reference goes).
    public var number: SensitiveBytes?
    public var expMonth: String?
    public var expYear: String?
    public var holder: String?
    public var verificationValue: SensitiveBytes?
    /// RFC 3339 date-time or date; when the retention sweeper deletes the card.
    public var retainUntil: String?

    public init(number: SensitiveBytes?, expMonth: String?, expYear: String?, holder: String?, verificationValue: SensitiveBytes?, retainUntil: String? = nil) {
        self.number = number
        self.expMonth = expMonth
        self.expYear = expYear
        self.holder = holder
        self.verificationValue = verificationValue
        self.retainUntil = retainUntil
    }

    /// For tests, benchmarks and tools whose card numbers are already strings.
    public init(number: String?, expMonth: String?, expYear: String?, holder: String?, verificationValue: String?, retainUntil: String? = nil) {
        self.init(number: number.map { SensitiveBytes(copying: $0.utf8) }, expMonth: expMonth, expYear: expYear, holder: holder,
                  verificationValue: verificationValue.map { SensitiveBytes(copying: $0.utf8) }, retainUntil: retainUntil)
    }
}

/// Changes to a vaulted card (PATCH). Absent fields stay as they are.
public struct CardChanges: Sendable {
    public var expMonth: String?
    public var expYear: String?
    public var holder: String?
    public var verificationValue: SensitiveBytes?
    public var retainUntil: String?

    public init(expMonth: String?, expYear: String?, holder: String?, verificationValue: SensitiveBytes?, retainUntil: String? = nil) {
        self.expMonth = expMonth
        self.expYear = expYear
        self.holder = holder
        self.verificationValue = verificationValue
        self.retainUntil = retainUntil
    }

    var isEmpty: Bool { expMonth == nil && expYear == nil && holder == nil && verificationValue == nil && retainUntil == nil }
}

/// The answer of a card operation, as first given and as replayed.
public struct CardAnswer: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    init(_ response: StoredResponse) {
        self.init(status: response.status, body: response.body)
    }
}
