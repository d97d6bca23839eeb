/// The Horizonpay P2P calls the vault forwards (seed: horizonpay-p2p-api.txt).
public enum HorizonpayRoute: String, Sendable, CaseIterable {
    case restrictions = "p2p-restrictions"
    case transfer = "p2ps"
    case checkoutVerify = "checkout/verify-p2p"
    case checkoutTransfer = "checkout/p2p"
    case asyncVerify = "checkout/async/verify-p2p"
    case asyncTransfer = "checkout/async/p2p"

    /// The path on Horizonpay.
    var upstreamPath: String {
        switch self {
        case .restrictions: "/p2p-restrictions"
        case .transfer: "/transactions/p2ps"
        case .checkoutVerify: "/ctp/api/verify-p2p"
        case .checkoutTransfer: "/ctp/api/p2p"
        case .asyncVerify: "/ctp/api/async/verify-p2p"
        case .asyncTransfer: "/ctp/api/async/p2p"
        }
    }

    /// Gateway routes authenticate with Basic shop id : secret key; checkout routes with the
    /// public key as Bearer and `X-Api-Version: 2`.
    var usesGateway: Bool { self == .restrictions || self == .transfer }

    /// Transfers move money: they need the source card's security code and are never repeated.
    public var isTransfer: Bool { self == .transfer || self == .checkoutTransfer || self == .asyncTransfer }

    public var auditAction: String { "horizonpay." + rawValue.replacingOccurrences(of: "/", with: ".") }
}
