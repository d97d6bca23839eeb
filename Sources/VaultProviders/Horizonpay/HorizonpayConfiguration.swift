import Foundation
import VaultDomain

/// The shop's Horizonpay endpoints and credentials, which only the vault holds.
/// Read from `HORIZONPAY_*` variables; each secret also has a `_FILE` variant.
public struct HorizonpayConfiguration: Sendable {
    public var gatewayURL: ProviderURL
    public var checkoutURL: ProviderURL
    public var shopID: String
    public var secretKey: ProviderSecret
    public var publicKey: ProviderSecret
    public var timeout: Duration
    /// Verifies `Content-Signature` on notifications. Without it the notification route answers
    /// 503, unless `allowUnsignedNotifications` (for the simulator only).
    public var webhookKey: NotificationVerifier?
    /// `HORIZONPAY_ALLOW_UNSIGNED_NOTIFICATIONS=1`: take notifications without a signature.
    public var allowUnsignedNotifications: Bool

    public init(
        gatewayURL: ProviderURL, checkoutURL: ProviderURL, shopID: String, secretKey: ProviderSecret,
        publicKey: ProviderSecret, timeout: Duration = .seconds(30), webhookKey: NotificationVerifier? = nil,
        allowUnsignedNotifications: Bool = false
    ) {
        self.allowUnsignedNotifications = allowUnsignedNotifications
        self.gatewayURL = gatewayURL
        self.checkoutURL = checkoutURL
        self.shopID = shopID
        self.secretKey = secretKey
        self.publicKey = publicKey
        self.timeout = timeout
        self.webhookKey = webhookKey
    }

    /// nil when Horizonpay is not configured at all (its routes then answer 503); an error when
    /// it is configured only in part or with an unsafe URL.
    public init?(environment env: [String: String]) throws(VaultError) {
        let names = ["HORIZONPAY_GATEWAY_URL", "HORIZONPAY_CHECKOUT_URL", "HORIZONPAY_SHOP_ID"]
        guard names.contains(where: { env[$0] != nil }) else { return nil }
        for name in names where env[name] == nil {
            throw VaultError(.failedPrecondition, code: .invalidSetting, message: "\(name) is required when Horizonpay is configured", field: name)
        }
        guard let secret = try ProviderSecret.load("HORIZONPAY_SECRET_KEY", from: env),
            let publicKey = try ProviderSecret.load("HORIZONPAY_PUBLIC_KEY", from: env)
        else {
            throw VaultError(
                .failedPrecondition, code: .invalidSetting,
                message: "HORIZONPAY_SECRET_KEY and HORIZONPAY_PUBLIC_KEY (or their _FILE variants) are required", field: "HORIZONPAY_SECRET_KEY")
        }
        var timeout = Duration.seconds(30)
        if let t = env["HORIZONPAY_TIMEOUT_SECONDS"] {
            guard let s = Double(t), s > 0, s <= 300 else {
                throw VaultError(
                    .failedPrecondition, code: .invalidSetting, message: "HORIZONPAY_TIMEOUT_SECONDS must be 0 to 300", field: "HORIZONPAY_TIMEOUT_SECONDS")
            }
            timeout = .milliseconds(Int64(s * 1000))
        }
        let webhook = try ProviderSecret.load("HORIZONPAY_WEBHOOK_PUBLIC_KEY", from: env).map { pem throws(VaultError) in
            try NotificationVerifier(pem: pem.value)
        }
        self.init(
            gatewayURL: try ProviderURL(validating: env["HORIZONPAY_GATEWAY_URL"]!, setting: "HORIZONPAY_GATEWAY_URL"),
            checkoutURL: try ProviderURL(validating: env["HORIZONPAY_CHECKOUT_URL"]!, setting: "HORIZONPAY_CHECKOUT_URL"),
            shopID: env["HORIZONPAY_SHOP_ID"]!, secretKey: secret, publicKey: publicKey, timeout: timeout, webhookKey: webhook,
            allowUnsignedNotifications: ["1", "true", "yes"].contains(env["HORIZONPAY_ALLOW_UNSIGNED_NOTIFICATIONS"]?.lowercased() ?? ""))
    }

    var basicAuthorization: String {
        "Basic " + Data("\(shopID):\(secretKey.value)".utf8).base64EncodedString()
    }

    var bearerAuthorization: String { "Bearer " + publicKey.value }
}
