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

/// The vault in front of the ioka simulator, both live on 127.0.0.1.
struct IokaRig {
    let simulator = IokaSimulator()

    func run(
        timeout: Duration = .seconds(30), unreachable: Bool = false, database: String? = nil,
        _ test: @Sendable @escaping (VaultServerHarness, VaultServerHarness.Client, String, IokaSimulator) async throws -> Void
    ) async throws {
        let harness = try await VaultServerHarness(database: database)
        let secret = try await harness.vault.addClient(scopes: [.cardsWrite, .cardsRead, .iokaWrite, .iokaForward, .iokaEvents])
        let simulator = self.simulator
        let app = Application(router: simulator.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { sim in
            let port = unreachable ? 1 : (sim.port ?? 0)
            let base = try ProviderURL(validating: "http://127.0.0.1:\(port)", setting: "test")
            try await harness.run(configure: {
                $0.ioka = IokaConfiguration(apiURL: base, apiKey: ProviderSecret(simulator.apiKey), timeout: timeout)
            }) { c in try await test(harness, c, secret, simulator) }
        }
    }

    /// Registers a recipient card saved at the simulator; returns (card_id, vault token).
    static func receiver(_ c: VaultServerHarness.Client, _ secret: String, _ sim: IokaSimulator) async throws -> (String, String) {
        let cardID = sim.saveReceiverCard(pan: IokaSimulator.TestCards.receiverPAN)
        let r = try await c.send(
            .post, "/v1/ioka/cards", secret: secret,
            json:
                #"{"card_id":"\#(cardID)","customer_id":"cus_SIM1","pan_masked":"552204******6736","expiry_date":"01/25","payment_system":"MASTERCARD","emitter":"halykbank"}"#
        )
        #expect(r.status == 201, "\(r.text)")
        return (cardID, r.json["token"] as! String)
    }

    static func order(_ receiver: String, amount: Int = 15000) -> String {
        #"{"amount":\#(amount),"type":"TOPUP","receiver_id":"\#(receiver)","external_id":"ext-1","description":"Перевод","extra_info":{"k":"v"},"back_url":"https://back.kz","success_url":"https://success.kz","failure_url":"https://failure.kz"}"#
    }

    /// Creates an order and has the payer pay it with the seed's sender card, saving it; returns
    /// the order id and the webhook body ioka would send.
    static func paidOrder(
        _ c: VaultServerHarness.Client, _ secret: String, _ receiver: String, _ sim: IokaSimulator,
        amount: Int = 15000
    ) async throws -> (String, JSONValue) {
        let created = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: order(receiver, amount: amount), headers: freshKey())
        #expect(created.status == 201, "\(created.text)")
        let id = try #require((created.json["order"] as? [String: Any])?["id"] as? String)
        _ = sim.pay(order: id, pan: "4405639704015000", save: true)  // declined: wrong card data
        return (id, try #require(sim.pay(order: id, pan: IokaSimulator.TestCards.senderPAN, save: true)))
    }
}

@Suite("ioka references", .serialized)
struct IokaReferenceTests {
    @Test func registrationDedupAndMetadata() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (cardID, token) = try await IokaRig.receiver(c, secret, sim)
            #expect(token.hasPrefix("tok_"))
            let again = try await c.send(.post, "/v1/ioka/cards", secret: secret, json: #"{"card_id":"\#(cardID)"}"#)
            #expect(again.status == 200)
            #expect(again.json["token"] as? String == token)

            let meta = try await c.send(.get, "/v1/cards/\(token)", secret: secret)
            #expect(meta.status == 200)
            #expect(meta.json["ioka_card"] as? Bool == true && meta.json["ioka_sender"] as? Bool == false && meta.json["has_card"] as? Bool == false)
            let details = try #require((meta.json["ioka"] as? [String: Any])?["card"] as? [String: Any])
            #expect(details["pan_masked"] as? String == "552204******6736")
            #expect(details["customer_id"] as? String == "cus_SIM1")
            #expect(!meta.text.contains(cardID))

            let sender = try await c.send(.post, "/v1/ioka/senders", secret: secret, json: #"{"sender_id":"pyr_REGISTERED01","pan_masked":"440563******5096"}"#)
            #expect(sender.status == 201)
            #expect(sender.json["ioka_sender"] as? Bool == true)
            #expect(sender.json["token"] as? String != token)
            // The same value as a card id is another reference (kinds are separate namespaces).
            #expect(try await c.send(.post, "/v1/ioka/senders", secret: secret, json: #"{"sender_id":"pyr_REGISTERED01"}"#).status == 200)

            // A PAN card gets the ioka card attached; metadata shows both.
            let pan = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4400000000000008"))
            let panToken = try #require(pan.json["token"] as? String)
            let attachID = sim.saveReceiverCard(pan: "4400000000000008")
            let attached = try await c.send(.put, "/v1/cards/\(panToken)/ioka-card", secret: secret, json: #"{"card_id":"\#(attachID)"}"#)
            #expect(attached.status == 200, "\(attached.text)")
            #expect(attached.json["has_card"] as? Bool == true && attached.json["ioka_card"] as? Bool == true && attached.json["last_4"] as? String == "0008")
            // Registering that card id again finds the PAN card's token.
            let same = try await c.send(.post, "/v1/ioka/cards", secret: secret, json: #"{"card_id":"\#(attachID)"}"#)
            #expect(same.status == 200 && same.json["token"] as? String == panToken)
            // A card id that belongs to another token is refused; an unknown token is 404.
            let taken = try await c.send(.put, "/v1/cards/\(panToken)/ioka-card", secret: secret, json: #"{"card_id":"\#(cardID)"}"#)
            #expect(taken.status == 409 && taken.errorCode == "reference_in_use")
            let refusal = try await h.runtime.audit.tail(limit: 5).last { $0.action == "ioka.card.attach" }
            #expect(refusal?.outcome == "denied" && refusal?.subject == "\(panToken)|reference_in_use")
            let unknown = try await c.send(.put, "/v1/cards/tok_AAAAAAAAAAAAAAAAAAAAAA/ioka-card", secret: secret, json: #"{"card_id":"crd_NEW"}"#)
            #expect(unknown.status == 404)

            // Deleting the token removes its references: the card id registers anew.
            #expect(try await c.send(.delete, "/v1/cards/\(token)", secret: secret).status == 204)
            #expect(try await c.send(.get, "/v1/cards/\(token)", secret: secret).status == 404)
            let fresh = try await c.send(.post, "/v1/ioka/cards", secret: secret, json: #"{"card_id":"\#(cardID)"}"#)
            #expect(fresh.status == 201 && fresh.json["token"] as? String != token)

            let audit = try await h.runtime.audit.tail(limit: 50).map(\.action)
            #expect(audit.contains("ioka.card.register") && audit.contains("ioka.card.register_existing") && audit.contains("ioka.card.attach"))
        }
    }

    @Test func badRegistrationsNameTheField() async throws {
        try await IokaRig().run { h, c, secret, _ in
            let cases: [(String, Int, [String])] = [
                (#"{}"#, 422, ["card_id"]),
                (#"{"card_id":""}"#, 422, ["card_id"]),
                (#"{"card_id":"crd_4400000000000008"}"#, 422, ["card_id"]),
                (#"{"card_id":"crd_X","pan_masked":"4405639704015096"}"#, 422, ["pan_masked"]),
                (#"{"card_id":"crd_X","expiry_date":"13/25","emitter":"bank 12345678"}"#, 422, ["expiry_date", "emitter"]),
                (#"{"card_id":"crd_X","sender_id":"pyr_Y"}"#, 400, ["sender_id"]),
                (#"{"card_id":7}"#, 400, ["card_id"]),
            ]
            for (body, status, fields) in cases {
                let r = try await c.send(.post, "/v1/ioka/cards", secret: secret, json: body)
                #expect(r.status == status, "\(body): \(r.text)")
                #expect(r.errorFields == fields, "\(body): \(r.text)")
            }
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerReferences) == [0])
            #expect(h.leaks(of: ["4400000000000008", "4405639704015096"]).isEmpty)
        }
    }

    @Test func scopes() async throws {
        try await IokaRig().run { h, c, _, _ in
            let reader = try await h.vault.addClient(scopes: [.cardsRead, .cardsWrite])
            let writer = try await h.vault.addClient(scopes: [.iokaWrite])
            #expect(try await c.send(.post, "/v1/ioka/cards", secret: reader, json: #"{"card_id":"crd_A"}"#).status == 403)
            #expect(try await c.send(.post, "/v1/ioka/cards", secret: writer, json: #"{"card_id":"crd_A"}"#).status == 201)
            #expect(
                try await c.send(.post, "/v1/ioka/transfer-orders", secret: writer, json: IokaRig.order("tok_AAAAAAAAAAAAAAAAAAAAAA"), headers: freshKey())
                    .status == 403)
            #expect(try await c.send(.get, "/v1/ioka/transfer-orders/tro_1", secret: writer).status == 403)
            #expect(try await c.send(.post, "/v1/ioka/events", secret: writer, json: "{}").status == 403)
            #expect(try await c.send(.post, "/v1/ioka/transfer-orders", json: IokaRig.order("tok_AAAAAAAAAAAAAAAAAAAAAA"), headers: freshKey()).status == 401)
        }
    }
}

@Suite("ioka forwarding", .serialized)
struct IokaForwardingTests {
    /// Another tenant's receiver or sender token is unknown: 404 before ioka is called. Order
    /// creation and topup need an Idempotency-Key.
    @Test func tenantsAndKeysAreCheckedBeforeIokaIsCalled() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let other = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead, .iokaWrite, .iokaForward], tenant: "other")
            let stolen = try await c.send(.post, "/v1/ioka/transfer-orders", secret: other, json: IokaRig.order(receiver), headers: freshKey())
            #expect(stolen.status == 404 && stolen.errorCode == "card_not_found", "\(stolen.text)")
            let topup = try await c.send(
                .post, "/v1/ioka/transfer-orders/tro_1/topup", secret: other, json: #"{"sender_id":"\#(receiver)"}"#, headers: freshKey())
            #expect(topup.status == 404)
            #expect(try await c.send(.get, "/v1/cards/\(receiver)", secret: other).status == 404)
            let noKey = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(receiver))
            #expect(noKey.status == 400 && noKey.errorCode == "idempotency_key_required")
            let noKeyTopup = try await c.send(.post, "/v1/ioka/transfer-orders/tro_1/topup", secret: secret, json: #"{"sender_id":"\#(receiver)"}"#)
            #expect(noKeyTopup.status == 400 && noKeyTopup.errorCode == "idempotency_key_required")
            #expect(sim.calls("POST /v2/transfer-orders") == 0 && sim.calls("POST /v2/transfer-orders/{id}/topup") == 0)
        }
    }

    @Test func createOrderSwapsTheReceiverAndPassesTheRestThrough() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (cardID, token) = try await IokaRig.receiver(c, secret, sim)
            let r = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(token), headers: freshKey())
            #expect(r.status == 201, "\(r.text)")
            let order = try #require(r.json["order"] as? [String: Any])
            #expect(order["receiver_id"] as? String == token)
            #expect(order["status"] as? String == "NOT_TRANSFERRED")
            #expect((order["checkout_url"] as? String)?.hasPrefix("https://") == true)
            #expect((r.json["order_access_token"] as? String)?.contains("_secret_") == true)
            #expect(!r.text.contains(cardID))

            let sent = try #require(sim.lastBody("POST /v2/transfer-orders"))
            #expect(sent["receiver_id"]?.stringValue == cardID)
            #expect(sent["description"]?.stringValue == "Перевод" && sent["external_id"]?.stringValue == "ext-1")
            #expect(sent["extra_info"] == .object([("k", .string("v"))]) && sent["back_url"]?.stringValue == "https://back.kz")
            #expect(sim.calls("POST /v2/transfer-orders") == 1)

            let audit = try #require(try await h.runtime.audit.tail(limit: 10).last { $0.action == "ioka.transfer_order.create" })
            #expect(audit.subject?.contains(token) == true && audit.subject?.contains("status=201") == true && audit.subject?.contains("order=tro_") == true)
            #expect(audit.subject?.contains(cardID) == false)
        }
    }

    @Test func receiverMustBeAVaultTokenWithAnIokaCard() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (cardID, _) = try await IokaRig.receiver(c, secret, sim)
            let raw = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(cardID), headers: freshKey())
            #expect(raw.status == 422 && raw.errorFields == ["receiver_id"] && raw.errorCode == "invalid_token")
            let missing = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: #"{"amount":100,"type":"TOPUP"}"#, headers: freshKey())
            #expect(missing.status == 422 && missing.errorFields == ["receiver_id"])
            let pan = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4400000000000008"))
            let noIoka = try await c.send(
                .post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(pan.json["token"] as! String), headers: freshKey())
            #expect(noIoka.status == 422 && noIoka.errorCode == "ioka_card_missing" && noIoka.errorFields == ["receiver_id"])
            let unknown = try await c.send(
                .post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order("tok_AAAAAAAAAAAAAAAAAAAAAA"), headers: freshKey())
            #expect(unknown.status == 404 && unknown.errorFields == ["receiver_id"])
            #expect(try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: "[1]", headers: freshKey()).status == 400)
            #expect(sim.calls("POST /v2/transfer-orders") == 0)
        }
    }

