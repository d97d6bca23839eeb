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
    /// The ioka references, over the same context as `cards`.
    let references: ProviderReferences
    let inFlight: InFlightClaims

    public init(configuration: IokaConfiguration, client: ProviderHTTPClient, cards: CardVault, inFlight: InFlightClaims = InFlightClaims()) {
        self.configuration = configuration
        self.client = client
        self.cards = cards
        references = ProviderReferences(context: cards.context)
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
            .POST, path: "/v2/transfer-orders", action: "ioka.transfer_order.create",
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
        try await cards.confirm(caller, action: "ioka.transfer_order.read")
        try await requireOwnedOrder(id, action: "ioka.transfer_order.read", caller: caller)
        return try await call(.GET, path: "/v2/transfer-orders/" + id, action: "ioka.transfer_order.read", needs: [], idempotency: nil, caller: caller) { _ in
            nil
        }
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
        try await requireOwnedOrder(id, action: "ioka.transfer_order.topup", caller: caller)
        let idempotency = try ProviderIdempotency(
            operation: .iokaTopup, canonical: Array(id.utf8) + [0] + body,
            given: idempotencyKey, caller: caller, cards: cards, inFlight: inFlight,
            movesMoney: true, reference: ["order_id": id], providerTimeout: configuration.timeout)
        return try await call(
            .POST, path: "/v2/transfer-orders/\(id)/topup", action: "ioka.transfer_order.topup",
            needs: [.init(token: sender, kind: .iokaSender, field: "sender_id")], idempotency: idempotency, caller: caller
        ) { values in
            JSONValue.object([("sender_id", .string(values["sender_id"] ?? ""))])
        }
    }

    /// An ioka notification passed on by the edge service: new sender ids registered, and the
    /// same body returned with every ioka card reference replaced by its vault token.
    public func event(body: [UInt8], caller: Caller) async throws -> ProviderAnswer {
        try await cards.confirm(caller, action: "ioka.event")
        guard let document = JSONValue.parse(body), document.isObject else {
            throw VaultError.malformed(nil, "the event body must be a JSON object")
        }
        // References are registered only from events about an order this vault created or read
        // for the caller's tenant: anyone else's event cannot plant a card or sender.
        var known = false
        if let id = Self.orderID(of: document) {
            let (objects, tenant) = (try objects(), caller.tenant)
            known = try await cards.store.read { try objects.owned(id, provider: Self.provider, tenant: tenant, in: $0) } != nil
        }
        let (redacted, tokens) = try await redact(document, known: [:], source: "ioka.event", caller: caller, register: known)
        let name = document["event"]?.stringValue.map(Self.eventName) ?? "none"
        try await cards.auditProviderCall(
            action: "ioka.event",
            subject: Self.subject(tokens, status: nil, answer: document, extra: "event=\(name)" + (known ? "" : "|order_unknown")),
            outcome: known ? .success : .failure, caller: caller)
        return ProviderAnswer(status: 200, body: redacted.bytes)
    }

    static let provider = "ioka"

    /// The orders each tenant created through the vault.
    func objects() throws -> ProviderObjects {
        ProviderObjects(keys: try cards.keys.derivedKeys())
    }

    public static let orderNotFound = VaultError(
        .notFound, code: .orderNotFound, message: "no transfer order with this id was created through the vault for this tenant", field: "order_id")

    /// Refuses, as unknown and before ioka is called, an order the caller's tenant did not
    /// create through the vault: another tenant's order id gets exactly what an unknown one gets.
    private func requireOwnedOrder(_ id: String, action: String, caller: Caller) async throws {
        let (objects, tenant) = (try objects(), caller.tenant)
        let owned = try await cards.store.read { try objects.owned(id, provider: Self.provider, tenant: tenant, in: $0) } != nil
        guard owned else {
            try await cards.auditProviderCall(action: action, subject: "order=\(id)|not_found", outcome: .failure, caller: caller)
            throw Self.orderNotFound
        }
    }

    /// The ioka order a document is about: an event's `order.id` or `transfer.order_id`, a
    /// transfer's `order_id`, or an order object's own top-level `id`.
    static func orderID(of document: JSONValue) -> String? {
        (document["order"]?["id"] ?? document["transfer"]?["order_id"] ?? document["order_id"] ?? document["id"])?.stringValue
            .flatMap { try? orderID($0) }
    }

    // MARK: the call

    private func call(
        _ method: HTTPMethod, path: String, action: String, needs: [ProviderReferences.ReferenceNeed], idempotency: ProviderIdempotency?,
        caller: Caller, body build: @Sendable ([String: String]) -> JSONValue?
    ) async throws -> ProviderAnswer {
        // 1. A retry replays the first answer; a duplicate still in flight is refused.
        if let replayed = try await idempotency?.replay() { return replayed }
        guard let idempotency else {
            return try await send(method, path: path, action: action, needs: needs, idempotency: nil, caller: caller, body: build)
        }
        return try await idempotency.holding {
            try await send(method, path: path, action: action, needs: needs, idempotency: idempotency, caller: caller, body: build)
        }
    }

    /// Steps 2 to 4 of `call`, while this call holds the idempotency claim (if any).
    private func send(
        _ method: HTTPMethod, path: String, action: String, needs: [ProviderReferences.ReferenceNeed], idempotency: ProviderIdempotency?,
        caller: Caller, body build: @Sendable ([String: String]) -> JSONValue?
    ) async throws -> ProviderAnswer {
        // 2. The references, read and audited, and the key claimed in the same commit.
        var values: [String: String] = [:]
        if !needs.isEmpty {
            values = try await references.referencesForProvider(needs, action: action + ".reference", caller: caller, alongside: idempotency?.claim)
        }
        var known: [ProviderReference: CardToken] = [:]
        for need in needs {
            if let value = values[need.field], let reference = try? ProviderReference(validating: value, kind: need.kind) { known[reference] = need.token }
        }
        let upstream = build(values)
        let named = needs.map(\.token)

        // 3. Call ioka.
        let headers = [("Accept", "application/json"), ("API-KEY", configuration.apiKey.value)]
        let reply: ProviderHTTPClient.Reply
        do {
            reply = try await client.send(method, url: configuration.apiURL.appending(path), headers: headers, json: upstream, timeout: configuration.timeout)
        } catch {
            // Nothing sent: the key is free again. Otherwise the failure is the answer a retry gets.
            if error.nothingSent { try await idempotency?.release() } else { try await idempotency?.fail(error) }
            try await cards.auditProviderCall(action: action, subject: Self.subject(named, status: nil, answer: nil), outcome: .failure, caller: caller)
            throw error.vaultError
        }

        // 4. Redact (registering references seen for the first time) and answer.
        let answer: JSONValue
        do {
            answer = try reply.document()
        } catch {
            try await idempotency?.fail(error)
            try await cards.auditProviderCall(
                action: action, subject: Self.subject(named, status: reply.status, answer: nil), outcome: .failure, caller: caller)
            throw error.vaultError
        }
        let (redacted, seen) = try await redact(answer, known: known, source: action, caller: caller)
        let result = ProviderAnswer(status: reply.status, body: redacted.bytes)
        // The order this call created or read is remembered, so that its events may register the
        // sender and card references they carry.
        let order = Self.orderID(of: answer)
        let (record, tenant, now, objects) = (idempotency?.record(result), caller.tenant, cards.clock(), try objects())
        try await cards.auditProviderCall(
            action: action, subject: Self.subject(named + seen, status: reply.status, answer: answer),
            outcome: reply.status < 400 ? .success : .failure, caller: caller
        ) { tx in
            try record?(tx)
            if reply.status < 400, let order {
                try objects.remember(order, cards: [:], provider: Self.provider, tenant: tenant, at: now, in: tx)
            }
        }
        return result
    }

    // MARK: redaction

    /// Replaces every ioka card reference in `document` by its vault token: `known` ones from
    /// the request, others looked up or registered. Returns the redacted document and the
    /// tokens it now names.
    func redact(
        _ document: JSONValue, known: [ProviderReference: CardToken], source: String, caller: Caller,
        register: Bool = true
    ) async throws -> (JSONValue, [CardToken]) {
        let sightings = IokaReferences.find(in: document)
        let unknown = sightings.filter { known[$0.reference] == nil }
        let tokens = known.merging(try await references.tokens(for: unknown, source: source, caller: caller, register: register)) { a, _ in a }
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
