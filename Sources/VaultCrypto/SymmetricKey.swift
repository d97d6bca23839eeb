/// A 32-byte secret key in guarded memory.
public struct SymmetricKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public static let byteCount = 32
    let storage: SecureBytes

    public init(_ bytes: SecureBytes) throws(CryptoError) {
        guard bytes.count == Self.byteCount else { throw CryptoError(.invalidKey, "key must be 32 bytes, got \(bytes.count)") }
        storage = bytes
    }

    /// A fresh key from libsodium's CSPRNG.
    public static func generate() throws(CryptoError) -> SymmetricKey {
        try SymmetricKey(SecureBytes.random(count: byteCount))
    }

    /// The key's guarded bytes (for splitting into shares).
    public var secureBytes: SecureBytes { storage }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// A short public identifier of the key (a key check value): the first 8 bytes of a
    /// BLAKE2b hash keyed with the key itself over a fixed label, hex encoded. It reveals
    /// nothing about the key and lets the database say which master key wrapped what.
    public var checkValue: String {
        let mac = KeyedHash.hash(Array("cardvault key check value".utf8), key: self, length: 16)
        return Hex.encode(mac.prefix(8))
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
