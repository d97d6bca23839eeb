import Foundation
import Hummingbird
import HummingbirdTesting
import ProviderSimulators
import Testing
import VaultDomain
import VaultHTTPTestSupport
import VaultProviders
import VaultTestSupport

/// Two vault servers on one PostgreSQL database, one Horizonpay simulator: a security code
/// posted to one instance is spent through the other, and one Idempotency-Key sent to both at
/// once reaches Horizonpay once.
@Suite("Two instances forwarding (PostgreSQL)", .serialized, .enabled(if: PostgresCluster.isInstalled))
struct TwoInstanceForwardingTests {
    @Test func codesAndIdempotencyKeysHoldAcrossInstances() async throws {
        let first = try await VaultServerHarness(database: try PostgresCluster.shared.get().makeDatabase())
        let second = try VaultServerHarness(secondInstanceOf: first)
        let secret = try await first.vault.addClient(scopes: [.cardsWrite, .cardsRead, .horizonpayForward])
        let simulator = HorizonpaySimulator()
        let app = Application(router: simulator.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        // Each instance refreshes its recipient key and reseals pending codes once a second;
        // the test does it at the points it needs, so nothing waits on a clock.
        let exchange = { @Sendable in
            try await second.runtime.codes.shared?.tick(now: Date())
            try await first.runtime.codes.shared?.tick(now: Date())
        }
        try await app.test(.live) { sim in
            let base = try ProviderURL(validating: "http://127.0.0.1:\(sim.port ?? 0)", setting: "test")
            let horizonpay = HorizonpayConfiguration(
                gatewayURL: base, checkoutURL: base, shopID: simulator.shopID, secretKey: ProviderSecret(simulator.secretKey),
                publicKey: ProviderSecret(simulator.publicKey), timeout: .seconds(30), webhookKey: nil, allowUnsignedNotifications: true)
            try await first.run(configure: { $0.horizonpay = horizonpay }) { one in
                try await second.run(configure: { $0.horizonpay = horizonpay }) { two in
                    try await exchange()
                    // The code is posted to the first instance and spent through the second.
                    let (from, to) = try await HorizonpayRig.cards(one, secret)
                    try await exchange()
                    let spent = try await two.send(
                        .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to), headers: ["Idempotency-Key": "two-1"])
                    #expect(spent.status == 200, "\(spent.text)")
                    #expect(simulator.calls("/transactions/p2ps") == 1)
                    // Spent once: the first instance finds no code left.
                    let again = try await one.send(
                        .post, "/v1/horizonpay/p2ps", secret: secret, json: HorizonpayRig.transfer(from, to), headers: ["Idempotency-Key": "two-2"])
                    #expect(again.errorCode == "verification_value_required", "\(again.text)")

                    // A fresh code through the second; one key sent 8 times to both at once.
                    #expect(try await two.send(.patch, "/v1/cards/\(from)", secret: secret, json: #"{"verification_value":"123"}"#).status == 200)
                    try await exchange()
                    let body = HorizonpayRig.transfer(from, to)
                    let replies = try await withThrowingTaskGroup(of: VaultServerHarness.Reply.self) { group in
                        for i in 0..<8 {
                            let client = i % 2 == 0 ? one : two
                            group.addTask {
                                try await client.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: body, headers: ["Idempotency-Key": "two-3"])
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    #expect(simulator.calls("/transactions/p2ps") == 2)
                    let ok = replies.filter { $0.status == 200 }
                    #expect(!ok.isEmpty)
                    #expect(replies.allSatisfy { $0.status == 200 || $0.errorCode == "request_in_flight" }, "\(replies.map(\.text))")
                    let retry = try await one.send(.post, "/v1/horizonpay/p2ps", secret: secret, json: body, headers: ["Idempotency-Key": "two-3"])
                    #expect(retry.status == 200 && retry.body == ok.first?.body)
                    #expect(simulator.calls("/transactions/p2ps") == 2)
                }
            }
        }
    }
}
