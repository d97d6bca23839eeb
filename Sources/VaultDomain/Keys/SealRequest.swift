import Foundation
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
    static func isCustodianName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.first?.isLetter == true
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-_@".unicodeScalars.contains($0)) }
    }

    public func validate() throws(VaultError) {
        switch self {
        case .file:
            return
        case .shamir(let shares, let threshold, let custodians):
            guard (2...10).contains(threshold), (threshold...10).contains(shares) else {
                throw VaultError.invalid("threshold", code: .sealInvalid, "shares and threshold must be 2 ≤ threshold ≤ shares ≤ 10")
            }
            guard custodians.count <= shares else {
                throw VaultError.invalid("custodian", code: .sealInvalid, "give at most one custodian name per share")
            }
            // Names appear in audit subjects (`share 2|alice`): letters, digits, '.', '-', '_',
            // '@', starting with a letter, each name once.
            guard custodians.allSatisfy(Self.isCustodianName) else {
                throw VaultError.invalid(
                    "custodian", code: .sealInvalid, "a custodian name is 1 to 64 letters, digits, '.', '-', '_' or '@', starting with a letter")
            }
            guard Set(custodians.map { $0.lowercased() }).count == custodians.count else {
                throw VaultError.invalid("custodian", code: .sealInvalid, "each custodian is named once")
            }
        case .pkcs11(let label):
            guard (1...64).contains(label.utf8.count), label.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw VaultError.invalid("key_label", code: .sealInvalid, "the PKCS#11 key label must be 1 to 64 printable ASCII characters")
            }
        }
    }
}
