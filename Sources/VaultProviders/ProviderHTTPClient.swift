import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import VaultDomain

/// The one HTTP client that carries card data, only to configured provider URLs. It never
/// follows redirects, never retries, and does not re-establish failed connections on its own:
/// a connection failure reaches the caller at once, and is known to have sent nothing.
public final class ProviderHTTPClient: Sendable {
    let client: HTTPClient
    static let maxResponseBytes = 1 << 20

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        // Enough keep-alive connections that concurrent forwards do not queue for one.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public struct Reply: Sendable {
        public let status: Int
        public let body: [UInt8]

        /// The answer as JSON. A 5xx is the provider's own failure (`upstreamError`): its body is
        /// not passed on, and a transfer it may have half-done is never re-sent. A body that is
        /// not JSON is `invalidResponse`.
        func document() throws(ProviderFailure) -> JSONValue {
            guard status < 500 else { throw .upstreamError }
            guard let value = JSONValue.parse(body) else { throw .invalidResponse }
            return value
        }
    }

    /// Sends one request with a JSON body. The body (card data included) is written once, at
    /// its final size, into a buffer from the wiping allocator: whoever releases it last (this
    /// client, NIO's write path, TLS), its bytes are zeroed before the memory is freed.
    /// Failures are `ProviderFailure`, never the client's own error text.
    package func send(
        _ method: HTTPMethod, url: String, headers: [(String, String)], json: JSONValue?, timeout: Duration
    ) async throws(ProviderFailure) -> Reply {
        try await send(method, url: url, headers: headers, buffer: json?.byteBuffer(allocator: .wiping), timeout: timeout)
    }

    /// Sends bytes as they are (the benchmark's pass-through proxy).
    package func send(_ method: HTTPMethod, url: String, headers: [(String, String)], body: [UInt8]?, timeout: Duration) async throws(ProviderFailure) -> Reply
    {
        try await send(
            method, url: url, headers: headers,
            buffer: body.map { body in
                var buffer = ByteBufferAllocator.wiping.buffer(capacity: body.count)
                buffer.writeBytes(body)
                return buffer
            }, timeout: timeout)
    }

    private func send(
        _ method: HTTPMethod, url: String, headers: [(String, String)], buffer: ByteBuffer?, timeout: Duration
    ) async throws(ProviderFailure) -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let buffer {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(buffer)
        }
        do {
            let response = try await client.execute(
                request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            // The answer may carry provider card tokens: the copy is the one the vault reads; the
            // client's buffer is zeroed now (NIO's receive buffers are freed unwiped: see
            // docs/security.md, "Copies the frameworks make").
            defer { buffer.wipeReadableBytesInPlace() }
            return Reply(status: Int(response.status.code), body: Array(buffer.readableBytesView))
        } catch {
            throw ProviderFailure.classify(error)
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}

/// Why a provider call failed, as the vault answers it.
public enum ProviderFailure: Error, Sendable, Equatable {
    /// No connection could be made: nothing was sent (502).
    case unreachable
    /// The connection broke after the request may have been sent (502).
    case connectionLost
    /// No answer within the timeout; the request may have been processed (504).
    case timeout
    /// The answer was not usable JSON (502).
    case invalidResponse
    /// The provider answered with a 5xx: it failed, perhaps half-way (502).
    case upstreamError

    static func classify(_ error: any Error) -> ProviderFailure {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .writeTimeout: return .timeout
            case .connectTimeout: return .unreachable
            case .remoteConnectionClosed: return .connectionLost
            default: break
            }
            if e == .bodyLengthMismatch { return .invalidResponse }
            return .connectionLost
        }
        if error is NIOConnectionError { return .unreachable }
        if let io = error as? IOError, [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(io.errnoCode) { return .unreachable }
        if error is NIOTooManyBytesError { return .invalidResponse }
        return .connectionLost
    }

    /// The failure a recorded error code stands for (a replayed failure); a code no failure
    /// has is read as the provider's own server error.
    init(code: VaultError.Code) {
        self =
            [ProviderFailure.unreachable, .connectionLost, .timeout, .invalidResponse, .upstreamError].first { $0.vaultError.code == code }
            ?? .upstreamError
    }

    /// Whether the request certainly never left the vault.
    public var nothingSent: Bool { self == .unreachable }

    /// Whether the request may have been acted on while its answer was lost: the provider may
    /// have moved the money or not.
    public var outcomeUnknown: Bool { self == .timeout || self == .connectionLost }

    public var vaultError: VaultError {
        switch self {
        case .unreachable, .connectionLost:
            VaultError(.badGateway, code: .upstreamUnavailable, message: "the provider could not be reached")
        case .timeout:
            VaultError(.gatewayTimeout, code: .upstreamTimeout, message: "the provider did not answer in time")
        case .invalidResponse:
            VaultError(.badGateway, code: .upstreamInvalidResponse, message: "the provider's answer was not valid JSON")
        case .upstreamError:
            VaultError(.badGateway, code: .upstreamError, message: "the provider answered with a server error")
        }
    }
}

/// Shuts the provider client down with the application.
public struct ProviderClientService: Service {
    let client: ProviderHTTPClient

    public init(client: ProviderHTTPClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
