/// What an import did (or, in a dry run, would do) with one row. Never card data: the mapping
/// file and the report are made of these.
public struct CardImportOutcome: Sendable, Equatable {
    public enum Status: String, Sendable, Encodable {
        /// A new card was stored under a new token.
        case created
        /// The tenant held this card already: the reference now maps to its token.
        case existing
        /// An earlier run imported this reference: nothing changed (a re-run or a resumed run).
        case imported
        /// The same reference came earlier in this file: the row was skipped.
        case duplicate
        /// The row is not a valid card or reference: nothing was stored for it.
        case invalid
    }

    public let line: Int
    /// The exporter's reference, when it is a valid one (it is never card data: a reference
    /// that looks like a card number is refused).
    public let reference: String?
    public let status: Status
    public let token: CardToken?
    public let fingerprint: CardFingerprint?
    /// Why the row is invalid: each field and its code.
    public let issues: [FieldIssue]

    public init(line: Int, reference: String?, status: Status, token: CardToken? = nil, fingerprint: CardFingerprint? = nil, issues: [FieldIssue] = []) {
        self.line = line
        self.reference = reference
        self.status = status
        self.token = token
        self.fingerprint = fingerprint
        self.issues = issues
    }
}
