import Foundation
import Hummingbird
import NIOCore
import Synchronization
import VaultProviders

/// A local stand-in for ioka's card-to-card transfers that follows the seed
/// (ioka-p2p-transfers.txt): `API-KEY` check, transfer orders (`NOT_TRANSFERRED`, then
/// `TRANSFERRED`), transfers with `sender` objects (declined with `WRONG_CARD_DATA`, approved
/// with a saved `pyr_` id), topup from a saved sender, and the seed's test cards. What the payer
/// does on `checkout_url` is driven by `POST /__simulator/checkout/{order_id}` (or `pay`), which
/// answers with the webhook body ioka would send. It counts calls per route.
public final class IokaSimulator: Sendable {
    public let apiKey: String

    /// The seed's test cards: a saved recipient card and the sender card that is approved.
    public enum TestCards {
        public static let receiverCardID = "TESTCARDID"
        public static let receiverPAN = "5522042705066736"
        public static let senderPAN = "4405639704015096"
        public static let senderExpiry = "01/25"
    }

    /// Order amounts (minor units) that pick an outcome for the order's topup (garbage also for
    /// its creation); any other amount succeeds.
    public enum Outcome {
        /// Topups are declined.
        public static let declined: Int64 = 4040
        /// Topups answer after 3 seconds (timeout tests).
        public static let slow = SimulatedFault.Amount.slow
        /// Answers with a body that is not JSON.
        public static let garbage = SimulatedFault.Amount.garbage
        /// Answers 500.
        public static let serverError = SimulatedFault.Amount.serverError
        /// Closes the connection after the head of the answer.
        public static let reset = SimulatedFault.Amount.reset
    }

    struct Order {
        var fields: [(String, JSONValue)]
        var transfers: [JSONValue] = []
        var amount: Int64
        var json: JSONValue { .object(fields + [("transfers", .array(transfers))]) }
    }

    private let counts = Mutex<[String: Int]>([:])
    private let orders = Mutex<[String: Order]>([:])
    /// card_id → masked PAN of saved recipient cards.
    private let receivers = Mutex<[String: String]>([TestCards.receiverCardID: "552204******6736"])
    /// pyr_ id → sender object of saved sender cards.
    private let senders = Mutex<[String: JSONValue]>([:])
    private let lastBodies = Mutex<[String: JSONValue]>([:])

    public init(apiKey: String = "sim-ioka-api-key") {
        self.apiKey = apiKey
    }

    /// How many calls reached a route (e.g. `POST /v2/transfer-orders/{id}/topup`).
    public func calls(_ route: String) -> Int { counts.withLock { $0[route] ?? 0 } }

    /// The body of the last call to a route, as received.
    public func lastBody(_ route: String) -> JSONValue? { lastBodies.withLock { $0[route] } }

    /// An order as `GET /v2/transfer-orders/{id}` answers it (tests pass it on as an event).
    public func order(_ id: String) -> JSONValue? { orders.withLock { $0[id]?.json } }

