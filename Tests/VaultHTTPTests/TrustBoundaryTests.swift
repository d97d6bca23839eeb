import Foundation
import Hummingbird
import Logging
import Testing
import VaultDomain
import VaultHTTPTestSupport
import VaultTestSupport
@testable import VaultHTTP

/// The boundaries between callers: tenants, the tokenize limits, the bounded security-code store
/// and revocation on every route, all against the real server on 127.0.0.1.
@Suite("Trust boundaries", .serialized)
struct TrustBoundaryTests {
    static let all: [Scope] = [.cardsWrite, .cardsRead, .iokaWrite, .iokaForward, .horizonpayForward]

    @Test func tenantsNeitherSeeNorTouchEachOthersCards() async throws {
        let h = try await VaultServerHarness()
        let alpha = try await h.vault.addClient("alpha-svc", scopes: Self.all, tenant: "alpha")
        let beta = try await h.vault.addClient("beta-svc", scopes: Self.all, tenant: "beta")
        try await h.run { c in
            let pan = "4405639704015096"
            let a = try await c.send(.post, "/v1/cards", secret: alpha, json: VaultServerHarness.cardJSON(pan, holder: "ALPHA HOLDER", code: "123"))
            let b = try await c.send(.post, "/v1/cards", secret: beta, json: VaultServerHarness.cardJSON(pan, year: "\"2033\"", holder: "BETA HOLDER"))
            // Both are new cards: nothing tells beta that alpha holds the same PAN.
            #expect(a.status == 201 && b.status == 201)
            let (ta, tb) = (try #require(a.json["token"] as? String), try #require(b.json["token"] as? String))
            #expect(ta != tb)
            #expect(a.json["fingerprint"] as? String != b.json["fingerprint"] as? String)

            // Another tenant's token is unknown on every card route.
            for (method, uri, json) in [
                (HTTPRequest.Method.get, "/v1/cards/\(ta)", nil as String?),
                (.patch, "/v1/cards/\(ta)", #"{"holder":"MALLORY","verification_value":"999"}"#),
                (.patch, "/v1/cards/\(ta)", #"{"retain_until":"2030-01-01"}"#),
                (.put, "/v1/cards/\(ta)/ioka-card", #"{"card_id":"crd_beta_1"}"#),
                (.delete, "/v1/cards/\(ta)", nil),
            ] {
                let r = try await c.send(method, uri, secret: beta, json: json)
                #expect(r.status == 404 && r.errorCode == "card_not_found", "\(method) \(uri): \(r.status) \(r.text)")
            }
            // Dedup and updates stay inside the tenant: alpha's card is as alpha left it.
            let again = try await c.send(.post, "/v1/cards", secret: beta, json: VaultServerHarness.cardJSON(pan, holder: "BETA AGAIN"))
            #expect(again.status == 200 && again.json["token"] as? String == tb)
            let read = try await c.send(.get, "/v1/cards/\(ta)", secret: alpha)
            #expect(read.status == 200 && read.json["holder"] as? String == "ALPHA HOLDER" && read.json["exp_year"] as? String == "2031")
            #expect(read.json["has_verification_value"] as? Bool == true)  // beta's PATCH did not replace the code
            #expect(try await c.send(.get, "/v1/cards/\(tb)", secret: alpha).status == 404)

            // ioka references are per tenant too: the same card_id registered by both gets two tokens.
            let ra = try await c.send(.post, "/v1/ioka/cards", secret: alpha, json: #"{"card_id":"crd_shared_1"}"#)
            let rb = try await c.send(.post, "/v1/ioka/cards", secret: beta, json: #"{"card_id":"crd_shared_1"}"#)
            #expect(ra.status == 201 && rb.status == 201)
            #expect(ra.json["token"] as? String != rb.json["token"] as? String)

            // The audit rows name each caller's tenant.
            let rows = try await h.runtime.audit.tail(limit: 50)
            #expect(rows.contains { $0.client == "alpha-svc" && $0.tenant == "alpha" && $0.action == "card.create" })
            #expect(rows.contains { $0.client == "beta-svc" && $0.tenant == "beta" && $0.action == "card.read" && $0.outcome == "failure" })
            #expect(try await h.runtime.audit.verify(actor: TemporaryVault.testOperator) == .intact(rows: rows.count))
        }
        let listed = try await h.runtime.clients.list()
        #expect(Set(listed.map(\.tenant.rawValue)) == ["alpha", "beta"])
        await #expect(throws: VaultError.self) {
            try await h.runtime.clients.add(name: "bad-tenant", scopes: ["cards:read"], tenant: "Not A Tenant", actor: TemporaryVault.testOperator)
        }
    }

    /// Luhn-valid 16-digit numbers that all share the first six and last four digits.
    static func sameBucket(_ count: Int, bin: String = "440563", last4: String = "5096") -> [String] {
        var found: [String] = []
        var middle = 0
        while found.count < count {
            let candidate = bin + String(format: "%06d", middle) + last4
            if SentinelCards.luhnComplete(String(candidate.dropLast())) == candidate { found.append(candidate) }
            middle += 1
        }
        return found
    }

    @Test func enumerationOfACardsMiddleDigitsIsStopped() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        let other = try await h.vault.addClient(scopes: [.cardsWrite])
        let guesses = Self.sameBucket(12)
        try await h.run { c in
            for pan in guesses.prefix(10) {
                #expect(try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(pan)).status == 201)
            }
            let cards = try await h.runtime.store.read { try $0.cardCount() }
            let refused = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(guesses[10]))
            #expect(refused.status == 429 && refused.errorCode == "enumeration_suspected", "\(refused.text)")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(try await h.runtime.store.read { try $0.cardCount() } == cards)  // nothing stored
            // A card already seen still works; another client has its own count.
            #expect(try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(guesses[3])).status == 200)
            #expect(try await c.send(.post, "/v1/cards", secret: other, json: VaultServerHarness.cardJSON(guesses[11])).status == 201)
            let audit = try await h.runtime.audit.tail(limit: 20)
            #expect(audit.contains { $0.action == "card.enumeration_suspected" && $0.outcome == "denied" })
            let metrics = try await c.send(.get, "/metrics")
            #expect(metrics.text.contains(#"cardvault_refusals_total{code="enumeration_suspected"} 1"#))
        }
        // The guard lives in the database: a restarted server still refuses the eleventh card.
        try await h.run { c in
            let refused = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(guesses[11]))
            #expect(refused.status == 429 && refused.errorCode == "enumeration_suspected")
        }
        // No PAN and no plain hash of one in the guard's table.
        #expect(h.leaks(of: guesses + guesses.map { String($0.prefix(6) + $0.suffix(4)) }).isEmpty)
    }

    /// Many clients of one tenant do not multiply the allowance: the tenant's clients together
    /// stop at `CARDVAULT_ENUMERATION_TENANT_LIMIT`; another tenant's count is its own.
    @Test func aTenantsClientsTogetherAreStoppedToo() async throws {
        let h = try await VaultServerHarness()
        var added: [String] = []
        for _ in 0..<4 { added.append(try await h.vault.addClient(scopes: [.cardsWrite])) }
        let clients = added
        let outsider = try await h.vault.addClient(scopes: [.cardsWrite], tenant: "other-tenant")
        let guesses = Self.sameBucket(9)
        try await h.run(configure: {
            $0.enumerationLimit = 3; $0.enumerationTenantLimit = 7
        }) { c in
            // 4 clients x 2 cards: each is under its own limit of 3, the tenant reaches 7 at the 7th.
            var statuses: [Int] = []
            for (i, pan) in guesses.prefix(8).enumerated() {
                statuses.append(Int(try await c.send(.post, "/v1/cards", secret: clients[i % 4], json: VaultServerHarness.cardJSON(pan)).status))
            }
            #expect(statuses == [201, 201, 201, 201, 201, 201, 201, 429], "\(statuses)")
            #expect(try await c.send(.post, "/v1/cards", secret: outsider, json: VaultServerHarness.cardJSON(guesses[8])).status == 201)
            let audit = try await h.runtime.audit.tail(limit: 30)
            #expect(audit.contains { $0.action == "card.enumeration_suspected" && $0.subject == "tenant_distinct=7" })
        }
    }

    @Test func tokenizeIsRateLimitedPerClient() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite])
        let other = try await h.vault.addClient(scopes: [.cardsWrite])
        try await h.run(configure: {
            $0.tokenizeRate = 0.5; $0.tokenizeBurst = 3
        }) { c in
            for i in 0..<3 {
                #expect(
                    try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(SentinelCards.visa(700_000 + i * 7))).status == 201)
            }
            let limited = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(SentinelCards.visa(700_100)))
            #expect(limited.status == 429 && limited.errorCode == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try await c.send(.post, "/v1/cards", secret: other, json: VaultServerHarness.cardJSON(SentinelCards.visa(700_200))).status == 201)
        }
    }

    /// Twice as many cards with security codes as the store holds, from 16 connections: the
    /// server stays up, every answer is 201 or a clean 503, and every acknowledged token reads
    /// back; cards without a code are still taken while the store is full.
    @Test func aFloodOfSecurityCodesIsRefusedCleanly() async throws {
        let capacity = 300
        let h = try await VaultServerHarness(maxPendingCodes: capacity)
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        try await h.run { c in
            let replies = try await withThrowingTaskGroup(of: [VaultServerHarness.Reply].self) { group in
                for connection in 0..<16 {
                    group.addTask {
                        var replies: [VaultServerHarness.Reply] = []
                        for i in stride(from: connection, to: 2 * capacity, by: 16) {
                            replies.append(
                                try await c.send(
                                    .post, "/v1/cards", secret: secret,
                                    json: VaultServerHarness.cardJSON(SentinelCards.visa(800_000 + i * 13), code: "123")))
                        }
                        return replies
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(replies.count == 2 * capacity)
            let created = replies.filter { $0.status == 201 }
            let refused = replies.filter { $0.status == 503 }
            #expect(created.count == capacity)
            #expect(created.count + refused.count == replies.count, "\(Set(replies.map(\.status)))")
            #expect(refused.allSatisfy { $0.errorCode == "verification_value_capacity" })
            #expect(h.runtime.codes.count == capacity)
            for reply in created {
                let token = try #require(reply.json["token"] as? String)
                #expect(try await c.send(.get, "/v1/cards/\(token)", secret: secret).status == 200)
            }
            // Refused whole: no card row for a refused request.
            #expect(try await h.runtime.store.read { try $0.cardCount() } == capacity)
            // Everything else keeps working.
            #expect(try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(SentinelCards.visa(900_001))).status == 201)
            #expect(try await c.send(.get, "/healthz").status == 200)
            let metrics = try await c.send(.get, "/metrics").text
            #expect(metrics.contains("cardvault_pending_security_codes \(capacity)"))
        }
    }

    /// After `clients revoke` and `clients rotate-secret` (run by another process, as the CLI
    /// does), the old secret gets 401 on every authenticated route the router has, whatever the
    /// body, and whether or not the provider is configured.
    @Test func revocationReachesEveryRoute() async throws {
        let h = try await VaultServerHarness()
        let revoked = try await h.vault.addClient("to-revoke", scopes: Self.all)
        let rotated = try await h.vault.addClient("to-rotate", scopes: Self.all)
        let (router, _) = buildRouter(VaultServerConfiguration(), runtime: h.runtime, logger: Logger(label: "test"))
        let routes = router.routes.filter { $0.path.description.hasPrefix("/v1") }.map { ($0.method, $0.path.description) }
        #expect(routes.count >= 17)
        try await h.run { c in
            let card = try await c.send(.post, "/v1/cards", secret: revoked, json: VaultServerHarness.cardJSON("4405639704015096"))
            let token = try #require(card.json["token"] as? String)
            // Both secrets are now in the server's cache of known-good secrets.
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: rotated).status == 200)
            let admin = try h.secondProcess()
            try await admin.keyAdmin.load()
            _ = try await admin.clients.revoke(name: "to-revoke", actor: TemporaryVault.testOperator)
            _ = try await admin.clients.rotateSecret(name: "to-rotate", actor: TemporaryVault.testOperator)
            for (method, path) in routes {
                let uri = path.replacingOccurrences(of: "{token}", with: token)
                    .replacingOccurrences(of: "{job_id}", with: "job1").replacingOccurrences(of: "{order_id}", with: "tro_1")
                for secret in [revoked, rotated] {
                    for body in [nil, "{}", "not json"] {
                        let r = try await c.send(
                            method, uri, secret: secret, json: method == .get ? nil : body,
                            headers: ["Idempotency-Key": UUID().uuidString])
                        #expect(r.status == 401 && r.errorCode == "unauthenticated", "\(method) \(uri) body \(body ?? "none"): \(r.status) \(r.text)")
                    }
                }
            }
        }
    }
}
