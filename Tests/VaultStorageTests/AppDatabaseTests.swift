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
        let pragmas = try vault.runtime.database!.pragmas()
        #expect(pragmas.journalMode == "wal")
        #expect(pragmas.synchronous == 2)  // FULL
        #expect(pragmas.secureDelete == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: vault.databasePath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func manyConcurrentTokenizationsAllCommit() async throws {
        let vault = try await TemporaryVault()
        let caller = try await vault.caller(scopes: [.cardsWrite])
        let cards = vault.runtime.cards
        // 200 concurrent tokenizations, a tenth of them invalid (refused before storage; see
        // aFailingJobInASharedBatchRollsBackAlone for failures inside a batch): the valid ones commit.
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

    /// Failing writes inside a shared batch: while the first job holds the writer, 120 more
    /// queue up and share the next commit; every third inserts a row and then throws. The
    /// batch is seen to hold both kinds, and exactly the rows of the jobs that succeeded remain.
    @Test func aFailingJobInASharedBatchRollsBackAlone() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("group-commit-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pool = try DatabasePool(path: folder.appendingPathComponent("batch.sqlite").path)
        try await pool.write { try $0.execute(sql: "CREATE TABLE item (id INTEGER PRIMARY KEY)") }
        let writer = GroupCommitWriter(pool: pool)
        struct Failed: Error {}
        // Each job notes its batch (the BatchState object itself, kept alive so identities are
        // never reused) before it may fail.
        final class Log: @unchecked Sendable {
            // @unchecked: written only on the writer's queue, read after every job finished.
            var entries: [(batch: BatchState, job: Int)] = []
        }
        let log = Log()
        let first = Task { try await writer.submit { _, _ in Thread.sleep(forTimeInterval: 0.2) } }
        try await Task.sleep(for: .milliseconds(50))
        let failed = await withTaskGroup(of: Int?.self) { group in
            for i in 1...120 {
                group.addTask {
                    do {
                        try await writer.submit { db, state in
                            log.entries.append((state, i))
                            try db.execute(sql: "INSERT INTO item (id) VALUES (?)", arguments: [i])
                            if i % 3 == 0 { throw Failed() }
                        }
                        return nil
                    } catch {
                        return i
                    }
                }
            }
            var all: [Int] = []
            for await i in group { if let i { all.append(i) } }
            return all.sorted()
        }
        try await first.value
        #expect(failed == Array(stride(from: 3, through: 120, by: 3)))
        let stored = try await pool.read { try Int.fetchAll($0, sql: "SELECT id FROM item ORDER BY id") }
        #expect(stored == (1...120).filter { $0 % 3 != 0 })
        // Failures really were inside shared batches, next to jobs that committed.
        let byBatch = Dictionary(grouping: log.entries, by: { ObjectIdentifier($0.batch) })
        let mixed = byBatch.values.filter { jobs in jobs.contains { $0.job % 3 == 0 } && jobs.contains { $0.job % 3 != 0 } }
        #expect(!mixed.isEmpty, "no batch held both a failing and a committing job (\(byBatch.count) batches)")
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
        let stale = SealedCard(
            token: token, tenant: .default, fingerprint: CardFingerprint(stored: "fp_stale"), keyVersion: 1,
            box: .init(nonce: Array(repeating: 0, count: 24), ciphertext: Array(repeating: 0, count: 32)),
            createdAt: Date(), updatedAt: Date())
        await #expect(throws: VaultError.keyVersionNotUsable) {
            try await vault.runtime.store.write { tx in try tx.insert(stale) }
        }
        // And the service, with a fresh ring, seals under the active version.
        let answer = try await cards.tokenize(
            CardInput(number: "4405639704015096", expMonth: "1", expYear: "2030", holder: nil, verificationValue: nil),
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
        let pool = vault.runtime.database!.pool
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
