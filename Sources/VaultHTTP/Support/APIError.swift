import Hummingbird
import NIOCore
import VaultDomain

/// The error answer: `{"error": {"code", "message", "fields"?}}` with a stable code.
/// Built only from fixed messages; never from input, so card data cannot be echoed.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: VaultError.Code
    public let message: String
    public let fields: [FieldIssue]
    /// Seconds, for `Retry-After`.
    public var retryAfter: Int?
    /// The provider reference of an `outcome_unknown` call.
    public var reference: [String: String]?

    public init(status: HTTPResponse.Status, code: VaultError.Code, message: String, fields: [FieldIssue] = [], retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.retryAfter = retryAfter
    }

    public init(_ error: VaultError) {
        let status: HTTPResponse.Status =
            switch error.kind {
            case .invalidInput: .unprocessableContent
            case .malformedRequest: .badRequest
            case .unauthenticated: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .conflict: .conflict
            case .failedPrecondition: .conflict
            case .unavailable: .serviceUnavailable
            case .badGateway: .badGateway
            case .gatewayTimeout: .gatewayTimeout
            case .tooManyRequests: .tooManyRequests
            }
        self.init(status: status, code: error.code, message: error.message, fields: error.fieldIssues, retryAfter: error.retryAfter)
        reference = error.reference
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            let code: VaultError.Code
            let message: String
            let fields: [FieldIssue]?
            let reference: [String: String]?
        }
        let error: Detail
    }

    var bodyBytes: [UInt8] {
        VaultJSON.encode(Body(error: .init(code: code, message: message, fields: fields.isEmpty ? nil : fields, reference: reference)))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bodyBytes)))
    }

    static let tooLarge = APIError(status: .contentTooLarge, code: .bodyTooLarge, message: "the request body is larger than 64 KiB")
    static let notFound = APIError(status: .notFound, code: .notFound, message: "no such route")
    static let internalError = APIError(status: .internalServerError, code: .internalError, message: "internal error")
}
