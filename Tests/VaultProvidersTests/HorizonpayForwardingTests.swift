import CryptoExtras
import Foundation
import Hummingbird
import HummingbirdTesting
import ProviderSimulators
import Testing
import VaultDomain
import VaultHTTP
import VaultProviders
import VaultHTTPTestSupport
import VaultTestSupport

/// The vault in front of the Horizonpay simulator, both live on 127.0.0.1.
struct HorizonpayRig {
    let simulator = HorizonpaySimulator()

    func run(
        timeout: Duration = .seconds(30), unreachable: Bool = false, webhookKey: NotificationVerifier? = nil, database: String? = nil,
        _ test: @Sendable @escaping (VaultServerHarness, VaultServerHarness.Client, String, HorizonpaySimulator) async throws -> Void
    ) async throws {
        let harness = try await VaultServerHarness(database: database)
        let secret = try await harness.vault.addClient(scopes: [.cardsWrite, .cardsRead, .horizonpayForward, .horizonpayNotify])
        let simulator = self.simulator
        let app = Application(router: simulator.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { sim in
            let port = unreachable ? 1 : (sim.port ?? 0)
            let base = try ProviderURL(validating: "http://127.0.0.1:\(port)", setting: "test")
            try await harness.run(configure: {
                $0.horizonpay = HorizonpayConfiguration(
                    gatewayURL: base, checkoutURL: base, shopID: simulator.shopID,
                    secretKey: ProviderSecret(simulator.secretKey), publicKey: ProviderSecret(simulator.publicKey),
                    timeout: timeout, webhookKey: webhookKey, allowUnsignedNotifications: webhookKey == nil)
            }) { c in try await test(harness, c, secret, simulator) }
        }
    }

    /// Vaults the seed's source and recipient test cards; the source with a security code.
    static func cards(_ c: VaultServerHarness.Client, _ secret: String, code: String? = "123") async throws -> (String, String) {
        let source = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4012001037141112", code: code))
        let recipient = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4200000000000000", holder: "MARY DOE"))
        return (source.json["token"] as! String, recipient.json["token"] as! String)
    }

    static func transfer(_ from: String, _ to: String, amount: Int = 100, extra: String = "") -> String {
        """
        {"request":{"amount":\(amount),"currency":"KZT","description":"P2P ütf","tracking_id":"trk-1","test":true,\(extra)
        "credit_card":{"token":"\(from)"},"recipient_card":{"token":"\(to)"},
        "customer":{"ip":"127.0.0.1","device_id":"dev-1"},"sender_billing_address":{"first_name":"John","country":"KZ"}}}
        """
    }
}

@Suite("Horizonpay forwarding", .serialized)
struct HorizonpayForwardingTests {
    @Test func restrictionCheckBuildsCardsAndRedacts() async throws {
        try await HorizonpayRig().run { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let r = try await c.send(
                .post, "/v1/horizonpay/p2p-restrictions", secret: secret,
                json: #"{"request":{"amount":100,"currency":"USD","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"},"test":true}}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["status"] as? String == "successful")
            #expect((r.json["commission"] as? [String: Any])?["bank_fee"] as? Double == 7.35)
            #expect(sim.calls("/p2p-restrictions") == 1)
            // The restriction check never consumes the security code.
            #expect(h.runtime.codes.count == 1)

            let checkout = try await c.send(
                .post, "/v1/horizonpay/checkout/verify-p2p", secret: secret,
                json: #"{"request":{"amount":7700,"currency":"USD","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}}}"#)
            #expect(checkout.status == 200)
            #expect(checkout.json["status"] as? String == "failed")
            #expect(sim.calls("/ctp/api/verify-p2p") == 1)
        }
    }

    @Test func transferConsumesTheCodeAndRedactsTheAnswer() async throws {
        try await HorizonpayRig().run { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let r = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret,
                json: HorizonpayRig.transfer(from, to, extra: #""additional_data":{"contract":["oneclick"]},"#), headers: freshKey())
            #expect(r.status == 200, "\(r.text)")
            let tx = try #require(r.json["transaction"] as? [String: Any])
            #expect(tx["status"] as? String == "successful")
            #expect(tx["tracking_id"] as? String == "trk-1")
            #expect(tx["description"] as? String == "P2P ütf")
            let source = try #require(tx["credit_card"] as? [String: Any])
            #expect(source["token"] as? String == from)
            #expect(source["fingerprint"] is String)
            #expect(source["stamp"] == nil && source["number"] == nil && source["verification_value"] == nil)
            #expect(source["last_4"] as? String == "1112")
            #expect(source["holder"] as? String == "IVAN PETROV")
            #expect(source["exp_month"] as? String == "12")
            let recipient = try #require(tx["recipient_card"] as? [String: Any])
            #expect(recipient["token"] as? String == to)
            #expect(recipient["holder"] as? String == "MARY DOE")
            #expect(!r.text.contains("hp_tok_"))
            #expect(!r.text.contains("4012001037141112") && !r.text.contains("4200000000000000"))
            #expect(sim.calls("/transactions/p2ps") == 1)

            // The code was used once: a second transfer without a fresh code is refused locally.
            #expect(h.runtime.codes.count == 0)
            let again = try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to), headers: freshKey())
            #expect(again.status == 422)
            #expect(again.errorCode == "verification_value_required")
            #expect(sim.calls("/transactions/p2ps") == 1)

            let audit = try await h.runtime.audit.tail(limit: 20)
            let forward = try #require(audit.last { $0.action == "horizonpay.p2ps" && $0.outcome == "success" })
            #expect(forward.subject?.contains("status=200") == true && forward.subject?.contains("uid=") == true)
            // The refusal for want of a code is on record too, in the commit that freed its key.
            #expect(audit.last?.action == "horizonpay.p2ps" && audit.last?.subject?.hasSuffix("|status=none|no_code") == true)
            #expect(forward.subject?.contains(from) == true)

            // Neither number nor code reached an answer, a log line, the database or its WAL.
            let found = h.leaks(of: ["4012001037141112", "4200000000000000", "hp_tok_"])
            #expect(found.isEmpty, "\(found)")
        }
    }

    @Test func cardDataFromTheCallerIsRefused() async throws {
        try await HorizonpayRig().run { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            for field in ["number", "verification_value", "exp_month", "exp_year"] {
                let r = try await c.send(
                    .post, "/v1/horizonpay/p2ps", secret: secret,
                    json:
                        #"{"request":{"amount":1,"currency":"KZT","description":"x","credit_card":{"token":"\#(from)","\#(field)":"12"},"recipient_card":{"token":"\#(to)"}}}"#,
                    headers: freshKey())
                #expect(r.status == 422)
                #expect(r.errorFields == ["request.credit_card.\(field)"])
                #expect(r.errorCode == "card_data_not_allowed")
            }
            let unknown = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, "tok_AAAAAAAAAAAAAAAAAAAAAA"), headers: freshKey())
            #expect(unknown.status == 404)
            let notJSON = try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: "nope", headers: freshKey())
            #expect(notJSON.status == 400)
            let readOnly = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: try await h.vault.addClient(scopes: [.cardsRead]), json: HorizonpayRig.transfer(from, to),
                headers: freshKey())
            #expect(readOnly.status == 403)
            #expect(sim.calls("/transactions/p2ps") == 0)
        }
    }

    /// Another tenant's tokens are unknown inside a forward: 404 before any provider call, and
    /// the owner's security code stays pending. Transfers without an Idempotency-Key are refused.
    @Test func tenantsAndKeysAreCheckedBeforeAnyProviderCall() async throws {
        try await HorizonpayRig().run { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let other = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead, .horizonpayForward], tenant: "other")
            let (ownFrom, _) = try await HorizonpayRig.cards(c, other)
            for route in ["p2ps", "checkout/p2p", "checkout/async/p2p"] {
                let stolen = try await c.send(.post, "/v1/horizonpay/\(route)", secret: other, json: HorizonpayRig.transfer(from, to), headers: freshKey())
                #expect(stolen.status == 404 && stolen.errorCode == "card_not_found", "\(route): \(stolen.text)")
                let mixed = try await c.send(.post, "/v1/horizonpay/\(route)", secret: other, json: HorizonpayRig.transfer(ownFrom, to), headers: freshKey())
                #expect(mixed.status == 404, "\(route): \(mixed.text)")
                let noKey = try await c.send(.post, "/v1/horizonpay/\(route)", secret: secret, json: HorizonpayRig.transfer(from, to))
                #expect(noKey.status == 400 && noKey.errorCode == "idempotency_key_required" && noKey.errorFields == ["Idempotency-Key"])
            }
            let check = try await c.send(
                .post, "/v1/horizonpay/p2p-restrictions", secret: other,
                json: #"{"request":{"amount":100,"currency":"USD","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}}}"#)
            #expect(check.status == 404)
            #expect(sim.calls("/transactions/p2ps") + sim.calls("/ctp/api/p2p") + sim.calls("/ctp/api/async/p2p") + sim.calls("/p2p-restrictions") == 0)
            #expect(h.runtime.codes.expiry(for: CardToken(from)!, now: Date()) != nil)  // nobody spent the owner's code
            // Restriction checks move no money: no key needed.
            let own = try await c.send(
                .post, "/v1/horizonpay/p2p-restrictions", secret: secret,
                json: #"{"request":{"amount":100,"currency":"USD","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}}}"#)
            #expect(own.status == 200)
        }
    }

    @Test func retriedTransferReachesHorizonpayOnce() async throws {
        try await HorizonpayRig().run { _, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let body = HorizonpayRig.transfer(from, to)
            let replies = try await withThrowingTaskGroup(of: VaultServerHarness.Reply.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: body, headers: ["Idempotency-Key": "transfer-77"]) }
                }
                var all: [VaultServerHarness.Reply] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(sim.calls("/transactions/p2ps") == 1)
            let ok = replies.filter { $0.status == 200 }
            #expect(!ok.isEmpty)
            #expect(replies.allSatisfy { $0.status == 200 || $0.errorCode == "request_in_flight" })
            let retry = try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: body, headers: ["Idempotency-Key": "transfer-77"])
            #expect(retry.status == 200)
            #expect(retry.body == ok[0].body)
            #expect(sim.calls("/transactions/p2ps") == 1)
        }
    }

    @Test func faultsAreMappedAndNeverRetried() async throws {
        try await HorizonpayRig().run(timeout: .seconds(1)) { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let slow = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to, amount: 5040), headers: ["Idempotency-Key": "slow"])
            #expect(slow.status == 504)
            #expect(slow.errorCode == "upstream_timeout")
            #expect(h.runtime.codes.count == 0)  // it may have been used: wiped
            // A retry of a transfer that may have happened is never re-sent: the outcome is
            // unknown, and the answer names the tracking_id to ask Horizonpay about.
            _ = try await c.send(.patch, "/v1/cards/\(from)", secret: secret, json: #"{"verification_value":"123"}"#)
            let retry = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to, amount: 5040), headers: ["Idempotency-Key": "slow"])
            #expect(retry.status == 409 && retry.errorCode == "outcome_unknown", "\(retry.text)")
            #expect(((retry.json["error"] as? [String: Any])?["reference"] as? [String: String])?["tracking_id"] == "trk-1")
            #expect(h.runtime.codes.count == 1)  // the refused retry did not spend the new code
            #expect(sim.calls("/transactions/p2ps") == 1)

            let garbage = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to, amount: 5000), headers: freshKey())
            #expect(garbage.status == 502)
            #expect(garbage.errorCode == "upstream_invalid_response")

            _ = try await c.send(.patch, "/v1/cards/\(from)", secret: secret, json: #"{"verification_value":"123"}"#)
            let echoed = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to, amount: 6060), headers: freshKey())
            #expect(echoed.status == 200)
            #expect(!echoed.text.contains("4012001037141112"))
            #expect(echoed.text.contains("401200******1112"))

            // A provider 5xx and a connection reset mid-answer: 502, the code wiped, the
            // transfer recorded and never re-sent; no card data in the answer or the logs.
            for (amount, code) in [(5030, "upstream_error"), (5055, "upstream_unavailable")] {
                _ = try await c.send(.patch, "/v1/cards/\(from)", secret: secret, json: #"{"verification_value":"123"}"#)
                let before = sim.calls("/transactions/p2ps")
                let key = ["Idempotency-Key": "fault-\(amount)"]
                let failed = try await c.send(
                    .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to, amount: amount), headers: key)
                #expect(failed.status == 502 && failed.errorCode == code, "\(amount): \(failed.text)")
                #expect(h.runtime.codes.count == 0)
                _ = try await c.send(.patch, "/v1/cards/\(from)", secret: secret, json: #"{"verification_value":"123"}"#)
                let retried = try await c.send(
                    .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to, amount: amount), headers: key)
                if code == "upstream_unavailable" {
                    // The connection dropped after sending: the outcome is unknown.
                    #expect(retried.status == 409 && retried.errorCode == "outcome_unknown")
                } else {
                    #expect(retried.status == 502 && retried.body == failed.body)
                }
                #expect(sim.calls("/transactions/p2ps") == before + 1)
            }
            #expect(h.leaks(of: ["4012001037141112", "4200000000000000"]).isEmpty)
        }
        try await HorizonpayRig().run(unreachable: true) { h, c, secret, _ in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let down = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to), headers: ["Idempotency-Key": "down"])
            #expect(down.status == 502)
            #expect(down.errorCode == "upstream_unavailable")
            // Nothing was sent: the code is still pending and the key is free for a retry.
            #expect(h.runtime.codes.count == 1)
            let again = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to), headers: ["Idempotency-Key": "down"])
            #expect(again.status == 502)
        }
    }

    @Test func asyncJobsAreRedactedToo() async throws {
        try await HorizonpayRig().run { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let started = try await c.send(
                .post, "/v1/horizonpay/checkout/async/p2p", secret: secret,
                json: HorizonpayRig.transfer(from, to, extra: #""additional_data":{"contract":["oneclick"]},"#), headers: freshKey())
            #expect(started.status == 200)
            #expect(started.json["status"] as? String == "new")
            let job = try #require(started.json["job_id"] as? String)
            let first = try await c.send(.get, "/v1/horizonpay/checkout/async/jobs/\(job)", secret: secret)
            #expect(first.json["status"] as? String == "new")
            let done = try await c.send(.get, "/v1/horizonpay/checkout/async/jobs/\(job)", secret: secret)
            #expect(done.json["status"] as? String == "done")
            let card = ((done.json["response"] as? [String: Any])?["transaction"] as? [String: Any])?["credit_card"] as? [String: Any]
            #expect(card?["token"] as? String == from)
            #expect(card?["stamp"] == nil)
            #expect(!done.text.contains("hp_tok_"))
            #expect(sim.calls("/ctp/api/async/p2p") == 1)
            _ = h
        }
    }

    @Test func notConfiguredAnswers503() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.horizonpayForward])
        try await h.run { c in
            let r = try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: "{}", headers: freshKey())
            #expect(r.status == 503)
            #expect(r.errorCode == "provider_not_configured")
        }
    }

    @Test func providerURLsMustBeSafe() throws {
        #expect(throws: VaultError.self) { try ProviderURL(validating: "http://gw.horizonpay.kz", setting: "X") }
        #expect(throws: VaultError.self) { try ProviderURL(validating: "gw.horizonpay.kz", setting: "X") }
        #expect(try ProviderURL(validating: "https://gw.horizonpay.kz/", setting: "X").base == "https://gw.horizonpay.kz")
        #expect(try ProviderURL(validating: "http://127.0.0.1:9", setting: "X").base == "http://127.0.0.1:9")
        #expect("\(ProviderSecret("s3cr3t"))" == "<redacted>")
    }
}

