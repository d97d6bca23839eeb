/// A provider's reference to a saved card (an ioka `card_id` or `sender_id`), validated. Its
/// description is `<redacted>`: it never reaches a log line or an error text.
public struct ProviderReference: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let kind: ProviderReferenceKind
    public let value: String

    /// 1 to 128 visible ASCII characters, without a run of 12 or more digits (a card number is
    /// not a reference, and must not be stored as one).
    public init(validating text: String, kind: ProviderReferenceKind, field: String? = nil) throws(VaultError) {
        let field = field ?? kind.field
        guard (1...128).contains(text.utf8.count), text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .invalid(field, code: .invalidReference, "\(field) must be 1 to 128 visible ASCII characters")
        }
        guard !ReferenceDetails.hasDigitRun(text, atLeast: 12) else {
            throw .invalid(field, code: .invalidReference, "\(field) must not contain a card number")
        }
        self.kind = kind
        value = text
    }

    /// The form the vault looks a reference up by: a keyed hash over kind and value.
    public func blindIndex(key: SymmetricKey) -> [UInt8] {
        var message = Array(kind.rawValue.utf8)
        message.append(0)
        message.append(contentsOf: value.utf8)
        defer { wipe(&message) }
        return KeyedHash.hash(message, key: key, length: 32)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

import VaultCrypto
