import Foundation

/// What stops one client from using tokenize as an oracle: a rate limit, and the enumeration
/// guard (at most `enumerationLimit` distinct cards sharing BIN and last four per client and
/// `enumerationWindow`, and at most `enumerationTenantLimit` per tenant, so that a tenant with
/// many clients does not multiply the allowance). The server turns them on; in-process tools
/// run without them.
public struct TokenizeLimits: Sendable {
    public var rate: RateLimiter?
    public var enumerationLimit: Int?
    public var enumerationTenantLimit: Int?
    public var enumerationWindow: TimeInterval

    public init(
        rate: RateLimiter? = nil, enumerationLimit: Int? = nil, enumerationTenantLimit: Int? = nil, enumerationWindow: TimeInterval = 24 * 3600
    ) {
        self.rate = rate
        self.enumerationLimit = enumerationLimit
        self.enumerationTenantLimit = enumerationTenantLimit
        self.enumerationWindow = enumerationWindow
    }

    public static let none = TokenizeLimits()

    public static func rateLimited(retryAfter: Duration) -> VaultError {
        var error = VaultError(.tooManyRequests, code: .rateLimited, message: "too many cards tokenized by this client; retry later")
        error.retryAfter = max(1, Int(retryAfter.components.seconds) + (retryAfter.components.attoseconds > 0 ? 1 : 0))
        return error
    }

    public static let enumerationSuspected: VaultError = {
        var error = VaultError(
            .tooManyRequests, code: .enumerationSuspected,
            message: "too many different cards with the same first six and last four digits from this client or its tenant; nothing was stored")
        error.retryAfter = 3600
        return error
    }()
}
