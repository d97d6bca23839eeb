import Hummingbird
import VaultDomain
import VaultProviders

/// `/v1/horizonpay/...`: Horizonpay P2P requests carrying vault tokens (scope
/// `horizonpay:forward`). The vault builds the card objects, calls Horizonpay and answers with
/// Horizonpay's status and a redacted body.
struct HorizonpayController: Sendable {
    let forwarder: HorizonpayForwarder?
    let auth: ClientAuthenticator

    var endpoints: RouteCollection<VaultRequestContext> {
        let routes = RouteCollection(context: VaultRequestContext.self)
        for route in HorizonpayRoute.allCases {
            routes.post(RouterPath(stringLiteral: route.rawValue)) { request, context in
                try await forward(route, request, context)
            }
        }
        routes.get("checkout/async/jobs/{job_id}", use: job)
        routes.post("notifications", use: notification)
        return routes
    }

    static let notConfigured = APIError(
        status: .serviceUnavailable, code: .providerNotConfigured,
        message: "Horizonpay is not configured on this vault (HORIZONPAY_* settings)")

    func forward(_ route: HorizonpayRoute, _ request: Request, _ context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .horizonpayForward, action: route.auditAction) { caller in
            guard let forwarder else { throw Self.notConfigured }
            let key = try request.idempotencyKey()
            var request = request
            let answer = try await request.withBodyBytes { body in try await forwarder.forward(route, body: body, caller: caller, idempotencyKey: key) }
            return .json(.init(code: answer.status), answer.body)
        }
    }

    @Sendable func notification(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .horizonpayNotify, action: "horizonpay.notification") { caller in
            guard let forwarder else { throw Self.notConfigured }
            let signature = request.headers[.init("Content-Signature")!]
            var request = request
            let answer = try await request.withBodyBytes { body in try await forwarder.notification(body: body, signature: signature, caller: caller) }
            return .json(.init(code: answer.status), answer.body)
        }
    }

    @Sendable func job(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .horizonpayForward, action: "horizonpay.job") { caller in
            guard let forwarder else { throw Self.notConfigured }
            let answer = try await forwarder.job(try context.parameters.require("job_id"), caller: caller)
            return .json(.init(code: answer.status), answer.body)
        }
    }
}
