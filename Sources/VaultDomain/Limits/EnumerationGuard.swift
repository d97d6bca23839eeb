import VaultCrypto

/// The keyed hashes the enumeration guard keeps: never a PAN, never a plain hash. Both are
/// keyed with the guard's purpose key over the client id too, so rows of two clients (or two
/// tenants) holding the same card cannot be linked, even by a reader of the database.
enum EnumerationGuard {
    /// The guard's rows for a whole tenant sit beside its clients' under this pseudo-client
    /// (no client id has a `|`), keyed over it like a client's.
    static func tenantKey(_ tenant: Tenant) -> String { "tenant|" + tenant.rawValue }

    /// (bucket: first six and last four digits, card: the whole PAN), 16 bytes each.
    static func hashes(of pan: PrimaryAccountNumber, client: String, key: SymmetricKey) -> (bucket: [UInt8], card: [UInt8]) {
        pan.withDigits { digits in
            let prefix = Array(client.utf8) + [0]
            var bucket = prefix + Array("bucket|".utf8) + digits.prefix(6) + [0x7C] + digits.suffix(4)
            var card = prefix + Array("card|".utf8) + digits
            defer {
                wipe(&bucket)
                wipe(&card)
            }
            return (KeyedHash.hash(bucket, key: key, length: 16), KeyedHash.hash(card, key: key, length: 16))
        }
    }
}
