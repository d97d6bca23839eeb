import Foundation
import NIOHTTP1
import VaultCrypto
import VaultDomain

/// Makes the ioka calls that need a saved card: swaps the vault tokens callers send for the
/// ioka `card_id` / `sender_id` they stand for, calls ioka with the shop's `API-KEY`, and
/// answers with ioka's status and body where every ioka card reference is a vault token again.
/// References seen for the first time (a sender who chose to save the card) are registered on
/// the spot. A topup is never repeated: a retried `Idempotency-Key` replays the first answer.
public struct IokaForwarder: Sendable {
    public let configuration: IokaConfiguration
    let client: ProviderHTTPClient
    let cards: CardVault
    /// The two commits of every call, over the same context as `cards`.
    let ledger: ProviderCallLedger
    let inFlight: InFlightClaims

    public init(configuration: IokaConfiguration, client: ProviderHTTPClient, cards: CardVault, inFlight: InFlightClaims = InFlightClaims()) {
        self.configuration = configuration
        self.client = client
        self.cards = cards
        ledger = ProviderCallLedger(context: cards.context)
        self.inFlight = inFlight
    }

    // MARK: routes

    /// `POST /v2/transfer-orders`: the seed's body with `receiver_id` set to a vault token.
    public func createOrder(body: [UInt8], caller: Caller, idempotencyKey: IdempotencyKey?) async throws -> ProviderAnswer {
        guard let document = JSONValue.parse(body), document.isObject else {
            throw VaultError.malformed(nil, "the request body must be a JSON object")
        }
        let receiver = try Self.token(in: document, field: "receiver_id")
        let external = document["external_id"]?.stringValue.map { ["external_id": $0] } ?? [:]
        let idempotency = try ProviderIdempotency(
            operation: .iokaCreateOrder, canonical: body, given: idempotencyKey, caller: caller,
            cards: cards, inFlight: inFlight, movesMoney: true, reference: external, providerTimeout: configuration.timeout)
        return try await call(
            .POST, path: "/v2/transfer-orders", action: "ioka.transfer_order.create", order: nil,
            needs: [.init(token: receiver, kind: .iokaCard, field: "receiver_id")], idempotency: idempotency, caller: caller
        ) { values in
            var upstream = document
            upstream.set("receiver_id", .string(values["receiver_id"] ?? ""))
            return upstream
        }
    }

    /// `GET /v2/transfer-orders/{id}`, for an order the caller's tenant created through the vault.
    public func order(_ id: String, caller: Caller) async throws -> ProviderAnswer {
        let id = try Self.orderID(id)
        return try await call(
            .GET, path: "/v2/transfer-orders/" + id, action: "ioka.transfer_order.read", order: id, needs: [], idempotency: nil, caller: caller
        ) { _ in nil }
    }

    /// `POST /v2/transfer-orders/{id}/topup` with `{"sender_id": "tok_..."}`.
    public func topup(orderID: String, body: [UInt8], caller: Caller, idempotencyKey: IdempotencyKey?) async throws -> ProviderAnswer {
        let id = try Self.orderID(orderID)
        guard let document = JSONValue.parse(body), case .object(let fields) = document else {
            throw VaultError.malformed(nil, "the request body must be a JSON object")
        }
        for (field, _) in fields where field != "sender_id" {
            throw VaultError.malformed(VaultError.printableField(field), "the topup body takes only sender_id")
        }
        let sender = try Self.token(in: document, field: "sender_id")
        if idempotencyKey == nil { throw StoredResponse.keyRequired }
        let idempotency = try ProviderIdempotency(
            operation: .iokaTopup, canonical: Array(id.utf8) + [0] + body,
            given: idempotencyKey, caller: caller, cards: cards, inFlight: inFlight,
            movesMoney: true, reference: ["order_id": id], providerTimeout: configuration.timeout)
        return try await call(
            .POST, path: "/v2/transfer-orders/\(id)/topup", action: "ioka.transfer_order.topup", order: id,
            needs: [.init(token: sender, kind: .iokaSender, field: "sender_id")], idempotency: idempotency, caller: caller
        ) { values in
            JSONValue.object([("sender_id", .string(values["sender_id"] ?? ""))])
        }
    }

    /// An ioka notification passed on by the edge service: new sender ids registered, and the
    /// same body returned with every ioka card reference replaced by its vault token. One
    /// commit: the credential confirmed, the references registered and the audit row.
    public func event(body: [UInt8], caller: Caller) async throws -> ProviderAnswer {
        let action = "ioka.event"
        guard let document = JSONValue.parse(body), document.isObject else {
            try await ledger.confirm(caller, action: action)
            throw VaultError.malformed(nil, "the event body must be a JSON object")
        }
        let order = Self.orderID(of: document)
        let name = document["event"]?.stringValue.map(Self.eventName) ?? "none"
        return try await ledger.settle(caller: caller, confirming: action) { settlement in
            // References are registered only from events about an order this vault created or
            // read for the caller's tenant: anyone else's event cannot plant a card or sender.
            let known = try order.map { try settlement.owned($0, provider: Self.provider) != nil } ?? false
            let (redacted, tokens) = try Self.redact(document, known: [:], source: action, register: known, in: settlement)
            try settlement.audit(
                action: action, subject: Self.subject(tokens, status: nil, answer: document, extra: "event=\(name)" + (known ? "" : "|order_unknown")),
                outcome: known ? .success : .failure)
            return ProviderAnswer(status: 200, body: redacted.bytes)
        }
    }

