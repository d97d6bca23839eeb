import Synchronization
import VaultCrypto

/// Purpose keys derived from the index key, so that no two uses share a key.
public struct DerivedKeys: Sendable {
    /// Card fingerprints (blind index of the PAN) of the `default` tenant; other tenants derive
    /// their own from it (`tenant(_:)`).
    let fingerprint: SymmetricKey
    /// The audit log's hash chain.
    public let audit: SymmetricKey
    /// Look-up hashes of client secrets.
    public let clientSecret: SymmetricKey
    /// Request hashes behind `Idempotency-Key`.
    public let idempotency: SymmetricKey
    /// Blind indexes of provider references of the `default` tenant (see `tenant(_:)`).
    let providerReference: SymmetricKey
    /// Keyed hashes of the enumeration guard (card buckets and cards seen per client).
    public let enumerationGuard: SymmetricKey
    /// Keyed hashes of provider transaction uids and job ids (`provider_calls.reference`).
    let providerCall: SymmetricKey
    /// Seed of the Ed25519 key that signs audit checkpoints (`AuditCheckpoint`).
    let auditSigningSeed: SymmetricKey
    /// MACs of client rows (`ClientRows`).
    let clientRow: SymmetricKey
    /// Seed of the X25519 key card files are sealed to for `cardvault import` (`importKeyPair`).
    let importSeed: SymmetricKey
    /// Keyed hashes and MACs of the exporter references an import recorded (`card_imports`).
    let importReferenceKey: SymmetricKey
    private let tenants: TenantKeyCache

    init(index: SymmetricKey) throws(VaultError) {
        do {
            fingerprint = try KeyDerivation.derive(from: index, id: 1, context: "cvfinger")
            audit = try KeyDerivation.derive(from: index, id: 2, context: "cvauditl")
            clientSecret = try KeyDerivation.derive(from: index, id: 3, context: "cvclient")
            idempotency = try KeyDerivation.derive(from: index, id: 4, context: "cvidempo")
            providerReference = try KeyDerivation.derive(from: index, id: 5, context: "cvprovrf")
            enumerationGuard = try KeyDerivation.derive(from: index, id: 6, context: "cvenumgd")
            providerCall = try KeyDerivation.derive(from: index, id: 7, context: "cvprvcal")
            auditSigningSeed = try KeyDerivation.derive(from: index, id: 8, context: "cvaudsig")
            clientRow = try KeyDerivation.derive(from: index, id: 9, context: "cvclirow")
            importSeed = try KeyDerivation.derive(from: index, id: 10, context: "cvimport")
            importReferenceKey = try KeyDerivation.derive(from: index, id: 11, context: "cvimpref")
        } catch {
            throw VaultError.keyUnavailable
        }
        tenants = TenantKeyCache(base: TenantKeys(fingerprint: fingerprint, providerReference: providerReference))
    }

    /// The blind-index keys of one tenant. The `default` tenant keeps the keys vaults had before
    /// tenants existed, so its fingerprints and reference indexes stay valid; every other tenant
    /// gets keys derived from those with its name (keyed BLAKE2b), so the same PAN has unrelated
    /// fingerprints in two tenants and nothing one tenant sees links to another's cards.
    /// The audit checkpoints' signing key: derived, never stored, the same in every process.
    public func auditSigningKey() throws(VaultError) -> Ed25519SigningKey {
        do { return try Ed25519SigningKey(seed: auditSigningSeed) } catch { throw VaultError.keyUnavailable }
    }

    public func tenant(_ tenant: Tenant) throws(VaultError) -> TenantKeys {
        try tenants.keys(for: tenant)
    }

    /// The key pair card files for `cardvault import` are sealed to: derived, never stored, the
    /// same in every process and after every restart; `cardvault import-key` prints its public
    /// half.
    public func importKeyPair() throws(VaultError) -> SealedBoxKeyPair {
        do { return try SealedBoxKeyPair(seed: importSeed) } catch { throw VaultError.keyUnavailable }
    }

    /// How an exporter's reference is recorded for `tenant`: a keyed hash, the tenant inside it.
    public func importReference(tenant: Tenant, _ reference: String) -> [UInt8] {
        KeyedHash.hash(Array("cardvault.import_reference.v1|\(tenant.rawValue)|\(reference)".utf8), key: importReferenceKey, length: 24)
    }

    /// The MAC of a `card_imports` row: its reference hash and the token it maps to, so the
    /// token a reference means cannot be changed without the key.
    public func importRowMAC(referenceHash: [UInt8], token: CardToken) -> [UInt8] {
        KeyedHash.hash(Array("cardvault.import_row.v1|".utf8) + referenceHash + Array("|\(token.rawValue)".utf8), key: importReferenceKey, length: 16)
    }

    /// How a provider's transaction uid or job id is stored: a keyed hash, so any value the
    /// provider uses (a UUID whose last group happens to be 12 digits included) can be
    /// remembered without a PAN-like string ever reaching the database.
    public func providerCallReference(provider: String, _ reference: String) -> String {
        "pc_" + Base64URL.encode(KeyedHash.hash(Array("\(provider)|\(reference)".utf8), key: providerCall, length: 24))
    }

    /// How a provider object (an ioka order, a Horizonpay transaction or async job) is
    /// remembered as belonging to `tenant`: a keyed hash of the provider, the tenant and the id.
    /// The tenant is inside the hash, so a row cannot be handed to another tenant by editing its
    /// `tenant` column: that tenant's look-up computes another hash and finds nothing.
    public func providerObject(provider: String, tenant: Tenant, _ id: String) -> String {
        "po_" + Base64URL.encode(KeyedHash.hash(Array("\(provider)|tenant=\(tenant.rawValue)|\(id)".utf8), key: providerCall, length: 24))
    }

    /// The keyed MAC of a provider-object row's content (`provider_calls.cards`), over the row's
    /// look-up hash too, so neither the content nor its row can be swapped without the key.
    public func providerObjectMAC(reference: String, content: [UInt8]) -> [UInt8] {
        KeyedHash.hash(Array("cardvault.provider_object.v1|\(reference)|".utf8) + content, key: providerCall, length: 16)
    }
}

/// The blind-index keys of one tenant.
public struct TenantKeys: Sendable {
    public let fingerprint: SymmetricKey
    public let providerReference: SymmetricKey
}

/// Derived tenant keys, kept for the life of a key-ring load (each is guarded memory: deriving
/// one per request would cost a `sodium_malloc`). Bounded: tenants are created by operators.
final class TenantKeyCache: Sendable {
    private let base: TenantKeys
    private let cache = Mutex<[Tenant: TenantKeys]>([:])
    static let capacity = 4096

    init(base: TenantKeys) { self.base = base }

    func keys(for tenant: Tenant) throws(VaultError) -> TenantKeys {
        if tenant == .default { return base }
        if let known = cache.withLock({ $0[tenant] }) { return known }
        let label = Array("cardvault.tenant.v1|\(tenant.rawValue)".utf8)
        let keys: TenantKeys
        do {
            keys = TenantKeys(
                fingerprint: try SymmetricKey(SecureBytes(copying: KeyedHash.hash(label, key: base.fingerprint, length: 32))),
                providerReference: try SymmetricKey(SecureBytes(copying: KeyedHash.hash(label, key: base.providerReference, length: 32))))
        } catch {
            throw VaultError.keyUnavailable
        }
        cache.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[tenant] = keys
        }
        return keys
    }
}
