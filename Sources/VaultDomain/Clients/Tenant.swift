/// The part of the platform a client acts for. Cards, fingerprints, provider references and
/// tokens, and idempotency keys belong to one tenant: a client sees and touches only its own
/// tenant's cards, and learns nothing about other tenants' cards.
public struct Tenant: Hashable, Sendable, TextCodable, CustomStringConvertible {
    public let rawValue: String

    /// Clients created before tenants existed, and clients added without `--tenant`.
    public static let `default` = Tenant(stored: "default")

    /// The form stored in the database (already checked when it was written).
    public init(stored: String) { rawValue = stored }

    /// 1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter, with no run of 8
    /// digits: tenant names appear in audit rows, so a card number can never be one.
    public init(validating text: String) throws(VaultError) {
        let utf8 = text.utf8
        guard (1...64).contains(utf8.count), let first = utf8.first, (0x61...0x7A).contains(first),
            utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x5F }),
            !text.split(whereSeparator: { !$0.isNumber }).contains(where: { $0.count >= 8 })
        else {
            throw .invalid(
                "tenant", code: .invalidTenant,
                "tenant must start with a lower-case letter and be 1 to 64 lower-case letters, digits, '-' or '_' (no run of 8 digits)")
        }
        rawValue = text
    }

    public var description: String { rawValue }
}