    @Test func readingAnOrderRegistersNewSendersOnce() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (cardID, receiver) = try await IokaRig.receiver(c, secret, sim)
            let (orderID, event) = try await IokaRig.paidOrder(c, secret, receiver, sim)
            let pyr = try #require(event["transfer"]?["sender"]?["id"]?.stringValue)
            #expect(pyr.hasPrefix("pyr_"))

            let r = try await c.send(.get, "/v1/ioka/transfer-orders/\(orderID)", secret: secret)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["status"] as? String == "TRANSFERRED")
            #expect(r.json["receiver_id"] as? String == receiver)
            let transfers = try #require(r.json["transfers"] as? [[String: Any]])
            #expect(transfers.count == 2)
            let declined = try #require(transfers[0]["sender"] as? [String: Any])
            #expect(declined["id"] is NSNull)
            #expect((transfers[0]["error"] as? [String: Any])?["code"] as? String == "WRONG_CARD_DATA")
            let approved = try #require(transfers[1]["sender"] as? [String: Any])
            let senderToken = try #require(approved["id"] as? String)
            #expect(senderToken.hasPrefix("tok_"))
            #expect(approved["pan_masked"] as? String == "440563******5096")
            #expect(!r.text.contains(pyr) && !r.text.contains(cardID))

            // Seen again: the same token, no second registration.
            let again = try await c.send(.get, "/v1/ioka/transfer-orders/\(orderID)", secret: secret)
            #expect(((again.json["transfers"] as? [[String: Any]])?[1]["sender"] as? [String: Any])?["id"] as? String == senderToken)
            let registrations = try await h.runtime.audit.tail(limit: 50).filter { $0.action == "ioka.sender.register" }
            #expect(registrations.count == 1)
            #expect(registrations.first?.subject?.contains("source=ioka.transfer_order.read") == true)

