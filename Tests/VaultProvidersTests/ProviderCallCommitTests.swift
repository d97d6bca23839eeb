import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ProviderSimulators
import VaultCrypto
import Testing
import VaultDomain
import VaultProviders
import VaultTestSupport

/// Every provider call commits at most twice: once before anything leaves the vault (the
/// credential, the cards and references it releases, the claim, their audit rows), once for
/// its outcome (the answer, captures, the audit row), whatever the provider answered. Counted
/// with `StorageCommits` around the forwarder itself, on both backends.
@Suite("Two commits per provider call", .serialized)
struct ProviderCallCommitTests {
    /// The commits `body` asked for, and whether it threw.
    static func commits(_ body: () async throws -> Void) async -> (count: Int, threw: Bool) {
        let tally = StorageCommits.Tally()
        var threw = false
        await StorageCommits.$tally.withValue(tally) {
            do { try await body() } catch { threw = true }
        }
        return (tally.count, threw)
    }

    static func key() -> IdempotencyKey { try! IdempotencyKey(validating: "k-" + UUID().uuidString) }

    static func transfer(_ from: String, _ to: String, amount: Int64, extra: String = "") -> [UInt8] {
        Array(
            #"{"request":{"amount":\#(amount),"currency":"KZT","description":"P2P","tracking_id":"trk-1","test":true,\#(extra)"credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"},"customer":{"ip":"127.0.0.1"}}}"#
                .utf8)
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func horizonpayForwardsCommitTwice(_ backend: String) async throws {
        let sim = HorizonpaySimulator()
        let app = Application(router: sim.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { live in
            let vault = try await (backend == "postgres" ? StorageBackend.postgres : .sqlite).make()
            let caller = try await vault.caller(scopes: [.cardsWrite, .cardsRead, .horizonpayForward, .horizonpayNotify])
            let base = try ProviderURL(validating: "http://127.0.0.1:\(live.port ?? 0)", setting: "test")
            let client = ProviderHTTPClient()
            // Generous on a loaded machine; the timeout case has its own 1 s forwarder.
            func makeForwarder(timeout: Duration) -> HorizonpayForwarder {
                HorizonpayForwarder(
                    configuration: HorizonpayConfiguration(
                        gatewayURL: base, checkoutURL: base, shopID: sim.shopID, secretKey: ProviderSecret(sim.secretKey),
                        publicKey: ProviderSecret(sim.publicKey), timeout: timeout, allowUnsignedNotifications: true),
                    client: client, cards: vault.runtime.cards, logger: Logger(label: "test"))
            }
            let forwarder = makeForwarder(timeout: .seconds(20))
            let impatient = makeForwarder(timeout: .seconds(1))
            func card(_ number: String, code: String?) async throws -> String {
                let answer = try await vault.runtime.cards.tokenize(
                    CardInput(number: number, expMonth: "12", expYear: "2031", holder: "IVAN PETROV", verificationValue: code), caller: caller,
                    idempotencyKey: nil)
                return try #require((try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["token"] as? String)
            }
            func codeAgain(_ token: String) async throws {
                _ = try await vault.runtime.cards.update(
                    token, changes: CardChanges(expMonth: nil, expYear: nil, holder: nil, verificationValue: SensitiveBytes(copying: "123".utf8)),
                    caller: caller, idempotencyKey: nil)
            }
            let from = try await card("4012001037141112", code: "123")
            let to = try await card("4200000000000000", code: nil)

            // A transfer that succeeds: the release, then the outcome with the captured tokens.
            let paid = Self.key()
            let oneClick = #""additional_data":{"contract":["oneclick"]},"#
            var spent = await Self.commits {
                _ = try await forwarder.forward(.transfer, body: Self.transfer(from, to, amount: 100, extra: oneClick), caller: caller, idempotencyKey: paid)
            }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            // Its retry replays: the credential confirmed, nothing else.
            spent = await Self.commits {
                _ = try await forwarder.forward(.transfer, body: Self.transfer(from, to, amount: 100, extra: oneClick), caller: caller, idempotencyKey: paid)
            }
            #expect(spent.count == 1 && !spent.threw, "\(spent)")
            // A saved Horizonpay token instead of the card data, read in the first commit.
            try await codeAgain(from)
            let saved =
                #"{"request":{"amount":100,"currency":"KZT","credit_card":{"token":"\#(from)","use_saved_token":true},"recipient_card":{"token":"\#(to)"}}}"#
            spent = await Self.commits { _ = try await forwarder.forward(.transfer, body: Array(saved.utf8), caller: caller, idempotencyKey: Self.key()) }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            // A card without one is refused in the first commit, its code still pending.
            let other = try await card(SentinelCards.visa(77), code: "321")
            let unsaved = saved.replacingOccurrences(of: from, with: other)
            spent = await Self.commits { _ = try await forwarder.forward(.transfer, body: Array(unsaved.utf8), caller: caller, idempotencyKey: Self.key()) }
            #expect(spent.count == 1 && spent.threw, "\(spent)")

            // The provider's failures: a 500, a timeout, a reset mid-answer, a body that is not JSON.
            for amount in [SimulatedFault.Amount.serverError, SimulatedFault.Amount.slow, SimulatedFault.Amount.reset, SimulatedFault.Amount.garbage] {
                try await codeAgain(from)
                let sender = amount == SimulatedFault.Amount.slow ? impatient : forwarder
                spent = await Self.commits {
                    _ = try await sender.forward(.transfer, body: Self.transfer(from, to, amount: amount), caller: caller, idempotencyKey: Self.key())
                }
                #expect(spent.count == 2 && spent.threw, "amount \(amount)")
            }
            // No pending code: the claim is freed in the second commit.
            spent = await Self.commits {
                _ = try await forwarder.forward(.transfer, body: Self.transfer(from, to, amount: 100), caller: caller, idempotencyKey: Self.key())
            }
            #expect(spent.count == 2 && spent.threw, "\(spent)")
            // An unknown card: refused in the first commit, nothing sent.
            spent = await Self.commits {
                _ = try await forwarder.forward(
                    .transfer, body: Self.transfer(from, "tok_" + String(repeating: "A", count: 22), amount: 100), caller: caller, idempotencyKey: Self.key())
            }
            #expect(spent.count == 1 && spent.threw, "\(spent)")
            // Checks that move no money, and an async job read back.
            let check = #"{"request":{"amount":100,"currency":"KZT","credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}}}"#
            spent = await Self.commits { _ = try await forwarder.forward(.restrictions, body: Array(check.utf8), caller: caller, idempotencyKey: nil) }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            try await codeAgain(from)
            var job: String?
            spent = await Self.commits {
                let answer = try await forwarder.forward(.asyncTransfer, body: Self.transfer(from, to, amount: 100), caller: caller, idempotencyKey: Self.key())
                job = JSONValue.parse(answer.body)?["job_id"]?.stringValue
            }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            let jobID = try #require(job)
            spent = await Self.commits { _ = try await forwarder.job(jobID, caller: caller) }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            spent = await Self.commits { _ = try await forwarder.job("unknown-job", caller: caller) }
            #expect(spent.count == 1 && spent.threw, "\(spent)")
            // A notification calls no provider: one commit.
            let note = #"{"transaction":{"uid":"\#(UUID().uuidString)","status":"successful"}}"#
            spent = await Self.commits { _ = try await forwarder.notification(body: Array(note.utf8), signature: nil, caller: caller) }
            #expect(spent.count == 1 && !spent.threw, "\(spent)")
            await client.shutdown()
        }
    }

    @Test(arguments: StorageBackend.all.map(\.name))
    func iokaCallsCommitTwice(_ backend: String) async throws {
        let sim = IokaSimulator()
        let app = Application(router: sim.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { live in
            let vault = try await (backend == "postgres" ? StorageBackend.postgres : .sqlite).make()
            let caller = try await vault.caller(scopes: [.cardsWrite, .cardsRead, .iokaWrite, .iokaForward, .iokaEvents])
            let base = try ProviderURL(validating: "http://127.0.0.1:\(live.port ?? 0)", setting: "test")
            let client = ProviderHTTPClient()
            let forwarder = IokaForwarder(
                configuration: IokaConfiguration(apiURL: base, apiKey: ProviderSecret(sim.apiKey), timeout: .seconds(20)), client: client,
                cards: vault.runtime.cards)
            let cardID = sim.saveReceiverCard(pan: IokaSimulator.TestCards.receiverPAN)
            let registered = try await vault.runtime.references.register(ReferenceInput(value: cardID), kind: .iokaCard, caller: caller, idempotencyKey: nil)
            let receiver = try #require((try JSONSerialization.jsonObject(with: Data(registered.body)) as? [String: Any])?["token"] as? String)

            var order: String?
            let body = #"{"amount":15000,"type":"TOPUP","receiver_id":"\#(receiver)","external_id":"ext-1"}"#
            var spent = await Self.commits {
                let answer = try await forwarder.createOrder(body: Array(body.utf8), caller: caller, idempotencyKey: Self.key())
                order = JSONValue.parse(answer.body)?["order"]?["id"]?.stringValue
            }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            let id = try #require(order)
            spent = await Self.commits { _ = try await forwarder.order(id, caller: caller) }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            spent = await Self.commits { _ = try await forwarder.order("ord_unknown", caller: caller) }
            #expect(spent.count == 1 && spent.threw, "\(spent)")

            // The payer saves the card; the event registers the sender in one commit.
            let event = try #require(sim.pay(order: id, pan: IokaSimulator.TestCards.senderPAN, save: true))
            var sender: String?
            spent = await Self.commits {
                let answer = try await forwarder.event(body: event.bytes, caller: caller)
                sender = JSONValue.parse(answer.body)?["transfer"]?["sender"]?["id"]?.stringValue
            }
            #expect(spent.count == 1 && !spent.threw, "\(spent)")
            let senderToken = try #require(sender)
            spent = await Self.commits {
                _ = try await forwarder.topup(orderID: id, body: Array(#"{"sender_id":"\#(senderToken)"}"#.utf8), caller: caller, idempotencyKey: Self.key())
            }
            #expect(spent.count == 2 && !spent.threw, "\(spent)")
            await client.shutdown()
        }
    }
}
