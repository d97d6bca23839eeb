import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import VaultProviders

/// Hummingbird's HTTP/1 channel, with the connection's buffers taken from the wiping allocator
/// (`ByteBufferAllocator.wiping`): a request body holding a card number or a security code is
/// zeroed when NIO frees its receive buffer, not left in freed memory.
struct WipingHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.setOption(ChannelOptions.allocator, value: .wiping).flatMap {
            inner.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the wiping allocator (see `WipingHTTP1Channel`).
    static func wipingHTTP1(configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in WipingHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: configuration)) }
    }
}