            let meta = try await c.send(.get, "/v1/cards/\(senderToken)", secret: secret)
            #expect(meta.json["ioka_sender"] as? Bool == true)
            let details = try #require((meta.json["ioka"] as? [String: Any])?["sender"] as? [String: Any])
            #expect(
                details["pan_masked"] as? String == "440563******5096" && details["expiry_date"] as? String == "01/25"
                    && details["payment_system"] as? String == "VISA" && details["emitter"] as? String == "halykbank")

            // An order this vault did not create for the tenant is unknown before ioka is asked.
            let reads = sim.calls("GET /v2/transfer-orders/{id}")
            let unknownOrder = try await c.send(.get, "/v1/ioka/transfer-orders/tro_NOPE", secret: secret)
            #expect(unknownOrder.status == 404 && unknownOrder.errorCode == "order_not_found" && unknownOrder.errorFields == ["order_id"])
            #expect(sim.calls("GET /v2/transfer-orders/{id}") == reads)
            #expect(try await c.send(.get, "/v1/ioka/transfer-orders/4405639704015096", secret: secret).status == 422)
        }
    }

    @Test func eventsRegisterSendersAndComeBackWithTokens() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (cardID, receiver) = try await IokaRig.receiver(c, secret, sim)
            let (_, event) = try await IokaRig.paidOrder(c, secret, receiver, sim)
            let pyr = try #require(event["transfer"]?["sender"]?["id"]?.stringValue)
            let r = try await c.send(.post, "/v1/ioka/events", secret: secret, rawBody: event.bytes)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["event"] as? String == "TRANSFER_APPROVED")
            #expect((r.json["order"] as? [String: Any])?["receiver_id"] as? String == receiver)
            let senderToken = try #require(((r.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] as? String)
            #expect(senderToken.hasPrefix("tok_"))
            #expect(!r.text.contains(pyr) && !r.text.contains(cardID))
            // The order read afterwards names the same sender token.
            let order = try await c.send(.get, "/v1/ioka/transfer-orders/\((r.json["order"] as? [String: Any])?["id"] as! String)", secret: secret)
            #expect(((order.json["transfers"] as? [[String: Any]])?.last?["sender"] as? [String: Any])?["id"] as? String == senderToken)
            let audit = try #require(try await h.runtime.audit.tail(limit: 20).last { $0.action == "ioka.event" })
            #expect(audit.subject?.contains("event=TRANSFER_APPROVED") == true)
            #expect(try await c.send(.post, "/v1/ioka/events", secret: secret, json: "not json").status == 400)
        }
    }

    /// An event about an order this vault never created or read (for the caller's tenant)
    /// registers nothing: unknown references come back as null.
    @Test func eventsForUnknownOrdersRegisterNothing() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let (_, event) = try await IokaRig.paidOrder(c, secret, receiver, sim)
            let before = try await h.runtime.keyAdmin.status().versions.map(\.providerReferences)
            // The same event, about an order id the vault has never seen.
            let foreign = Array(String(decoding: event.bytes, as: UTF8.self).replacingOccurrences(of: "tro_", with: "tro_X").utf8)
            let r = try await c.send(.post, "/v1/ioka/events", secret: secret, rawBody: foreign)
            #expect(r.status == 200, "\(r.text)")
            #expect(((r.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] is NSNull)
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerReferences) == before)
            // Another tenant's client cannot use this vault's order either.
            let other = try await h.vault.addClient(scopes: [.iokaEvents], tenant: "other")
            let stolen = try await c.send(.post, "/v1/ioka/events", secret: other, rawBody: event.bytes)
            #expect(stolen.status == 200)
            #expect(((stolen.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] is NSNull)
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerReferences) == before)
            let audit = try await h.runtime.audit.tail(limit: 10).filter { $0.action == "ioka.event" }
            #expect(audit.allSatisfy { $0.subject?.contains("order_unknown") == true && $0.outcome == "failure" })
            // The forwarding scope alone does not take events.
            let forwarder = try await h.vault.addClient(scopes: [.iokaForward])
            #expect(try await c.send(.post, "/v1/ioka/events", secret: forwarder, rawBody: event.bytes).status == 403)
        }
    }

    @Test func topupFromASavedSender() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let (orderID, event) = try await IokaRig.paidOrder(c, secret, receiver, sim)
            let pyr = try #require(event["transfer"]?["sender"]?["id"]?.stringValue)
            let read = try await c.send(.get, "/v1/ioka/transfer-orders/\(orderID)", secret: secret)
            let sender = try #require(((read.json["transfers"] as? [[String: Any]])?.last?["sender"] as? [String: Any])?["id"] as? String)

            let r = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(sender)"}"#, headers: freshKey())
            #expect(r.status == 201, "\(r.text)")
            #expect(r.json["status"] as? String == "APPROVED")
            #expect(r.json["transferred_amount"] as? Int == 15000)
            #expect(sim.lastBody("POST /v2/transfer-orders/{id}/topup")?["sender_id"]?.stringValue == pyr)
            #expect(!r.text.contains(pyr))

            // A receiver token has no sender reference; raw ids and extra fields are refused.
            let wrong = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(receiver)"}"#, headers: freshKey())
            #expect(wrong.status == 422 && wrong.errorCode == "ioka_sender_missing" && wrong.errorFields == ["sender_id"])
            let raw = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(pyr)"}"#, headers: freshKey())
            #expect(raw.status == 422 && raw.errorCode == "invalid_token")
            let extra = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(sender)","amount":5}"#, headers: freshKey())
            #expect(extra.status == 400 && extra.errorFields == ["amount"])
            #expect(sim.calls("POST /v2/transfer-orders/{id}/topup") == 1)
            let audit = try #require(try await h.runtime.audit.tail(limit: 20).last { $0.action == "ioka.transfer_order.topup" })
            #expect(audit.subject?.contains(sender) == true && audit.subject?.contains("order=\(orderID)") == true)
        }
    }

    @Test func aRetriedTopupReachesIokaOnce() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let (orderID, event) = try await IokaRig.paidOrder(c, secret, receiver, sim)
            let redacted = try await c.send(.post, "/v1/ioka/events", secret: secret, rawBody: event.bytes)
            let sender = try #require(((redacted.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] as? String)
            let body = #"{"sender_id":"\#(sender)"}"#
            let replies = try await withThrowingTaskGroup(of: VaultServerHarness.Reply.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await c.send(
                            .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: body, headers: ["Idempotency-Key": "topup-1"])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(sim.calls("POST /v2/transfer-orders/{id}/topup") == 1)
            #expect(replies.allSatisfy { $0.status == 201 || ($0.status == 409 && $0.errorCode == "request_in_flight") }, "\(replies.map(\.status))")
            let first = try #require(replies.first { $0.status == 201 })
            let retry = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: body, headers: ["Idempotency-Key": "topup-1"])
            #expect(retry.status == 201 && retry.body == first.body)
            let other = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(receiver)"}"#,
                headers: ["Idempotency-Key": "topup-1"])
            #expect(other.status == 409 && other.errorCode == "idempotency_conflict")
            #expect(sim.calls("POST /v2/transfer-orders/{id}/topup") == 1)
            // Order creation honours the key too.
            for _ in 0..<2 {
                let created = try await c.send(
                    .post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(receiver), headers: ["Idempotency-Key": "order-1"])
                #expect(created.status == 201)
            }
            #expect(sim.calls("POST /v2/transfer-orders") == 2)
        }
    }

    @Test func declinedTopupAndIokaErrorsPassThrough() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let (orderID, event) = try await IokaRig.paidOrder(c, secret, receiver, sim, amount: Int(IokaSimulator.Outcome.declined))
            let redacted = try await c.send(.post, "/v1/ioka/events", secret: secret, rawBody: event.bytes)
            let sender = try #require(((redacted.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] as? String)
            let declined = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(sender)"}"#, headers: freshKey())
            #expect(declined.status == 201 && declined.json["status"] as? String == "DECLINED")
            #expect((declined.json["error"] as? [String: Any])?["code"] as? String == "WRONG_CARD_DATA")
            let noOrder = try await c.send(
                .post, "/v1/ioka/transfer-orders/tro_MISSING/topup", secret: secret, json: #"{"sender_id":"\#(sender)"}"#, headers: freshKey())
            #expect(noOrder.status == 404 && noOrder.errorCode == "order_not_found")
        }
    }

    @Test func faults() async throws {
        try await IokaRig().run(timeout: .seconds(1)) { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let garbage = try await c.send(
                .post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(receiver, amount: Int(IokaSimulator.Outcome.garbage)),
                headers: freshKey())
            #expect(garbage.status == 502 && garbage.errorCode == "upstream_invalid_response")

            let (orderID, event) = try await IokaRig.paidOrder(c, secret, receiver, sim, amount: Int(IokaSimulator.Outcome.slow))
            let redacted = try await c.send(.post, "/v1/ioka/events", secret: secret, rawBody: event.bytes)
            let sender = try #require(((redacted.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] as? String)
            let slow = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(sender)"}"#,
                headers: ["Idempotency-Key": "slow-topup"])
            #expect(slow.status == 504 && slow.errorCode == "upstream_timeout")
            // The topup may have happened: a retry is told the outcome is unknown, with the order
            // to ask ioka about, and ioka is not called again.
            let retry = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(sender)"}"#,
                headers: ["Idempotency-Key": "slow-topup"])
            #expect(retry.status == 409 && retry.errorCode == "outcome_unknown", "\(retry.text)")
            #expect(((retry.json["error"] as? [String: Any])?["reference"] as? [String: String])?["order_id"] == orderID)
            #expect(sim.calls("POST /v2/transfer-orders/{id}/topup") == 1)
            let audit = try await h.runtime.audit.tail(limit: 30).filter { $0.action == "ioka.transfer_order.topup" }
            #expect(audit.last?.outcome == "failure")
            // A 500 and a reset mid-answer after the topup happened: 502, and a retry with the
            // same key never reaches ioka again: the 500 is replayed, the lost answer is
            // `outcome_unknown`.
            for (amount, code, retried) in [
                (IokaSimulator.Outcome.serverError, "upstream_error", "upstream_error"),
                (IokaSimulator.Outcome.reset, "upstream_unavailable", "outcome_unknown"),
            ] {
                let (order, paid) = try await IokaRig.paidOrder(c, secret, receiver, sim, amount: Int(amount))
                let redacted = try await c.send(.post, "/v1/ioka/events", secret: secret, rawBody: paid.bytes)
                let token = try #require(((redacted.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] as? String)
                let before = sim.calls("POST /v2/transfer-orders/{id}/topup")
                for attempt in 0..<2 {
                    let r = try await c.send(
                        .post, "/v1/ioka/transfer-orders/\(order)/topup", secret: secret, json: #"{"sender_id":"\#(token)"}"#,
                        headers: ["Idempotency-Key": "fault-\(amount)"])
                    #expect(r.errorCode == (attempt == 0 ? code : retried), "\(amount): \(r.text)")
                    #expect(r.status == (r.errorCode == "outcome_unknown" ? 409 : 502))
                }
                #expect(sim.calls("POST /v2/transfer-orders/{id}/topup") == before + 1)
            }
        }
        try await IokaRig().run(unreachable: true) { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            let down = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(receiver), headers: ["Idempotency-Key": "down"])
            #expect(down.status == 502 && down.errorCode == "upstream_unavailable")
            // Nothing was sent: the key is free for a retry, which fails the same way.
            let again = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(receiver), headers: ["Idempotency-Key": "down"])
            #expect(again.status == 502)
        }
    }

    /// The whole flow, then a scan of every answer, every log line, the database and its WAL for
    /// the ioka references, the API key and the sender's card number.
    @Test func noReferenceLeaves() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (cardID, receiver) = try await IokaRig.receiver(c, secret, sim)
            let attachID = sim.saveReceiverCard(pan: "4400000000000008")
            let pan = try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4400000000000008"))
            _ = try await c.send(.put, "/v1/cards/\(pan.json["token"] as! String)/ioka-card", secret: secret, json: #"{"card_id":"\#(attachID)"}"#)
            let (orderID, event) = try await IokaRig.paidOrder(c, secret, receiver, sim)
            let pyr = try #require(event["transfer"]?["sender"]?["id"]?.stringValue)
            _ = try await c.send(.get, "/v1/ioka/transfer-orders/\(orderID)", secret: secret)
            let redacted = try await c.send(.post, "/v1/ioka/events", secret: secret, rawBody: event.bytes)
            let sender = try #require(((redacted.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] as? String)
            let topup = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(sender)"}"#,
                headers: ["Idempotency-Key": "leak-topup"])
            #expect(topup.status == 201)
            _ = try await c.send(.get, "/v1/cards/\(sender)", secret: secret)
            _ = try await c.send(.get, "/v1/cards/\(receiver)", secret: secret)
            // Errors that concern a reference do not echo it either.
            _ = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(cardID), headers: freshKey())
            _ = try await c.send(.post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: secret, json: #"{"sender_id":"\#(pyr)"}"#, headers: freshKey())
            _ = try await c.send(.put, "/v1/cards/\(sender)/ioka-card", secret: secret, json: #"{"card_id":"\#(attachID)"}"#)
            _ = try await h.runtime.keyAdmin.rotate(actor: TemporaryVault.testOperator)
            _ = try await h.runtime.keyAdmin.rewrap(actor: TemporaryVault.testOperator)
            let audit = try await h.runtime.audit.tail(limit: 200)
            let auditText = audit.map { "\($0.action) \($0.subject ?? "")" }.joined(separator: "\n")
            for needle in [cardID, attachID, pyr, sim.apiKey, IokaSimulator.TestCards.senderPAN, "4400000000000008"] {
                #expect(!auditText.contains(needle))
            }
            let found = h.leaks(of: [cardID, attachID, pyr, sim.apiKey, IokaSimulator.TestCards.senderPAN, "4400000000000008"])
            #expect(found.isEmpty, "\(found)")
            // Control: the scan does see what is meant to be there (tokens in answers and rows).
            #expect(h.leaks(of: [receiver, sender]).count >= 4)
        }
    }

    @Test func notConfiguredAnswers503ButRegistrationWorks() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.iokaWrite, .iokaForward])
        try await h.run { (c: VaultServerHarness.Client) async throws -> Void in
            #expect(
                try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order("tok_AAAAAAAAAAAAAAAAAAAAAA"), headers: freshKey())
                    .status == 503)
            #expect(try await c.send(.post, "/v1/ioka/cards", secret: secret, json: #"{"card_id":"crd_OFFLINE"}"#).status == 201)
        }
    }

    @Test func rewrapMovesReferencesAndForwardingStillWorks() async throws {
        try await IokaRig().run { h, c, secret, sim in
            let (_, receiver) = try await IokaRig.receiver(c, secret, sim)
            _ = try await c.send(.post, "/v1/ioka/senders", secret: secret, json: #"{"sender_id":"pyr_REWRAP01"}"#)
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerReferences) == [2])
            _ = try await h.runtime.keyAdmin.rotate(actor: TemporaryVault.testOperator)
            await #expect(throws: VaultError.self) { try await h.runtime.keyAdmin.retire(version: 1, actor: TemporaryVault.testOperator) }
            let rewrap = try await h.runtime.keyAdmin.rewrap(actor: TemporaryVault.testOperator, batchSize: 1)
            #expect(rewrap.rewrapped == 2 && rewrap.remaining == 0)
            #expect(rewrap.cards == 0 && rewrap.providerReferences == 2 && rewrap.providerTokens == 0)
            try await h.runtime.keyAdmin.retire(version: 1, actor: TemporaryVault.testOperator)
            let status = try await h.runtime.keyAdmin.status()
            #expect(status.versionsInUse == [2])
            let r = try await c.send(.post, "/v1/ioka/transfer-orders", secret: secret, json: IokaRig.order(receiver), headers: freshKey())
            #expect(r.status == 201, "\(r.text)")
        }
    }
}
