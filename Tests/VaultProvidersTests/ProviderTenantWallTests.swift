import Foundation
import ProviderSimulators
import Testing
import VaultDomain
import VaultHTTPTestSupport
import VaultTestSupport

/// Every provider route that takes an id, tried by a second tenant with the first tenant's ids
/// (taken from the first tenant's answers and the payer's `checkout_url`), on every backend:
/// each gets exactly what an unknown id gets, before the provider is called, and nothing is
/// registered, remembered or audited as the second tenant's.
@Suite("Provider objects belong to one tenant", .serialized)
struct ProviderTenantWallTests {
    static var backends: [String] { StorageBackend.all.map(\.name) }

    static func database(_ backend: String) throws -> String? {
        backend == "postgres" ? try PostgresCluster.shared.get().makeDatabase() : nil
    }

    /// The answer with the parts that differ per request removed.
    static func shape(_ reply: VaultServerHarness.Reply) -> String {
        "\(reply.status) \(reply.errorCode ?? "-") \(reply.errorFields) \((reply.json["error"] as? [String: Any])?["message"] as? String ?? "-")"
    }

    @Test(arguments: backends)
    func iokaOrdersAndTheirPayersStayWithTheirTenant(backend: String) async throws {
        try await IokaRig().run(database: try Self.database(backend)) { h, c, bank, sim in
            // Tenant "default" (bank) creates and has paid an order; its payer saved the card.
            let (_, receiver) = try await IokaRig.receiver(c, bank, sim)
            let (orderID, event) = try await IokaRig.paidOrder(c, bank, receiver, sim)
            let bankRead = try await c.send(.get, "/v1/ioka/transfer-orders/\(orderID)", secret: bank)
            #expect(bankRead.status == 200, "\(bankRead.text)")

            // Tenant "rival" knows the order id (it is in the payer's checkout_url).
            let rival = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead, .iokaWrite, .iokaForward, .iokaEvents], tenant: "rival")
            let (_, rivalReceiver) = try await IokaRig.receiver(c, rival, sim)
            let references = try await h.runtime.keyAdmin.status().versions.map(\.providerReferences)
            let reads = sim.calls("GET /v2/transfer-orders/{id}")
            let topups = sim.calls("POST /v2/transfer-orders/{id}/topup")

            let stolen = try await c.send(.get, "/v1/ioka/transfer-orders/\(orderID)", secret: rival)
            let unknown = try await c.send(.get, "/v1/ioka/transfer-orders/tro_NEVERMADE01", secret: rival)
            #expect(stolen.status == 404 && stolen.errorCode == "order_not_found", "\(stolen.text)")
            #expect(Self.shape(stolen) == Self.shape(unknown))
            #expect(!stolen.text.contains("pyr_") && !stolen.text.contains("checkout_url"))

            // A topup of the bank's order with a token of the rival's own: refused the same way.
            let topup = try await c.send(
                .post, "/v1/ioka/transfer-orders/\(orderID)/topup", secret: rival, json: #"{"sender_id":"\#(rivalReceiver)"}"#, headers: freshKey())
            let unknownTopup = try await c.send(
                .post, "/v1/ioka/transfer-orders/tro_NEVERMADE01/topup", secret: rival, json: #"{"sender_id":"\#(rivalReceiver)"}"#,
                headers: freshKey())
            #expect(topup.status == 404 && topup.errorCode == "order_not_found", "\(topup.text)")
            #expect(Self.shape(topup) == Self.shape(unknownTopup))

            // The bank's webhook, passed on by the rival: nothing registered.
            let foreignEvent = try await c.send(.post, "/v1/ioka/events", secret: rival, rawBody: event.bytes)
            #expect(((foreignEvent.json["transfer"] as? [String: Any])?["sender"] as? [String: Any])?["id"] is NSNull)

            #expect(sim.calls("GET /v2/transfer-orders/{id}") == reads, "ioka was called for another tenant's order")
            #expect(sim.calls("POST /v2/transfer-orders/{id}/topup") == topups)
            #expect(try await h.runtime.keyAdmin.status().versions.map(\.providerReferences) == references)
            let rivalRows = try await h.runtime.audit.tail(limit: 30).filter { $0.tenant == "rival" }
            #expect(rivalRows.allSatisfy { $0.outcome != "success" || !($0.action.hasPrefix("ioka.transfer_order")) })
            #expect(rivalRows.allSatisfy { $0.action != "ioka.sender.register" })

            // The bank's order is still the bank's: its read and the sender token it names hold.
            let again = try await c.send(.get, "/v1/ioka/transfer-orders/\(orderID)", secret: bank)
            #expect(again.status == 200 && again.body == bankRead.body)
        }
    }

    /// An ioka event that is a bare order object (the shape of `GET /v2/transfer-orders/{id}`,
    /// top-level `id`) is recognised as the vault's order: its new sender is registered.
    @Test func anOrderObjectEventIsRecognisedByItsTopLevelID() async throws {
        try await IokaRig().run { h, c, bank, sim in
            let (_, receiver) = try await IokaRig.receiver(c, bank, sim)
            let (orderID, _) = try await IokaRig.paidOrder(c, bank, receiver, sim)
            let order = try #require(sim.order(orderID))
            let r = try await c.send(.post, "/v1/ioka/events", secret: bank, rawBody: order.bytes)
            #expect(r.status == 200, "\(r.text)")
            let sender = ((r.json["transfers"] as? [[String: Any]])?.last?["sender"] as? [String: Any])?["id"] as? String
            #expect(sender?.hasPrefix("tok_") == true, "\(r.text)")
        }
    }

    @Test(arguments: backends)
    func horizonpayJobsStayWithTheirTenant(backend: String) async throws {
        try await HorizonpayRig().run(database: try Self.database(backend)) { h, c, bank, sim in
            let (from, to) = try await HorizonpayRig.cards(c, bank)
            let started = try await c.send(
                .post, "/v1/horizonpay/checkout/async/p2p", secret: bank,
                json: HorizonpayRig.transfer(from, to), headers: freshKey())
            let job = try #require(started.json["job_id"] as? String, "\(started.text)")
            let uid = "11111111-2222-3333-4444-555566667777"

            let rival = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead, .horizonpayForward, .horizonpayNotify], tenant: "rival")
            let polls = sim.calls("/ctp/api/async/jobs")
            let stolen = try await c.send(.get, "/v1/horizonpay/checkout/async/jobs/\(job)", secret: rival)
            let unknown = try await c.send(.get, "/v1/horizonpay/checkout/async/jobs/\(uid)", secret: rival)
            #expect(stolen.status == 404 && stolen.errorCode == "job_not_found", "\(stolen.text)")
            #expect(Self.shape(stolen) == Self.shape(unknown))
            #expect(!stolen.text.contains("holder") && !stolen.text.contains("last_4"))
            #expect(sim.calls("/ctp/api/async/jobs") == polls, "Horizonpay was called for another tenant's job")
            // The bank's own unknown id answers the same; its own job answers.
            #expect(Self.shape(try await c.send(.get, "/v1/horizonpay/checkout/async/jobs/\(uid)", secret: bank)) == Self.shape(unknown))
            let own = try await c.send(.get, "/v1/horizonpay/checkout/async/jobs/\(job)", secret: bank)
            #expect(own.status == 200, "\(own.text)")
            #expect(sim.calls("/ctp/api/async/jobs") == polls + 1)
        }
    }
}
