import Foundation

/// A service allowed to call the vault. Its secret is stored only as a keyed hash.
public struct Client: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var scopes: Set<Scope>
    public var createdAt: Date
    public var revokedAt: Date?
    public var secretRotatedAt: Date?
    /// The tenant whose cards the client sees and touches; fixed at `clients add`.
    public var tenant: Tenant
    /// Set only on a `clients list` entry whose row failed its MAC (`ClientRows`): shown so an
    /// operator can revoke it; such a row authenticates nothing.
    public var failedIntegrityCheck = false

    public init(id: String, name: String, scopes: Set<Scope>, createdAt: Date, revokedAt: Date?, secretRotatedAt: Date?, tenant: Tenant) {
        self.tenant = tenant
        self.id = id
        self.name = name
        self.scopes = scopes
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.secretRotatedAt = secretRotatedAt
    }

    public var isActive: Bool { revokedAt == nil }

    enum CodingKeys: String, CodingKey {
        case id, name, scopes, tenant
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
        case secretRotatedAt = "secret_rotated_at"
        case failedIntegrityCheck = "failed_integrity_check"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(scopes.sorted(), forKey: .scopes)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(revokedAt, forKey: .revokedAt)
        try c.encodeIfPresent(secretRotatedAt, forKey: .secretRotatedAt)
        if failedIntegrityCheck { try c.encode(true, forKey: .failedIntegrityCheck) }
    }
}
