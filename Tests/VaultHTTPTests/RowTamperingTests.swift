import Foundation
import Hummingbird
import Testing
import VaultDomain
import VaultHTTPTestSupport
import VaultTestSupport

/// The database is outside the trust boundary: rows changed with SQL alone (by a writer who has
/// no key: a DBA, an edited backup), on every backend, against the real server. Each tampering
/// is refused with a clean error (never another card's or tenant's data), counted and audited.
@Suite("Rows a database writer cannot forge", .serialized)
struct RowTamperingTests {
    static var backends: [String] { StorageBackend.all.map(\.name) }

    static func harness(_ backend: String) async throws -> VaultServerHarness {
        try await VaultServerHarness(database: backend == "postgres" ? try PostgresCluster.shared.get().makeDatabase() : nil)
    }

    static let all: [Scope] = [.cardsWrite, .cardsRead]

    @Test(arguments: backends)
    func swappedFingerprintsAndMovedCardsAreRefused(backend: String) async throws {
        let h = try await Self.harness(backend)
        let bank = try await h.vault.addClient("bank-svc", scopes: Self.all)
        let rival = try await h.vault.addClient("rival-svc", scopes: Self.all, tenant: "rival")
        try await h.run { c in
            let (victimPAN, attackerPAN, movedPAN) = ("4405639704015096", "5522042705066736", "4111111111111111")
            func tokenize(_ pan: String, _ holder: String) async throws -> String {
                let r = try await c.send(.post, "/v1/cards", secret: bank, json: VaultServerHarness.cardJSON(pan, holder: holder))
                return try #require(r.json["token"] as? String, "\(r.text)")
            }
            let victim = try await tokenize(victimPAN, "VICTIM")
            let attacker = try await tokenize(attackerPAN, "ATTACKER")
            let moved = try await tokenize(movedPAN, "MOVED")
            let before = IntegrityFailures.snapshot()[.cards, default: 0]

            // Swap the two cards' fingerprints (in three steps: the column is unique).
            let fv = try h.vault.tamper("SELECT fingerprint FROM cards WHERE token = '\(victim)'")
            let fa = try h.vault.tamper("SELECT fingerprint FROM cards WHERE token = '\(attacker)'")
            #expect(fv.hasPrefix("fp_") && fa.hasPrefix("fp_") && fv != fa)
            try h.vault.tamper(
                """
                UPDATE cards SET fingerprint = 'fp_swap' WHERE token = '\(victim)';
                UPDATE cards SET fingerprint = '\(fv)' WHERE token = '\(attacker)';
                UPDATE cards SET fingerprint = '\(fa)' WHERE token = '\(victim)'
                """)
            // Tokenizing the attacker's card finds the victim's row by fingerprint: refused, not reused.
            let again = try await c.send(.post, "/v1/cards", secret: bank, json: VaultServerHarness.cardJSON(attackerPAN, holder: "ATTACKER"))
            #expect(again.status == 503 && again.errorCode == "integrity_failure", "\(again.status) \(again.text)")
            #expect(!again.text.contains(victim))
            // Reads of a row whose fingerprint is not its card's are refused too.
            let read = try await c.send(.get, "/v1/cards/\(victim)", secret: bank)
            #expect(read.status == 503 && read.errorCode == "card_unreadable", "\(read.status) \(read.text)")
            #expect(!read.text.contains("VICTIM"))

            // A card moved to another tenant by SQL does not open there (its tenant is in the AEAD's associated data).
            try h.vault.tamper("UPDATE cards SET tenant = 'rival' WHERE token = '\(moved)'")
            let stolen = try await c.send(.get, "/v1/cards/\(moved)", secret: rival)
            #expect(stolen.status == 503 && stolen.errorCode == "card_unreadable", "\(stolen.status) \(stolen.text)")
            #expect(!stolen.text.contains("MOVED") && !stolen.text.contains("1111"))

            #expect(IntegrityFailures.snapshot()[.cards, default: 0] >= before + 3)
            let rows = try await h.runtime.audit.tail(limit: 30).filter { $0.action == "integrity.failure" }
            #expect(rows.contains { $0.subject == "cards|\(victim)" && $0.client == "bank-svc" })
            #expect(rows.contains { $0.subject == "cards|\(moved)" && $0.client == "rival-svc" })
            #expect(rows.count >= 3)
            let metrics = try await c.send(.get, "/metrics")
            #expect(metrics.text.contains("cardvault_integrity_failures_total{table=\"cards\"}"), "\(metrics.text.prefix(300))")
        }
    }
}
