internal import CSodium

/// BLAKE2b keyed hash (`crypto_generichash` with a key): the blind index behind fingerprints,
/// secret look-ups and the audit chain. Without the key, the output says nothing about the
/// input, so a small input space (a PAN) cannot be enumerated.
public enum KeyedHash {
    public static func hash(_ message: [UInt8], key: SymmetricKey, length: Int = 32) -> [UInt8] {
        message.withUnsafeBytes { hash($0, key: key, length: length) }
    }

    public static func hash(_ message: SecureBytes, key: SymmetricKey, length: Int = 32) -> [UInt8] {
        message.withUnsafeBytes { hash($0, key: key, length: length) }
    }

    public static func hash(_ message: UnsafeRawBufferPointer, key: SymmetricKey, length: Int = 32) -> [UInt8] {
        Sodium.ready()
        precondition(length >= 16 && length <= 64)
        var out = [UInt8](repeating: 0, count: length)
        key.withUnsafeBytes { k in
            _ = crypto_generichash(
                &out, length,
                message.bindMemory(to: UInt8.self).baseAddress, UInt64(message.count),
                k.bindMemory(to: UInt8.self).baseAddress, k.count)
        }
        return out
    }

    /// Constant-time comparison of two digests.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count, !a.isEmpty else { return false }
        return sodium_memcmp(a, b, a.count) == 0
    }
}
