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

extension RowTamperingTests {
    /// Client rows changed with SQL: raised scopes, another tenant, a row without its MAC. Each
    /// is refused as `integrity_failure` (never served with the forged rights), listed as
    /// failed, audited and counted; revoking is still possible. Rows from before MACs existed
    /// are authenticated once, by a pass the audit log records.
    @Test(arguments: backends)
    func clientRowsChangedBySQLAreRefused(backend: String) async throws {
        let h = try await Self.harness(backend)
        let bank = try await h.vault.addClient("bank-svc", scopes: Self.all)
        let reader = try await h.vault.addClient("reader-svc", scopes: [.cardsRead])
        let rival = try await h.vault.addClient("rival-svc", scopes: Self.all, tenant: "rival")
        let stripped = try await h.vault.addClient("stripped-svc", scopes: Self.all)
        try await h.run { c in
            let card = try await c.send(.post, "/v1/cards", secret: bank, json: VaultServerHarness.cardJSON("4405639704015096", holder: "BANK HOLDER"))
            let token = try #require(card.json["token"] as? String)
            let before = IntegrityFailures.snapshot()[.clients, default: 0]

            // A read-only client given cards:write by SQL.
            try h.vault.tamper("UPDATE clients SET scopes = 'cards:read,cards:write' WHERE name = 'reader-svc'")
            let write = try await c.send(.post, "/v1/cards", secret: reader, json: VaultServerHarness.cardJSON("5522042705066736"))
            #expect(write.status == 503 && write.errorCode == "integrity_failure", "\(write.status) \(write.text)")
            let read = try await c.send(.get, "/v1/cards/\(token)", secret: reader)
            #expect(read.status == 503 && read.errorCode == "integrity_failure")

            // Another tenant's client moved into the bank's tenant by SQL.
            try h.vault.tamper("UPDATE clients SET tenant = 'default' WHERE name = 'rival-svc'")
            let stolen = try await c.send(.get, "/v1/cards/\(token)", secret: rival)
            #expect(stolen.status == 503 && stolen.errorCode == "integrity_failure", "\(stolen.status) \(stolen.text)")
            #expect(!stolen.text.contains("BANK HOLDER") && !stolen.text.contains("5096"))

            // A row whose MAC was removed, once the vault's rows are all authenticated.
            try h.vault.tamper("UPDATE clients SET mac = NULL WHERE name = 'stripped-svc'")
            let bare = try await c.send(.get, "/v1/cards/\(token)", secret: stripped)
            #expect(bare.status == 503 && bare.errorCode == "integrity_failure", "\(bare.status) \(bare.text)")

            // The untouched client still works; the failed rows are named, audited and counted.
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: bank).status == 200)
            #expect(IntegrityFailures.snapshot()[.clients, default: 0] >= before + 4)
            let listed = try await h.runtime.clients.list()
            #expect(Set(listed.filter(\.failedIntegrityCheck).map(\.name)) == ["reader-svc", "rival-svc", "stripped-svc"])
            let rows = try await h.runtime.audit.tail(limit: 40).filter { $0.action == "integrity.failure" }
            let ids = Dictionary(uniqueKeysWithValues: listed.map { ($0.name, $0.id) })
            #expect(rows.contains { $0.subject == "clients|\(ids["rival-svc"] ?? "?")" })
            #expect(rows.contains { $0.subject == "clients|\(ids["reader-svc"] ?? "?")" })

            // Revoking a failed row is the remedy, and works.
            let revoked = try await h.runtime.clients.revoke(name: "rival-svc", actor: TemporaryVault.testOperator)
            #expect(!revoked.isActive)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: rival).status == 401)
            await #expect(throws: VaultError.integrityFailure) {
                try await h.runtime.clients.rotateSecret(name: "reader-svc", actor: TemporaryVault.testOperator)
            }
        }
    }

    /// A vault whose client rows predate MACs (no marker, no MAC): the first process with keys
    /// that meets one authenticates them all once, audited; afterwards a row without a MAC fails.
    @Test(arguments: backends)
    func rowsFromBeforeMACsAreAuthenticatedOnce(backend: String) async throws {
        let h = try await Self.harness(backend)
        let old = try await h.vault.addClient("old-svc", scopes: Self.all)
        try h.vault.tamper("UPDATE clients SET mac = NULL; DELETE FROM vault_markers")
        try await h.run { c in
            let card = try await c.send(.post, "/v1/cards", secret: old, json: VaultServerHarness.cardJSON("4405639704015096"))
            #expect(card.status == 201, "\(card.text)")
            let passes = try await h.runtime.audit.tail(limit: 20).filter { $0.action == "clients.rows_authenticated" }
            #expect(passes.map(\.subject) == ["count=1"])
            #expect(try h.vault.tamper("SELECT name FROM vault_markers") == "client_macs")
            let late = try await h.vault.addClient("late-svc", scopes: Self.all)
            try h.vault.tamper("UPDATE clients SET mac = NULL WHERE name = 'late-svc'")
            #expect(try await c.send(.get, "/v1/cards/\(try #require(card.json["token"] as? String))", secret: late).errorCode == "integrity_failure")
        }
    }
}

