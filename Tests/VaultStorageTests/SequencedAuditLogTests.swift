import Foundation
import Testing
import VaultCrypto
import VaultDomain
import VaultStorage
import VaultTestSupport

/// PostgreSQL without a lock across the fleet: two stores on one database write at the same
/// time (one token per PAN, one answer per idempotency key all the same), and the audit log
/// they share is sequenced after commit: queued rows are named by `audit verify`, sequenced by
/// whichever instance runs next (also after the writer died), and a row changed or removed
/// before or after sequencing breaks the verification.
@Suite("Sequenced audit log and concurrent writers (PostgreSQL)", .enabled(if: PostgresCluster.isInstalled))
struct SequencedAuditLogTests {
    func card(_ i: Int) -> CardInput {
        CardInput(number: SentinelCards.visa(i), expMonth: "3", expYear: "2031", holder: "HOLDER", verificationValue: nil, retainUntil: nil)
    }

    func token(_ answer: CardAnswer) throws -> String {
        try #require((try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["token"] as? String)
    }

    /// A second instance: its own runtime (store, pool, lanes) on the first one's database and keys.
    func secondInstance(of vault: TemporaryVault) async throws -> VaultRuntime {
        let runtime = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory)
        try await runtime.keyAdmin.load()
        return runtime
    }

    func newVault() async throws -> TemporaryVault {
        try await TemporaryVault(database: try PostgresCluster.shared.get().makeDatabase())
    }

    @Test func twoStoresWriteAtTheSameTimeAndTheRulesHold() async throws {
        let vault = try await newVault()
        let other = try await secondInstance(of: vault)
        let caller = try await vault.caller()
        let stores = [vault.runtime, other]
        let key = try IdempotencyKey(validating: "two-stores-\(UUID().uuidString)")
        let (sameCard, keyed) = try await withThrowingTaskGroup(of: (String?, String?).self) { group in
            for i in 0..<32 {
                let cards = stores[i % 2].cards
                // One PAN from both instances at once, distinct PANs, one idempotency key.
                group.addTask { (try self.token(try await cards.tokenize(self.card(7), caller: caller, idempotencyKey: nil)), nil) }
                group.addTask {
                    _ = try await cards.tokenize(self.card(1_000 + i), caller: caller, idempotencyKey: nil); return (nil, nil)
                }
                group.addTask {
                    do {
                        return (nil, try self.token(try await cards.tokenize(self.card(8), caller: caller, idempotencyKey: key)))
                    } catch let error as VaultError where error.code == .requestInFlight {
                        return (nil, nil)
                    }
                }
            }
            return try await group.reduce(into: (Set<String>(), Set<String>())) { sets, answer in
                if let a = answer.0 { sets.0.insert(a) }
                if let b = answer.1 { sets.1.insert(b) }
            }
        }
        #expect(sameCard.count == 1)
        #expect(keyed.count == 1)
        #expect(try await vault.runtime.store.read { try $0.cardCount() } == 34)
        // Both instances' rows end up in one gapless, verified order.
        #expect(try await other.audit.settle() == 0)
        let rows = try await vault.runtime.store.read { try $0.auditEntries(after: 0, limit: 10_000) }
        #expect(rows.map(\.seq) == Array(1...Int64(rows.count)))
        #expect(rows.filter { $0.action == "card.create" }.count == 34)
        #expect(try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: rows.count))
    }

    /// A write on one instance does not wait for a transaction another instance holds open:
    /// the first body waits (inside its open transaction) for the second write to finish. Under
    /// a writers' lock the second would wait for the first, and the first would give up.
    @Test func aWriteDoesNotWaitForAnotherInstancesOpenTransaction() async throws {
        let vault = try await newVault()
        let other = try await secondInstance(of: vault)
        let caller = try await vault.caller()
        let released = DispatchSemaphore(value: 0)
        async let held: Bool = vault.runtime.store.write { tx in
            try tx.setMarker("held-open", at: Date())
            return released.wait(timeout: .now() + 20) == .success
        }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await other.cards.tokenize(card(9), caller: caller, idempotencyKey: nil)
        released.signal()
        #expect(try await held)
    }

    @Test func committedRowsWaitInTheQueueUntilSequencedAndVerifyNamesThem() async throws {
        let vault = try await newVault()
        let caller = try await vault.caller()
        try await vault.runtime.audit.settle()
        let before = try await vault.runtime.store.read { try $0.auditEntries(after: 0, limit: 10_000) }.count
        for i in 0..<3 { _ = try await vault.runtime.cards.tokenize(card(20 + i), caller: caller, idempotencyKey: nil) }
        let queued = try await vault.runtime.audit.queued()
        #expect(queued.count == 3)
        #expect(queued.oldest.map(\.entry.action) == ["card.create", "card.create", "card.create"])
        #expect(queued.oldest.allSatisfy { !$0.isSequenced })
        // Verified as they are: the sequenced log intact, the queued rows intact in their lanes.
        #expect(try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: before))
        #expect(try await vault.runtime.audit.sequence() == 3)
        #expect(try await vault.runtime.audit.queued().count == 0)
        let rows = try await vault.runtime.store.read { try $0.auditEntries(after: 0, limit: 10_000) }
        #expect(rows.count == before + 3)
        #expect(try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: before + 3))
    }

    /// The writer dies between its commits and any sequencing: its rows stay queued in the
    /// database and the next instance to sequence gives them their place.
    @Test func rowsOfAWriterThatDiedBeforeSequencingAreSequencedByTheNextInstance() async throws {
        let vault = try await newVault()
        let caller = try await vault.caller()
        try await vault.runtime.audit.settle()
        do {
            let doomed = try await secondInstance(of: vault)
            for i in 0..<4 { _ = try await doomed.cards.tokenize(card(40 + i), caller: caller, idempotencyKey: nil) }
        }  // gone without sequencing anything
        #expect(try await vault.runtime.audit.queued().count == 4)
        #expect(try await vault.runtime.audit.settle() == 0)
        let rows = try await vault.runtime.store.read { try $0.auditEntries(after: 0, limit: 10_000) }
        #expect(rows.filter { $0.action == "card.create" }.count == 4)
        #expect(try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: rows.count))
    }

    @Test func aQueuedRowChangedBeforeSequencingIsDetectedBeforeAndAfter() async throws {
        let vault = try await newVault()
        let caller = try await vault.caller()
        try await vault.runtime.audit.settle()
        for i in 0..<3 { _ = try await vault.runtime.cards.tokenize(card(60 + i), caller: caller, idempotencyKey: nil) }
        try vault.tamper("UPDATE audit_queue SET subject = 'tok_innocent' WHERE pos = (SELECT MIN(pos) FROM audit_queue)")
        let broken = try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator)
        guard case .broken(let seq, let reason) = broken else { Issue.record("not detected: \(broken)"); return }
        #expect(seq == 0)
        #expect(reason.contains("not yet sequenced"))
        // Sequencing does not launder it: the lane still disagrees.
        try await vault.runtime.audit.settle()
        guard case .broken(let after, _) = try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) else {
            Issue.record("not detected after sequencing"); return
        }
        #expect(after > 0)
    }

    @Test func aQueuedRowRemovedBeforeSequencingIsDetected() async throws {
        let vault = try await newVault()
        let caller = try await vault.caller()
        try await vault.runtime.audit.settle()
        for i in 0..<3 { _ = try await vault.runtime.cards.tokenize(card(80 + i), caller: caller, idempotencyKey: nil) }
        // The middle row of the lane the three writes used (one connection, one lane, in turn).
        try vault.tamper(
            "DELETE FROM audit_queue WHERE pos = (SELECT pos FROM audit_queue WHERE action = 'card.create' ORDER BY pos OFFSET 1 LIMIT 1)")
        try await vault.runtime.audit.settle()
        let verification = try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator)
        guard case .broken(_, let reason) = verification else { Issue.record("not detected: \(verification)"); return }
        #expect(reason.contains("missing"))
    }

    @Test func aSequencedRowChangedOrRemovedIsDetected() async throws {
        let vault = try await newVault()
        let caller = try await vault.caller()
        for i in 0..<3 { _ = try await vault.runtime.cards.tokenize(card(90 + i), caller: caller, idempotencyKey: nil) }
        try await vault.runtime.audit.settle()
        let last = try #require(try await vault.runtime.store.read { try $0.lastAuditEntry() })
        try vault.tamper("UPDATE audit_log SET outcome = 'denied' WHERE seq = \(last.seq - 1)")
        guard case .broken(let seq, _) = try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) else {
            Issue.record("a changed row was not detected"); return
        }
        #expect(seq == last.seq - 1)
        try vault.tamper("DELETE FROM audit_log WHERE seq = \(last.seq - 1)")
        guard case .broken(let gap, let reason) = try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) else {
            Issue.record("a removed row was not detected"); return
        }
        #expect(gap == last.seq)
        #expect(reason.contains("missing"))
    }
}
