internal import CSodium

/// Sub-key derivation from one root key (`crypto_kdf_derive_from_key`, BLAKE2b), so that each
/// purpose (fingerprints, audit chain, client secrets, idempotency) has its own key.
public enum KeyDerivation {
    /// `context` must be exactly 8 ASCII characters.
    public static func derive(from root: SymmetricKey, id: UInt64, context: StaticString) throws(CryptoError) -> SymmetricKey {
        Sodium.ready()
        precondition(context.utf8CodeUnitCount == 8, "KDF context must be 8 bytes")
        let bytes = try SecureBytes(count: SymmetricKey.byteCount) { out in
            root.withUnsafeBytes { k in
                context.withUTF8Buffer { ctx in
                    ctx.withMemoryRebound(to: CChar.self) { c in
                        _ = crypto_kdf_derive_from_key(
                            out.bindMemory(to: UInt8.self).baseAddress!, out.count, id,
                            c.baseAddress!, k.bindMemory(to: UInt8.self).baseAddress!)
                    }
                }
            }
        }
        return try SymmetricKey(bytes)
    }
}
