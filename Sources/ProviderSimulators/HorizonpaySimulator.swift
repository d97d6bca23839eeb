import Foundation
import Hummingbird
import NIOCore
import Synchronization
import VaultProviders

/// A local stand-in for Horizonpay's P2P API that follows the seed (horizonpay-p2p-api.txt):
/// Basic auth on the gateway, Bearer + `X-Api-Version: 2` on checkout, card validation, and the
/// documented answer shapes, with `stamp` and `token` in card objects so that redaction is
/// exercised. Outcomes are chosen by amount (see `Outcome`). It counts calls per path.
public final class HorizonpaySimulator: Sendable {
    public let shopID: String
    public let secretKey: String
    public let publicKey: String
    /// How long each card request takes to answer, as a real provider's processing time would
    /// (benchmarks; zero by default).
    public let latency: Duration
    private let counts = Mutex<[String: Int]>([:])
    private let jobs = Mutex<[String: (polls: Int, response: JSONValue)]>([:])
    private let lastRequests = Mutex<[String: JSONValue]>([:])
    /// Transfers received per `tracking_id`: a money move the vault sent twice shows up here.
    private let transfers = Mutex<[String: Int]>([:])

    public init(shopID: String = "29", secretKey: String = "sim-secret-key", publicKey: String = "sim-public-key", latency: Duration = .zero) {
        self.shopID = shopID
        self.secretKey = secretKey
        self.publicKey = publicKey
        self.latency = latency
    }

    /// Amounts that pick an outcome; any other amount succeeds.
    public enum Outcome {
        /// Restriction checks: transfer not possible, holder required.
        public static let requiredFields: Int64 = 7700
        /// Transfers: declined.
        public static let failed: Int64 = 4040
        /// Transfers: 3-D Secure needed, `incomplete` with `redirect_url`.
        public static let incomplete: Int64 = 3000
        /// Transfers: a uid whose last group is 12 digits (as one UUID in ~280 has).
        public static let digitUID: Int64 = 1212
        /// Answers after 3 seconds (timeout tests).
        public static let slow = SimulatedFault.Amount.slow
        /// Answers with a body that is not JSON.
        public static let garbage = SimulatedFault.Amount.garbage
        /// Answers 500.
        public static let serverError = SimulatedFault.Amount.serverError
        /// Closes the connection after the head of the answer.
        public static let reset = SimulatedFault.Amount.reset
        /// Puts the source card number into `message` (checks the vault's last-resort masking).
        public static let echoesNumber: Int64 = 6060
    }

    /// The card objects of the last request that reached `path`, as received (tests check the
    /// payload the vault built).
    public func lastCards(_ path: String) -> JSONValue? { lastRequests.withLock { $0[path] } }

