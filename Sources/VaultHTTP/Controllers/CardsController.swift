import Hummingbird
import VaultDomain

/// `/v1/cards`: tokenize, read metadata, update, delete.
struct CardsController: Sendable {
    let cards: CardVault
    let auth: ClientAuthenticator

    var endpoints: RouteCollection<VaultRequestContext> {
        let routes = RouteCollection(context: VaultRequestContext.self)
        routes.post(use: create)
        routes.get("{token}", use: show)
        routes.patch("{token}", use: update)
        routes.delete("{token}", use: remove)
        return routes
    }

    /// `POST /v1/cards` body.
    struct CreateRequest: RequestBody {
        enum Keys: String, CaseIterable {
            case number, holder
            case expMonth = "exp_month", expYear = "exp_year", verificationValue = "verification_value", retainUntil = "retain_until"
        }
        static let sensitive: Set<Keys> = [.number, .verificationValue]
        var input: CardInput

        init(_ object: StrictObject<Keys>) throws(VaultError) {
            input = CardInput(
                number: try object.sensitive(.number), expMonth: try object.stringOrInteger(.expMonth),
                expYear: try object.stringOrInteger(.expYear), holder: try object.string(.holder),
                verificationValue: try object.sensitive(.verificationValue), retainUntil: try object.string(.retainUntil))
        }
    }

    /// `PATCH /v1/cards/{token}` body.
    struct UpdateRequest: RequestBody {
        enum Keys: String, CaseIterable {
            case holder
            case expMonth = "exp_month", expYear = "exp_year", verificationValue = "verification_value", retainUntil = "retain_until"
        }
        static let sensitive: Set<Keys> = [.verificationValue]
        var changes: CardChanges

        init(_ object: StrictObject<Keys>) throws(VaultError) {
            changes = CardChanges(
                expMonth: try object.stringOrInteger(.expMonth), expYear: try object.stringOrInteger(.expYear),
                holder: try object.string(.holder), verificationValue: try object.sensitive(.verificationValue),
                retainUntil: try object.string(.retainUntil))
        }
    }

    @Sendable func create(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .cardsWrite, action: "card.create") { caller in
            let key = try request.idempotencyKey()
            var request = request
            let body = try await request.decodeJSON(CreateRequest.self)
            return .json(try await cards.tokenize(body.input, caller: caller, idempotencyKey: key))
        }
    }

    @Sendable func show(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .cardsRead, action: "card.read") { caller in
            .json(try await cards.metadata(of: try context.parameters.require("token"), caller: caller))
        }
    }

    @Sendable func update(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .cardsWrite, action: "card.update") { caller in
            let key = try request.idempotencyKey()
            let token = try context.parameters.require("token")
            var request = request
            let body = try await request.decodeJSON(UpdateRequest.self)
            return .json(try await cards.update(token, changes: body.changes, caller: caller, idempotencyKey: key))
        }
    }

    @Sendable func remove(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try await auth.serving(request, context, scope: .cardsWrite, action: "card.delete") { caller in
            let key = try request.idempotencyKey()
            return .json(try await cards.delete(try context.parameters.require("token"), caller: caller, idempotencyKey: key))
        }
    }
}
