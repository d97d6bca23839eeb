import Hummingbird
import VaultDomain

/// While the vault is sealed every `/v1` route answers 503 `sealed` before any work (no body
/// is read, no client looked up); health, readiness and metrics stay up.
struct SealGateMiddleware: RouterMiddleware {
    typealias Context = VaultRequestContext
    let keys: KeyRing

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if keys.isSealed, request.uri.path.hasPrefix("/v1/") {
            throw APIError(VaultError.sealed)
        }
        return try await next(request, context)
    }
}
