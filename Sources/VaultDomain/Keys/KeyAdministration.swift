import Foundation
import VaultCrypto

/// `cardvault keys`: works on the database and keys directory directly, also while a server
/// runs; every step is audited. Here: loading, `keys init` and `keys status`; one file per
/// ceremony beside it (`+DataKeys`: rotate, rewrap, retire; `+MasterKey`: rotate-master,
/// migrate-seal; `+Custody`: dual control and rekey).
public struct KeyAdministration: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    var directory: KeyDirectory { keys.directory }

    func snapshot() async throws -> KeySnapshot {
        try await store.read { try $0.keySnapshot() }
    }

    /// Loads the ring, finishing an interrupted `rotate-master` (promoting `master.key.new`
    /// when the database already uses it), under the folder's lock. Never deletes a key file:
    /// a `master.key.new` the database does not use yet belongs to a `rotate-master` that has
    /// not committed, and only that command (or the next one, under the lock) may remove it.
    public func load() async throws {
        try await directory.withLock { try await loadUnlocked() }
    }

    /// `load()`, and then, for a server that has started on the master key the database
    /// names, the removal of the predecessor `rotate-master` kept (`master.key.old`).
    public func loadAtStart() async throws {
        try await directory.withLock {
            try await loadUnlocked()
            if keys.loadedSeal?.kind == .file, let previous = directory.loadPreviousMasterKey(), try previous.checkValue != keys.masterKey().checkValue {
                directory.removePreviousMasterKey()
            }
        }
    }

    func loadUnlocked() async throws {
        let snapshot = try await snapshot()
        try keys.refresh(from: snapshot)
        if let pending = directory.loadPendingMasterKey(), try pending.checkValue == keys.masterKey().checkValue {
            try directory.promotePendingMasterKey()
        }
    }

    public enum InitResult: String, Sendable, Codable {
        case created
        /// The keys directory already held a master key; the database keys were created under it.
        case createdWithExistingMasterKey = "created_with_existing_master_key"
        case alreadyInitialised = "already_initialised"
    }

    /// Receives the shares of a new share set before anything that depends on them commits, so
    /// a crash loses nothing: either the old shares still open the vault or the new ones were
    /// handed over. It prints them, writes the custodians' files, or sends them down the admin
    /// socket and waits for the operator's acknowledgement.
    public typealias ShareHandOver = @Sendable ([ShamirSecretSharing.Share], SealDescriptor) async throws -> Void

    /// Creates the master key under the chosen seal (the file `master.key`, 0600; shares of a
    /// key that lives only in memory; or a token key), the index key and data-key version 1.
    /// Running it again on an initialised vault changes nothing.
    public func initialize(actor: AuditActor, seal request: SealRequest = .file, handOver: ShareHandOver = { _, _ in }) async throws -> InitResult {
        try request.validate()
        if request.kind == .file { try directory.ensureExists() }
        let existing = try await snapshot()
        if existing.isInitialised {
            try? await load()
            return .alreadyInitialised
        }
        guard existing.dataKeys.isEmpty && existing.indexKey == nil else {
            throw VaultError(.failedPrecondition, code: .keysPartiallyInitialised, message: "the database holds partial key material; restore it from backup")
        }
        let kek: any KeyEncryptionKey
        var result = InitResult.created
        var seal = SealDescriptor.file
        switch request {
        case .file:
            if directory.hasMasterKey {
                kek = SoftwareKeyEncryptionKey(try directory.loadMasterKey())
                result = .createdWithExistingMasterKey
            } else {
                let master = try SymmetricKey.generate()
                try directory.writeMasterKey(master)
                kek = SoftwareKeyEncryptionKey(master)
            }
        case .shamir(let count, let threshold, let custodians):
            let master = try SymmetricKey.generate()
            let (descriptor, shares) = try KeyShares.split(master, shares: count, threshold: threshold, custodians: custodians)
            seal = descriptor
            try await handOver(shares, descriptor)
            keys.unseal(master: master)
            kek = SoftwareKeyEncryptionKey(master)
        case .pkcs11(let label):
            kek = try keys.hardwareKeys().generateKey(label: label)
            seal = SealDescriptor(kind: .pkcs11, keyLabel: label)
        }
        let kekID = kek.id
        let now = clock()
        let index = try SymmetricKey.generate()
        let wrappedIndex = WrappedIndexKey(
            kekID: kekID, box: try kek.wrap(index, associatedData: WrappedIndexKey.associatedData(kekID: kekID)), createdAt: now)
        let dek = try SymmetricKey.generate()
        let wrappedDEK = WrappedDataKey(
            version: 1, state: .active, kekID: kekID,
            box: try kek.wrap(dek, associatedData: WrappedDataKey.associatedData(version: 1, kekID: kekID)),
            createdAt: now, retiredAt: nil)
        let chain = AuditChain(key: try DerivedKeys(index: index).audit)
        try await store.write { [seal] tx in
            guard try !tx.keySnapshot().isInitialised else {
                throw VaultError(.conflict, code: .keysAlreadyInitialised, message: "another process initialised the keys first")
            }
            try tx.save(wrappedIndex)
            try tx.save(wrappedDEK)
            try tx.save(seal, at: now)
            // A new vault has no client row without a MAC: none is ever authenticated later.
            try tx.setMarker(ClientRows.marker, at: now)
            try tx.appendAudit(
                AuditEvent(action: "keys.init", subject: "v1|seal=\(seal.kind.rawValue)", outcome: .success, actor: actor), chain: chain, at: now)
        }
        try await load()
        return result
    }

    /// Reads what the database says; needs no key (under a sealed shamir vault too).
    public func status() async throws -> KeyStatus {
        do { try await load() } catch let error as VaultError where error.code == .sealed || error.code == .hsmUnavailable {}
        let (snapshot, counts, tokens, references) = try await store.read { db in
            (try db.keySnapshot(), try db.cardCountsByKeyVersion(), try db.providerTokenCountsByKeyVersion(), try db.providerReferenceCountsByKeyVersion())
        }
        let versions = snapshot.dataKeys.sorted { $0.version < $1.version }.map {
            KeyStatus.Version(
                version: $0.version, state: $0.state, cards: counts[$0.version] ?? 0, providerTokens: tokens[$0.version] ?? 0,
                providerReferences: references[$0.version] ?? 0, createdAt: $0.createdAt, retiredAt: $0.retiredAt)
        }
        guard let index = snapshot.indexKey else { throw VaultError.keysNotInitialised }
        return KeyStatus(
            masterKeyID: index.kekID, activeVersion: snapshot.activeVersion ?? 0,
            versions: versions, totalCards: counts.values.reduce(0, +), seal: snapshot.seal, sealed: !keys.isLoaded)
    }

    /// Records (cards, provider tokens and provider references) not yet under the active version.
    static func outstanding(_ db: any VaultReader, active: Int) throws -> Int {
        try db.cardCountsByKeyVersion().filter { $0.key != active }.values.reduce(0, +)
            + db.providerTokenCountsByKeyVersion().filter { $0.key != active }.values.reduce(0, +)
            + db.providerReferenceCountsByKeyVersion().filter { $0.key != active }.values.reduce(0, +)
    }

    func record(_ action: String, subject: String, chain: AuditChain, actor: AuditActor) async throws {
        let now = clock()
        try await store.write { tx in
            _ = try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: .success, actor: actor), chain: chain, at: now)
        }
    }
}
