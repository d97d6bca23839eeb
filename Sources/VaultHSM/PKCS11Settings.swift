import Foundation
import VaultDomain

/// Where the `pkcs11` seal finds its token: `CARDVAULT_PKCS11_MODULE` (the module's path, e.g.
/// `/usr/lib/softhsm/libsofthsm2.so`), `CARDVAULT_PKCS11_TOKEN` (the token's label) and
/// `CARDVAULT_PKCS11_PIN_FILE` (the user PIN, in a file only the service user can read: the
/// PIN is never a flag or an environment value, which `ps` and `/proc` show).
/// `CARDVAULT_PKCS11_KEY_LABEL` names the key `keys init --seal pkcs11` creates.
public struct PKCS11Settings: Sendable, Equatable {
    public var module: String
    public var token: String
    public var pinFile: String
    public var keyLabel: String

    public static let defaultKeyLabel = "cardvault-master"

    public init(module: String, token: String, pinFile: String, keyLabel: String = defaultKeyLabel) {
        self.module = module
        self.token = token
        self.pinFile = pinFile
        self.keyLabel = keyLabel
    }

    /// nil when the module is not configured; an error naming the variable when it is, but
    /// incompletely.
    public init?(environment: [String: String]) throws(VaultError) {
        guard let module = environment["CARDVAULT_PKCS11_MODULE"], !module.isEmpty else { return nil }
        guard let token = environment["CARDVAULT_PKCS11_TOKEN"], !token.isEmpty else {
            throw VaultError.invalid(
                "CARDVAULT_PKCS11_TOKEN", code: .sealInvalid, "CARDVAULT_PKCS11_TOKEN (the token label) is required with CARDVAULT_PKCS11_MODULE")
        }
        guard let pinFile = environment["CARDVAULT_PKCS11_PIN_FILE"], !pinFile.isEmpty else {
            throw VaultError.invalid("CARDVAULT_PKCS11_PIN_FILE", code: .sealInvalid, "CARDVAULT_PKCS11_PIN_FILE is required with CARDVAULT_PKCS11_MODULE")
        }
        self.init(module: module, token: token, pinFile: pinFile, keyLabel: environment["CARDVAULT_PKCS11_KEY_LABEL"] ?? Self.defaultKeyLabel)
    }
}
