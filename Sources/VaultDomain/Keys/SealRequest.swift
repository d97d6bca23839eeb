/// The seal asked for by `keys init --seal` and `keys migrate-seal --to`.
public enum SealRequest: Sendable, Equatable {
    case file
    /// `shares` made, any `threshold` rebuild the master key; `custodians` name share 1, 2, ...
    case shamir(shares: Int, threshold: Int, custodians: [String])
    /// A new non-extractable AES-256 key under `keyLabel` in the configured token.
    case pkcs11(keyLabel: String)

    public var kind: SealDescriptor.Kind {
        switch self {
        case .file: .file
        case .shamir: .shamir
        case .pkcs11: .pkcs11
        }
    }

    /// Checks the numbers before anything is generated: 2 ≤ threshold ≤ shares ≤ 10, at most
    /// one custodian per share, a label of 1 to 64 printable characters.
    public func validate() throws(VaultError) {
        switch self {
        case .file:
            return
        case .shamir(let shares, let threshold, let custodians):
            guard (2...10).contains(threshold), (threshold...10).contains(shares) else {
                throw VaultError.invalid("threshold", code: .sealInvalid, "shares and threshold must be 2 ≤ threshold ≤ shares ≤ 10")
            }
            guard custodians.count <= shares, custodians.allSatisfy({ (1...64).contains($0.count) && !$0.contains("\n") }) else {
                throw VaultError.invalid("custodian", code: .sealInvalid, "give at most one custodian name (1 to 64 characters) per share")
            }
        case .pkcs11(let label):
            guard (1...64).contains(label.utf8.count), label.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw VaultError.invalid("key_label", code: .sealInvalid, "the PKCS#11 key label must be 1 to 64 printable ASCII characters")
            }
        }
    }
}
