import Foundation
import Testing
import VaultCrypto
import VaultTestSupport
@testable import VaultDomain
@testable import VaultStorage

@Suite("Retention")
struct RetentionTests {
    func token(_ answer: CardAnswer) throws -> String {
        try #require((try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["token"] as? String)
    }

    @Test func expiredCardsAreDeletedAuditedAndLeaveNoCiphertext() async throws {
        let vault = try await TemporaryVault()
        let day: TimeInterval = 86_400
        let cards = CardVault(store: vault.runtime.store, keys: vault.runtime.keys, codes: vault.runtime.codes, defaultRetention: 30 * day)
        let caller = try await vault.caller(scopes: [.cardsWrite, .cardsRead, .iokaWrite])
        let now = Date()
        let explicit = try token(
            try await cards.tokenize(
                CardInput(
                    number: SentinelCards.pans[0], expMonth: "1", expYear: "2031", holder: nil,
                    verificationValue: "917", retainUntil: Self.iso(now.addingTimeInterval(3600))),
                caller: caller, idempotencyKey: nil))
        let defaulted = try token(
            try await cards.tokenize(
                CardInput(
                    number: SentinelCards.pans[1], expMonth: "1", expYear: "2031", holder: nil,
                    verificationValue: nil), caller: caller, idempotencyKey: nil))
        let kept = try token(
            try await vault.runtime.cards.tokenize(
                CardInput(
                    number: SentinelCards.pans[2], expMonth: "1", expYear: "2031", holder: nil,
                    verificationValue: nil), caller: caller, idempotencyKey: nil))
        _ = try await ProviderReferences(context: cards.context).attach(
            ReferenceInput(value: "crd_RETAINED01"), kind: .iokaCard, to: explicit, caller: caller, idempotencyKey: nil)
        let meta = try JSONSerialization.jsonObject(with: Data(try await cards.metadata(of: defaulted, caller: caller).body)) as? [String: Any]
        #expect((meta?["retain_until"] as? String)?.hasPrefix(String(Self.iso(now.addingTimeInterval(30 * day)).prefix(10))) == true)
        let ciphertext = try #require(try await vault.runtime.store.read { try $0.card(token: CardToken(explicit)!, tenant: .default) }).box.ciphertext

        // Nothing has expired yet.
        #expect(try await RetentionSweeper(context: cards.context).sweepExpired(now: now) == 0)
        // Two hours on: the explicit one goes, with its reference and its pending code.
        #expect(vault.runtime.codes.count == 1)
        #expect(try await RetentionSweeper(context: cards.context).sweepExpired(now: now.addingTimeInterval(7200)) == 1)
        #expect(vault.runtime.codes.count == 0)
        await #expect(throws: VaultError.self) { _ = try await cards.metadata(of: explicit, caller: caller) }
        #expect(try await vault.runtime.store.read { try $0.references(token: CardToken(explicit)!, tenant: .default) }.isEmpty)
        for (name, bytes) in vault.databaseFiles() {
            let lingers = LeakScanner.contains(bytes, Array(ciphertext.prefix(32)))
            #expect(!lingers, "ciphertext still in \(name)")
        }
        // Thirty-one days on: the defaulted one too; a card without retention stays.
        #expect(try await RetentionSweeper(context: cards.context).sweepExpired(now: now.addingTimeInterval(31 * day)) == 1)
        #expect(try await cards.metadata(of: kept, caller: caller).outcome == .existing)
        let audit = try await vault.runtime.audit.tail(limit: 20).filter { $0.action == "card.expire" }
        #expect(audit.map(\.subject) == [explicit, defaulted])
        #expect(audit.allSatisfy { $0.client == "system:retention" })
    }

    @Test func retainUntilIsValidated() async throws {
        let vault = try await TemporaryVault()
        let caller = try await vault.caller()
        for bad in ["2020-01-01", "tomorrow", "2999-01-01T00:00:00Z", "2027-13-01"] {
            do {
                _ = try await vault.runtime.cards.tokenize(
                    CardInput(
                        number: SentinelCards.pans[0], expMonth: "1", expYear: "2031", holder: nil,
                        verificationValue: nil, retainUntil: bad), caller: caller, idempotencyKey: nil)
                Issue.record("accepted \(bad)")
            } catch let error as VaultError {
                #expect(error.field == "retain_until", "\(bad)")
            }
        }
        #expect(try await vault.runtime.store.read { try $0.cardCount() } == 0)
        let later = Self.iso(Date().addingTimeInterval(86_400 * 400))
        let created = try await vault.runtime.cards.tokenize(
            CardInput(
                number: SentinelCards.pans[0], expMonth: "1", expYear: "2031", holder: nil,
                verificationValue: nil, retainUntil: String(later.prefix(10))), caller: caller, idempotencyKey: nil)
        let patched = try await vault.runtime.cards.update(
            try token(created),
            changes: CardChanges(
                expMonth: nil, expYear: nil, holder: nil, verificationValue: nil,
                retainUntil: "2030-06-01T12:00:00+05:00"), caller: caller, idempotencyKey: nil)
        let json = try JSONSerialization.jsonObject(with: Data(patched.body)) as? [String: Any]
        #expect(json?["retain_until"] as? String == "2030-06-01T07:00:00.000Z")
    }

    static func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
