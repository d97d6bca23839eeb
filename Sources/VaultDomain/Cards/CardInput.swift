/// A card as a caller submits it, before validation. Fields are optional so that every missing
/// one can be named in a single answer.
public struct CardInput: Sendable {
    public var number: String?
    public var expMonth: String?
    public var expYear: String?
    public var holder: String?
    public var verificationValue: String?
    /// RFC 3339 date-time or date; when the retention sweeper deletes the card.
    public var retainUntil: String?

    public init(number: String?, expMonth: String?, expYear: String?, holder: String?, verificationValue: String?, retainUntil: String? = nil) {
        self.number = number
        self.expMonth = expMonth
        self.expYear = expYear
        self.holder = holder
        self.verificationValue = verificationValue
        self.retainUntil = retainUntil
    }
}

/// Changes to a vaulted card (PATCH). Absent fields stay as they are.
public struct CardChanges: Sendable {
    public var expMonth: String?
    public var expYear: String?
    public var holder: String?
    public var verificationValue: String?
    public var retainUntil: String?

    public init(expMonth: String?, expYear: String?, holder: String?, verificationValue: String?, retainUntil: String? = nil) {
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
