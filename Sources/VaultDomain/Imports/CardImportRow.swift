import VaultCrypto

/// One row of a card file as read (a JSON line or a CSV record), not yet validated: the card,
/// and the exporter's reference that the mapping file gives back with its vault token.
public struct CardImportRow: Sendable {
    /// The row's line number in the file (1 is the first row), named in every report.
    public let line: Int
    public let number: SensitiveBytes?
    public let expMonth: String?
    public let expYear: String?
    public let holder: String?
    public let reference: String?

    public init(line: Int, number: SensitiveBytes?, expMonth: String?, expYear: String?, holder: String?, reference: String?) {
        self.line = line
        self.number = number
        self.expMonth = expMonth
        self.expYear = expYear
        self.holder = holder
        self.reference = reference
    }

    /// A row that could not be read at all (not a JSON object, a CSV record of the wrong width).
    public static func unreadable(line: Int) -> CardImportRow {
        CardImportRow(line: line, number: nil, expMonth: nil, expYear: nil, holder: nil, reference: nil)
    }
}
