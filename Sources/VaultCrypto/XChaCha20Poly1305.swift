internal import CSodium

/// XChaCha20-Poly1305-IETF authenticated encryption with associated data (libsodium).
/// 24-byte random nonces are safe to draw at random for any number of messages.
public enum XChaCha20Poly1305 {
    public static let nonceByteCount = 24
    public static let tagByteCount = 16

    /// Encrypts `plaintext` under `key`, binding `associatedData` (which is authenticated but
    /// not stored in the ciphertext).
    public static func seal(_ plaintext: UnsafeRawBufferPointer, associatedData: [UInt8], key: SymmetricKey) -> SealedBox {
        Sodium.ready()
        var nonce = [UInt8](repeating: 0, count: nonceByteCount)
        nonce.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var written: UInt64 = 0
        let rc = ciphertext.withUnsafeMutableBytes { out in
            associatedData.withUnsafeBytes { ad in
                key.withUnsafeBytes { k in
                    crypto_aead_xchacha20poly1305_ietf_encrypt(
                        out.bindMemory(to: UInt8.self).baseAddress!, &written,
                        plaintext.bindMemory(to: UInt8.self).baseAddress, UInt64(plaintext.count),
                        ad.bindMemory(to: UInt8.self).baseAddress, UInt64(ad.count),
                        nil, nonce, k.bindMemory(to: UInt8.self).baseAddress!)
                }
            }
        }
        precondition(rc == 0 && Int(written) == ciphertext.count, "AEAD encryption cannot fail")
        return SealedBox(nonce: nonce, ciphertext: ciphertext)
    }

    public static func seal(_ plaintext: SecureBytes, associatedData: [UInt8], key: SymmetricKey) -> SealedBox {
        plaintext.withUnsafeBytes { seal($0, associatedData: associatedData, key: key) }
    }

    public static func seal(_ plaintext: [UInt8], associatedData: [UInt8], key: SymmetricKey) -> SealedBox {
        plaintext.withUnsafeBytes { seal($0, associatedData: associatedData, key: key) }
    }

    /// Decrypts into a scratch buffer that is zeroed as soon as `body` returns: for short-lived
    /// plaintexts (a card being read), where guarded memory's mmap/mprotect/munmap per call
    /// would cost more than the whole request. Tampering fails as in `open(_:associatedData:key:)`.
    public static func open<R>(
        _ box: SealedBox, associatedData: [UInt8], key: SymmetricKey,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: try plaintextCount(box), alignment: 16)
        defer {
            sodium_memzero(out.baseAddress!, out.count)
            out.deallocate()
        }
        try decrypt(box, associatedData: associatedData, key: key, into: out)
        return try body(UnsafeRawBufferPointer(out))
    }

    /// Decrypts into guarded memory (for keys and other long-lived secrets).
    public static func open(_ box: SealedBox, associatedData: [UInt8], key: SymmetricKey) throws(CryptoError) -> SecureBytes {
        var failure: CryptoError?
        let plaintext = try SecureBytes(count: try plaintextCount(box)) { out in
            do throws(CryptoError) { try decrypt(box, associatedData: associatedData, key: key, into: out) } catch { failure = error }
        }
        if let failure { throw failure }
        return plaintext
    }

    private static func plaintextCount(_ box: SealedBox) throws(CryptoError) -> Int {
        guard box.nonce.count == nonceByteCount else { throw CryptoError(.invalidInput, "nonce length \(box.nonce.count)") }
        guard box.ciphertext.count > tagByteCount else { throw CryptoError(.invalidInput, "ciphertext too short") }
        return box.ciphertext.count - tagByteCount
    }

    /// The one call into libsodium's decryption; zeroes `out` when authentication fails.
    private static func decrypt(
        _ box: SealedBox, associatedData: [UInt8], key: SymmetricKey,
        into out: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        Sodium.ready()
        var written: UInt64 = 0
        let rc = box.ciphertext.withUnsafeBytes { c in
            associatedData.withUnsafeBytes { ad in
                key.withUnsafeBytes { k in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out.bindMemory(to: UInt8.self).baseAddress!, &written, nil,
                        c.bindMemory(to: UInt8.self).baseAddress!, UInt64(c.count),
                        ad.bindMemory(to: UInt8.self).baseAddress, UInt64(ad.count),
                        box.nonce, k.bindMemory(to: UInt8.self).baseAddress!)
                }
            }
        }
        if rc != 0 {
            sodium_memzero(out.baseAddress!, out.count)
            throw CryptoError(.authenticationFailed, "AEAD tag verification failed")
        }
    }
}

/// Nonce plus ciphertext-with-tag, as stored.
public struct SealedBox: Sendable, Equatable {
    public var nonce: [UInt8]
    public var ciphertext: [UInt8]

    public init(nonce: [UInt8], ciphertext: [UInt8]) {
        self.nonce = nonce
        self.ciphertext = ciphertext
    }
}