    static let provider = "ioka"

    public static let orderNotFound = VaultError(
        .notFound, code: .orderNotFound, message: "no transfer order with this id was created through the vault for this tenant", field: "order_id")

    /// The ioka order a document is about: an event's `order.id` or `transfer.order_id`, a
    /// transfer's `order_id`, or an order object's own top-level `id`.
    static func orderID(of document: JSONValue) -> String? {
        (document["order"]?["id"] ?? document["transfer"]?["order_id"] ?? document["order_id"] ?? document["id"])?.stringValue
            .flatMap { try? orderID($0) }
    }

    // MARK: the call

    /// One call on the pipeline every provider call takes (`ProviderCall`): the references
    /// `needs` names and the `order` (which the caller's tenant must own) read in the first
    /// commit; the references ioka's answer carries registered and the order remembered in the
    /// second.
    private func call(
        _ method: HTTPMethod, path: String, action: String, order: String?, needs: [ProviderReferences.ReferenceNeed],
        idempotency: ProviderIdempotency?, caller: Caller, body build: @escaping @Sendable ([String: String]) -> JSONValue?
    ) async throws -> ProviderAnswer {
        var release = ProviderCallRelease(action: action)
        release.references = needs
        release.object = order.map { .init(id: $0, provider: Self.provider, notFound: Self.orderNotFound, auditedAs: "order=\($0)") }
        let call = ProviderCall(ledger: ledger, client: client, caller: caller, release: release, idempotency: idempotency, timeout: configuration.timeout)
        let headers = [("Accept", "application/json"), ("API-KEY", configuration.apiKey.value)]
        let url = configuration.apiURL.appending(path)
        let named = needs.map(\.token)
        return try await call.run(
            build: { released, _ in ProviderCall.Outgoing(method: method, url: url, headers: headers, json: build(released.references)) },
            failureSubject: { status in Self.subject(named, status: status, answer: nil) },
            settle: { status, answer, released, settlement in
                var known: [ProviderReference: CardToken] = [:]
                for need in needs {
                    if let value = released.references[need.field], let reference = try? ProviderReference(validating: value, kind: need.kind) {
                        known[reference] = need.token
                    }
                }
                let (redacted, seen) = try Self.redact(answer, known: known, source: action, register: true, in: settlement)
                // The order this call created or read is remembered, so that its events may
                // register the sender and card references they carry.
                if status < 400, let order = Self.orderID(of: answer) {
                    try settlement.remember(order, cards: [:], provider: Self.provider)
                }
                return ProviderCall.Settled(
                    answer: ProviderAnswer(status: status, body: redacted.bytes), subject: Self.subject(named + seen, status: status, answer: answer))
            })
    }

    // MARK: redaction

    /// Replaces every ioka card reference in `document` by its vault token: `known` ones from
    /// the request, others looked up or registered (in the call's second commit). Returns the
    /// redacted document and the tokens it now names.
    static func redact(
        _ document: JSONValue, known: [ProviderReference: CardToken], source: String, register: Bool, in settlement: ProviderCallSettlement
    ) throws -> (JSONValue, [CardToken]) {
        let sightings = IokaReferences.find(in: document)
        let unknown = sightings.filter { known[$0.reference] == nil }
        let tokens = known.merging(try settlement.tokens(for: unknown, source: source, register: register)) { a, _ in a }
        let redacted = IokaReferences.replace(in: document, tokens: tokens)
        return (redacted, sightings.compactMap { tokens[$0.reference] })
    }

    // MARK: pieces

    /// The vault token the caller put in `field`; a raw ioka reference there is refused.
    static func token(in document: JSONValue, field: String) throws(VaultError) -> CardToken {
        guard let value = document[field] else { throw .invalid(field, code: .missingField, "\(field) is required") }
        guard let text = value.stringValue, let token = CardToken(text) else {
            throw .invalid(field, code: .invalidToken, "\(field) must be a vault token (tok_...); ioka references stay in the vault")
        }
        return token
    }

    /// An ioka order id from the path: 1 to 64 letters, digits, `_` or `-`.
    static func orderID(_ text: String) throws(VaultError) -> String {
        guard (1...64).contains(text.utf8.count),
            text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F || $0 == 0x2D }),
            !ReferenceDetails.hasDigitRun(text, atLeast: 12)
        else {
            throw .invalid("order_id", code: .invalidOrderId, "order_id must be 1 to 64 letters, digits, _ or -")
        }
        return text
    }

    /// An event name as it may appear in an audit row.
    static func eventName(_ text: String) -> String {
        let plain = (1...40).contains(text.utf8.count) && text.utf8.allSatisfy { (0x41...0x5A).contains($0) || $0 == 0x5F }
        return plain ? text : "other"
    }

    /// The audit subject of a call: the vault tokens, ioka's status and the order id. Never a
    /// reference: the order id is checked before it is written.
    static func subject(_ tokens: [CardToken], status: Int?, answer: JSONValue?, extra: String? = nil) -> String {
        var unique: [CardToken] = []
        for token in tokens where !unique.contains(token) { unique.append(token) }
        var parts = [unique.map(\.rawValue).joined(separator: ",")]
        if let extra { parts.append(extra) }
        if let status { parts.append("status=\(status)") }
        let order = answer?["order"]?["id"]?.stringValue ?? answer?["order_id"]?.stringValue ?? answer?["id"]?.stringValue
        if let order, let id = try? orderID(order) { parts.append("order=\(id)") }
        return parts.joined(separator: "|")
    }
}