extension RowTamperingTests {
    /// Idempotency records moved to another client, or between keys, by SQL: the record's MAC
    /// binds it to its client and key, so the replay is refused (`integrity_failure`) instead of
    /// answering another tenant's token, and a record without a MAC is refused too.
    @Test(arguments: backends)
    func idempotencyRecordsMovedBySQLAreRefused(backend: String) async throws {
        let h = try await Self.harness(backend)
        let bank = try await h.vault.addClient("bank-svc", scopes: Self.all)
        let rival = try await h.vault.addClient("rival-svc", scopes: Self.all, tenant: "rival")
        try await h.run { c in
            let card = VaultServerHarness.cardJSON("4405639704015096", holder: "BANK HOLDER")
            let first = try await c.send(.post, "/v1/cards", secret: bank, json: card, headers: ["Idempotency-Key": "order-1"])
            let token = try #require(first.json["token"] as? String)
            let again = try await c.send(.post, "/v1/cards", secret: bank, json: card, headers: ["Idempotency-Key": "order-1"])
            #expect(again.status == 201 && again.json["token"] as? String == token)
            let ids = Dictionary(uniqueKeysWithValues: try await h.runtime.clients.list().map { ($0.name, $0.id) })
            let (bankID, rivalID) = (try #require(ids["bank-svc"]), try #require(ids["rival-svc"]))

            // The bank's record handed to the rival's client: the rival's identical request would replay the bank's answer.
            try h.vault.tamper("UPDATE idempotency_keys SET client = '\(rivalID)' WHERE client = '\(bankID)'")
            let stolen = try await c.send(.post, "/v1/cards", secret: rival, json: card, headers: ["Idempotency-Key": "order-1"])
            #expect(stolen.status == 503 && stolen.errorCode == "integrity_failure", "\(stolen.status) \(stolen.text)")
            #expect(!stolen.text.contains(token) && !stolen.text.contains("BANK HOLDER"))

            // Back where it was but without its MAC: refused as well (fail closed).
            try h.vault.tamper("UPDATE idempotency_keys SET client = '\(bankID)', mac = NULL WHERE client = '\(rivalID)'")
            let bare = try await c.send(.post, "/v1/cards", secret: bank, json: card, headers: ["Idempotency-Key": "order-1"])
            #expect(bare.status == 503 && bare.errorCode == "integrity_failure", "\(bare.status) \(bare.text)")
            let rows = try await h.runtime.audit.tail(limit: 20).filter { $0.action == "integrity.failure" }
            #expect(rows.contains { $0.subject?.hasPrefix("idempotency_keys|\(rivalID)|") == true && $0.client == "rival-svc" })
        }
    }
}

extension RowTamperingTests {
    /// A provider reference moved to another tenant by SQL: that tenant's read of the token is
    /// refused (the reference's tenant is in its AEAD's associated data), not even its masked
    /// details are shown, and the failure is counted and audited. The rival registering the
    /// same reference gets a token of its own (blind indexes are per tenant).
    @Test(arguments: backends)
    func referencesMovedBySQLAreRefused(backend: String) async throws {
        let h = try await Self.harness(backend)
        let bank = try await h.vault.addClient("bank-svc", scopes: [.cardsRead, .iokaWrite])
        let rival = try await h.vault.addClient("rival-svc", scopes: [.cardsRead, .iokaWrite], tenant: "rival")
        try await h.run { c in
            let registered = try await c.send(
                .post, "/v1/ioka/cards", secret: bank, json: #"{"card_id":"crd_MOVEDREF01","pan_masked":"552204******6736","emitter":"halykbank"}"#)
            #expect(registered.status == 201, "\(registered.text)")
            let token = try #require(registered.json["token"] as? String)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: bank).status == 200)
            let before = IntegrityFailures.snapshot()[.providerReferences, default: 0]

            _ = try h.vault.tamper("UPDATE provider_references SET tenant = 'rival' WHERE token = '\(token)'")
            let stolen = try await c.send(.get, "/v1/cards/\(token)", secret: rival)
            #expect(stolen.status == 503 && stolen.errorCode == "integrity_failure", "\(stolen.status) \(stolen.text)")
            #expect(!stolen.text.contains("552204") && !stolen.text.contains("halyk") && !stolen.text.contains("MOVEDREF"))
            #expect(IntegrityFailures.snapshot()[.providerReferences, default: 0] > before)
            let rows = try await h.runtime.audit.tail(limit: 20).filter { $0.action == "integrity.failure" }
            #expect(rows.contains { $0.subject == "provider_references|\(token)" && $0.client == "rival-svc" })
            // The owner no longer finds it (the row says another tenant): unknown, never the rival's data.
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: bank).status == 404)
            let again = try await c.send(.post, "/v1/ioka/cards", secret: rival, json: #"{"card_id":"crd_MOVEDREF01"}"#)
            #expect(again.status == 201 && again.json["token"] as? String != token, "\(again.text)")
        }
    }
}
