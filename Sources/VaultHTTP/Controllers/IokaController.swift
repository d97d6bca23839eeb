import Hummingbird
import VaultDomain
import VaultProviders

/// `/v1/ioka/...`: ioka card references kept in the vault (scope `ioka:write`) and the ioka
/// calls that need them (scope `ioka:forward`). Callers only ever see vault tokens.
struct IokaController: Sendable {
    let references: ProviderReferences
    let forwarder: IokaForwarder?
    let auth: ClientAuthenticator

    var endpoints: RouteCollection<VaultRequestContext> {
        let routes = RouteCollection(context: VaultRequestContext.self)
        routes.post("cards") { request, context in try await register(CardReferenceRequest.self, .iokaCard, request, context) }
        routes.post("senders") { request, context in try await register(SenderReferenceRequest.self, .iokaSender, request, context) }
        routes.post("transfer-orders", use: createOrder)
        routes.get("transfer-orders/{order_id}", use: order)
        routes.post("transfer-orders/{order_id}/topup", use: topup)
        routes.post("events", use: event)
        return routes
    }

    /// Routes under `/v1/cards`.
    var cardEndpoints: RouteCollection<VaultRequestContext> {
        let routes = RouteCollection(context: VaultRequestContext.self)
        routes.put("{token}/ioka-card", use: attachCard)
        return routes
    }

    static let notConfigured = APIError(
        status: .serviceUnavailable, code: .providerNotConfigured,
        message: "ioka is not configured on this vault (IOKA_API_URL, IOKA_API_KEY)")

    /// A registration body: a reference and what ioka reported about its card.
    protocol ReferenceRequest: RequestBody {
        var input: ReferenceInput { get }
    }

    /// `POST /v1/ioka/cards` and `PUT /v1/cards/{token}/ioka-card` body.
    struct CardReferenceRequest: ReferenceRequest {
        enum Keys: String, CaseIterable {
            case cardID = "card_id", customerID = "customer_id", panMasked = "pan_masked", expiryDate = "expiry_date"
            case paymentSystem = "payment_system", emitter
        }
        var input: ReferenceInput

        init(_ o: StrictObject<Keys>) throws(VaultError) {
            input = ReferenceInput(
                value: try o.string(.cardID), customerID: try o.string(.customerID), panMasked: try o.string(.panMasked),
                expiryDate: try o.string(.expiryDate), paymentSystem: try o.string(.paymentSystem), emitter: try o.string(.emitter))
        }
    }

    /// `POST /v1/ioka/senders` body.
    struct SenderReferenceRequest: ReferenceRequest {
        enum Keys: String, CaseIterable {
            case senderID = "sender_id", panMasked = "pan_masked", expiryDate = "expiry_date", paymentSystem = "payment_system", emitter
        }
        var input: ReferenceInput

        init(_ o: StrictObject<Keys>) throws(VaultError) {
            input = ReferenceInput(
                value: try o.string(.senderID), panMasked: try o.string(.panMasked), expiryDate: try o.string(.expiryDate),
                paymentSystem: try o.string(.paymentSystem), emitter: try o.string(.emitter))
        }
    }

    func register<Body: ReferenceRequest>(
        _ type: Body.Type, _ kind: ProviderReferenceKind, _ request: Request, _ context: VaultRequestContext
    ) async throws -> Response {
        try await auth.serving(request, context, scope: .iokaWrite, action: "\(kind.rawValue).register") { caller in
            let key = try request.idempotencyKey()
            var request = request
            let body = try await request.decodeJSON(Body.self)
            return .json(try await references.register(body.input, kind: kind, caller: caller, idempotencyKey: key))
        }
    }

    @Sendable func attachCard(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .iokaWrite, action: "ioka.card.attach") { caller in
            let key = try request.idempotencyKey()
            let token = try context.parameters.require("token")
            var request = request
            let body = try await request.decodeJSON(CardReferenceRequest.self)
            return .json(try await references.attach(body.input, kind: .iokaCard, to: token, caller: caller, idempotencyKey: key))
        }
    }

    @Sendable func createOrder(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await forwarding(request, context, action: "ioka.transfer_order.create") { caller, forwarder in
            let key = try request.idempotencyKey()
            var request = request
            return try await request.withBodyBytes { body in try await forwarder.createOrder(body: body, caller: caller, idempotencyKey: key) }
        }
    }

    @Sendable func order(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await forwarding(request, context, action: "ioka.transfer_order.read") { caller, forwarder in
            try await forwarder.order(try context.parameters.require("order_id"), caller: caller)
        }
    }

    @Sendable func topup(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await forwarding(request, context, action: "ioka.transfer_order.topup") { caller, forwarder in
            let key = try request.idempotencyKey()
            let id = try context.parameters.require("order_id")
            var request = request
            return try await request.withBodyBytes { body in try await forwarder.topup(orderID: id, body: body, caller: caller, idempotencyKey: key) }
        }
    }

    @Sendable func event(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await forwarding(request, context, scope: .iokaEvents, action: "ioka.event") { caller, forwarder in
            var request = request
            return try await request.withBodyBytes { body in try await forwarder.event(body: body, caller: caller) }
        }
    }

    /// A forwarding route: scope `ioka:forward`, 503 when ioka is not configured, the answer
    /// with ioka's status.
    private func forwarding(
        _ request: Request, _ context: VaultRequestContext, scope: Scope = .iokaForward, action: String,
        _ body: (Caller, IokaForwarder) async throws -> ProviderAnswer
    ) async throws -> Response {
        try await auth.serving(request, context, scope: scope, action: action) { caller in
            guard let forwarder else { throw Self.notConfigured }
            let answer = try await body(caller, forwarder)
            return .json(.init(code: answer.status), answer.body)
        }
    }
}
