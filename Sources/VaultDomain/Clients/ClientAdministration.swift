import Foundation

/// `cardvault clients add|list|revoke|rotate-secret`.
public struct ClientAdministration: Sendable {
    public let store: any VaultStore
    public let keys: KeyRing
    public let clock: @Sendable () -> Date

    public init(store: any VaultStore, keys: KeyRing, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.keys = keys
        self.clock = clock
    }

    /// Registers a client and returns its secret, which is shown only this once.
    public func add(name: String, scopes: [String], tenant: String = Tenant.default.rawValue, actor: AuditActor) async throws -> (Client, ClientSecret) {
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
                throw VaultError(.conflict, code: .clientExists, message: "a client with this name exists", field: "name")
            }
            try tx.insert(frozen, secretHash: hash)
            try tx.appendAudit(
                AuditEvent(action: "client.add", subject: "\(name)|tenant=\(tenant.rawValue)", outcome: .success, actor: actor),
                chain: AuditChain(key: derived.audit), at: now)
        }
        return (client, secret)
    }

    public func list() async throws -> [Client] {
        try await store.read { try $0.clients() }
    }

    /// Revokes a client: its secret stops working at the next request.
    public func revoke(name: String, actor: AuditActor) async throws -> Client {
        let derived = try keys.derivedKeys()
        let now = clock()
        return try await store.write { tx in
            guard var client = try tx.client(name: name) else { throw Self.notFound }
            if client.revokedAt == nil {
                client.revokedAt = now
                try tx.update(client)
                // The old secret must not match anything any more.
                try tx.setSecretHash(ClientSecret.lookupHash(of: ClientSecret.generate().revealed, key: derived.clientSecret), forClient: client.id)
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
        let client = try await store.write { tx in
            guard var client = try tx.client(name: name) else { throw Self.notFound }
            guard client.isActive else {
                throw VaultError(.failedPrecondition, code: .clientRevoked, message: "a revoked client cannot get a new secret", field: "name")
            }
            client.secretRotatedAt = now
            try tx.update(client)
            try tx.setSecretHash(hash, forClient: client.id)
            try tx.appendAudit(
                AuditEvent(action: "client.rotate_secret", subject: name, outcome: .success, actor: actor), chain: AuditChain(key: derived.audit), at: now)
            return client
        }
        return (client, secret)
    }

    static let notFound = VaultError(.notFound, code: .clientNotFound, message: "no client with this name", field: "name")
}
