internal import CSodium

/// An X25519 key pair for anonymous sealed boxes (libsodium `crypto_box_seal`): anyone with the
/// public key seals, only the holder of the secret half opens. The secret half is made in
/// guarded memory and never leaves it; wiping it makes every box sealed to it unreadable for
/// good, whatever copies of the boxes remain.
public final class SealedBoxKeyPair: Sendable {
    private let secret: SecureBytes
    public let publicKey: [UInt8]

    public static let publicKeyCount = Int(crypto_box_PUBLICKEYBYTES)
    /// What a sealed box adds to its message.
    public static let overhead = Int(crypto_box_sealbytes())

    public init() throws(CryptoError) {
        Sodium.ready()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        var failed = false
        secret = try SecureBytes(count: Int(crypto_box_SECRETKEYBYTES)) { out in
            failed = crypto_box_keypair(&publicKey, out.baseAddress!.assumingMemoryBound(to: UInt8.self)) != 0
        }
        guard !failed else { throw CryptoError(.invalidInput, "X25519 key generation failed") }
        self.publicKey = publicKey
    }

    /// The pair made deterministically from `seed` (`crypto_box_seed_keypair`): a key that is
    /// derived from the vault's key hierarchy whenever it is needed and never stored.
    public init(seed: SymmetricKey) throws(CryptoError) {
        Sodium.ready()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        var failed = false
        secret = try SecureBytes(count: Int(crypto_box_SECRETKEYBYTES)) { out in
            seed.withUnsafeBytes { seedBytes in
                failed =
                    crypto_box_seed_keypair(
                        &publicKey, out.baseAddress!.assumingMemoryBound(to: UInt8.self), seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    != 0
            }
        }
        guard !failed else { throw CryptoError(.invalidInput, "X25519 key generation failed") }
        self.publicKey = publicKey
    }

    /// `message` sealed to `publicKey` (an ephemeral sender key each time).
    public static func seal(_ message: UnsafeRawBufferPointer, to publicKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        Sodium.ready()
        guard publicKey.count == publicKeyCount, let bytes = message.baseAddress, message.count > 0 else {
            throw CryptoError(.invalidInput, "not an X25519 public key, or nothing to seal")
        }
        var box = [UInt8](repeating: 0, count: message.count + overhead)
        let failed = crypto_box_seal(&box, bytes.assumingMemoryBound(to: UInt8.self), UInt64(message.count), publicKey) != 0
        guard !failed else { throw CryptoError(.invalidInput, "sealing failed") }
        return box
    }

    /// Opens a box sealed to this pair into guarded memory; nil when it was sealed to another
    /// key, altered, or this pair was wiped.
    public func open(_ box: [UInt8]) -> SecureBytes? {
        guard box.count > Self.overhead, !secret.isZeroed else { return nil }
        var opened = false
        let message = try? SecureBytes(count: box.count - Self.overhead) { out in
            secret.withUnsafeBytes { key in
                opened =
                    crypto_box_seal_open(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), box, UInt64(box.count), publicKey,
                        key.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
            }
        }
        guard opened, let message else { return nil }
        return message
    }

    /// Destroys the secret half.
    public func wipe() { secret.wipe() }
}
