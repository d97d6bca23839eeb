import Foundation
import VaultDomain

/// A credential the vault holds for a provider (shop secret key, API key). Printed as
/// `<redacted>`; read from the environment or, with the `_FILE` variant, from a file.
public struct ProviderSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let value: String

    public init(_ value: String) { self.value = value }

    /// `NAME` from the environment, or the contents of the file named by `NAME_FILE`
    /// (trailing newline stripped). nil when neither is set.
    public static func load(_ name: String, from environment: [String: String]) throws(VaultError) -> ProviderSecret? {
        if let path = environment[name + "_FILE"] {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw VaultError(.failedPrecondition, code: .invalidSetting, message: "\(name)_FILE: cannot read \(path)", field: name + "_FILE")
            }
            return ProviderSecret(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return environment[name].map(ProviderSecret.init)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// A provider base URL from configuration: https, or plain http to a loopback host only (for
/// local simulators). Card data never travels over plain http to another host.
public struct ProviderURL: Sendable, Equatable, CustomStringConvertible {
    public let base: String

    public init(validating text: String, setting: String) throws(VaultError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty else {
            throw VaultError(.failedPrecondition, code: .invalidSetting, message: "\(setting) must be an absolute URL", field: setting)
        }
        let loopback = LoopbackHost.contains(host)
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw VaultError(
                .failedPrecondition, code: .invalidSetting,
                message: "\(setting) must use https (plain http only to a loopback host)", field: setting)
        }
        base = text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    public func appending(_ path: String) -> String { base + path }
    public var description: String { base }
}
