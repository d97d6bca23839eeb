import Hummingbird
import NIOCore
import VaultDomain

/// Per-request state: the request id (echoed as `X-Request-Id` and written to audit rows) and
/// the caller's address. Bodies are limited to 64 KiB.
public struct VaultRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String
    public let remoteAddress: SocketAddress?

    public static let maxBodySize = 64 * 1024

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        requestID = ""
    }

    public var maxUploadSize: Int { Self.maxBodySize }

    /// The actor for audit rows before authentication.
    func actor(client: String? = nil) -> AuditActor {
        AuditActor(client: client, requestID: requestID, source: remoteAddress.map(Self.describe))
    }

    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v4, .v6: "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: "unix"
        }
    }
}
