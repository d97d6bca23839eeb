import Foundation

/// The calls the card and provider services make, the same whether codes stay in this process
/// (SQLite, one host) or are shared through the database (`shared`, PostgreSQL).
extension SecurityCodeVault {
    /// Keeps `code` as the pending code of (tenant, token) until `expiresAt`.
    public func keep(_ code: SecurityCode, for token: CardToken, tenant: Tenant, expiresAt: Date, now: Date) async throws {
        guard let shared else { return put(code, for: token, expiresAt: expiresAt) }
        defer { code.bytes.wipe() }
        try await shared.put(code, for: token, tenant: tenant, expiresAt: expiresAt, now: now)
    }

    /// Removes the pending code of (tenant, token) for one provider call, with its expiry.
    public func take(for token: CardToken, tenant: Tenant, now: Date) async throws -> (code: SecurityCode, expiresAt: Date)? {
        if let shared { return try await shared.take(for: token, tenant: tenant, now: now, into: self) }
        let expiry = expiry(for: token, now: now)
        guard let code = take(for: token, now: now) else { return nil }
        return (code, expiry ?? now.addingTimeInterval(timeToLive))
    }

    /// Puts back a code taken for a call that sent nothing (best effort when shared: a code that
    /// cannot be put back is wiped, and the caller sends it again).
    public func giveBack(_ code: SecurityCode, for token: CardToken, tenant: Tenant, expiresAt: Date, now: Date) async {
        do {
            try await keep(code, for: token, tenant: tenant, expiresAt: expiresAt, now: now)
        } catch {
            code.bytes.wipe()
        }
    }

    /// Wipes the pending code of `token` (its card was deleted).
    public func forget(_ token: CardToken) async {
        discard(for: token)
        try? await shared?.discard(for: token)
    }
}
