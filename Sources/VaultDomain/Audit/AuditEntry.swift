import Foundation

/// One stored audit row. `seq` starts at 1 and has no gaps; `hash` is the keyed hash of the
/// previous row's hash and this row's fields, so a changed, deleted or reordered row breaks the
/// chain at that point.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var seq: Int64
    /// UTC, ISO 8601 with milliseconds; stored as text so it hashes the same when read back.
    public var at: String
    public var client: String?
    public var action: String
    public var subject: String?
    public var outcome: String
    public var requestID: String?
    public var source: String?
    public var hash: [UInt8]
    /// The tenant of the client that acted; nil for operators, the system, unauthenticated
    /// callers, and rows written before tenants existed.
    public var tenant: String?

    public init(
        seq: Int64, at: String, client: String?, action: String, subject: String?, outcome: String,
        requestID: String?, source: String?, hash: [UInt8], tenant: String? = nil
    ) {
        self.tenant = tenant
        self.seq = seq
        self.at = at
        self.client = client
        self.action = action
        self.subject = subject
        self.outcome = outcome
        self.requestID = requestID
        self.source = source
        self.hash = hash
    }

    enum CodingKeys: String, CodingKey {
        case seq, at, client, tenant, action, subject, outcome, source
        case requestID = "request_id"
        case hash
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seq, forKey: .seq)
        try c.encode(at, forKey: .at)
        try c.encodeIfPresent(client, forKey: .client)
        try c.encodeIfPresent(tenant, forKey: .tenant)
        try c.encode(action, forKey: .action)
        try c.encodeIfPresent(subject, forKey: .subject)
        try c.encode(outcome, forKey: .outcome)
        try c.encodeIfPresent(requestID, forKey: .requestID)
        try c.encodeIfPresent(source, forKey: .source)
        try c.encode(hash.map { String(format: "%02x", $0) }.joined(), forKey: .hash)
    }
}
