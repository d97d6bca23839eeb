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
            if let previous = directory.loadPreviousMasterKey(), try previous.checkValue != keys.masterKey().checkValue {
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

    /// Creates the master key file (0600), the index key and data-key version 1.
    /// Running it again on an initialised vault changes nothing.
    public func initialize(actor: AuditActor) async throws -> InitResult {
        try directory.ensureExists()
        let existing = try await snapshot()
        if existing.isInitialised {
            try await load()
            return .alreadyInitialised
        }
        guard existing.dataKeys.isEmpty && existing.indexKey == nil else {
            throw VaultError(.failedPrecondition, code: .keysPartiallyInitialised, message: "the database holds partial key material; restore it from backup")
        }
        let master: SymmetricKey
        let result: InitResult
        if directory.hasMasterKey {
            master = try directory.loadMasterKey()
            result = .createdWithExistingMasterKey
        } else {
            master = try SymmetricKey.generate()
            try directory.writeMasterKey(master)
            result = .created
        }
        let kek = master.checkValue
        let now = clock()
        let index = try SymmetricKey.generate()
        let wrappedIndex = WrappedIndexKey(
            kekID: kek, box: KeyWrap.wrap(index, associatedData: WrappedIndexKey.associatedData(kekID: kek), master: master), createdAt: now)
        let dek = try SymmetricKey.generate()
        let wrappedDEK = WrappedDataKey(
            version: 1, state: .active, kekID: kek,
            box: KeyWrap.wrap(dek, associatedData: WrappedDataKey.associatedData(version: 1, kekID: kek), master: master),
            createdAt: now, retiredAt: nil)
        let chain = AuditChain(key: try DerivedKeys(index: index).audit)
        try await store.write { tx in
            guard try !tx.keySnapshot().isInitialised else {
                throw VaultError(.conflict, code: .keysAlreadyInitialised, message: "another process initialised the keys first")
            }
            try tx.save(wrappedIndex)
            try tx.save(wrappedDEK)
            try tx.appendAudit(AuditEvent(action: "keys.init", subject: "v1", outcome: .success, actor: actor), chain: chain, at: now)
        }
        try await load()
        return result
    }

    public func status() async throws -> KeyStatus {
        try await load()
        let (snapshot, counts, tokens, references) = try await store.read { db in
            (try db.keySnapshot(), try db.cardCountsByKeyVersion(), try db.providerTokenCountsByKeyVersion(), try db.providerReferenceCountsByKeyVersion())
        }
        let versions = snapshot.dataKeys.sorted { $0.version < $1.version }.map {
            KeyStatus.Version(
                version: $0.version, state: $0.state, cards: counts[$0.version] ?? 0, providerTokens: tokens[$0.version] ?? 0,
                providerReferences: references[$0.version] ?? 0, createdAt: $0.createdAt, retiredAt: $0.retiredAt)
        }
        return KeyStatus(
            masterKeyID: try keys.masterKey().checkValue, activeVersion: snapshot.activeVersion ?? 0,
            versions: versions, totalCards: counts.values.reduce(0, +))
    }

    /// Adds a data-key version and makes it active; the previous active version becomes
    /// decrypt-only. A running server picks it up within seconds.
    public func rotate(actor: AuditActor) async throws -> Int {
        try await load()
        let master = try keys.masterKey()
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
            let kek = master.checkValue
            try tx.save(
                WrappedDataKey(
                    version: next, state: .active, kekID: kek,
                    box: KeyWrap.wrap(dek, associatedData: WrappedDataKey.associatedData(version: next, kekID: kek), master: master),
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
            let done = try await store.write { tx -> Int in
                let batch = try tx.cards(notUnderVersion: active.version, limit: batchSize)
                for var card in batch {
                    let data = try card.open(with: keys.key(version: card.keyVersion))
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
                return done
            }
            if done == 0 { break }
            // Leave the write lock to a running server between batches.
            if pause > .zero { try await Task.sleep(for: pause) }
            result.rewrapped += done
            result.remaining = max(0, result.remaining - done)
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
    public func retire(version: Int, actor: AuditActor) async throws {
        try await load()
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

    /// Replaces the master key: writes `master.key.new`, re-wraps every data key and the index
    /// key under it in one transaction, then renames it over `master.key`. Card records are
    /// untouched. A crash between the commit and the rename is finished by the next `load()`.
    public func rotateMaster(actor: AuditActor) async throws -> String {
        try await directory.withLock { try await rotateMasterUnlocked(actor: actor) }
    }

    private func rotateMasterUnlocked(actor: AuditActor) async throws -> String {
        try await loadUnlocked()
        let old = try keys.masterKey()
        let new = try SymmetricKey.generate()
        try directory.writePendingMasterKey(new)
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        let (oldID, newID) = (old.checkValue, new.checkValue)
        do {
            try await store.write { tx in
                let snapshot = try tx.keySnapshot()
                guard let index = snapshot.indexKey, index.kekID == oldID else {
                    throw VaultError(.conflict, code: .masterKeyChanged, message: "the master key changed while rotating; run again")
                }
                let indexKey = try KeyWrap.unwrap(index.box, associatedData: WrappedIndexKey.associatedData(kekID: oldID), master: old)
                try tx.save(
                    WrappedIndexKey(
                        kekID: newID, box: KeyWrap.wrap(indexKey, associatedData: WrappedIndexKey.associatedData(kekID: newID), master: new),
                        createdAt: index.createdAt))
                for var wrapped in snapshot.dataKeys {
                    if let box = wrapped.box {
                        let dek = try KeyWrap.unwrap(
                            box, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: wrapped.kekID), master: old)
                        wrapped.box = KeyWrap.wrap(dek, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: newID), master: new)
                    }
                    wrapped.kekID = newID
                    try tx.save(wrapped)
                }
                try tx.appendAudit(
                    AuditEvent(action: "keys.rotate_master", subject: "\(oldID)->\(newID)", outcome: .success, actor: actor), chain: chain, at: now)
            }
        } catch {
            // Only when the database certainly does not use it: a failed commit may still have
            // committed (a lost answer), so look before removing anything.
            if let snapshot = try? await snapshot(), snapshot.indexKey?.kekID == oldID { directory.removePendingMasterKey() }
            throw error
        }
        try directory.promotePendingMasterKey()
        try await loadUnlocked()
        return newID
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
