import Foundation

/// `cardvault clients add|list|revoke|rotate-secret`.
public struct ClientAdministration: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    /// Registers a client and returns its secret, which is shown only this once. A tenant no
    /// client belongs to yet is refused unless `newTenant` says it is meant (a mistyped tenant
    /// would otherwise start an empty one silently); `default` always exists.
    public func add(
        name: String, scopes: [String], tenant: String = Tenant.default.rawValue, newTenant: Bool = false, actor: AuditActor
    ) async throws -> (Client, ClientSecret) {
        let tenant = try Tenant(validating: tenant.trimmingWhitespace())
        let name = name.trimmingWhitespace()
        // Names appear in audit rows and logs: they start with a letter and hold no long digit
        // run, so a card number can never be one.
        guard (1...64).contains(name.count), name.first?.isLetter == true,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }),
            !name.split(whereSeparator: { !$0.isNumber }).contains(where: { $0.count >= 8 })
        else {
            throw VaultError.invalid(
                "name", code: .invalidName,
                "client name must start with a letter and be 1 to 64 letters, digits, '-', '_' or '.' (no run of 8 digits)")
        }
        guard !scopes.isEmpty else { throw VaultError.invalid("scopes", code: .missingField, "give at least one scope") }
        var parsed = Set<Scope>()
        for text in scopes { parsed.insert(try Scope(validating: text.trimmingWhitespace())) }
        let derived = try keys.derivedKeys()
        let secret = ClientSecret.generate()
        let hash = ClientSecret.lookupHash(of: secret.revealed, key: derived.clientSecret)
        let now = clock()
        let client = Client(
            id: "cli_" + String(CardToken.generate().rawValue.dropFirst(4)), name: name, scopes: parsed,
            createdAt: now, revokedAt: nil, secretRotatedAt: nil, tenant: tenant)
        let frozen = client
        try await store.write { tx in
            guard try tx.client(name: name) == nil else {
                throw VaultError(
                    .conflict, code: .clientExists,
                    message: "a client named \(name) exists; `cardvault clients rotate-secret \(name)` gives it a new secret", field: "name")
            }
            if !newTenant, tenant != .default, try !tx.clients().contains(where: { $0.client.tenant == tenant }) {
                throw VaultError(
                    .notFound, code: .tenantNotFound,
                    message: "no client belongs to tenant \(tenant.rawValue) yet (`cardvault tenants list` shows the tenants); add --new-tenant to start it",
                    field: "tenant")
            }
            try tx.insert(ClientRows.sealed(frozen, secretHash: hash, keys: derived))
            try tx.appendAudit(
                AuditEvent(action: "client.add", subject: "\(name)|tenant=\(tenant.rawValue)", outcome: .success, actor: actor),
                chain: AuditChain(key: derived.audit), at: now)
        }
        return (client, secret)
    }

    /// Every tenant some client belongs to (and `default`), with its clients' counts.
    public func tenants() async throws -> [TenantSummary] {
        var summaries = [Tenant.default: TenantSummary(tenant: .default, clients: 0, activeClients: 0)]
        for client in try await list() {
            summaries[client.tenant, default: TenantSummary(tenant: client.tenant, clients: 0, activeClients: 0)].add(client)
        }
        return summaries.values.sorted { $0.tenant.rawValue < $1.tenant.rawValue }
    }

    /// Every client; a row whose MAC fails is listed with `failedIntegrityCheck` (and counted),
    /// so it can be revoked.
    public func list() async throws -> [Client] {
        let derived = try keys.derivedKeys()
        var rows = try await store.read { try $0.clients() }
        if rows.contains(where: { $0.mac == nil }) {
            try await ClientRows.authenticateLegacyRows(store: store, keys: derived, actor: Self.system, at: clock())
            rows = try await store.read { try $0.clients() }
        }
        return rows.map { row in
            guard let client = try? ClientRows.verified(row, keys: derived) else {
                var failed = row.client
                failed.failedIntegrityCheck = true
                return failed
            }
            return client
        }
    }

    /// The row of `name` in `tx`, checked; nil when there is none.
    static func verifiedClient(named name: String, in tx: any VaultReader, keys: DerivedKeys) throws -> Client? {
        guard let row = try tx.client(name: name) else { return nil }
        return try ClientRows.verified(row, keys: keys)
    }

    /// Authenticates rows written before rows carried a MAC, when `name`'s row is one.
    private func authenticateLegacyRow(named name: String, keys derived: DerivedKeys) async throws {
        guard let row = try await store.read({ try $0.client(name: name) }), row.mac == nil else { return }
        try await ClientRows.authenticateLegacyRows(store: store, keys: derived, actor: Self.system, at: clock())
    }

    /// The actor of the one-time pass over rows without a MAC.
    static let system = AuditActor(client: "system:clients", requestID: nil, source: "vault")

    /// Revokes a client: its secret stops working at the next request.
    public func revoke(name: String, actor: AuditActor) async throws -> Client {
        let derived = try keys.derivedKeys()
        let now = clock()
        try await authenticateLegacyRow(named: name, keys: derived)
        return try await store.write { tx in
            // Revoking is the remedy for a row that failed its check, so it is allowed on one:
            // the row is rewritten revoked, under a secret hash nothing matches, with a fresh MAC.
            guard let row = try tx.client(name: name) else { throw Self.notFound }
            var client = row.client
            let intact = (try? ClientRows.verified(row, keys: derived)) != nil
            if client.revokedAt == nil || !intact {
                client.revokedAt = client.revokedAt ?? now
                // The old secret must not match anything any more.
                let hash = ClientSecret.lookupHash(of: ClientSecret.generate().revealed, key: derived.clientSecret)
                try tx.update(ClientRows.sealed(client, secretHash: hash, keys: derived))
            }
            try tx.appendAudit(
                AuditEvent(action: "client.revoke", subject: name, outcome: .success, actor: actor), chain: AuditChain(key: derived.audit), at: now)
            return client
        }
    }

    /// Issues a new secret; the old one stops working at once.
    public func rotateSecret(name: String, actor: AuditActor) async throws -> (Client, ClientSecret) {
        let derived = try keys.derivedKeys()
        let now = clock()
        let secret = ClientSecret.generate()
        let hash = ClientSecret.lookupHash(of: secret.revealed, key: derived.clientSecret)
        try await authenticateLegacyRow(named: name, keys: derived)
        let client = try await store.auditingIntegrity(actor: actor, chain: AuditChain(key: derived.audit), at: now) {
            try await store.write { tx in
                guard var client = try Self.verifiedClient(named: name, in: tx, keys: derived) else { throw Self.notFound }
                guard client.isActive else {
                    throw VaultError(.failedPrecondition, code: .clientRevoked, message: "a revoked client cannot get a new secret", field: "name")
                }
                client.secretRotatedAt = now
                try tx.update(ClientRows.sealed(client, secretHash: hash, keys: derived))
                try tx.appendAudit(
                    AuditEvent(action: "client.rotate_secret", subject: name, outcome: .success, actor: actor), chain: AuditChain(key: derived.audit), at: now)
                return client
            }
        }
        return (client, secret)
    }

    static let notFound = VaultError(.notFound, code: .clientNotFound, message: "no client with this name", field: "name")
}
