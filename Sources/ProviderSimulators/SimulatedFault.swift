import Hummingbird
import NIOCore

/// Faults a simulator plays on purpose, chosen by amount, the same in every simulator: a slow
/// answer, a body that is not JSON, a 500, a connection reset mid-answer, and JSON that two
/// readers would read differently (a duplicate key).
public enum SimulatedFault: Sendable {
    case slow, garbage, serverError, reset, duplicateKeys

    /// Amounts that pick a fault (minor units, in both simulators).
    public enum Amount {
        /// Answers after 3 seconds (timeouts).
        public static let slow: Int64 = 5040
        /// Answers 200 with an HTML body.
        public static let garbage: Int64 = 5000
        /// Answers 500 with a JSON error.
        public static let serverError: Int64 = 5030
        /// Sends the head of a 200, then closes the connection without a body.
        public static let reset: Int64 = 5055
        /// Answers 200 with an object holding the same key twice.
        public static let duplicateKeys: Int64 = 5022
    }

    public init?(amount: Int64) {
        switch amount {
        case Amount.slow: self = .slow
        case Amount.garbage: self = .garbage
        case Amount.serverError: self = .serverError
        case Amount.reset: self = .reset
        case Amount.duplicateKeys: self = .duplicateKeys
        default: return nil
        }
    }

    /// The answer for this fault; nil for `slow`, which only delays (after sleeping 3 s).
    func play() async throws -> Response? {
        switch self {
        case .slow:
            try await Task.sleep(for: .seconds(3))
            return nil
        case .garbage:
            return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>bad gateway</html>")))
        case .serverError:
            return Response(
                status: .internalServerError, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"message":"Internal Server Error"}"#)))
        case .duplicateKeys:
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"failed","status":"successful","transaction":{"uid":"dup"}}"#)))
        case .reset:
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init { _ in throw ResetError() })
        }
    }

    struct ResetError: Error {}
}
