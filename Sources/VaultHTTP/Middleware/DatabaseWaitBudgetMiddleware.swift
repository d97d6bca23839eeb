import Hummingbird
import VaultDomain

/// Gives every request one `DatabaseWaitBudget`: all its transactions together wait at most
/// CARDVAULT_DATABASE_TIMEOUT on the database.
struct DatabaseWaitBudgetMiddleware: RouterMiddleware {
    typealias Context = VaultRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await DatabaseWaitBudget.$current.withValue(DatabaseWaitBudget()) { try await next(request, context) }
    }
}