    /// Saves a recipient card as ioka's card-saving form would; returns its `card_id`.
    public func saveReceiverCard(pan: String) -> String {
        let id = "crd_" + Self.randomID()
        receivers.withLock { $0[id] = Self.masked(pan) }
        return id
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v2/transfer-orders") { request, _ in
            try await self.api(request, route: "POST /v2/transfer-orders") { body in try await self.createOrder(body) }
        }
        router.get("/v2/transfer-orders/{id}") { request, context in
            let id = try context.parameters.require("id")
            return try await self.api(request, route: "GET /v2/transfer-orders/{id}", hasBody: false) { _ in
                guard let order = self.orders.withLock({ $0[id] }) else { return Self.error(404, "OrderNotFound", "Order not found") }
                return Self.json(200, order.json)
            }
        }
        router.post("/v2/transfer-orders/{id}/topup") { request, context in
            let id = try context.parameters.require("id")
            return try await self.api(request, route: "POST /v2/transfer-orders/{id}/topup") { body in try await self.topup(id, body) }
        }
        router.post("/__simulator/checkout/{id}") { request, context in
            let id = try context.parameters.require("id")
            var request = request
            let body = JSONValue.parse(Array(try await request.collectBody(upTo: 1 << 16).readableBytesView)) ?? .object([])
            guard
                let event = self.pay(
                    order: id, pan: body["pan"]?.stringValue ?? "", expiry: body["exp"]?.stringValue ?? TestCards.senderExpiry,
                    save: body["save"] == .bool(true))
            else { return Self.error(404, "OrderNotFound", "Order not found") }
            return Self.json(200, event)
        }
        router.post("/__simulator/cards") { request, _ in
            var request = request
            let body = JSONValue.parse(Array(try await request.collectBody(upTo: 1 << 16).readableBytesView)) ?? .object([])
            let pan = body["pan"]?.stringValue ?? TestCards.receiverPAN
            let id = self.saveReceiverCard(pan: pan)
            return Self.json(
                201,
                .object([
                    ("id", .string(id)), ("pan_masked", .string(Self.masked(pan))), ("expiry_date", .string("01/25")),
                    ("payment_system", .string(pan.hasPrefix("4") ? "VISA" : "MASTERCARD")), ("emitter", .string("halykbank")),
                ]))
        }
        router.get("/__simulator/calls") { _, _ in
            Self.json(200, .object(self.counts.withLock { $0 }.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) }))
        }
        return router
    }

    // MARK: API

    private func api(_ request: Request, route: String, hasBody: Bool = true, _ handle: (JSONValue) async throws -> Response) async throws -> Response {
        counts.withLock { $0[route, default: 0] += 1 }
        guard request.headers[.init("API-KEY")!] == apiKey else { return Self.error(401, "Unauthorized", "Invalid API key") }
        guard hasBody else { return try await handle(.null) }
        var request = request
        let bytes = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
        guard let body = JSONValue.parse(bytes), body.isObject else { return Self.error(400, "ValidationError", "Body must be a JSON object") }
        lastBodies.withLock { $0[route] = body }
        return try await handle(body)
    }

    private func createOrder(_ body: JSONValue) async throws -> Response {
        guard case .int(let amount)? = body["amount"], amount > 0 else { return Self.error(400, "ValidationError", "amount must be a positive integer") }
        guard body["type"]?.stringValue == "TOPUP" else { return Self.error(400, "ValidationError", "type must be TOPUP") }
        guard let receiver = body["receiver_id"]?.stringValue, receivers.withLock({ $0[receiver] != nil }) else {
            return Self.error(404, "CardNotFound", "Receiver card not found")
        }
        let id = "tro_" + Self.randomID()
        let fields: [(String, JSONValue)] = [
            ("id", .string(id)), ("status", .string("NOT_TRANSFERRED")), ("created_at", .string(Self.now())), ("shop_id", .string("shp_SIMULATOR")),
            ("type", .string("TOPUP")), ("amount", .int(amount)), ("currency", .string("KZT")),
            ("external_id", body["external_id"] ?? .null), ("description", body["description"] ?? .null), ("extra_info", body["extra_info"] ?? .null),
            ("due_date", body["due_date"] ?? .null), ("corp_card_id", .null), ("receiver_id", .string(receiver)),
            ("back_url", body["back_url"] ?? .null), ("success_url", body["success_url"] ?? .null), ("failure_url", body["failure_url"] ?? .null),
            ("template", .null), ("checkout_url", .string("https://stage-api.ioka.kz/transfer-orders/\(id)")),
        ]
        orders.withLock { $0[id] = Order(fields: fields, amount: amount) }
        // Order creation plays only the answers that are not usable JSON; the other faults are for
        // the topup of the order.
        if let fault = SimulatedFault(amount: amount), fault == .garbage || fault == .duplicateKeys, let response = try await fault.play() {
            return response
        }
        return Self.json(201, .object([("order", .object(fields)), ("order_access_token", .string("\(id)_secret_\(Self.randomID())"))]))
    }

    private func topup(_ id: String, _ body: JSONValue) async throws -> Response {
        guard let order = orders.withLock({ $0[id] }) else { return Self.error(404, "OrderNotFound", "Order not found") }
        guard let senderID = body["sender_id"]?.stringValue, let sender = senders.withLock({ $0[senderID] }) else {
            return Self.error(404, "SenderNotFound", "Saved sender card not found")
        }
        if let fault = SimulatedFault(amount: order.amount), let response = try await fault.play() {
            // The topup happened before the fault: the money moved, the answer was lost.
            record(transferObject(order: id, approved: true, amount: order.amount, sender: sender, tds: false), approved: true, in: id)
            return response
        }
        let approved = order.amount != Outcome.declined
        // The topup answer's sender carries no id (seed).
        var shown = sender
        shown.set("id", nil)
        let transfer = transferObject(order: id, approved: approved, amount: order.amount, sender: shown, tds: false)
        record(transfer, approved: approved, in: id)
        return Self.json(201, transfer)
    }

    // MARK: checkout (the payer on checkout_url)

    /// The payer on `checkout_url`: the seed's sender card with its expiry is approved (and
    /// saved as a `pyr_` sender when `save` is true); anything else is declined
    /// `WRONG_CARD_DATA`. Returns the webhook body ioka would send; nil for an unknown order.
    public func pay(order id: String, pan: String, expiry: String = TestCards.senderExpiry, save: Bool) -> JSONValue? {
        guard let order = orders.withLock({ $0[id] }) else { return nil }
        let approved = pan == TestCards.senderPAN && expiry == TestCards.senderExpiry
        var senderID: JSONValue = .null
        if approved, save { senderID = .string("pyr_" + Self.randomID()) }
        let sender: JSONValue = .object([
            ("id", senderID), ("pan_masked", .string(Self.masked(pan))), ("expiry_date", .string(expiry)), ("holder", .null),
            ("payment_system", .string(pan.hasPrefix("4") ? "VISA" : "MASTERCARD")), ("emitter", .string("halykbank")),
            ("email", .null), ("phone", .null),
        ])
        if let saved = senderID.stringValue { senders.withLock { $0[saved] = sender } }
        let transfer = transferObject(order: id, approved: approved, amount: order.amount, sender: sender, tds: nil)
        record(transfer, approved: approved, in: id)
        let current = orders.withLock { $0[id]! }
        return .object([
            ("event", .string(approved ? "TRANSFER_APPROVED" : "TRANSFER_DECLINED")),
            ("order", .object(current.fields)), ("transfer", transfer),
        ])
    }

    private func transferObject(order id: String, approved: Bool, amount: Int64, sender: JSONValue, tds: Bool?) -> JSONValue {
        let receiver = orders.withLock { $0[id]?.fields.first { $0.0 == "receiver_id" }?.1.stringValue } ?? ""
        return .object([
            ("id", .string("trn_" + Self.randomID())), ("order_id", .string(id)), ("status", .string(approved ? "APPROVED" : "DECLINED")),
            ("created_at", .string(Self.now())), ("transferred_amount", approved ? .int(amount) : .null), ("processing_fee", .double(0)),
            ("sender", sender),
            (
                "acquirer",
                approved ? .object([("name", .string("epay_v2")), ("reference", .string(String(Int64.random(in: 100_000_000_000...999_999_999_999))))]) : .null
            ),
            ("tds", tds.map(JSONValue.bool) ?? .null), ("action", .null),
            (
                "error",
                approved
                    ? .null : .object([("code", .string("WRONG_CARD_DATA")), ("message", .string("Проверьте введённые данные карты и повторите еще раз."))])
            ),
            ("receiver_pan_masked", .string(receivers.withLock { $0[receiver] } ?? "")),
        ])
    }

    private func record(_ transfer: JSONValue, approved: Bool, in id: String) {
        orders.withLock { orders in
            orders[id]?.transfers.append(transfer)
            if approved, let i = orders[id]?.fields.firstIndex(where: { $0.0 == "status" }) { orders[id]?.fields[i].1 = .string("TRANSFERRED") }
        }
    }

    // MARK: helpers

    static func masked(_ pan: String) -> String {
        guard pan.count >= 12 else { return "************" }
        return String(pan.prefix(6)) + String(repeating: "*", count: pan.count - 10) + String(pan.suffix(4))
    }

    static func randomID() -> String {
        String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10))
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return String(f.string(from: Date()).dropLast())
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> Response {
        json(status, .object([("code", .string(code)), ("message", .string(message))]))
    }

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.bytes)))
    }
}
