import Foundation
import VaultCrypto

/// `cardvault keys init|status|rotate|rewrap|retire|rotate-master`. Works on the database and
/// keys directory directly, also while a server runs; every step is audited.
public struct KeyAdministration: Sendable {
    public let store: any VaultStore
    public let keys: KeyRing
    public let clock: @Sendable () -> Date

    public init(store: any VaultStore, keys: KeyRing, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.keys = keys
        self.clock = clock
    }

    var directory: KeyDirectory { keys.directory }

    private func snapshot() async throws -> KeySnapshot {
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

    private func loadUnlocked() async throws {
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

    /// Adds a data-key version and makes it active; the previous active version becomes
    /// decrypt-only. A running server picks it up within seconds.
    public func rotate(actor: AuditActor) async throws -> Int {
        try await load()
        let master = try keys.keyEncryptionKey()
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        let dek = try SymmetricKey.generate()
        let version = try await store.write { tx in
            let snapshot = try tx.keySnapshot()
            guard snapshot.isInitialised else { throw VaultError.keysNotInitialised }
            let next = (snapshot.dataKeys.map(\.version).max() ?? 0) + 1
            for var old in snapshot.dataKeys where old.state == .active {
                old.state = .decryptOnly
                try tx.save(old)
            }
            let kek = master.id
            try tx.save(
                WrappedDataKey(
                    version: next, state: .active, kekID: kek,
                    box: try master.wrap(dek, associatedData: WrappedDataKey.associatedData(version: next, kekID: kek)),
                    createdAt: now, retiredAt: nil))
            try tx.appendAudit(AuditEvent(action: "keys.rotate", subject: "v\(next)", outcome: .success, actor: actor), chain: chain, at: now)
            return next
        }
        try await load()
        return version
    }

    /// Re-encrypts cards sealed under older versions to the active one, `batchSize` per
    /// transaction. Each batch commits on its own, so an interrupted run loses nothing and the
    /// next run continues. `maxBatches` stops early (for tests and throttled runs); `pause`
    /// leaves the write lock to a running server between batches.
    public func rewrap(
        actor: AuditActor, batchSize: Int = 500, maxBatches: Int? = nil, pause: Duration = .zero,
        progress: @Sendable (RewrapProgress) -> Void = { _ in }
    ) async throws -> RewrapProgress {
        try await load()
        let started = Date()
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let active = try keys.activeKey()
        let keys = self.keys
        let initialRemaining = try await store.read { db in try Self.outstanding(db, active: active.version) }
        var result = RewrapProgress(rewrapped: 0, remaining: initialRemaining, batches: 0, targetVersion: active.version, seconds: 0)
        try await record("keys.rewrap.start", subject: "v\(active.version)", chain: chain, actor: actor)
        while maxBatches.map({ result.batches < $0 }) ?? true {
            let now = clock()
            let done = try await store.write { tx -> (cards: Int, tokens: Int, references: Int) in
                let batch = try tx.cards(notUnderVersion: active.version, limit: batchSize)
                for var card in batch {
                    let data = try keys.open(card)
                    card.reseal(data, key: active)
                    try tx.update(card)
                }
                // Provider tokens, then provider references, follow once every card is done.
                let tokens = batch.isEmpty ? try tx.providerTokens(notUnderVersion: active.version, limit: batchSize) : []
                for token in tokens {
                    try tx.save(token.resealed(with: active, from: keys.key(version: token.keyVersion)))
                }
                let references = batch.isEmpty && tokens.isEmpty ? try tx.providerReferences(notUnderVersion: active.version, limit: batchSize) : []
                for reference in references {
                    try tx.save(reference.resealed(with: active, from: keys.key(version: reference.keyVersion)))
                }
                let done = batch.count + tokens.count + references.count
                if done > 0 {
                    try tx.appendAudit(
                        AuditEvent(action: "keys.rewrap.batch", subject: "v\(active.version):\(done)", outcome: .success, actor: actor), chain: chain, at: now)
                }
                return (batch.count, tokens.count, references.count)
            }
            let total = done.cards + done.tokens + done.references
            if total == 0 { break }
            // Leave the write lock to a running server between batches.
            if pause > .zero { try await Task.sleep(for: pause) }
            result.rewrapped += total
            result.cards += done.cards
            result.providerTokens += done.tokens
            result.providerReferences += done.references
            result.remaining = max(0, result.remaining - total)
            result.batches += 1
            result.seconds = Date().timeIntervalSince(started)
            progress(result)
        }
        if maxBatches == nil || result.remaining == 0 {
            result.remaining = try await store.read { db in try Self.outstanding(db, active: active.version) }
        }
        result.seconds = Date().timeIntervalSince(started)
        try await record(
            result.remaining == 0 ? "keys.rewrap.complete" : "keys.rewrap.paused",
            subject: "v\(active.version):\(result.rewrapped)", chain: chain, actor: actor)
        return result
    }

    /// Destroys version `version` when no card uses it; otherwise refuses with the count.
    /// Under the shamir seal this is dual control: `custody` must hold the threshold of shares.
    public func retire(version: Int, actor: AuditActor, custody: [String] = []) async throws {
        try await load()
        try await verifyCustody(custody, for: "keys.retire", actor: actor)
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        let refusal = try await store.write { tx -> VaultError? in
            guard var key = try tx.keySnapshot().dataKeys.first(where: { $0.version == version }) else {
                return VaultError(.notFound, code: .keyVersionNotFound, message: "there is no data-key version \(version)", field: "version")
            }
            var refusal: VaultError? = nil
            if key.state == .active {
                refusal = VaultError(.failedPrecondition, code: .keyVersionActive, message: "version \(version) is active; rotate first", field: "version")
            } else if key.state == .retired {
                refusal = VaultError(.failedPrecondition, code: .keyVersionRetired, message: "version \(version) is already retired", field: "version")
            } else {
                let users = try tx.cardCountsByKeyVersion()[version] ?? 0
                let tokens = try tx.providerTokenCountsByKeyVersion()[version] ?? 0
                let references = try tx.providerReferenceCountsByKeyVersion()[version] ?? 0
                if users + tokens + references > 0 {
                    refusal = VaultError(
                        .failedPrecondition, code: .keyVersionInUse,
                        message:
                            "\(users) card(s), \(tokens) provider token(s) and \(references) provider reference(s) still use version \(version); run `cardvault keys rewrap` first",
                        field: "version")
                }
            }
            if refusal == nil {
                key.state = .retired
                key.box = nil
                key.retiredAt = now
                try tx.save(key)
            }
            try tx.appendAudit(
                AuditEvent(action: "keys.retire", subject: "v\(version)", outcome: refusal == nil ? .success : .failure, actor: actor), chain: chain, at: now)
            return refusal
        }
        if let refusal { throw refusal }
        // The destroyed data key must leave no page image behind: secure_delete zeroed the row's
        // old bytes in the database file; the WAL still holds them until it is checkpointed
        // and truncated.
        try await store.checkpoint()
        try await load()
    }

    /// Replaces the master key; card records are untouched.
    ///
    /// - file: writes `master.key.new`, re-wraps every data key and the index key under it in
    ///   one transaction, then renames it over `master.key`. A crash between the commit and the
    ///   rename is finished by the next `load()`.
    /// - shamir (dual control: `custody` holds the threshold of current shares): a new key
    ///   and a new share set, handed over before the commit; the old shares stop working.
    /// - pkcs11: a new token key labelled `<label>.<check>`; the old one stays in the token
    ///   (backups are wrapped under it) until an operator destroys it.
    public func rotateMaster(actor: AuditActor, custody: [String] = [], handOver: ShareHandOver = { _, _ in }) async throws -> String {
        try await directory.withLock {
            try await loadUnlocked()
            let seal = try await snapshot().seal
            switch seal.kind {
            case .file:
                return try await rotateMasterFile(actor: actor)
            case .shamir:
                _ = try await verifyCustody(custody, for: "keys.rotate_master", actor: actor)
                let master = try SymmetricKey.generate()
                let (descriptor, shares) = try KeyShares.split(
                    master, shares: seal.shares ?? 0, threshold: seal.threshold ?? 0, custodians: seal.custodians ?? [])
                try await handOver(shares, descriptor)
                let new = SoftwareKeyEncryptionKey(master)
                try await rewrapKeys(to: new, seal: descriptor, action: "keys.rotate_master", actor: actor)
                keys.unseal(master: master)
                try await loadUnlocked()
                return new.id
            case .pkcs11:
                let base = (seal.keyLabel ?? "cardvault-master").split(separator: ".").first.map(String.init) ?? "cardvault-master"
                let label = base + "." + Hex.encode(SecureRandom.bytes(4))
                let new = try keys.hardwareKeys().generateKey(label: label)
                try await rewrapKeys(to: new, seal: SealDescriptor(kind: .pkcs11, keyLabel: label), action: "keys.rotate_master", actor: actor)
                try await loadUnlocked()
                return new.id
            }
        }
    }

    private func rotateMasterFile(actor: AuditActor) async throws -> String {
        let old = try keys.masterKey()
        let new = try SymmetricKey.generate()
        try directory.writePendingMasterKey(new)
        do {
            try await rewrapKeys(to: SoftwareKeyEncryptionKey(new), seal: .file, action: "keys.rotate_master", actor: actor)
        } catch {
            // Only when the database certainly does not use it: a failed commit may still have
            // committed (a lost answer), so look before removing anything.
            if let snapshot = try? await snapshot(), snapshot.indexKey?.kekID == old.checkValue { directory.removePendingMasterKey() }
            throw error
        }
        try directory.promotePendingMasterKey()
        try await loadUnlocked()
        return new.checkValue
    }

    /// Re-wraps the index key and every data key from the loaded master key to `new` and
    /// records `seal`, in one transaction with its audit event.
    private func rewrapKeys(to new: any KeyEncryptionKey, seal: SealDescriptor, action: String, actor: AuditActor) async throws {
        let old = try keys.keyEncryptionKey()
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        let (oldID, newID) = (old.id, new.id)
        let previousSeal = try await snapshot().seal
        try await store.write { tx in
            let snapshot = try tx.keySnapshot()
            guard let index = snapshot.indexKey, index.kekID == oldID else {
                throw VaultError(.conflict, code: .masterKeyChanged, message: "the master key changed while rotating; run again")
            }
            let indexKey = try old.unwrap(index.box, associatedData: WrappedIndexKey.associatedData(kekID: oldID))
            try tx.save(
                WrappedIndexKey(
                    kekID: newID, box: try new.wrap(indexKey, associatedData: WrappedIndexKey.associatedData(kekID: newID)), createdAt: index.createdAt))
            for var wrapped in snapshot.dataKeys {
                if let box = wrapped.box {
                    guard wrapped.kekID == oldID else {
                        throw VaultError(.conflict, code: .masterKeyChanged, message: "the master key changed while rotating; run again")
                    }
                    let dek = try old.unwrap(box, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: oldID))
                    wrapped.box = try new.wrap(dek, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: newID))
                }
                wrapped.kekID = newID
                try tx.save(wrapped)
            }
            try tx.save(seal, at: now)
            let subject = previousSeal.kind == seal.kind ? "\(oldID)->\(newID)" : "\(previousSeal.kind.rawValue):\(oldID)->\(seal.kind.rawValue):\(newID)"
            try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: .success, actor: actor), chain: chain, at: now)
        }
    }

    /// Dual control under the shamir seal: rebuilds the master key from `custody` (the
    /// threshold of current shares, given in this one operation), checks it is the vault's,
    /// and audits each share with its custodian. Other seals need no shares (nil).
    @discardableResult
    public func verifyCustody(_ custody: [String], for action: String, actor: AuditActor) async throws -> SymmetricKey? {
        let snapshot = try await snapshot()
        guard snapshot.seal.kind == .shamir else { return nil }
        guard let kekID = snapshot.indexKey?.kekID else { throw VaultError.keysNotInitialised }
        guard !custody.isEmpty else {
            throw VaultError(
                .failedPrecondition, code: .sharesRequired,
                message: "\(action) is under dual control: give \(snapshot.seal.threshold ?? 0) key shares on standard input", field: "share")
        }
        let (master, shares) = try KeyShares.rebuild(texts: custody, seal: snapshot.seal, kekID: kekID)
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        try await store.write { tx in
            for share in shares {
                try tx.appendAudit(
                    AuditEvent(
                        action: "keys.custody", subject: "\(action)|share \(share.x)|\(snapshot.seal.custodian(ofShare: Int(share.x)))", outcome: .success,
                        actor: actor), chain: chain, at: now)
            }
        }
        return master
    }

    /// `keys rekey`: a new share set (any count and threshold) for the same master key, from
    /// the threshold of current shares. Card rows and wrapped keys are untouched; the old
    /// shares stop working.
    public func rekey(
        shares count: Int, threshold: Int, custodians: [String], actor: AuditActor, custody: [String], handOver: ShareHandOver
    ) async throws -> SealDescriptor {
        try SealRequest.shamir(shares: count, threshold: threshold, custodians: custodians).validate()
        let current = try await snapshot()
        guard current.seal.kind == .shamir else {
            throw VaultError(
                .failedPrecondition, code: .sealInvalid, message: "rekey makes new shares of a shamir seal; this vault's seal is \(current.seal.kind.rawValue)")
        }
        // Offline the custody shares are also what opened the vault.
        if !keys.isLoaded, let master = try? KeyShares.rebuild(texts: custody, seal: current.seal, kekID: current.indexKey?.kekID ?? "").0 {
            keys.unseal(master: master)
        }
        try await load()
        guard let master = try await verifyCustody(custody, for: "keys.rekey", actor: actor) else { throw VaultError.sealed }
        let (descriptor, shares) = try KeyShares.split(master, shares: count, threshold: threshold, custodians: custodians)
        try await handOver(shares, descriptor)
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        try await store.write { tx in
            guard try tx.keySnapshot().seal == current.seal else {
                throw VaultError(.conflict, code: .masterKeyChanged, message: "the seal changed while rekeying; run again")
            }
            try tx.save(descriptor, at: now)
            try tx.appendAudit(
                AuditEvent(
                    action: "keys.rekey", subject: "\(current.seal.shareSet ?? "")->\(descriptor.shareSet ?? ""):\(threshold)-of-\(count)", outcome: .success,
                    actor: actor), chain: chain, at: now)
        }
        return descriptor
    }

    /// `keys migrate-seal --to`: moves the vault to another seal by re-wrapping the index and
    /// data keys (card rows untouched). Leaving the file seal destroys `master.key` after the
    /// commit; leaving pkcs11 leaves the token key for the operator to destroy. Dual control
    /// when leaving shamir.
    public func migrateSeal(
        to request: SealRequest, actor: AuditActor, custody: [String] = [], handOver: ShareHandOver = { _, _ in }
    ) async throws
        -> SealDescriptor
    {
        try request.validate()
        return try await directory.withLock {
            let current = try await snapshot()
            if current.seal.kind == .shamir, !keys.isLoaded,
                let master = try? KeyShares.rebuild(texts: custody, seal: current.seal, kekID: current.indexKey?.kekID ?? "").0
            {
                keys.unseal(master: master)
            }
            try await loadUnlocked()
            guard current.seal.kind != request.kind else {
                throw VaultError.invalid(
                    "to", code: .sealInvalid,
                    "the vault is under the \(request.kind.rawValue) seal already\(request.kind == .shamir ? "; `keys rekey` makes new shares" : "")")
            }
            try await verifyCustody(custody, for: "keys.migrate_seal", actor: actor)
            let new: any KeyEncryptionKey
            var descriptor: SealDescriptor
            var master: SymmetricKey?
            switch request {
            case .file:
                try directory.ensureExists()
                guard !directory.hasMasterKey else {
                    throw VaultError(
                        .failedPrecondition, code: .masterKeyExists,
                        message: "\(directory.masterKeyPath) exists; move it away before migrating to the file seal")
                }
                let key = try SymmetricKey.generate()
                try directory.writeMasterKey(key)
                new = SoftwareKeyEncryptionKey(key)
                descriptor = .file
            case .shamir(let count, let threshold, let custodians):
                let key = try SymmetricKey.generate()
                let split = try KeyShares.split(key, shares: count, threshold: threshold, custodians: custodians)
                descriptor = split.0
                try await handOver(split.1, descriptor)
                new = SoftwareKeyEncryptionKey(key)
                master = key
            case .pkcs11(let label):
                new = try keys.hardwareKeys().generateKey(label: label)
                descriptor = SealDescriptor(kind: .pkcs11, keyLabel: label)
            }
            do {
                try await rewrapKeys(to: new, seal: descriptor, action: "keys.migrate_seal", actor: actor)
            } catch {
                if request == .file, let after = try? await snapshot(), after.indexKey?.kekID != new.id { directory.removeMasterKey() }
                throw error
            }
            if let master { keys.unseal(master: master) }
            if current.seal.kind == .file {
                // The plaintext key file is what the new seal replaces: destroy every copy.
                directory.destroyMasterKeyFiles()
            }
            try await loadUnlocked()
            return descriptor
        }
    }

    /// Records (cards, provider tokens and provider references) not yet under the active version.
    static func outstanding(_ db: any VaultReader, active: Int) throws -> Int {
        try db.cardCountsByKeyVersion().filter { $0.key != active }.values.reduce(0, +)
            + db.providerTokenCountsByKeyVersion().filter { $0.key != active }.values.reduce(0, +)
            + db.providerReferenceCountsByKeyVersion().filter { $0.key != active }.values.reduce(0, +)
    }

    private func record(_ action: String, subject: String, chain: AuditChain, actor: AuditActor) async throws {
        let now = clock()
        try await store.write { tx in
            _ = try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: .success, actor: actor), chain: chain, at: now)
        }
    }
}
