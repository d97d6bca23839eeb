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
        self.init(
            number: number.map { SensitiveBytes(copying: $0.utf8) }, expMonth: expMonth, expYear: expYear, holder: holder,
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

/// The answer of a card operation, as first given and as replayed: what happened, and the
/// card's metadata as JSON (empty for a deletion). The HTTP layer chooses the status.
public struct CardAnswer: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// A new card or reference was stored.
        case created
        /// The card or reference was there already (a dedup, a read or an update).
        case existing
        /// The card is gone.
        case deleted
    }

    public var outcome: Outcome
    public var body: [UInt8]

    public init(_ outcome: Outcome, body: [UInt8]) {
        self.outcome = outcome
        self.body = body
    }

    init(_ response: StoredResponse) {
        self.init(Outcome(stored: response.status), body: response.body)
    }
}

extension CardAnswer.Outcome {
    /// The value an idempotency record stores for the outcome. (Records hold numbers, and the
    /// first records held these ones; they are storage values, not statuses.)
    var stored: Int {
        switch self {
        case .created: 201
        case .existing: 200
        case .deleted: 204
        }
    }

    init(stored: Int) {
        self =
            switch stored {
            case 201: .created
            case 204: .deleted
            default: .existing
            }
    }
}