@Suite("Horizonpay payloads and saved tokens", .serialized)
struct HorizonpayPayloadTests {
    @Test func payloadConformsToTheSeed() async throws {
        try await HorizonpayRig().run { _, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret, code: "321")
            let r = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret,
                json: HorizonpayRig.transfer(from, to).replacingOccurrences(
                    of: #""recipient_card":{"token":"\#(to)"}"#, with: #""recipient_card":{"token":"\#(to)","holder":"M DOE"}"#), headers: freshKey())
            #expect(r.status == 200, "\(r.text)")
            let sent = try #require(sim.lastCards("/transactions/p2ps"))
            #expect(sent["credit_card"]?["number"]?.stringValue == "4012001037141112")
            #expect(sent["credit_card"]?["exp_month"]?.stringValue == "12")
            #expect(sent["credit_card"]?["exp_year"]?.stringValue == "2031")
            #expect(sent["credit_card"]?["holder"]?.stringValue == "IVAN PETROV")
            #expect(sent["credit_card"]?["verification_value"]?.stringValue == "321")
            #expect(sent["recipient_card"]?["verification_value"] == nil)
            #expect(sent["recipient_card"]?["holder"]?.stringValue == "M DOE")
            // Everything else passes through untouched.
            #expect(sent["description"]?.stringValue == "P2P ütf")
            #expect(sent["customer"]?["device_id"]?.stringValue == "dev-1")
            #expect(sent["sender_billing_address"]?["country"]?.stringValue == "KZ")
            #expect(sent["test"] == .bool(true))

            _ = try await c.send(
                .post, "/v1/horizonpay/p2p-restrictions", secret: secret,
                json: #"{"request":{"amount":1,"currency":"KZT","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}}}"#)
            #expect(sim.lastCards("/p2p-restrictions")?["credit_card"]?["verification_value"] == nil)
        }
    }

    @Test func capturedTokenIsEncryptedRewrappedAndReusable() async throws {
        try await HorizonpayRig().run { h, c, secret, sim in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let first = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret,
                json: HorizonpayRig.transfer(from, to, extra: #""additional_data":{"contract":["oneclick"]},"#), headers: freshKey())
            #expect(first.status == 200)
            #expect(!first.text.contains("hp_tok_"))
            var status = try await h.runtime.keyAdmin.status()
            #expect(status.versions.map(\.providerTokens) == [2])

            // Rotation moves provider tokens too, so the old version can be retired.
            _ = try await h.runtime.keyAdmin.rotate(actor: TemporaryVault.testOperator)
            let rewrap = try await h.runtime.keyAdmin.rewrap(actor: TemporaryVault.testOperator, batchSize: 1)
            #expect(rewrap.remaining == 0)
            try await h.runtime.keyAdmin.retire(version: 1, actor: TemporaryVault.testOperator)
            status = try await h.runtime.keyAdmin.status()
            #expect(status.versions.map(\.providerTokens) == [0, 2])

            // A later transfer sends the saved Horizonpay tokens instead of the card data.
            _ = try await c.send(.patch, "/v1/cards/\(from)", secret: secret, json: #"{"verification_value":"555"}"#)
            let body = HorizonpayRig.transfer(from, to)
                .replacingOccurrences(of: #""credit_card":{"token":"\#(from)"}"#, with: #""credit_card":{"token":"\#(from)","use_saved_token":true}"#)
                .replacingOccurrences(of: #""recipient_card":{"token":"\#(to)"}"#, with: #""recipient_card":{"token":"\#(to)","use_saved_token":true}"#)
            let second = try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: body, headers: freshKey())
            #expect(second.status == 200, "\(second.text)")
            let sent = try #require(sim.lastCards("/transactions/p2ps"))
            #expect(sent["credit_card"]?["token"]?.stringValue?.hasPrefix("hp_tok_") == true)
            #expect(sent["credit_card"]?["number"] == nil)
            #expect(sent["credit_card"]?["verification_value"]?.stringValue == "555")
            #expect(sent["recipient_card"]?["token"]?.stringValue?.hasPrefix("hp_tok_") == true)
            #expect(!second.text.contains("hp_tok_"))

            // A card without a saved token is refused before anything is sent.
            let fresh = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON(SentinelCards.visa(42), code: "999"))
            let freshToken = try #require(fresh.json["token"] as? String)
            let calls = sim.calls("/transactions/p2ps")
            let refused = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret,
                json: body.replacingOccurrences(of: from, with: freshToken), headers: freshKey())
            #expect(refused.status == 422)
            #expect(refused.errorCode == "no_saved_token")
            #expect(sim.calls("/transactions/p2ps") == calls)
            #expect(h.runtime.codes.expiry(for: CardToken(freshToken)!, now: Date()) != nil)  // the code stays pending
            for (name, bytes) in h.vault.databaseFiles() {
                #expect(LeakScanner(needles: ["hp_tok_"]).scan(bytes, place: name).isEmpty)
            }
        }
    }
}

@Suite("Horizonpay notifications", .serialized)
struct HorizonpayNotificationTests {
    @Test func signedNotificationsAreVerifiedCapturedAndRedacted() async throws {
        let signer = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let verifier = try NotificationVerifier(pem: signer.publicKey.pemRepresentation)
        let rig = HorizonpayRig()
        try await rig.run(webhookKey: verifier) { h, c, secret, _ in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let transfer = try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to), headers: freshKey())
            let uid = try #require((transfer.json["transaction"] as? [String: Any])?["uid"] as? String)
            // What Horizonpay would post: the transaction, with card data, stamp and a token.
            let body = Array(
                """
                {"transaction":{"uid":"\(uid)","status":"successful","amount":100,"message":"ok for 4012001037141112",
                "credit_card":{"number":"4012001037141112","stamp":"abc","token":"hp_tok_notified","last_4":"1112"},
                "recipient_card":{"stamp":"def","last_4":"0000"}}}
                """.utf8)
            let signature = try signer.signature(for: body, padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()

            let good = try await c.send(.post, "/v1/horizonpay/notifications", secret: secret, rawBody: body, headers: ["Content-Signature": signature])
            #expect(good.status == 200, "\(good.text)")
            let card = (good.json["transaction"] as? [String: Any])?["credit_card"] as? [String: Any]
            #expect(card?["token"] as? String == from)
            #expect(card?["stamp"] == nil && card?["number"] == nil)
            #expect(!good.text.contains("hp_tok_notified") && !good.text.contains("4012001037141112"))
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerTokens) == [1])

            var tampered = body
            tampered[tampered.count - 3] = UInt8(ascii: "1")
            let bad = try await c.send(.post, "/v1/horizonpay/notifications", secret: secret, rawBody: tampered, headers: ["Content-Signature": signature])
            #expect(bad.status == 400)
            #expect(bad.errorCode == "signature_invalid")
            let missing = try await c.send(.post, "/v1/horizonpay/notifications", secret: secret, rawBody: body)
            #expect(missing.status == 400)
            #expect(missing.errorCode == "signature_missing")

            // A replay of the same notification gets the same answer, stores nothing, and is
            // audited as a replay.
            let tokensBefore = try await h.runtime.keyAdmin.status().versions.map(\.providerTokens)
            let replay = try await c.send(.post, "/v1/horizonpay/notifications", secret: secret, rawBody: body, headers: ["Content-Signature": signature])
            #expect(replay.status == 200 && replay.body == good.body)
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerTokens) == tokensBefore)
            #expect(try await h.runtime.audit.tail(limit: 5).contains { $0.action == "horizonpay.notification" && $0.subject?.hasPrefix("replay|") == true })
            // A replayed notification carrying another token for the same transaction and
            // status (signed, as an attacker holding an old one cannot do) changes nothing either.
            let swapped = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "hp_tok_notified", with: "hp_tok_attacker").utf8)
            let swappedSignature = try signer.signature(for: swapped, padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
            let again = try await c.send(
                .post, "/v1/horizonpay/notifications", secret: secret, rawBody: swapped, headers: ["Content-Signature": swappedSignature])
            #expect(again.status == 200 && again.body == good.body)
            // The forwarding scope alone does not take notifications.
            let forwarder = try await h.vault.addClient(scopes: [.horizonpayForward])
            let refused = try await c.send(.post, "/v1/horizonpay/notifications", secret: forwarder, rawBody: body, headers: ["Content-Signature": signature])
            #expect(refused.status == 403 && refused.errorCode == "missing_scope")

            // After transfer, notification and failures: no card number or Horizonpay token in
            // any answer, log line, the database or its WAL.
            let found = h.leaks(of: ["4012001037141112", "4200000000000000", "hp_tok_notified"])
            #expect(found.isEmpty, "\(found)")
        }
    }
}

