import Foundation
import VaultCrypto

/// The data-key ceremonies: `keys rotate`, `keys rewrap`, `keys retire`.
extension KeyAdministration {
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
}
