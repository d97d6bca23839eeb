import Foundation
import Testing
import VaultDomain
import VaultHTTPTestSupport
import VaultTestSupport

/// Vaults sentinel cards with security codes, drives every endpoint and admin operation, then
/// scans everything that leaves the process or reaches the disk for the sentinels.
@Suite("No card data leaks")
struct LeakTests {
    @Test func sentinelsAppearNowhere() async throws {
        let h = try await VaultServerHarness()
        let writer = try await h.vault.addClient("writer", scopes: [.cardsWrite, .cardsRead])
        let reader = try await h.vault.addClient("reader", scopes: [.cardsRead])
        let admin = h.runtime.keyAdmin
        let op = TemporaryVault.testOperator

        try await h.run { c in
            var tokens: [String] = []
            for (i, pan) in SentinelCards.pans.enumerated() {
                let code = SentinelCards.codes[i]
                let amexAware = pan.hasPrefix("37") ? code : String(code.prefix(3))
                let r = try await c.send(
                    .post, "/v1/cards", secret: writer,
                    json: VaultServerHarness.cardJSON(pan, code: amexAware), headers: ["Idempotency-Key": "k\(i)"])
                #expect(r.status == 201, "sentinel \(i) answered \(r.status): \(r.errorCode ?? "")")
                tokens.append(try #require(r.json["token"] as? String))
                // Retry (replay), and the same PAN in another format (dedup).
                _ = try await c.send(
                    .post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(pan, code: amexAware), headers: ["Idempotency-Key": "k\(i)"])
                let spaced = stride(from: 0, to: pan.count, by: 4).map { String(Array(pan)[$0..<min($0 + 4, pan.count)]) }.joined(separator: " ")
                _ = try await c.send(.post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(spaced))
            }
            // Errors that carry a sentinel in the request.
            let pan = SentinelCards.pans[0]
            _ = try await c.send(.post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(pan, code: "12345"))
            _ = try await c.send(.post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(pan, month: "\"99\""))
            _ = try await c.send(.post, "/v1/cards", secret: writer, json: "{\"number\":\(pan)}")
            _ = try await c.send(.post, "/v1/cards", secret: writer, json: "{\"\(pan)\":\"\(SentinelCards.codes[1])\"}")
            _ = try await c.send(.post, "/v1/cards", secret: reader, json: VaultServerHarness.cardJSON(pan))
            _ = try await c.send(.post, "/v1/cards", json: VaultServerHarness.cardJSON(pan))
            _ = try await c.send(.get, "/v1/cards/\(pan)", secret: reader)
            _ = try await c.send(
                .post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(pan), headers: ["Idempotency-Key": "k1", "X-Request-Id": pan])
            _ = try await c.send(.post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(pan + "0"))
            // A careless caller using a card number as its Idempotency-Key (stored, then replayed).
            _ = try await c.send(
                .post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(SentinelCards.pans[3]),
                headers: ["Idempotency-Key": SentinelCards.pans[4]])
            _ = try await c.send(
                .post, "/v1/cards", secret: writer, json: VaultServerHarness.cardJSON(SentinelCards.pans[3]),
                headers: ["Idempotency-Key": SentinelCards.pans[4]])

            for token in tokens {
                _ = try await c.send(.get, "/v1/cards/\(token)", secret: reader)
                _ = try await c.send(.patch, "/v1/cards/\(token)", secret: writer, json: #"{"exp_year":"2034","verification_value":"917"}"#)
            }
            // Every admin operation, while the server runs.
            _ = try await admin.rotate(actor: op)
            _ = try await admin.rewrap(actor: op, batchSize: 2)
            try await admin.retire(version: 1, actor: op)
            _ = try await admin.rotateMaster(actor: op)
            _ = try await admin.status()
            _ = try await h.runtime.clients.rotateSecret(name: "reader", actor: op)
            _ = try await h.runtime.clients.revoke(name: "reader", actor: op)
            _ = try await h.runtime.clients.list()
            _ = try await h.runtime.audit.verify(actor: op)
            _ = try await h.runtime.audit.tail(limit: 1000)
            _ = try await c.send(.delete, "/v1/cards/\(tokens[0])", secret: writer)
            _ = try await c.send(.get, "/metrics")
            _ = try await c.send(.get, "/readyz")
        }

        let scanner = LeakScanner(needles: SentinelCards.pans + SentinelCards.codes.filter { $0.count >= 4 })
        var found: [String] = []
        for (name, bytes) in h.vault.databaseFiles() { found += scanner.scan(bytes, place: name) }
        for (i, body) in h.responseBodies.enumerated() { found += scanner.scan(body, place: "response \(i)") }
        found += scanner.scan(h.logs.text, place: "logs")
        let audit = try await h.runtime.audit.tail(limit: 10_000)
        // Every audit field but the hash (random hex could contain a 4-digit code by chance).
        let auditText = audit.map {
            [String($0.seq), $0.at, $0.client ?? "", $0.action, $0.subject ?? "", $0.outcome, $0.requestID ?? "", $0.source ?? ""].joined(separator: "|")
        }
        found += scanner.scan(auditText.joined(separator: "\n"), place: "audit rows")
        #expect(found.isEmpty, "\(found)")

        // Three-digit codes are too short to scan raw bytes for; check the places they could
        // surface in text: answers, logs and audit rows, as quoted JSON values.
        let shortCodes = LeakScanner(needles: SentinelCards.codes.filter { $0.count == 3 }.map { "\"\($0)\"" })
        var codeHits: [String] = []
        for (i, body) in h.responseBodies.enumerated() { codeHits += shortCodes.scan(body, place: "response \(i)") }
        codeHits += shortCodes.scan(h.logs.text, place: "logs")
        #expect(codeHits.isEmpty, "\(codeHits)")

        // The scanner itself finds a planted sentinel (so this test can fail).
        #expect(!scanner.scan(Array("x\(SentinelCards.pans[2])y".utf8), place: "probe").isEmpty)
        #expect(h.responseBodies.count >= 35)
        #expect(!h.logs.text.isEmpty)
    }
}
