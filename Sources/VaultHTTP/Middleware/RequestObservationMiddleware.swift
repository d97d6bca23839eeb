import Hummingbird
import Logging
import NIOHTTP1
import VaultDomain
import VaultCrypto

/// Outermost middleware: assigns the request id, gives the request its `DatabaseWaitBudget`
/// (all its transactions together wait at most CARDVAULT_DATABASE_TIMEOUT), turns every error
/// into the JSON error answer (unknown errors become a bare 500 with no detail), and records
/// metrics.
struct RequestObservationMiddleware: RouterMiddleware {
    typealias Context = VaultRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.requestID = Self.requestID(from: request)
        let database = DatabaseWaitBudget()
        var response: Response
        do {
            response = try await DatabaseWaitBudget.$current.withValue(database) { try await next(request, context) }
        } catch {
            response = Self.response(
                for: error, request: request, context: context, metrics: metrics, took: ContinuousClock.now - started, database: database.spent)
        }
        response.headers[.init("X-Request-Id")!] = context.requestID
        let route = context.endpointPath ?? "unmatched"
        metrics.record(method: request.method.rawValue, route: route, status: response.status.code, duration: ContinuousClock.now - started)
        return response
    }

    static func response(
        for error: any Error, request: Request, context: Context, metrics: HTTPMetrics, took: Duration = .zero, database: Duration = .zero
    ) -> Response {
        let apiError: APIError
        switch error {
        case let e as APIError: apiError = e
        case let e as VaultError: apiError = APIError(e)
        case let e as HTTPError:
            apiError =
                switch e.status {
                case .notFound: .notFound
                case .contentTooLarge: .tooLarge
                case .methodNotAllowed: APIError(status: .methodNotAllowed, code: .methodNotAllowed, message: "this route does not take that method")
                default: APIError(status: e.status, code: .httpError, message: e.status.reasonPhrase)
                }
        case is HTTPParserError:
            // Malformed framing met while the body was read (an unknown Transfer-Encoding, a chunk
            // size that overflows): the caller's fault, and the connection is not reused.
            apiError = APIError(
                status: .badRequest, code: .malformedRequest, message: "the request's framing is malformed (Transfer-Encoding or chunk sizes)")
            var response = (try? apiError.response(from: request, context: context)) ?? Response(status: .badRequest)
            response.headers[.connection] = "close"
            metrics.refused(code: apiError.code)
            return response
        default:
            // Only the type is logged: an error's description might carry data.
            context.logger.error("unexpected error", metadata: ["error_type": "\(type(of: error))", "request_id": "\(context.requestID)"])
            apiError = .internalError
        }
        metrics.refused(code: apiError.code)
        if apiError.status.code >= 500 {
            // Storage failures are logged once per episode, with their cause (`StorageFailures`)
            // and counted by the metrics: each request that met one is a notice, not a warning.
            let storage = apiError.code == .storageUnavailable || apiError.code == .storageUnconfirmed
            context.logger.log(
                level: storage ? .notice : .warning, "request failed",
                metadata: [
                    "code": "\(apiError.code)", "request_id": "\(context.requestID)", "took_ms": "\(Int(took / .milliseconds(1)))",
                    "database_ms": "\(Int(database / .milliseconds(1)))",
                ])
        }
        return (try? apiError.response(from: request, context: context)) ?? Response(status: .internalServerError)
    }

    /// The caller's `X-Request-Id` when it is a short token, otherwise a fresh one.
    static func requestID(from request: Request) -> String {
        if let given = request.headers[.init("X-Request-Id")!], (1...64).contains(given.utf8.count),
            given.utf8.allSatisfy({
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
            }),
            given.utf8.filter({ (0x30...0x39).contains($0) }).count < 12
        {
            // A caller's id with many digits could be a card number: never echo or audit it.
            return given
        }
        return "req_" + Base64URL.encode(SecureRandom.bytes(12))
    }
}
