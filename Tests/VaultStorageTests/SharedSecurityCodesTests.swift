import Foundation
import Testing
import VaultCrypto
import VaultDomain
import VaultStorage
import VaultTestSupport

/// Pending security codes across instances on one PostgreSQL database: posted through one,
/// shown and spent (once) through another; an instance that joins later gets a copy; a copy of
/// the tables that outlives two lifetimes opens with no instance's key; the tables are UNLOGGED.
@Suite("Shared security codes (PostgreSQL)", .enabled(if: PostgresCluster.isInstalled))
struct SharedSecurityCodesTests {
    static let ttl: TimeInterval = 60

    func second(_ vault: TemporaryVault) throws -> VaultRuntime {
        try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory, securityCodeTTL: Self.ttl)
    }

    func tokenize(_ vault: TemporaryVault, _ i: Int, code: String, caller: Caller) async throws -> CardToken {
        let answer = try await vault.runtime.cards.tokenize(
            CardInput(number: SentinelCards.visa(i), expMonth: "3", expYear: "2031", holder: nil, verificationValue: code), caller: caller,
            idempotencyKey: nil)
        let text = try #require((try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["token"] as? String)
        return try #require(CardToken(text))
    }

    @Test func aCodePostedOnOneInstanceIsShownAndSpentOnceThroughAnother() async throws {
        let url = try PostgresCluster.shared.get().makeDatabase()
        let a = try await TemporaryVault(securityCodeTTL: Self.ttl, database: url)
        let b = try second(a)
        let (sharedA, sharedB) = (try #require(a.runtime.codes.shared), try #require(b.codes.shared))
        try await sharedB.tick(now: Date())
        let caller = try await a.caller()
        let token = try await tokenize(a, 1, code: "123", caller: caller)
        // B shows the pending code's expiry, as A does.
        let shown = try await b.cards.metadata(of: token.rawValue, caller: caller)
        let metadata = try #require(try JSONSerialization.jsonObject(with: Data(shown.body)) as? [String: Any])
        #expect(metadata["has_verification_value"] as? Bool == true)
        #expect(metadata["verification_value_expires_at"] is String)
        // Twelve takes at once through both instances: one gets the code.
        let (codesA, codesB) = (a.runtime.codes, b.codes)
        let taken = try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<12 {
                let codes = i % 2 == 0 ? codesA : codesB
                group.addTask {
                    guard let pending = try await codes.take(for: token, tenant: .default, now: Date()) else { return nil }
                    defer { pending.code.bytes.wipe() }
                    return pending.code.text
                }
            }
            return try await group.reduce(into: [String]()) { if let code = $1 { $0.append(code) } }
        }
        #expect(taken == ["123"])
        #expect(try PostgresCluster.shared.get().query(url, "SELECT COUNT(*) FROM pending_codes") == "0")
        // Another tenant's caller never sees nor takes a code. (B refreshes its key as its
        // maintenance tick would: a key unseen for 10 s is not sealed to.)
        try await sharedB.tick(now: Date())
        let other = try await a.caller(tenant: "other")
        _ = try await tokenize(a, 2, code: "456", caller: caller)
        let second = try await tokenize(a, 2, code: "789", caller: caller)
        #expect(try await codesB.take(for: second, tenant: other.tenant, now: Date()) == nil)
        #expect(try await codesB.take(for: second, tenant: .default, now: Date())?.code.text == "789", "the newest code replaced the older")
        _ = sharedA
    }

    @Test func aLateInstanceGetsACopyAndOldCopiesDieWithTheirKeys() async throws {
        let cluster = try PostgresCluster.shared.get()
        let url = try cluster.makeDatabase()
        let a = try await TemporaryVault(securityCodeTTL: Self.ttl, database: url)
        let caller = try await a.caller()
        let token = try await tokenize(a, 3, code: "321", caller: caller)
        // B starts after the code was posted: no copy for it until A's next tick reseals one.
        let b = try second(a)
        let (sharedA, sharedB) = (try #require(a.runtime.codes.shared), try #require(b.codes.shared))
        let now = Date()
        try await sharedB.tick(now: now)
        #expect(try await b.codes.take(for: token, tenant: .default, now: now) == nil)
        try await sharedA.tick(now: now)
        #expect(try await b.codes.take(for: token, tenant: .default, now: now)?.code.text == "321")

        // Tables are UNLOGGED: no WAL, no standby, no base backup carries a row.
        #expect(
            try cluster.query(url, "SELECT string_agg(relpersistence::text, '') FROM pg_class WHERE relname IN ('pending_codes', 'code_recipients')") == "uu")

        // A copy of the table saved now (a disk image, a dump) ...
        let fresh = try await tokenize(a, 4, code: "654", caller: caller)
        try await sharedA.tick(now: now)
        try await sharedB.tick(now: now)
        let saved = try cluster.query(url, "SELECT encode(box, 'hex') FROM pending_codes WHERE token = '\(fresh.rawValue)'")
        #expect(saved.split(separator: "\n").count == 2, "one copy per instance")
        // ... two lifetimes later: each instance made two new keys, destroyed the first, and
        // resealed the pending code to the new ones.
        for step in 1...2 {
            let later = now.addingTimeInterval(Self.ttl * Double(step) + 1)
            for _ in 0..<2 {
                try await sharedA.tick(now: later)
                try await sharedB.tick(now: later)
            }
        }
        // The saved boxes, put back under every key the instances hold now, open with none.
        try cluster.query(
            url,
            """
            DELETE FROM pending_codes;
            INSERT INTO pending_codes (token, tenant, recipient, box, expires_at)
            SELECT '\(fresh.rawValue)', 'default', r.recipient, decode(s.box, 'hex'), 9999999999999
            FROM code_recipients r CROSS JOIN (SELECT unnest(string_to_array('\(saved.replacingOccurrences(of: "\n", with: ","))', ',')) AS box) s
            ON CONFLICT DO NOTHING
            """)
        #expect(try cluster.query(url, "SELECT COUNT(*) > 0 FROM pending_codes") == "t")
        let later = now.addingTimeInterval(Self.ttl * 2 + 2)
        #expect(try await a.runtime.codes.take(for: fresh, tenant: .default, now: later) == nil)
        #expect(try await b.codes.take(for: fresh, tenant: .default, now: later) == nil)
    }
}
