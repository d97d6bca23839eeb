import CryptoExtras
import Foundation
import VaultDomain

/// Checks Horizonpay's `Content-Signature`: base64 of an RSA-SHA256 (PKCS #1 v1.5) signature of
/// the raw notification body, made with the shop's webhook key pair.
public struct NotificationVerifier: Sendable {
    let key: _RSA.Signing.PublicKey

    public init(pem: String) throws(VaultError) {
        do {
            key = try _RSA.Signing.PublicKey(pemRepresentation: pem)
        } catch {
            throw VaultError(
                .failedPrecondition, code: .invalidSetting,
                message: "HORIZONPAY_WEBHOOK_PUBLIC_KEY is not an RSA public key in PEM (2048 bits or more)", field: "HORIZONPAY_WEBHOOK_PUBLIC_KEY")
        }
    }

    public static let missing = VaultError(.malformedRequest, code: .signatureMissing, message: "Content-Signature is required", field: "Content-Signature")
    public static let invalid = VaultError(
        .malformedRequest, code: .signatureInvalid, message: "Content-Signature does not match the body", field: "Content-Signature")

    /// Throws `missing` or `invalid` (400) unless `signature` signs `body`.
    public func verify(body: [UInt8], signature: String?) throws(VaultError) {
        guard let signature, !signature.isEmpty else { throw Self.missing }
        guard let raw = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)) else { throw Self.invalid }
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raw), for: body, padding: .insecurePKCS1v1_5) else {
            throw Self.invalid
        }
    }
}
