import Foundation
import NIOCore
import PostgresNIO
import VaultDomain

/// The shared pending-code tables (migration v2: UNLOGGED `pending_codes` and
/// `code_recipients`). Every code-changing transaction first takes one advisory lock of its own
/// (not the writers' lock: card writes never wait for code traffic), so a take, a reseal and a
/// replace of the same code never interleave: a code taken is never brought back by a reseal.
extension PostgresVaultStore: SharedCodeStore {
    static let codeLock: Int64 = writeLock + 2

    public var sharedCodes: (any SharedCodeStore)? { self }
    public var servesSeveralInstances: Bool { true }

    private func codeTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await onWorker { session in
            try Self.transaction(session, begin: "BEGIN") {
                try session.run("SELECT pg_advisory_xact_lock(\(Self.codeLock))")
                return try body(session)
            }
        }
    }

    private static func buffers(_ keys: [[UInt8]]) -> [ByteBuffer] { keys.map { ByteBuffer(bytes: $0) } }

    public func publish(recipient: [UInt8], instance: String, at date: Date) async throws {
        try await onWorker { session in
            _ = try session.run(
                """
                INSERT INTO code_recipients (recipient, instance, seen_at) VALUES (\(ByteBuffer(bytes: recipient)), \(instance), \(StoredDate.millis(date)))
                ON CONFLICT (recipient) DO UPDATE SET seen_at = EXCLUDED.seen_at
                """)
        }
    }

    public func withdraw(recipients: [[UInt8]]) async throws {
        let keys = Self.buffers(recipients)
        try await codeTransaction { session in
            try session.run("DELETE FROM code_recipients WHERE recipient = ANY(\(keys))")
            try session.run("DELETE FROM pending_codes WHERE recipient = ANY(\(keys))")
        }
    }

    public func recipients(since date: Date) async throws -> [[UInt8]] {
        try await onWorker { session in
            try session.rows("SELECT recipient FROM code_recipients WHERE seen_at >= \(StoredDate.millis(date)) ORDER BY recipient").map {
                Array(try $0.decode(ByteBuffer.self).readableBytesView)
            }
        }
    }

    public func count(for recipient: [UInt8]) async throws -> Int {
        try await onWorker { session in
            try session.rows("SELECT COUNT(*) FROM pending_codes WHERE recipient = \(ByteBuffer(bytes: recipient))").first?.decode(Int.self) ?? 0
        }
    }

    public func replace(_ row: PendingCodeRow) async throws {
        try await codeTransaction { session in
            try session.run("DELETE FROM pending_codes WHERE token = \(row.token.rawValue)")
            try Self.insert(row.copies, token: row.token, tenant: row.tenant, expiresAt: row.expiresAt, session)
        }
    }

    private static func insert(_ copies: [PendingCodeCopy], token: CardToken, tenant: Tenant, expiresAt: Date, _ session: PostgresSession) throws {
        for copy in copies {
            try session.run(
                """
                INSERT INTO pending_codes (token, tenant, recipient, box, expires_at)
                VALUES (\(token.rawValue), \(tenant.rawValue), \(ByteBuffer(bytes: copy.recipient)), \(ByteBuffer(bytes: copy.box)), \(StoredDate.millis(expiresAt)))
                ON CONFLICT (token, recipient) DO NOTHING
                """)
        }
    }

    public func take(token: CardToken, tenant: Tenant, openableBy keys: [[UInt8]]) async throws -> PendingCodeRow? {
        let mine = Self.buffers(keys)
        return try await codeTransaction { session in
            let openable = try session.rows(
                """
                SELECT 1 FROM pending_codes WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue) AND recipient = ANY(\(mine)) LIMIT 1
                """)
            guard !openable.isEmpty else { return nil }
            var expiry: Int64 = 0
            var copies: [PendingCodeCopy] = []
            for row in try session.rows(
                "DELETE FROM pending_codes WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue) RETURNING recipient, box, expires_at")
            {
                let (recipient, box, expiresAt) = try row.decode((ByteBuffer, ByteBuffer, Int64).self)
                expiry = expiresAt
                let key = Array(recipient.readableBytesView)
                if keys.contains(key) { copies.append(PendingCodeCopy(recipient: key, box: Array(box.readableBytesView))) }
            }
            return PendingCodeRow(token: token, tenant: tenant, expiresAt: StoredDate.date(expiry), copies: copies)
        }
    }

    public func delete(token: CardToken) async throws {
        try await codeTransaction { session in _ = try session.run("DELETE FROM pending_codes WHERE token = \(token.rawValue)") }
    }

    public func unshared(mine keys: [[UInt8]], recipients: [[UInt8]], at date: Date, limit: Int) async throws -> [PendingCodeRow] {
        let (mine, wanted) = (Self.buffers(keys), Self.buffers(recipients))
        return try await onWorker { session in
            var rows: [String: PendingCodeRow] = [:]
            for row in try session.rows(
                """
                SELECT p.token, p.tenant, p.recipient, p.box, p.expires_at FROM pending_codes p
                WHERE p.recipient = ANY(\(mine)) AND p.expires_at > \(StoredDate.millis(date))
                  AND (SELECT COUNT(*) FROM pending_codes q WHERE q.token = p.token AND q.recipient = ANY(\(wanted))) < \(wanted.count)
                ORDER BY p.expires_at LIMIT \(limit)
                """)
            {
                let (token, tenant, recipient, box, expiresAt) = try row.decode((String, String, ByteBuffer, ByteBuffer, Int64).self)
                guard let card = CardToken(token) else { continue }
                let copy = PendingCodeCopy(recipient: Array(recipient.readableBytesView), box: Array(box.readableBytesView))
                rows[token, default: PendingCodeRow(token: card, tenant: Tenant(stored: tenant), expiresAt: StoredDate.date(expiresAt), copies: [])]
                    .copies.append(copy)
            }
            // Every copy the row has (not only this instance's), so resealing skips recipients
            // already served.
            return try rows.values.map { row in
                var full = row
                full.copies =
                    row.copies
                    + (try session.rows("SELECT recipient FROM pending_codes WHERE token = \(row.token.rawValue) AND recipient <> ALL(\(mine))").map {
                        PendingCodeCopy(recipient: Array(try $0.decode(ByteBuffer.self).readableBytesView), box: [])
                    })
                return full
            }
        }
    }

    public func share(_ copies: [PendingCodeCopy], token: CardToken, tenant: Tenant) async throws {
        guard !copies.isEmpty else { return }
        try await codeTransaction { session in
            // Under the code lock: a code taken or deleted since `unshared` read it stays gone.
            let row = try session.rows(
                "SELECT expires_at FROM pending_codes WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue) LIMIT 1"
            ).first
            guard let expiresAt = try row?.decode(Int64.self) else { return }
            try Self.insert(copies, token: token, tenant: tenant, expiresAt: StoredDate.date(expiresAt), session)
        }
    }

    public func purge(expiredAt date: Date, recipientsBefore stale: Date) async throws -> Int {
        try await codeTransaction { session in
            let codes = try session.run("DELETE FROM pending_codes WHERE expires_at <= \(StoredDate.millis(date))")
            let gone = try session.rows("DELETE FROM code_recipients WHERE seen_at < \(StoredDate.millis(stale)) RETURNING recipient").map {
                try $0.decode(ByteBuffer.self)
            }
            if !gone.isEmpty { try session.run("DELETE FROM pending_codes WHERE recipient = ANY(\(gone))") }
            return codes
        }
    }
}

extension PostgresVaultStore {
    /// How long a job's lease lasts if its holder dies without releasing it.
    static let leaseSeconds: Int64 = 600

    /// A lease row per job (`job_leases`): taken when free or expired, released after the body.
    public func runAlone(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        let holder = UUID().uuidString
        let taken = try await onWorker { session in
            let now = StoredDate.millis(Date())
            return try Self.transaction(session, begin: "BEGIN") {
                try !session.rows(
                    """
                    INSERT INTO job_leases (job, holder, until) VALUES (\(name), \(holder), \(now + Self.leaseSeconds * 1000))
                    ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until WHERE job_leases.until < \(now)
                    RETURNING holder
                    """
                ).isEmpty
            }
        }
        guard taken else { return false }
        do {
            try await body()
        } catch {
            try? await release(name, holder: holder)
            throw error
        }
        try await release(name, holder: holder)
        return true
    }

    private func release(_ name: String, holder: String) async throws {
        try await onWorker { session in
            _ = try session.run("UPDATE job_leases SET until = 0 WHERE job = \(name) AND holder = \(holder)")
        }
    }
}
