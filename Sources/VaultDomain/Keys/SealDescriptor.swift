import Foundation

/// How the vault's master key (the key-encryption key, KEK) is held, as recorded in the
/// database beside the wrapped keys. Nothing in it is secret: it says which seal opens the vault,
/// never how.
///
/// - `file`: `master.key` in the keys folder (development, single host).
/// - `shamir`: the key exists only in the memory of an unsealed server; custodians hold shares,
///   any `threshold` of which rebuild it.
/// - `pkcs11`: a non-extractable AES-256 key inside a PKCS#11 token wraps and unwraps the
///   data and index keys; the master key never exists in the vault's memory.
public struct SealDescriptor: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case file, shamir, pkcs11
    }

    public var kind: Kind
    /// shamir: shares needed to unseal.
    public var threshold: Int?
    /// shamir: shares made.
    public var shares: Int?
    /// shamir: the current share set's id (hex); shares of any other set are refused.
    public var shareSet: String?
    /// shamir: who holds share 1, 2, ... (`--custodian`), named in the audit when a share is used.
    public var custodians: [String]?
    /// shamir: the public half (hex) of the Ed25519 key that signed every share of the set; its
    /// private half was destroyed after signing, so no share can be added to the set later.
    /// nil for a set made before shares were signed.
    public var sharePublicKey: String?
    /// pkcs11: the label of the token's AES key.
    public var keyLabel: String?

    public init(
        kind: Kind, threshold: Int? = nil, shares: Int? = nil, shareSet: String? = nil, custodians: [String]? = nil, keyLabel: String? = nil
    ) {
        self.kind = kind
        self.threshold = threshold
        self.shares = shares
        self.shareSet = shareSet
        self.custodians = custodians
        self.keyLabel = keyLabel
    }

    /// Vaults made before seals existed hold their master key in a file.
    public static let file = SealDescriptor(kind: .file)

    enum CodingKeys: String, CodingKey {
        case kind, threshold, shares, custodians
        case shareSet = "share_set"
        case keyLabel = "key_label"
        case sharePublicKey = "share_public_key"
    }

    /// The custodian recorded for share `x` (1-based), or `share x`.
    public func custodian(ofShare x: Int) -> String {
        if let custodians, x >= 1, x <= custodians.count { return custodians[x - 1] }
        return "share \(x)"
    }
}