extension HorizonpayNotificationTests {
    /// Without a webhook key, notifications are refused unless unsigned ones are allowed on purpose.
    @Test func unsignedNotificationsNeedAnExplicitSetting() async throws {
        let harness = try await VaultServerHarness()
        let secret = try await harness.vault.addClient(scopes: [.horizonpayNotify])
        let base = try ProviderURL(validating: "http://127.0.0.1:1", setting: "test")
        try await harness.run(configure: {
            $0.horizonpay = HorizonpayConfiguration(
                gatewayURL: base, checkoutURL: base, shopID: "29", secretKey: ProviderSecret("x"), publicKey: ProviderSecret("y"))
        }) { c in
            let r = try await c.send(
                .post, "/v1/horizonpay/notifications", secret: secret, json: #"{"transaction":{"uid":"u1","credit_card":{"token":"hp_tok_x"}}}"#)
            #expect(r.status == 503 && r.errorCode == "notifications_not_configured", "\(r.text)")
        }
        var env = [
            "HORIZONPAY_GATEWAY_URL": "http://127.0.0.1:1", "HORIZONPAY_CHECKOUT_URL": "http://127.0.0.1:1", "HORIZONPAY_SHOP_ID": "29",
            "HORIZONPAY_SECRET_KEY": "x", "HORIZONPAY_PUBLIC_KEY": "y",
        ]
        #expect(try HorizonpayConfiguration(environment: env)?.allowUnsignedNotifications == false)
        env["HORIZONPAY_ALLOW_UNSIGNED_NOTIFICATIONS"] = "1"
        #expect(try HorizonpayConfiguration(environment: env)?.allowUnsignedNotifications == true)
    }

    /// The cards of a transaction outlive the process that forwarded it: a notification handled
    /// by a fresh forwarder (as after a restart) still captures the token for the right card.
    @Test func notificationsAfterARestartStillKnowTheCards() async throws {
        try await HorizonpayRig().run { h, c, secret, _ in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let transfer = try await c.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to), headers: freshKey())
            let uid = try #require((transfer.json["transaction"] as? [String: Any])?["uid"] as? String)
            let client = ProviderHTTPClient()
            let base = try ProviderURL(validating: "http://127.0.0.1:1", setting: "test")
            let fresh = HorizonpayForwarder(
                configuration: HorizonpayConfiguration(
                    gatewayURL: base, checkoutURL: base, shopID: "29", secretKey: ProviderSecret("x"),
                    publicKey: ProviderSecret("y"), allowUnsignedNotifications: true),
                client: client, cards: h.runtime.cards, logger: h.logs.logger())
            let caller = try await h.vault.caller(scopes: [.horizonpayForward])
            let body = Array(
                #"{"transaction":{"uid":"\#(uid)","credit_card":{"token":"hp_tok_restart","last_4":"1112"},"recipient_card":{"last_4":"0000"}}}"#.utf8)
            let answer = try await fresh.notification(body: body, signature: nil, caller: caller)
            await client.shutdown()
            let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
            let tx = try #require(json["transaction"] as? [String: Any])
            #expect((tx["credit_card"] as? [String: Any])?["token"] as? String == from)
            #expect((tx["recipient_card"] as? [String: Any])?["token"] as? String == to)
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerTokens) == [1])
            // Unknown uids still answer, redacted, without vault tokens.
            let other = try await fresh.notification(
                body: Array(#"{"transaction":{"uid":"unknown-uid","credit_card":{"token":"hp_tok_x"}}}"#.utf8), signature: nil, caller: caller)
            #expect(!String(decoding: other.body, as: UTF8.self).contains("hp_tok_x"))
            // A uid whose last group is 12 digits is remembered too (stored as a keyed hash).
            _ = try await c.send(.patch, "/v1/cards/\(from)", secret: secret, json: #"{"verification_value":"123"}"#)
            let digitTransfer = try await c.send(
                .post, "/v1/horizonpay/p2ps", secret: secret,
                json: HorizonpayRig.transfer(from, to, amount: Int(HorizonpaySimulator.Outcome.digitUID)), headers: freshKey())
            let digitUID = try #require((digitTransfer.json["transaction"] as? [String: Any])?["uid"] as? String)
            #expect(digitUID.hasSuffix("401200103714"))
            let digitNote = Array(#"{"transaction":{"uid":"\#(digitUID)","credit_card":{"token":"hp_tok_digits","last_4":"1112"}}}"#.utf8)
            let noted = try await fresh.notification(body: digitNote, signature: nil, caller: caller)
            let noteJSON = try #require(try JSONSerialization.jsonObject(with: Data(noted.body)) as? [String: Any])
            #expect(((noteJSON["transaction"] as? [String: Any])?["credit_card"] as? [String: Any])?["token"] as? String == from)
            // A caller of another tenant naming this transaction learns nothing and stores nothing.
            let outsider = try await h.vault.caller(scopes: [.horizonpayForward], tenant: "other")
            let foreign = Array(#"{"transaction":{"uid":"\#(uid)","credit_card":{"token":"hp_tok_foreign","last_4":"1112"}}}"#.utf8)
            let seen = String(decoding: try await fresh.notification(body: foreign, signature: nil, caller: outsider).body, as: UTF8.self)
            #expect(!seen.contains(from) && !seen.contains("hp_tok_foreign"))
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerTokens) == [1])
        }
    }
}

@Suite("Horizonpay hostile input", .serialized)
struct HorizonpayHostileInputTests {
    @Test func callerTextNeverCarriesACardNumberIntoAnswersOrAudit() async throws {
        try await HorizonpayRig().run { h, c, secret, _ in
            let (from, to) = try await HorizonpayRig.cards(c, secret)
            let pan = "4405639704015096"
            let unknownKey = try await c.send(
                .post, "/v1/horizonpay/p2p-restrictions", secret: secret,
                json: #"{"request":{"amount":1,"currency":"KZT","credit_card":{"token":"\#(from)","\#(pan)":"x"},"recipient_card":{"token":"\#(to)"}}}"#)
            #expect(unknownKey.status == 422)
            #expect(unknownKey.errorFields == ["request.credit_card.<unnamed>"])
            let badHolder = try await c.send(
                .post, "/v1/horizonpay/p2p-restrictions", secret: secret,
                json:
                    #"{"request":{"amount":1,"currency":"KZT","credit_card":{"token":"\#(from)","holder":"\#(String(repeating: "A", count: 36))"},"recipient_card":{"token":"\#(to)"}}}"#
            )
            #expect(badHolder.status == 422)
            #expect(badHolder.errorFields == ["request.credit_card.holder"])
            // A job id made of a card number reaches the provider's URL only, never the audit log.
            _ = try await c.send(.get, "/v1/horizonpay/checkout/async/jobs/\(pan)", secret: secret)
            let notification = Array(#"{"transaction":{"uid":"\#(pan)","status":"successful"}}"#.utf8)
            #expect(try await c.send(.post, "/v1/horizonpay/notifications", secret: secret, rawBody: notification).status == 200)
            let found = h.leaks(of: [pan])
            #expect(found.isEmpty, "\(found)")
        }
    }
}

@Suite("Horizonpay simulator")
struct HorizonpaySimulatorTests {
    /// `--latency-ms` (the forwarding benchmark's provider time) delays card requests only.
    /// The machine is shared, so no tight upper bound: a lower bound, and an order (the uncounted
    /// request answers while a card request sleeps 30 s, before half of that has passed).
    @Test func latencyDelaysCardRequests() async throws {
        let basic = "Basic " + Data("29:sim-secret-key".utf8).base64EncodedString()
        let body =
            #"{"request":{"amount":100,"currency":"KZT","credit_card":{"number":"4012001037141112","exp_month":"01","exp_year":"2030"},"recipient_card":{"number":"4200000000000000","exp_month":"02","exp_year":"2031"}}}"#
        let short = Application(router: HorizonpaySimulator(latency: .milliseconds(300)).router())
        try await short.test(.router) { client in
            let clock = ContinuousClock()
            let start = clock.now
            let status = try await client.execute(
                uri: "/p2p-restrictions", method: .post, headers: [.authorization: basic, .contentType: "application/json"],
                body: ByteBuffer(string: body)
            ) { $0.status }
            #expect(status == .ok)
            #expect(clock.now - start >= .milliseconds(300))
        }
        let long = Application(router: HorizonpaySimulator(latency: .seconds(30)).router())
        try await long.test(.router) { client in
            let first = await withTaskGroup(of: String.self) { group in
                group.addTask {
                    _ = try? await client.execute(
                        uri: "/p2p-restrictions", method: .post, headers: [.authorization: basic, .contentType: "application/json"],
                        body: ByteBuffer(string: body)
                    ) { $0.status }
                    return "card request"
                }
                group.addTask {
                    let status = try? await client.execute(uri: "/__simulator/calls", method: .get) { $0.status }
                    return status == .ok ? "calls" : "calls failed"
                }
                // Half the latency: were the uncounted request delayed too, this would end first.
                group.addTask {
                    try? await Task.sleep(for: .seconds(15))
                    return "half the latency"
                }
                let first = await group.next()
                group.cancelAll()
                return first
            }
            #expect(first == "calls")
        }
    }
}

/// A new `Idempotency-Key` header: money-moving routes require one.
func freshKey() -> [String: String] { ["Idempotency-Key": UUID().uuidString] }
