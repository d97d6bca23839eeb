import Foundation
import GRDB
import Testing
import VaultTestSupport
@testable import VaultDomain
@testable import VaultStorage

@Suite("SQLite storage")
struct AppDatabaseTests {
    @Test func durabilitySettingsAreInForce() async throws {
        let vault = try await TemporaryVault()
        let pragmas = try vault.runtime.database.pragmas()
        #expect(pragmas.journalMode == "wal")
        #expect(pragmas.synchronous == 2)  // FULL
        #expect(pragmas.secureDelete == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: vault.databasePath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func groupCommitRunsManyWritersAndIsolatesFailures() async throws {
        let vault = try await TemporaryVault()
        let caller = try await vault.caller(scopes: [.cardsWrite])
        let cards = vault.runtime.cards
        // 200 concurrent tokenizations, a tenth of them invalid: the valid ones all commit.
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let number = i % 10 == 0 ? "4111111111111112" : SentinelCards.visa(i)
                    let input = CardInput(number: number, expMonth: "12", expYear: "2031", holder: nil, verificationValue: nil)
                    return (try? await cards.tokenize(input, caller: caller, idempotencyKey: nil)) != nil
                }
            }
            var ok = 0
            for await r in group where r { ok += 1 }
            return ok
        }
        #expect(results == 180)
        let count = try await vault.runtime.store.read { try $0.cardCount() }
        #expect(count == 180)
        // A failing body inside a batch leaves no trace and does not break the others.
        await #expect(throws: VaultError.self) {
            try await vault.runtime.store.write { tx in
                try tx.insert(AuditEntry(seq: 999_999, at: "x", client: nil, action: "x", subject: nil, outcome: "x", requestID: nil, source: nil, hash: []))
                throw VaultError.cardNotFound
            }
        }
        let stray = try await vault.runtime.store.read { try $0.auditEntries(after: 999_998, limit: 1) }
        #expect(stray.isEmpty)
        #expect(try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: 182))
    }

    @Test func noCardCanUseARetiredKeyVersion() async throws {
        let vault = try await TemporaryVault()
        let admin = vault.runtime.keyAdmin
        let cards = vault.runtime.cards
        let actor = TemporaryVault.testOperator
        _ = try await admin.rotate(actor: actor)
        try await admin.retire(version: 1, actor: actor)
        // A sealed card labelled with the retired version is refused by the database itself.
        let token = CardToken.generate()
        let stale = SealedCard(token: token, tenant: .default, fingerprint: CardFingerprint(stored: "fp_stale"), keyVersion: 1,
                               box: .init(nonce: Array(repeating: 0, count: 24), ciphertext: Array(repeating: 0, count: 32)),
                               createdAt: Date(), updatedAt: Date())
        await #expect(throws: VaultError.keyVersionNotUsable) {
            try await vault.runtime.store.write { tx in try tx.insert(stale) }
        }
        // And the service, with a fresh ring, seals under the active version.
        let answer = try await cards.tokenize(CardInput(number: "4405639704015096", expMonth: "1", expYear: "2030", holder: nil, verificationValue: nil),
                                              caller: try await vault.caller(), idempotencyKey: nil)
        #expect(answer.outcome == .created)
        let status = try await admin.status()
        #expect(status.versions.map(\.state) == [.retired, .active])
        #expect(status.versions.map(\.cards) == [0, 1])
    }

    @Test func auditVerifyFindsTamperingInTheDatabase() async throws {
        let vault = try await TemporaryVault()
        let caller = try await vault.caller()
        for i in 0..<4 {
            _ = try await vault.runtime.cards.tokenize(
                CardInput(number: SentinelCards.visa(i), expMonth: "1", expYear: "2030", holder: nil, verificationValue: nil),
                caller: caller, idempotencyKey: nil)
        }
        let audit = vault.runtime.audit
        #expect(try await audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: 6))
        let pool = vault.runtime.database.pool
        try await pool.write { db in try db.execute(sql: "UPDATE audit_log SET client = 'someone-else' WHERE seq = 3") }
        guard case .broken(let seq, _) = try await audit.verify(actor: TemporaryVault.testOperator) else { Issue.record("change not found"); return }
        #expect(seq == 3)
        let original = caller.client.name
        try await pool.write { db in try db.execute(sql: "UPDATE audit_log SET client = ? WHERE seq = 3", arguments: [original]) }
        #expect(try await audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: 6))
        try await pool.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE seq = 4") }
        guard case .broken(let gap, let reason) = try await audit.verify(actor: TemporaryVault.testOperator) else { Issue.record("deletion not found"); return }
        #expect(gap == 5)
        #expect(reason.contains("missing"))
    }
}
