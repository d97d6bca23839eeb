/// One offending input field in a validation failure.
public struct FieldIssue: Sendable, Equatable, Encodable {
    public let field: String
    public let code: VaultError.Code
    public let message: String

    public init(field: String, code: VaultError.Code, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }
}

extension VaultError {
    /// All field issues of a validation error (one for a single-field error).
    public var fieldIssues: [FieldIssue] {
        if !details.isEmpty { return details }
        guard let field else { return [] }
        return [FieldIssue(field: field, code: code, message: message)]
    }

    /// Combines several field errors into one (`invalid_fields`).
    public static func invalidFields(_ issues: [FieldIssue]) -> VaultError {
        precondition(!issues.isEmpty)
        if issues.count == 1 {
            return .invalid(issues[0].field, code: issues[0].code, issues[0].message)
        }
        var error = VaultError(.invalidInput, code: .invalidFields, message: "several fields are invalid", field: issues[0].field)
        error.details = issues
        return error
    }
}

/// Collects field errors so one answer can name every bad field.
extension VaultError {
    /// A field name the caller sent, as an error may name it: echoed only when it is 1 to 40
    /// letters and underscores, so a card number sent as a key is never written back.
    public static func printableField(_ name: String) -> String {
        let plain =
            (1...40).contains(name.utf8.count)
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || $0 == 0x5F }
        return plain ? name : "<unnamed>"
    }
}

struct FieldValidator {
    private(set) var issues: [FieldIssue] = []

    mutating func check<T>(_ body: () throws(VaultError) -> T) -> T? {
        do {
            return try body()
        } catch {
            issues.append(contentsOf: error.fieldIssues)
            return nil
        }
    }

    func finish() throws(VaultError) {
        if !issues.isEmpty { throw VaultError.invalidFields(issues) }
    }
}
