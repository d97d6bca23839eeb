import Foundation
import Testing
import VaultCrypto
import VaultDomain
import VaultStorage
import VaultTestSupport

/// The rules `VaultStore` promises (see its documentation), held against every backend in
/// `StorageBackend.all`: card round trip, one token for one PAN under concurrent inserts,
/// refusal of card rows under a retired or unknown key version, one stored answer for one
/// idempotency key under concurrency, one gapless audit order under concurrent writers,
/// rewrap and retire, retention, provider references and tokens.
@Suite("storage conformance")
struct StorageConformanceTests {
    func card(_ i: Int, retainUntil: String? = nil) -> CardInput {
        CardInput(number: SentinelCards.visa(i), expMonth: "3", expYear: "2031", holder: "HOLDER", verificationValue: nil, retainUntil: retainUntil)
    }

    func token(_ answer: CardAnswer) throws -> String {
        try #require((try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["token"] as? String)
    }

    func pan(_ vault: TemporaryVault, _ token: String) async throws -> String? {
        guard let card = try await vault.runtime.store.read({ try $0.card(token: CardToken(token)!, tenant: .default) }) else { return nil }
        return try await vault.runtime.cards.open(card).pan.withDigits { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func cardRoundTripAndDelete(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        let caller = try await vault.caller()
        let token = try token(try await vault.runtime.cards.tokenize(card(1), caller: caller, idempotencyKey: nil))
        #expect(try await pan(vault, token) == SentinelCards.visa(1))
        #expect(try await vault.runtime.cards.delete(token, caller: caller, idempotencyKey: nil).outcome == .deleted)
        #expect(try await pan(vault, token) == nil)
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func onePANSentConcurrentlyGetsOneToken(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        let caller = try await vault.caller()
        let cards = vault.runtime.cards
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 { group.addTask { try self.token(try await cards.tokenize(self.card(7), caller: caller, idempotencyKey: nil)) } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens.count == 1)
        #expect(try await vault.runtime.store.read { try $0.cardCount() } == 1)
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func cardRowsUnderARetiredOrUnknownVersionAreRefused(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        let caller = try await vault.caller()
        let token = try token(try await vault.runtime.cards.tokenize(card(2), caller: caller, idempotencyKey: nil))
        let stored = try #require(try await vault.runtime.store.read { try $0.card(token: CardToken(token)!, tenant: .default) })
        var unknown = stored
        unknown.token = try #require(CardToken("tok_" + String(repeating: "A", count: 22)))
        unknown.fingerprint = CardFingerprint(stored: "fp_" + String(repeating: "B", count: 43))
        unknown.keyVersion = 99
        let underUnknown = unknown
        await #expect(throws: (any Error).self) { try await vault.runtime.store.write { tx in try tx.insert(underUnknown) } }
        // Retire v1 (after moving the card away), then a row under v1 is refused too.
        _ = try await vault.runtime.keyAdmin.rotate(actor: TemporaryVault.testOperator)
        _ = try await vault.runtime.keyAdmin.rewrap(actor: TemporaryVault.testOperator)
        try await vault.runtime.keyAdmin.retire(version: 1, actor: TemporaryVault.testOperator)
        var retired = unknown
        retired.keyVersion = 1
        let underRetired = retired
        await #expect(throws: (any Error).self) { try await vault.runtime.store.write { tx in try tx.insert(underRetired) } }
        var moved = try #require(try await vault.runtime.store.read { try $0.card(token: CardToken(token)!, tenant: .default) })
        moved.keyVersion = 1
        let movedBack = moved
        await #expect(throws: (any Error).self) { try await vault.runtime.store.write { tx in try tx.update(movedBack) } }
        #expect(try await pan(vault, token) == SentinelCards.visa(2))
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func oneIdempotencyKeySentConcurrentlyStoresOneAnswer(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        let caller = try await vault.caller()
        let cards = vault.runtime.cards
        let key = try IdempotencyKey(validating: "conformance-\(UUID().uuidString)")
        let answers = try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<12 {
                group.addTask {
                    // The same request each time; a racing duplicate may be told it is in flight.
                    do { return try self.token(try await cards.tokenize(self.card(3), caller: caller, idempotencyKey: key)) } catch let error as VaultError
                        where error.code == .requestInFlight
                    {
                        _ = i
                        return nil
                    }
                }
            }
            return try await group.reduce(into: [String]()) { if let token = $1 { $0.append(token) } }
        }
        #expect(Set(answers).count == 1)
        #expect(try await vault.runtime.store.read { try $0.cardCount() } == 1)
        // The stored answer is replayed afterwards.
        #expect(try token(try await cards.tokenize(card(3), caller: caller, idempotencyKey: key)) == answers.first)
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func theAuditChainStaysOneGaplessOrderUnderConcurrentWriters(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        let caller = try await vault.caller()
        let cards = vault.runtime.cards
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<24 { group.addTask { _ = try await cards.tokenize(self.card(100 + i), caller: caller, idempotencyKey: nil) } }
            try await group.waitForAll()
        }
        // PostgreSQL sequences rows after commit: what is committed gets its place first.
        #expect(try await vault.runtime.audit.settle() == 0)
        let rows = try await vault.runtime.store.read { try $0.auditEntries(after: 0, limit: 10_000) }
        #expect(rows.map(\.seq) == Array(1...Int64(rows.count)))
        #expect(rows.filter { $0.action == "card.create" }.count == 24)
        #expect(try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: rows.count))
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func rewrapMovesEveryRecordAndRetireDestroysTheVersion(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        let caller = try await vault.caller(scopes: [.cardsWrite, .cardsRead, .iokaWrite])
        var tokens: [String: String] = [:]
        for i in 0..<5 {
            tokens[try token(try await vault.runtime.cards.tokenize(card(200 + i), caller: caller, idempotencyKey: nil))] = SentinelCards.visa(200 + i)
        }
        let first = try #require(tokens.keys.sorted().first)
        let ledger = ProviderCallLedger(context: vault.runtime.context)
        let card = try #require(CardToken(first))
        try await ledger.settle(caller: caller) { try $0.captureProviderToken("hp-card-token-1", provider: "horizonpay", for: card) }
        _ = try await ProviderReferences(context: vault.runtime.context).attach(
            ReferenceInput(value: "crd_CONFORM01"), kind: .iokaCard, to: first, caller: caller, idempotencyKey: nil)
        let admin = vault.runtime.keyAdmin
        #expect(try await admin.rotate(actor: TemporaryVault.testOperator) == 2)
        let result = try await admin.rewrap(actor: TemporaryVault.testOperator, batchSize: 2)
        #expect(result.remaining == 0 && result.rewrapped == 7)
        try await admin.retire(version: 1, actor: TemporaryVault.testOperator)
        for (token, number) in tokens { #expect(try await pan(vault, token) == number) }
        var release = ProviderCallRelease(action: "conformance.read")
        release.cards = [card]
        release.providerTokens = [.init(card: card, provider: "horizonpay", missing: .cardNotFound)]
        #expect(try await ledger.release(release, caller: caller).providerTokens[card] == "hp-card-token-1")
        #expect(try await vault.runtime.store.read { try $0.references(token: CardToken(first)!, tenant: .default) }.map(\.keyVersion) == [2])
        #expect(try await admin.status().versions.first { $0.version == 1 }?.state == .retired)
    }

    /// An import remembers each reference with its token in the card's commit: a second run
    /// finds every one, and a record pointed at another card by SQL is not believed.
    @Test(arguments: StorageBackend.all.map(\.name))
    func importsAreRememberedByReference(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        try await vault.runtime.keyAdmin.load()
        let rows = (0..<4).map {
            CardImportRow(
                line: $0 + 1, number: SensitiveBytes(copying: SentinelCards.visa(700 + $0).utf8), expMonth: "5", expYear: "2032", holder: nil,
                reference: "ref-\($0)")
        }
        var seen = CardImporter.Seen()
        let first = try await vault.runtime.importer.importBatch(rows, tenant: .default, actor: TemporaryVault.testOperator, seen: &seen)
        #expect(first.map(\.status) == Array(repeating: .created, count: 4))
        seen = CardImporter.Seen()
        let again = try await vault.runtime.importer.importBatch(rows, tenant: .default, actor: TemporaryVault.testOperator, seen: &seen)
        #expect(again.map(\.status) == Array(repeating: .imported, count: 4))
        #expect(again.map(\.token) == first.map(\.token))
        // A database writer points ref-0 at the card of ref-1: the record fails its MAC, and the
        // import falls back to the card itself (found by its fingerprint, confirmed by decrypting).
        _ = try vault.tamper("UPDATE card_imports SET token = '\(first[1].token!.rawValue)' WHERE token = '\(first[0].token!.rawValue)'")
        // A dry run applies the same test: the re-pointed record is not reported as imported.
        seen = CardImporter.Seen()
        let checked = try await vault.runtime.importer.check([rows[0], rows[1]], tenant: .default, seen: &seen)
        #expect(checked.map(\.status) == [.existing, .imported])
        seen = CardImporter.Seen()
        let tampered = try await vault.runtime.importer.importBatch([rows[0]], tenant: .default, actor: TemporaryVault.testOperator, seen: &seen)
        #expect(tampered.first?.status == .existing && tampered.first?.token == first[0].token)
        #expect(try await vault.runtime.store.read { try $0.cardCount() } == 4)
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func retentionDeletesExpiredCardsOnly(_ backend: String) async throws {
        let vault = try await Self.backend(backend).make()
        let caller = try await vault.caller()
        let now = Date()
        let formatter = ISO8601DateFormatter()
        let expiring = try token(
            try await vault.runtime.cards.tokenize(
                card(300, retainUntil: formatter.string(from: now.addingTimeInterval(3600))), caller: caller, idempotencyKey: nil))
        let kept = try token(try await vault.runtime.cards.tokenize(card(301), caller: caller, idempotencyKey: nil))
        #expect(try await vault.runtime.retention.sweepExpired(now: now) == 0)
        #expect(try await vault.runtime.retention.sweepExpired(now: now.addingTimeInterval(7200)) == 1)
        #expect(try await pan(vault, expiring) == nil)
        #expect(try await pan(vault, kept) == SentinelCards.visa(301))
    }

    static func backend(_ name: String) throws -> StorageBackend {
        try #require(StorageBackend.all.first { $0.name == name })
    }
}
