import Foundation
import VaultDomain

/// ioka's API base URL and the shop's API key, which only the vault holds. Read from `IOKA_*`
/// variables; the key also from `IOKA_API_KEY_FILE`.
public struct IokaConfiguration: Sendable {
    public var apiURL: ProviderURL
    public var apiKey: ProviderSecret
    public var timeout: Duration

    public init(apiURL: ProviderURL, apiKey: ProviderSecret, timeout: Duration = .seconds(30)) {
        self.apiURL = apiURL
        self.apiKey = apiKey
        self.timeout = timeout
    }

    /// nil when ioka is not configured (its forwarding routes then answer 503); an error when
    /// it is configured only in part or with an unsafe URL.
    public init?(environment env: [String: String]) throws(VaultError) {
        let key = try ProviderSecret.load("IOKA_API_KEY", from: env)
        guard let url = env["IOKA_API_URL"] else {
            if key != nil {
                throw VaultError(
                    .failedPrecondition, code: .invalidSetting, message: "IOKA_API_URL is required when IOKA_API_KEY is set", field: "IOKA_API_URL")
            }
            return nil
        }
        guard let key, !key.value.isEmpty else {
            throw VaultError(
                .failedPrecondition, code: .invalidSetting, message: "IOKA_API_KEY (or IOKA_API_KEY_FILE) is required when IOKA_API_URL is set",
                field: "IOKA_API_KEY")
        }
        var timeout = Duration.seconds(30)
        if let t = env["IOKA_TIMEOUT_SECONDS"] {
            guard let s = Double(t), s > 0, s <= 300 else {
                throw VaultError(.failedPrecondition, code: .invalidSetting, message: "IOKA_TIMEOUT_SECONDS must be 0 to 300", field: "IOKA_TIMEOUT_SECONDS")
            }
            timeout = .milliseconds(Int64(s * 1000))
        }
        self.init(apiURL: try ProviderURL(validating: url, setting: "IOKA_API_URL"), apiKey: key, timeout: timeout)
    }
}
