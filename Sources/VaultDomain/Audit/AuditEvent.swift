/// Who is acting, for the audit log: the authenticated client (or the operator at the CLI),
/// the request id and the source address.
public struct AuditActor: Sendable, Equatable {
    public var client: String?
    public var requestID: String?
    public var source: String?
    /// The client's tenant, for clients' actions.
    public var tenant: String?

    public init(client: String?, requestID: String?, source: String?, tenant: String? = nil) {
        self.client = client
        self.tenant = tenant
        self.requestID = requestID
        self.source = source
    }

    /// The operator running an admin command.
    public static func operatorCLI(user: String) -> AuditActor {
        AuditActor(client: "operator:\(user)", requestID: nil, source: "cli")
    }
}

/// The outcome recorded for an audited action.
public enum AuditOutcome: String, Sendable, Codable {
    case success, denied, failure
}

/// An action about to be appended to the audit log. `subject` is a token, a key version or a
/// client name: never card data, a secret or a key.
public struct AuditEvent: Sendable, Equatable {
    public var action: String
    public var subject: String?
    public var outcome: AuditOutcome
    public var actor: AuditActor

    public init(action: String, subject: String?, outcome: AuditOutcome, actor: AuditActor) {
        self.action = action
        self.subject = subject
        self.outcome = outcome
        self.actor = actor
    }
}
