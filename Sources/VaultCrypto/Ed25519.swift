internal import CSodium

/// An Ed25519 signing key (libsodium `crypto_sign`), made deterministically from a 32-byte seed
/// so it can be derived like the vault's other keys and never stored. The secret half lives in
/// guarded memory; the public half is plain bytes.
public struct Ed25519SigningKey: Sendable {
    private let secret: SecureBytes
    public let publicKey: [UInt8]

    public init(seed: SymmetricKey) throws(CryptoError) {
        Sodium.ready()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var failed = false
        secret = try SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES)) { out in
            seed.withUnsafeBytes { seedBytes in
                failed =
                    crypto_sign_seed_keypair(
                        &publicKey, out.baseAddress!.assumingMemoryBound(to: UInt8.self), seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)) != 0
            }
        }
        guard !failed else { throw CryptoError(.invalidInput, "Ed25519 key generation failed") }
        self.publicKey = publicKey
    }

    /// A detached 64-byte signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
        secret.withUnsafeBytes { key in
            _ = crypto_sign_detached(&signature, nil, message, UInt64(message.count), key.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return signature
    }

    /// Whether `signature` is `publicKey`'s signature of `message`.
    public static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        Sodium.ready()
        guard signature.count == Int(crypto_sign_BYTES), publicKey.count == Int(crypto_sign_PUBLICKEYBYTES) else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}
