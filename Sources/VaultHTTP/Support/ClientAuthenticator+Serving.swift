import Hummingbird
import VaultDomain

extension ClientAuthenticator {
    /// Authenticates `request` for `scope`, then runs `body` as that caller. Secrets are served
    /// from a cache, and each operation confirms the credential inside its own transaction; when
    /// `body` fails before such a transaction (a malformed body, an invalid card, a provider
    /// that is not configured), the credential is confirmed before the failure is answered. So
    /// after `clients revoke` or `rotate-secret` the old secret gets 401 on every route, whatever
    /// else is wrong with the request. A request that failed on storage is not confirmed again:
    /// that would be a second write waiting on the same database, past the request's bound.
    func serving(
        _ request: Request, _ context: VaultRequestContext, scope: Scope, action: String,
        _ body: (Caller) async throws -> Response
    ) async throws -> Response {
        let caller = try await authenticate(secret: request.bearerSecret, scope: scope, actor: context.actor())
        do {
            return try await body(caller)
        } catch let error as VaultError where error.kind == .unauthenticated || error.isStorageFailure {
            throw error
        } catch {
            try await confirm(caller, action: action)
            throw error
        }
    }
}
