import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import VaultProviders

/// Hummingbird's HTTP/1 channel, with the connection's buffers taken from the wiping allocator
/// (`ByteBufferAllocator.wiping`): a request body holding a card number or a security code is
/// zeroed when NIO frees its receive buffer, not left in freed memory. Every connection takes
/// a slot of the process's `ConnectionGate`; one over the cap is closed at once, before it is
/// read.
struct WipingHTTP1Channel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let inner: HTTP1Channel.Value
        let admitted: Bool
        var channel: any Channel { inner.channel }
    }
    let inner: HTTP1Channel
    let gate: ConnectionGate?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = gate?.admit() ?? true
        if admitted, let gate { channel.closeFuture.whenComplete { _ in gate.release() } }
        return channel.setOption(ChannelOptions.allocator, value: .wiping).flatMap {
            inner.setup(channel: channel, logger: logger)
        }.map { inner in
            // Refused on the event loop itself, at once: no task needs to run for it.
            if !admitted { channel.close(promise: nil) }
            return Value(inner: inner, admitted: admitted)
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard value.admitted else {
            logger.debug("connection refused: the connection cap is reached")
            // Through the async channel, so its writer is finished (dropping it unfinished traps).
            try? await value.inner.executeThenClose { _, _ in }
            return
        }
        await inner.handle(value: value.inner, logger: logger)
    }
}

/// How long a caller may hold a connection without sending a request (see
/// `RequestDeadlineHandler`), and the cap on open connections.
public struct ConnectionLimits: Sendable {
    public var headerTimeout: Duration = .seconds(20)
    public var bodyTimeout: Duration = .seconds(30)
    public var idleTimeout: Duration = .seconds(60)
    /// nil: `ConnectionGate.defaultLimit()`.
    public var maxConnections: Int?

    public init() {}
}

extension HTTPServerBuilder {
    /// HTTP/1 with the wiping allocator, the request deadlines and the connection cap.
    static func wipingHTTP1(limits: ConnectionLimits = ConnectionLimits(), gate: ConnectionGate? = nil) -> HTTPServerBuilder {
        let (head, body, idle) = (TimeAmount(limits.headerTimeout), TimeAmount(limits.bodyTimeout), TimeAmount(limits.idleTimeout))
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(head: head, body: body, idle: idle)], idleTimeout: idle)
        return .init { responder in WipingHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: configuration), gate: gate) }
    }
}
