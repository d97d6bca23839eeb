/// A failure the caller can act on. `code` is stable (clients may switch on it), `message` is
/// written for people, `field` names the offending input. None of them ever carries card data,
/// a secret or key material: messages are fixed strings chosen here, never built from input.
/// Two errors are equal when their codes are.
public struct VaultError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The request is well-formed but the data is not acceptable (422).
        case invalidInput
        /// The request cannot be parsed or has wrong types (400).
        case malformedRequest
        case unauthenticated
        case forbidden
        case notFound
        case conflict
        /// A state the operation cannot proceed from (keys not initialised, version in use...).
        case failedPrecondition
        /// Storage or key material unusable (503).
        case unavailable
        /// A provider could not be reached or answered with something unusable (502).
        case badGateway
        /// A provider did not answer in time (504).
        case gatewayTimeout
        /// The caller is over a limit (429); `retryAfter` says when to come back.
        case tooManyRequests
    }

    public let kind: Kind
    public let code: Code
    public let message: String
    public let field: String?
    /// Every offending field, when more than one is wrong.
    public internal(set) var details: [FieldIssue] = []
    /// Seconds after which a refused request may be retried (sent as `Retry-After`).
    public internal(set) var retryAfter: Int?
    /// For `outcome_unknown`: the provider reference the first request was sent with.
    public internal(set) var reference: [String: String]?
    /// For a row that failed its integrity check: its table and key (`cards|tok_…`), for the
    /// `integrity.failure` audit row only, never for the answer.
    public internal(set) var failedRow: String?

    /// A commit sent that the database never confirmed (its connection went silent or broke):
    /// 503 with `Retry-After`; a retry with the same Idempotency-Key replays the answer if the
    /// commit happened, and runs once if it did not.
    /// The message, led by the field when it does not name it already (a setting's error then
    /// says which setting: "CARDVAULT_TOKENIZE_BURST must be 1 to 10000000").
    public var namedMessage: String {
        guard let field, !message.contains(field) else { return message }
        return "\(field) \(message)"
    }

    /// The database could not be reached or did not confirm in time: nothing about the request
    /// itself was wrong.
    public var isStorageFailure: Bool { code == .storageUnavailable || code == .storageUnconfirmed }

    public static var storageUnconfirmed: VaultError {
        var error = VaultError(
            .unavailable, code: .storageUnconfirmed, message: "the database did not confirm the write in time; retry with the same Idempotency-Key")
        error.retryAfter = 1
        return error
    }

    public init(_ kind: Kind, code: Code, message: String, field: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field
    }

    public static func == (a: VaultError, b: VaultError) -> Bool { a.code == b.code }

    public var description: String {
        field.map { "\(code) (\($0)): \(message)" } ?? "\(code): \(message)"
    }

    /// This error, naming the row whose check failed (for the audit row, not the answer).
    func naming(row table: IntegrityFailures.Table, _ key: String) -> VaultError {
        var error = self
        error.failedRow = table.rawValue + "|" + key
        return error
    }

    public static func invalid(_ field: String, code: Code, _ message: String) -> VaultError {
        VaultError(.invalidInput, code: code, message: message, field: field)
    }

    public static func malformed(_ field: String?, _ message: String) -> VaultError {
        VaultError(.malformedRequest, code: .malformedRequest, message: message, field: field)
    }

    public static let cardNotFound = VaultError(.notFound, code: .cardNotFound, message: "no card with this token")
    public static let keysNotInitialised = VaultError(
        .failedPrecondition, code: .keysNotInitialised, message: "run `cardvault keys init` first")
    public static let sealed = VaultError(
        .unavailable, code: .sealed, message: "the vault is sealed; custodians unseal it with `cardvault operator unseal`")
    public static let keyUnavailable = VaultError(
        .unavailable, code: .keyUnavailable, message: "the key needed for this record is not available")
}