    /// How many calls reached `path` (e.g. `/transactions/p2ps`).
    public func calls(_ path: String) -> Int { counts.withLock { $0[path] ?? 0 } }
    /// How many `tracking_id`s reached a transfer path more than once.
    public var repeatedTransfers: Int { transfers.withLock { $0.values.filter { $0 > 1 }.count } }
    /// Calls on every path together.
    public var totalCalls: Int { counts.withLock { $0.values.reduce(0, +) } }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        for (path, gateway, transfer) in [
            ("/p2p-restrictions", true, false), ("/transactions/p2ps", true, true),
            ("/ctp/api/verify-p2p", false, false), ("/ctp/api/p2p", false, true),
        ] {
            router.post(RouterPath(stringLiteral: path)) { request, _ in
                try await self.handle(request, path: path, gateway: gateway, transfer: transfer, async: false)
            }
        }
        for (path, transfer) in [("/ctp/api/async/verify-p2p", false), ("/ctp/api/async/p2p", true)] {
            router.post(RouterPath(stringLiteral: path)) { request, _ in
                try await self.handle(request, path: path, gateway: false, transfer: transfer, async: true)
            }
        }
        router.get("/ctp/api/async/jobs/{id}") { request, context in
            self.count("/ctp/api/async/jobs")
            if let denied = self.checkBearer(request) { return denied }
            let id = try context.parameters.require("id")
            let state = self.jobs.withLock { jobs -> (Int, JSONValue)? in
                guard var job = jobs[id] else { return nil }
                job.polls += 1
                jobs[id] = job
                return (job.polls, job.response)
            }
            guard let (polls, response) = state else { return Self.json(404, .object([("message", .string("job not found"))])) }
            if polls == 1 { return Self.json(200, .object([("status", .string("new")), ("job_id", .string(id))])) }
            return Self.json(200, .object([("status", .string("done")), ("job_id", .string(id)), ("response", response)]))
        }
        router.get("/__simulator/calls") { _, _ in
            let counts = self.counts.withLock { $0 }.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int(Int64($0.value))) }
            return Self.json(200, .object(counts + [("repeated_tracking_ids", .int(Int64(self.repeatedTransfers)))]))
        }
        return router
    }

    private func count(_ path: String) { counts.withLock { $0[path, default: 0] += 1 } }

    private func checkBearer(_ request: Request) -> Response? {
        guard request.headers[.authorization] == "Bearer \(publicKey)" else { return Self.json(401, .object([("message", .string("Unauthorized"))])) }
        guard request.headers[.init("X-Api-Version")!] == "2" else {
            return Self.json(400, .object([("message", .string("X-Api-Version 2 is required"))]))
        }
        return nil
    }

    private func handle(_ request: Request, path: String, gateway: Bool, transfer: Bool, async: Bool) async throws -> Response {
        count(path)
        if latency > .zero { try await Task.sleep(for: latency) }
        if gateway {
            let expected = "Basic " + Data("\(shopID):\(secretKey)".utf8).base64EncodedString()
            guard request.headers[.authorization] == expected else { return Self.json(401, .object([("message", .string("Unauthorized"))])) }
        } else if let denied = checkBearer(request) {
            return denied
        }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        guard let document = JSONValue.parse(Array(body.readableBytesView)), let req = document["request"], req.isObject else {
            return Self.json(400, .object([("message", .string("request is required"))]))
        }
        lastRequests.withLock { $0[path] = req }
        if transfer, let tracking = req["tracking_id"]?.stringValue { transfers.withLock { $0[tracking, default: 0] += 1 } }
        var errors: [(String, JSONValue)] = []
        guard case .int(let amount)? = req["amount"] else { return invalid([("amount", .array([.string("must be an integer")]))]) }
        if req["currency"]?.stringValue?.count != 3 { errors.append(("currency", .array([.string("is unknown ISO 4217 Alpha-3 code")]))) }
        if transfer && req["description"]?.stringValue == nil { errors.append(("description", .array([.string("can't be blank")]))) }
        for key in ["credit_card", "recipient_card"] {
            let problems = Self.cardProblems(req[key], needsCode: transfer && key == "credit_card")
            if !problems.isEmpty { errors.append((key, .object(problems))) }
        }
        if !errors.isEmpty { return invalid(errors) }

        if let fault = SimulatedFault(amount: amount), let response = try await fault.play() { return response }
        let answer = transfer ? transaction(req, amount: amount) : restriction(amount: amount)
        if async {
            let id = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24)).lowercased()
            jobs.withLock { $0[id] = (0, answer) }
            return Self.json(200, .object([("status", .string("new")), ("job_id", .string(id))]))
        }
        return Self.json(200, answer)
    }

    private func invalid(_ errors: [(String, JSONValue)]) -> Response {
        Self.json(422, .object([("error_code", .string("invalid_params")), ("message", .string("Unprocessable entity")), ("errors", .object(errors))]))
    }

    static func cardProblems(_ card: JSONValue?, needsCode: Bool) -> [(String, JSONValue)] {
        guard let card, card.isObject else { return [("number", .array([.string("can't be blank")]))] }
        var problems: [(String, JSONValue)] = []
        // A token from an earlier answer may stand in for number and expiry (seed: credit_card.token).
        if let token = card["token"]?.stringValue {
            if !token.hasPrefix("hp_tok_") { problems.append(("token", .array([.string("is invalid")]))) }
            if card["number"] != nil { problems.append(("number", .array([.string("must be blank when token is given")]))) }
        } else {
            let number = card["number"]?.stringValue ?? ""
            if !(12...19).contains(number.count) || !number.allSatisfy(\.isNumber) || !luhn(number) {
                problems.append(("number", .array([.string("is not a card number")])))
            }
        }
        if let m = card["exp_month"] {
            if m.stringValue?.count != 2 || Int(m.stringValue ?? "").map({ !(1...12).contains($0) }) ?? true {
                problems.append(("exp_month", .array([.string("is invalid")])))
            }
        }
        if let y = card["exp_year"], y.stringValue?.count != 4 { problems.append(("exp_year", .array([.string("is invalid")]))) }
        if let h = card["holder"], (h.stringValue?.count ?? 99) > 35 {
            problems.append(("holder", .array([.string("is too long (maximum is 35 characters)")])))
        }
        if needsCode {
            let code = card["verification_value"]?.stringValue ?? ""
            if !(3...4).contains(code.count) || !code.allSatisfy(\.isNumber) { problems.append(("verification_value", .array([.string("is invalid")]))) }
        }
        return problems
    }

    static func luhn(_ number: String) -> Bool {
        var sum = 0
        for (i, c) in number.reversed().enumerated() {
            guard var d = c.wholeNumberValue else { return false }
            if i % 2 == 1 { d *= 2; if d > 9 { d -= 9 } }
            sum += d
        }
        return sum % 10 == 0
    }

    private func restriction(amount: Int64) -> JSONValue {
        if amount == Outcome.requiredFields {
            return .object([
                ("status", .string("failed")), ("message", .string("Missed credit card fields: holder.Missed recipient card fields: holder.")),
                ("required_fields", .object([("credit_card", .array([.string("holder")])), ("recipient_card", .array([.string("holder")]))])),
            ])
        }
        return .object([
            ("status", .string("successful")), ("message", .string("p2p is allowed")),
            ("commission", .object([("minimum", .double(0.7)), ("percent", .double(1.5)), ("bank_fee", .double(7.35)), ("currency", .string("USD"))])),
        ])
    }

    private func transaction(_ req: JSONValue, amount: Int64) -> JSONValue {
        let status = amount == Outcome.failed ? "failed" : amount == Outcome.incomplete ? "incomplete" : "successful"
        let oneclick: Bool = {
            guard case .array(let items)? = req["additional_data"]?["contract"] else { return false }
            return items.contains(.string("oneclick"))
        }()
        let source = req["credit_card"]?["number"]?.stringValue ?? ""
        var message = status == "failed" ? "Transaction declined" : "Successfully processed"
        if amount == Outcome.echoesNumber { message = "Card \(source) processed" }
        var uid = UUID().uuidString.lowercased()
        if amount == Outcome.digitUID { uid = String(uid.dropLast(12)) + "401200103714" }
        var fields: [(String, JSONValue)] = [
            ("uid", .string(uid)), ("status", .string(status)), ("amount", .int(amount)),
            ("currency", req["currency"] ?? .null), ("description", req["description"] ?? .null), ("type", .string("p2p")),
            ("payment_method_type", .string("credit_card")), ("tracking_id", req["tracking_id"] ?? .null), ("message", .string(message)),
            ("test", req["test"] ?? .bool(false)), ("created_at", .string("2026-11-23T10:00:00Z")), ("language", req["language"] ?? .string("en")),
            ("credit_card", Self.cardAnswer(req["credit_card"], oneclick: oneclick)),
            ("recipient_card", Self.cardAnswer(req["recipient_card"], oneclick: oneclick)),
        ]
        if status == "incomplete" { fields.append(("redirect_url", .string("https://checkout.horizonpay.kz/v2/confirm_3ds?token=\(uid)"))) }
        if status == "successful" { fields.append(("paid_at", .string("2026-11-23T10:00:01Z"))) }
        return .object([("transaction", .object(fields))])
    }

    static func cardAnswer(_ card: JSONValue?, oneclick: Bool) -> JSONValue {
        let number = card?["number"]?.stringValue ?? ""
        var fields: [(String, JSONValue)] = [
            ("holder", card?["holder"] ?? .null),
            ("stamp", .string(String(format: "%016llx", UInt64(bitPattern: Int64(number.hashValue))))),
            ("brand", .string(number.hasPrefix("4") ? "visa" : number.hasPrefix("5") ? "master" : "unknown")),
            ("last_4", .string(String(number.suffix(4)))), ("first_1", .string(String(number.prefix(1)))),
            ("bin", .string(String(number.prefix(6)))), ("issuer_country", .string("KZ")), ("issuer_name", .string("SIM BANK")),
            ("exp_month", card?["exp_month"] ?? .null), ("exp_year", card?["exp_year"] ?? .null),
        ]
        if oneclick { fields.append(("token", .string("hp_tok_" + String(UUID().uuidString.prefix(8))))) }
        return .object(fields)
    }

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.bytes)))
    }
}
