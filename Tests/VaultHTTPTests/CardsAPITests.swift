import Foundation
import Testing
import VaultDomain
import VaultHTTPTestSupport
import VaultTestSupport

@Suite("Cards API over HTTP")
struct CardsAPITests {
    @Test func tokenizeReadUpdateDelete() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        try await h.run { c in
            let created = try await c.send(
                .post, "/v1/cards", secret: secret,
                json: VaultServerHarness.cardJSON("4405 6397 0401 5096", month: "3", year: "2030", code: "123"))
            #expect(created.status == 201)
            let card = created.json
            let token = try #require(card["token"] as? String)
            #expect(token.hasPrefix("tok_"))
            #expect((card["fingerprint"] as? String)?.hasPrefix("fp_") == true)
            #expect(card["brand"] as? String == "visa")
            #expect(card["bin"] as? String == "440563")
            #expect(card["last_4"] as? String == "5096")
            #expect(card["masked"] as? String == "440563******5096")
            #expect(card["exp_month"] as? String == "03")
            #expect(card["exp_year"] as? String == "2030")
            #expect(card["has_verification_value"] as? Bool == true)
            #expect(card["verification_value_expires_at"] is String)
            #expect(card["created_at"] is String)
            #expect(created.headers[.init("X-Request-Id")!] != nil)

            // Same PAN again: same token and fingerprint, newer expiry and holder.
            let again = try await c.send(
                .post, "/v1/cards", secret: secret,
                json: VaultServerHarness.cardJSON("4405639704015096", month: "11", year: "2032", holder: "I PETROV"))
            #expect(again.status == 200)
            #expect(again.json["token"] as? String == token)
            #expect(again.json["fingerprint"] as? String == card["fingerprint"] as? String)
            #expect(again.json["exp_month"] as? String == "11")
            #expect(again.json["holder"] as? String == "I PETROV")
            // The pending code from the first call is still there.
            #expect(again.json["has_verification_value"] as? Bool == true)

            let read = try await c.send(.get, "/v1/cards/\(token)", secret: secret)
            #expect(read.status == 200)
            #expect(read.json["exp_year"] as? String == "2032")

            let patched = try await c.send(.patch, "/v1/cards/\(token)", secret: secret, json: #"{"exp_year":"2033","holder":"NEW NAME"}"#)
            #expect(patched.status == 200)
            #expect(patched.json["exp_year"] as? String == "2033")
            #expect(patched.json["exp_month"] as? String == "11")
            #expect(patched.json["holder"] as? String == "NEW NAME")

            let deleted = try await c.send(.delete, "/v1/cards/\(token)", secret: secret)
            #expect(deleted.status == 204)
            #expect(deleted.body.isEmpty)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: secret).status == 404)
            #expect(try await c.send(.delete, "/v1/cards/\(token)", secret: secret).status == 404)
        }
        #expect(h.runtime.codes.count == 0)  // deleting the card wiped its pending code
        let actions = try await h.runtime.audit.tail(limit: 50).map(\.action)
        #expect(actions.filter { $0 == "card.read" }.count == 2)
        #expect(
            actions.contains("card.create") && actions.contains("card.update_existing") && actions.contains("card.update") && actions.contains("card.delete"))
    }

    @Test func everyErrorIsJSONAndNamesTheField() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        let readOnly = try await h.vault.addClient(scopes: [.cardsRead])
        try await h.run { c in
            var r = try await c.send(.post, "/v1/cards", secret: secret, json: "{not json")
            #expect(r.status == 400)
            #expect(r.errorCode == "malformed_request")
            #expect(r.errorMessage?.contains("line 1, column 2") == true, "\(r.errorMessage ?? "")")
            #expect(r.errorMessage?.contains("repeat") == false)

            r = try await c.send(.post, "/v1/cards", secret: secret, json: #"{"number":4405639704015096,"exp_month":"1","exp_year":"2030"}"#)
            #expect(r.status == 400)
            #expect(r.errorFields == ["number"])

            r = try await c.send(.post, "/v1/cards", secret: secret, json: #"{"number":"4405639704015096","exp_month":"1","exp_year":"2030","cvv":"123"}"#)
            #expect(r.status == 400)
            #expect(r.errorFields == ["cvv"])

            // A card number used as a field name is never echoed.
            r = try await c.send(.post, "/v1/cards", secret: secret, json: #"{"4405639704015096":"x"}"#)
            #expect(r.status == 400)
            #expect(!r.text.contains("4405639704015096"))

            r = try await c.send(.post, "/v1/cards", secret: secret, json: "[]")
            #expect(r.status == 400)

            r = try await c.send(.post, "/v1/cards", secret: secret, json: "")
            #expect(r.status == 400)

            r = try await c.send(.post, "/v1/cards", secret: secret, json: "{}")
            #expect(r.status == 422)
            #expect(Set(r.errorFields) == ["number", "exp_month"])

            r = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015097"))
            #expect(r.status == 422)
            #expect(r.errorFields == ["number"])
            #expect(r.errorCode == "invalid_card_number")

            r = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015096", month: "\"13\""))
            #expect(r.status == 422)
            #expect(r.errorFields == ["exp_month"])

            r = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015096", year: "\"2020\""))
            #expect(r.status == 422)
            #expect(r.errorCode == "card_expired")

            r = try await c.send(
                .post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015096", holder: String(repeating: "A", count: 36)))
            #expect(r.status == 422)
            #expect(r.errorFields == ["holder"])

            r = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015096", code: "12"))
            #expect(r.status == 422)
            #expect(r.errorFields == ["verification_value"])

            r = try await c.send(.post, "/v1/cards", secret: secret, rawBody: Array(repeating: 0x20, count: 65 * 1024))
            #expect(r.status == 413)
            #expect(r.errorCode == "body_too_large")

            r = try await c.send(.post, "/v1/cards", json: VaultServerHarness.cardJSON("4405639704015096"))
            #expect(r.status == 401)
            #expect(r.headers[.wwwAuthenticate] == "Bearer")
            r = try await c.send(.post, "/v1/cards", secret: "cvs_wrong", json: VaultServerHarness.cardJSON("4405639704015096"))
            #expect(r.status == 401)
            r = try await c.send(.post, "/v1/cards", secret: readOnly, json: VaultServerHarness.cardJSON("4405639704015096"))
            #expect(r.status == 403)
            #expect(r.errorCode == "missing_scope")

            r = try await c.send(.get, "/v1/cards/tok_AAAAAAAAAAAAAAAAAAAAAA", secret: secret)
            #expect(r.status == 404)
            #expect(r.errorCode == "card_not_found")
            r = try await c.send(.get, "/v1/cards/4405639704015096", secret: secret)
            #expect(r.status == 404)
            #expect(!r.text.contains("4405639704015096"))

            r = try await c.send(.patch, "/v1/cards/tok_AAAAAAAAAAAAAAAAAAAAAA", secret: secret, json: "{}")
            #expect(r.status == 422)
            #expect(r.errorCode == "no_changes")

            r = try await c.send(.get, "/nowhere")
            #expect(r.status == 404)
            #expect(r.errorCode == "not_found")
        }
        // Nothing was stored by any of the failures.
        #expect(try await h.runtime.store.read { try $0.cardCount() } == 0)
        let denied = try await h.runtime.audit.tail(limit: 100).filter { $0.outcome == "denied" }
        #expect(denied.count == 3)
    }

    @Test func retentionOverHTTPAndAsAServerDefault() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        try await h.run(configure: { $0.defaultRetention = 90 * 86_400 }) { c in
            let past = try await c.send(
                .post, "/v1/cards", secret: secret,
                json: #"{"number":"4405639704015096","exp_month":1,"exp_year":2031,"retain_until":"2001-01-01"}"#)
            #expect(past.status == 422 && past.errorFields == ["retain_until"])
            let given = try await c.send(
                .post, "/v1/cards", secret: secret,
                json: #"{"number":"4405639704015096","exp_month":1,"exp_year":2031,"retain_until":"2031-01-01T00:00:00Z"}"#)
            #expect(given.status == 201 && given.json["retain_until"] as? String == "2031-01-01T00:00:00.000Z")
            let defaulted = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4012001037141112"))
            let until = try #require(defaulted.json["retain_until"] as? String)
            #expect(until > "2027-02-01")
            let patched = try await c.send(.patch, "/v1/cards/\(defaulted.json["token"] as! String)", secret: secret, json: #"{"retain_until":"2030-01-01"}"#)
            #expect(patched.status == 200 && patched.json["retain_until"] as? String == "2030-01-01T00:00:00.000Z")
        }
    }

    @Test func idempotencyReplaysAndConflicts() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        try await h.run { c in
            let body = VaultServerHarness.cardJSON("5522042705066736")
            let first = try await c.send(.post, "/v1/cards", secret: secret, json: body, headers: ["Idempotency-Key": "order-1"])
            #expect(first.status == 201)
            let retry = try await c.send(.post, "/v1/cards", secret: secret, json: body, headers: ["Idempotency-Key": "order-1"])
            #expect(retry.status == 201)
            #expect(retry.body == first.body)
            let conflict = try await c.send(
                .post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015096"),
                headers: ["Idempotency-Key": "order-1"])
            #expect(conflict.status == 409)
            #expect(conflict.errorCode == "idempotency_conflict")
            let bad = try await c.send(.post, "/v1/cards", secret: secret, json: body, headers: ["Idempotency-Key": String(repeating: "k", count: 300)])
            #expect(bad.status == 400)

            // Concurrent duplicates: one card, one creation, identical answers.
            let concurrentBody = VaultServerHarness.cardJSON("4012001037141112")
            let replies = try await withThrowingTaskGroup(of: VaultServerHarness.Reply.self) { group in
                for _ in 0..<16 {
                    group.addTask { try await c.send(.post, "/v1/cards", secret: secret, json: concurrentBody, headers: ["Idempotency-Key": "burst"]) }
                }
                var all: [VaultServerHarness.Reply] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(Set(replies.map(\.status)) == [201])
            #expect(Set(replies.map(\.body)).count == 1)

            let token = try #require(first.json["token"] as? String)
            let patch1 = try await c.send(.patch, "/v1/cards/\(token)", secret: secret, json: #"{"holder":"A"}"#, headers: ["Idempotency-Key": "p1"])
            let patch2 = try await c.send(.patch, "/v1/cards/\(token)", secret: secret, json: #"{"holder":"A"}"#, headers: ["Idempotency-Key": "p1"])
            #expect(patch1.body == patch2.body)
            #expect(try await c.send(.patch, "/v1/cards/\(token)", secret: secret, json: #"{"holder":"B"}"#, headers: ["Idempotency-Key": "p1"]).status == 409)
            #expect(try await c.send(.delete, "/v1/cards/\(token)", secret: secret, headers: ["Idempotency-Key": "d1"]).status == 204)
            #expect(try await c.send(.delete, "/v1/cards/\(token)", secret: secret, headers: ["Idempotency-Key": "d1"]).status == 204)
        }
        #expect(try await h.runtime.store.read { try $0.cardCount() } == 1)
        let creations = try await h.runtime.audit.tail(limit: 200).filter { $0.action == "card.create" }
        #expect(creations.count == 2)
    }

    @Test func revokedAndRotatedSecretsStopWorkingAtOnce() async throws {
        let h = try await VaultServerHarness()
        let name = "checkout"
        let secret = try await h.vault.addClient(name, scopes: [.cardsRead])
        try await h.run { c in
            let token = "tok_AAAAAAAAAAAAAAAAAAAAAA"
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: secret).status == 404)
            let (_, fresh) = try await h.runtime.clients.rotateSecret(name: name, actor: TemporaryVault.testOperator)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: secret).status == 401)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: fresh.revealed).status == 404)
            _ = try await h.runtime.clients.revoke(name: name, actor: TemporaryVault.testOperator)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: fresh.revealed).status == 401)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: fresh.revealed).status == 401)
        }
        // The server had both secrets cached; each stale use was caught inside the operation's
        // own transaction and audited as a denial.
        let denials = try await h.runtime.audit.tail(limit: 50).filter { $0.outcome == "denied" }.compactMap(\.subject)
        #expect(denials.contains("stale_secret:card.read"))
        #expect(denials.count == 3)
    }

    @Test func securityCodeExpiresAfterItsTimeToLive() async throws {
        let h = try await VaultServerHarness(securityCodeTTL: 1)
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        try await h.run { c in
            let created = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("378282246310005", code: "1234"))
            #expect(created.json["has_verification_value"] as? Bool == true)
            let token = try #require(created.json["token"] as? String)
            try await Task.sleep(for: .milliseconds(2500))
            let later = try await c.send(.get, "/v1/cards/\(token)", secret: secret)
            #expect(later.json["has_verification_value"] as? Bool == false)
            #expect(later.json["verification_value_expires_at"] == nil)
            #expect(h.runtime.codes.count == 0)  // the sweeper wiped it

            let patched = try await c.send(.patch, "/v1/cards/\(token)", secret: secret, json: #"{"verification_value":"4321"}"#)
            #expect(patched.json["has_verification_value"] as? Bool == true)
        }
    }

    @Test func aRotationReachesTheRunningServerWithinFiveSeconds() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite])
        try await h.run { c in
            #expect(try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(SentinelCards.visa(1))).status == 201)
            // Another process, as the CLI would be.
            let cli = try h.secondProcess()
            _ = try await cli.keyAdmin.rotate(actor: TemporaryVault.testOperator)
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(SentinelCards.visa(2))).status == 201)
            let status = try await cli.keyAdmin.status()
            #expect(status.versions.map(\.cards) == [1, 1])
        }
    }

    @Test func healthReadinessAndMetrics() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsRead])
        try await h.run { c in
            #expect(try await c.send(.get, "/healthz").status == 200)
            let ready = try await c.send(.get, "/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["status"] as? String == "ready")
            _ = try await c.send(.get, "/v1/cards/tok_BBBBBBBBBBBBBBBBBBBBBB", secret: secret)
            let metrics = try await c.send(.get, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains(#"cardvault_http_requests_total{method="GET",route="/v1/cards/{token}",status="404"} 1"#))
            #expect(!metrics.text.contains("tok_BBBB"))
            #expect(metrics.text.contains("cardvault_http_request_duration_seconds_bucket"))
        }
    }

    /// Readiness proves that writes commit, not only that reads work: with the database
    /// refusing writes (here its table renamed away; in production a full disk, a lost primary, a standby
    /// gone), `/readyz` answers 503 naming the storage failure while reads still answer.
    @Test(arguments: StorageBackend.all.map(\.name))
    func readinessFailsWhenWritesDoNot(backend: String) async throws {
        let postgres = backend == "postgres"
        let h = try await VaultServerHarness(database: postgres ? try PostgresCluster.shared.get().makeDatabase() : nil)
        let secret = try await h.vault.addClient(scopes: [.cardsRead])
        try await h.run { c in
            var ready = try await c.send(.get, "/readyz")
            for _ in 0..<20 where ready.status != 200 {  // a loaded test machine may need a second try
                try await Task.sleep(for: .milliseconds(250))
                ready = try await c.send(.get, "/readyz")
            }
            #expect(ready.status == 200)
            _ = try h.vault.tamper("ALTER TABLE vault_markers RENAME TO vault_markers_gone")

            try await Task.sleep(for: .milliseconds(1100))  // past the probe's one-second memory
            ready = try await c.send(.get, "/readyz")
            #expect(ready.status == 503)
            #expect((ready.json["error"] as? [String: Any])?["message"] as? String == "not ready: storage_unavailable", "\(ready.text)")
            #expect(try await c.send(.get, "/v1/cards/tok_BBBBBBBBBBBBBBBBBBBBBB", secret: secret).status == 404)
            #expect(try await c.send(.get, "/healthz").status == 200)
        }
    }
}

@Suite("Request parsing")
struct RequestParsingTests {
    @Test func bearerSchemeIsCaseInsensitiveAndStrict() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsRead])
        try await h.run { c in
            let token = "tok_AAAAAAAAAAAAAAAAAAAAAA"
            for header in ["Bearer \(secret)", "bearer \(secret)", "BEARER  \(secret)"] {
                let status = try await c.send(.get, "/v1/cards/\(token)", headers: ["Authorization": header]).status
                #expect(status == 404, "\(header.prefix(8))")
            }
            for header in ["Basic \(secret)", "Bearer", "Bearer\(secret)", secret] {
                let status = try await c.send(.get, "/v1/cards/\(token)", headers: ["Authorization": header]).status
                #expect(status == 401)
            }
        }
    }
}

@Suite("Audit failures fail the request")
struct AuditFailureTests {
    @Test func noAuditRowNoAnswer() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        try await h.run { c in
            let created = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015096"))
            let token = try #require(created.json["token"] as? String)
            // The audit log refuses every insert (as a full disk or a corrupted table would).
            try await h.runtime.database!.pool.write { db in
                try db.execute(sql: "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused'); END")
            }
            let read = try await c.send(.get, "/v1/cards/\(token)", secret: secret)
            #expect(read.status == 503)
            #expect(read.errorCode == "storage_unavailable")
            #expect(!read.text.contains("5096"))
            let write = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("5522042705066736"))
            #expect(write.status == 503)
            let delete = try await c.send(.delete, "/v1/cards/\(token)", secret: secret)
            #expect(delete.status == 503)
            try await h.runtime.database!.pool.write { db in try db.execute(sql: "DROP TRIGGER audit_refuses") }
            // Nothing happened while the audit log was down: one card, and it is still there.
            #expect(try await h.runtime.store.read { try $0.cardCount() } == 1)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: secret).status == 200)
        }
    }
}
