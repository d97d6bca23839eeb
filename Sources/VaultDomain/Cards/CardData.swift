import VaultCrypto

/// The sensitive part of a card, as sealed into one ciphertext: PAN, expiry and holder.
/// The security code is never part of it.
public struct CardData: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var pan: PrimaryAccountNumber
    public var expiry: CardExpiry
    public var holder: CardHolder?

    public init(pan: PrimaryAccountNumber, expiry: CardExpiry, holder: CardHolder?) {
        self.pan = pan
        self.expiry = expiry
        self.holder = holder
    }

    private static let formatVersion: UInt8 = 1
    private static let separator: UInt8 = 0x1F

    /// Serialises into a scratch buffer that is wiped when `body` returns: version byte, then
    /// PAN, month, year, holder separated by the ASCII unit separator (which a validated holder
    /// cannot contain).
    func withPlaintext<R>(_ body: ([UInt8]) throws -> R) rethrows -> R {
        var bytes: [UInt8] = [Self.formatVersion]
        pan.withDigits { bytes.append(contentsOf: $0) }
        bytes.append(Self.separator)
        bytes.append(contentsOf: Array(expiry.monthText.utf8))
        bytes.append(Self.separator)
        bytes.append(contentsOf: Array(expiry.yearText.utf8))
        bytes.append(Self.separator)
        if let holder { bytes.append(contentsOf: Array(holder.name.utf8)) }
        defer { wipe(&bytes) }
        return try body(bytes)
    }

    init(plaintext raw: UnsafeRawBufferPointer) throws(VaultError) {
        let parsed: CardData? = {
            let bytes = raw.bindMemory(to: UInt8.self)
            guard bytes.first == Self.formatVersion else { return nil }
            let fields = bytes.dropFirst().split(separator: Self.separator, maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4,
                let month = Int(String(decoding: fields[1], as: UTF8.self)),
                let year = Int(String(decoding: fields[2], as: UTF8.self))
            else { return nil }
            let holder = fields[3].isEmpty ? nil : CardHolder(trusted: String(decoding: fields[3], as: UTF8.self))
            return CardData(
                pan: PrimaryAccountNumber(storedASCII: ArraySlice(fields[0])),
                expiry: CardExpiry(month: month, year: year), holder: holder)
        }()
        guard let parsed else { throw VaultError.keyUnavailable }
        self = parsed
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
