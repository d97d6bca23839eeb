import Foundation
import VaultCrypto

/// The cards aggregate: validation, sealing, dedup by fingerprint, pending security codes,
/// audit and idempotency, each in one transaction. Provider references, provider tokens and
/// retention are their own services over the same `VaultContext`.
public struct CardVault: VaultService {
    public let context: VaultContext
    /// Retention given to a card created without `retain_until`; nil keeps it until deleted.
    public let defaultRetention: TimeInterval?
    /// Rate limit and enumeration guard on tokenize (the server's; none for in-process tools).
    public let limits: TokenizeLimits

    public init(context: VaultContext, defaultRetention: TimeInterval? = nil, limits: TokenizeLimits = .none) {
        self.context = context
        self.defaultRetention = defaultRetention
        self.limits = limits
    }

    public init(
        store: any VaultStore, keys: KeyRing, codes: SecurityCodeVault, defaultRetention: TimeInterval? = nil,
        limits: TokenizeLimits = .none, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(context: VaultContext(store: store, keys: keys, codes: codes, clock: clock), defaultRetention: defaultRetention, limits: limits)
    }

    // MARK: tokenize

    /// Vaults a card: `created` with a new token, or `existing` with the token that already holds
    /// the PAN in the caller's tenant (its expiry and holder updated). A security code, if given, is kept in
    /// memory only.
    ///
    /// Refused with `rate_limited` over the client's rate, and with `enumeration_suspected`
    /// (audited, nothing stored) when the client already tokenized `enumerationLimit` other
    /// cards with the same first six and last four digits within the window.
    public func tokenize(_ input: CardInput, caller: Caller, idempotencyKey: IdempotencyKey?) async throws -> CardAnswer {
        if let wait = limits.rate?.take(caller.client.id) { throw TokenizeLimits.rateLimited(retryAfter: wait) }
        let now = clock()
        let actor = caller.actor
        var v = FieldValidator()
        let pan = v.check { () throws(VaultError) -> PrimaryAccountNumber in
            guard let number = input.number else { throw .invalid("number", code: .missingField, "number is required") }
            return try PrimaryAccountNumber(validating: number)
        }
        let expiry = v.check { () throws(VaultError) -> CardExpiry in
            guard let m = input.expMonth else { throw .invalid("exp_month", code: .missingField, "exp_month is required") }
            guard let y = input.expYear else { throw .invalid("exp_year", code: .missingField, "exp_year is required") }
            return try CardExpiry.validating(month: m, year: y, now: now)
        }
        let holder = v.check { () throws(VaultError) -> CardHolder? in try input.holder.map { h throws(VaultError) in try CardHolder(validating: h) } } ?? nil
        _ = v.check { () throws(VaultError) in
            if let raw = input.verificationValue { try SecurityCode.validate(raw, brand: pan?.brand ?? .unknown) }
        }
        let retainUntil =
            v.check { () throws(VaultError) -> Date? in try input.retainUntil.map { t throws(VaultError) in try RetentionDate.parse(t, now: now) } } ?? nil
        try v.finish()
        let defaultRetainUntil = defaultRetention.map { now.addingTimeInterval($0) }
        guard let pan, let expiry else { throw VaultError.invalid("number", code: .invalidCard, "invalid card") }
        // The code's slot is taken before anything is written: a full slab refuses the whole
        // request (503), and a failed write releases the slot with the value.
        let code = try input.verificationValue.map { raw throws(VaultError) in try self.codes.seal(raw, brand: pan.brand) }
        if let code, let shared = codes.shared {
            do { try await shared.admit() } catch {
                code.bytes.wipe()
                throw error
            }
        }
        let data = CardData(pan: pan, expiry: expiry, holder: holder)
        let derived = try await loadedKeys().derivedKeys()
        let idempotencyKey = idempotencyKey?.blinded(with: derived.idempotency)
        let tenant = caller.tenant
        let fingerprint = CardFingerprint(pan: pan, key: try derived.tenant(tenant).fingerprint)
        let codeExpiry = code == nil ? nil : now.addingTimeInterval(codes.timeToLive)
        let requestHash = idempotencyKey.map { _ in Self.requestHash(data, hasCode: code != nil, retainUntil: input.retainUntil, key: derived.idempotency) }
        let client = caller.client.id
        let codes = self.codes
        let keys = self.keys
        let chain = AuditChain(key: derived.audit)
        // The guard's counters: this client's, and its tenant's (all its clients together).
        let since = now.addingTimeInterval(-limits.enumerationWindow)
        let guards = [(limits.enumerationLimit, client, "distinct"), (limits.enumerationTenantLimit, EnumerationGuard.tenantKey(tenant), "tenant_distinct")]
            .compactMap { limit, key, label in
                limit.map { (limit: $0, key: key, label: label, hashes: EnumerationGuard.hashes(of: pan, client: key, key: derived.enumerationGuard)) }
            }

        let outcome = try await withKeyRetry {
            try await idempotentWrite(caller, action: "card.create", chain: chain, at: now, key: idempotencyKey, requestHash: requestHash) {
                tx -> (CardAnswer?, CardToken?) in
                // Every counter is checked before any is recorded: a refusal records nothing.
                var unseen: [(key: String, bucket: [UInt8], card: [UInt8])] = []
                for counter in guards {
                    let (bucket, cardHash) = counter.hashes
                    let past = try tx.enumerationGuard(client: counter.key, bucket: bucket, card: cardHash, since: since)
                    if past.seen { continue }
                    guard past.distinct < counter.limit else {
                        // Returned, not thrown: the refusal's audit row commits, nothing else.
                        try tx.appendAudit(
                            AuditEvent(
                                action: "card.enumeration_suspected", subject: "\(counter.label)=\(past.distinct)",
                                outcome: .denied, actor: actor), chain: chain, at: now)
                        return (nil, nil)
                    }
                    unseen.append((counter.key, bucket, cardHash))
                }
                for row in unseen { try tx.recordEnumeration(client: row.key, bucket: row.bucket, card: row.card, at: now) }
                let key = try keys.activeKey()
                let card: SealedCard
                let created: Bool
                if var existing = try tx.card(fingerprint: fingerprint, tenant: tenant) {
                    // The fingerprint column is the database's word only: the card it names must
                    // open, carry this fingerprint, and hold this very number before it is reused.
                    try Self.confirm(existing, holds: pan, keys: keys)
                    existing.reseal(data, key: key)
                    existing.updatedAt = now
                    // An explicit date replaces the retention; the default only extends it.
                    if let retainUntil {
                        existing.retainUntil = retainUntil
                    } else if let defaultRetainUntil, let current = existing.retainUntil {
                        existing.retainUntil = max(current, defaultRetainUntil)
                    }
                    try tx.update(existing)
                    card = existing
                    created = false
                } else {
                    let token = CardToken.generate()
                    card = SealedCard(
                        token: token, tenant: tenant, fingerprint: fingerprint, keyVersion: key.version,
                        box: SealedCard.seal(data, token: token, tenant: tenant, key: key), createdAt: now, updatedAt: now,
                        retainUntil: retainUntil ?? defaultRetainUntil)
                    try tx.insert(card)
                    created = true
                }
                try tx.appendAudit(
                    AuditEvent(
                        action: created ? "card.create" : "card.update_existing", subject: card.token.rawValue,
                        outcome: .success, actor: actor), chain: chain, at: now)
                let metadata = CardMetadata(
                    card: card, data: data,
                    // A token made just now has no code pending anywhere: no query for it.
                    codeExpiresAt: try codeExpiry ?? codes.expiry(for: card.token, now: now)
                        ?? (created ? nil : tx.pendingCodeExpiry(token: card.token, tenant: tenant, at: now)),
                    references: created ? [] : try SealedProviderReference.verified(token: card.token, tenant: tenant, in: tx, keys: keys))
                return (CardAnswer(created ? .created : .existing, body: metadata.jsonBytes), card.token)
            }
        }
        guard let answer = outcome.0 else { throw TokenizeLimits.enumerationSuspected }
        if let code, let token = outcome.1, let codeExpiry {
            try await codes.keep(code, for: token, tenant: tenant, expiresAt: codeExpiry, now: now)
        }
        return answer
    }

    // MARK: read

    /// The metadata of a token: its card (masked) and the provider references it holds (flags
    /// and masked details). Every read is audited, in the same commit.
    public func metadata(of tokenText: String, caller: Caller) async throws -> CardAnswer {
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let token = CardToken(tokenText)
        let (actor, tenant) = (caller.actor, caller.tenant)
        let found = try await writeConfirmed(caller, action: "card.read", chain: chain, at: now) {
            tx -> (SealedCard?, [SealedProviderReference], Date?) in
            let card = try token.flatMap { try tx.card(token: $0, tenant: tenant) }
            let references = try token.map { try tx.references(token: $0, tenant: tenant) } ?? []
            let codeExpiry = try card.flatMap { try tx.pendingCodeExpiry(token: $0.token, tenant: tenant, at: now) }
            try tx.appendAudit(
                AuditEvent(
                    action: "card.read", subject: token?.rawValue, outcome: card == nil && references.isEmpty ? .failure : .success,
                    actor: actor), chain: chain, at: now)
            return (card, references, codeExpiry)
        }
        // The references are shown only once each opens for its row (its tenant is in the AEAD).
        let references = found.1
        if references.contains(where: { (try? keys.key(version: $0.keyVersion)) == nil }) { try await refreshKeys() }
        try await auditingIntegrity(actor: actor, chain: chain, at: now) { try SealedProviderReference.verify(references, keys: keys) }
        guard let card = found.0 else {
            guard let token, let metadata = ReferenceMetadata(token: token, references: found.1) else { throw VaultError.cardNotFound }
            return CardAnswer(.existing, body: metadata.jsonBytes)
        }
        let data = try await open(card, auditedAs: actor)
        let metadata = CardMetadata(card: card, data: data, codeExpiresAt: codes.expiry(for: card.token, now: now) ?? found.2, references: found.1)
        return CardAnswer(.existing, body: metadata.jsonBytes)
    }

    /// Decrypts a sealed card, loading a data-key version the ring does not know yet. A card
    /// whose row fails its check is refused (`card_unreadable`) and, with an actor, audited.
    public func open(_ card: SealedCard, auditedAs actor: AuditActor? = nil) async throws -> CardData {
        if (try? keys.key(version: card.keyVersion)) == nil { try await refreshKeys() }
        guard let actor else { return try keys.open(card) }
        let now = clock()
        return try await auditingIntegrity(actor: actor, chain: AuditChain(key: try keys.derivedKeys().audit), at: now) { try keys.open(card) }
    }

    // MARK: update

    /// Updates expiry and/or holder, and/or supplies a fresh security code.
    public func update(_ tokenText: String, changes: CardChanges, caller: Caller, idempotencyKey: IdempotencyKey?) async throws -> CardAnswer {
        let now = clock()
        let actor = caller.actor
        guard !changes.isEmpty else {
            throw VaultError.invalid("body", code: .noChanges, "give at least one of exp_month, exp_year, holder, verification_value, retain_until")
        }
        var v = FieldValidator()
        let holder = v.check { () throws(VaultError) -> CardHolder? in try changes.holder.map { h throws(VaultError) in try CardHolder(validating: h) } } ?? nil
        let retainUntil =
            v.check { () throws(VaultError) -> Date? in try changes.retainUntil.map { t throws(VaultError) in try RetentionDate.parse(t, now: now) } } ?? nil
        try v.finish()
        guard let token = CardToken(tokenText) else { throw VaultError.cardNotFound }
        let derived = try await loadedKeys().derivedKeys()
        let idempotencyKey = idempotencyKey?.blinded(with: derived.idempotency)
        let codeExpiry = changes.verificationValue == nil ? nil : now.addingTimeInterval(codes.timeToLive)
        let requestHash = idempotencyKey.map { _ in
            var canonical = Array(token.rawValue.utf8)
            for part in [changes.expMonth, changes.expYear, changes.holder, changes.retainUntil] {
                canonical.append(0x1F)
                canonical.append(contentsOf: Array((part ?? "\u{0}").utf8))
            }
            canonical.append(changes.verificationValue == nil ? 0x30 : 0x31)
            return StoredResponse.requestHash(operation: .updateCard, canonical: canonical, key: derived.idempotency)
        }
        let tenant = caller.tenant
        let (codes, keys, chain) = (self.codes, self.keys, AuditChain(key: derived.audit))
        // Make sure every version a card may be under is loaded before entering the writer.
        try await refreshKeys()
        if changes.verificationValue != nil { try await codes.shared?.admit() }

        let outcome = try await withKeyRetry {
            try await idempotentWrite(caller, action: "card.update", chain: chain, at: now, key: idempotencyKey, requestHash: requestHash) {
                tx -> (CardAnswer?, SecurityCode?) in
                guard var card = try tx.card(token: token, tenant: tenant) else {
                    try tx.appendAudit(AuditEvent(action: "card.update", subject: token.rawValue, outcome: .failure, actor: actor), chain: chain, at: now)
                    return (nil, nil)
                }
                var data = try keys.open(card)
                var v = FieldValidator()
                if changes.expMonth != nil || changes.expYear != nil {
                    if let expiry = v.check({ () throws(VaultError) -> CardExpiry in
                        try CardExpiry.validating(
                            month: changes.expMonth ?? data.expiry.monthText,
                            year: changes.expYear ?? data.expiry.yearText, now: now)
                    }) {
                        data.expiry = expiry
                    }
                }
                if let holder { data.holder = holder }
                if let retainUntil { card.retainUntil = retainUntil }
                _ = v.check { () throws(VaultError) in
                    if let raw = changes.verificationValue { try SecurityCode.validate(raw, brand: data.pan.brand) }
                }
                try v.finish()
                // Refused whole (the transaction rolls back) when the code slab is full.
                let code = try changes.verificationValue.map { raw throws(VaultError) in try codes.seal(raw, brand: data.pan.brand) }
                card.reseal(data, key: try keys.activeKey())
                card.updatedAt = now
                try tx.update(card)
                try tx.appendAudit(AuditEvent(action: "card.update", subject: token.rawValue, outcome: .success, actor: actor), chain: chain, at: now)
                let metadata = CardMetadata(
                    card: card, data: data,
                    codeExpiresAt: try codeExpiry ?? codes.expiry(for: token, now: now) ?? tx.pendingCodeExpiry(token: token, tenant: tenant, at: now),
                    references: try SealedProviderReference.verified(token: token, tenant: tenant, in: tx, keys: keys))
                return (CardAnswer(.existing, body: metadata.jsonBytes), code)
            }
        }
        guard let answer = outcome.0 else { throw VaultError.cardNotFound }
        if let code = outcome.1, let codeExpiry { try await codes.keep(code, for: token, tenant: tenant, expiresAt: codeExpiry, now: now) }
        return answer
    }

    // MARK: delete

    /// Deletes a card for good (secure delete in storage) and wipes its pending code.
    public func delete(_ tokenText: String, caller: Caller, idempotencyKey: IdempotencyKey?) async throws -> CardAnswer {
        let now = clock()
        let actor = caller.actor
        guard let token = CardToken(tokenText) else { throw VaultError.cardNotFound }
        let derived = try await loadedKeys().derivedKeys()
        let idempotencyKey = idempotencyKey?.blinded(with: derived.idempotency)
        let chain = AuditChain(key: derived.audit)
        let requestHash = idempotencyKey.map { _ in
            StoredResponse.requestHash(operation: .deleteCard, canonical: Array(token.rawValue.utf8), key: derived.idempotency)
        }
        let tenant = caller.tenant
        let (answer, _) = try await idempotentWrite(
            caller, action: "card.delete", chain: chain, at: now,
            key: idempotencyKey, requestHash: requestHash
        ) { tx -> (CardAnswer?, Bool?) in
            let removedCard = try tx.deleteCard(token: token, tenant: tenant)
            let deleted = try tx.deleteReferences(token: token, tenant: tenant) > 0 || removedCard
            try tx.appendAudit(
                AuditEvent(action: "card.delete", subject: token.rawValue, outcome: deleted ? .success : .failure, actor: actor), chain: chain, at: now)
            return (deleted ? CardAnswer(.deleted, body: []) : nil, nil)
        }
        // Only a card this caller's tenant held and deleted loses its pending code: a token of
        // another tenant is merely unknown here.
        guard let answer else { throw VaultError.cardNotFound }
        await codes.forget(token)
        return answer
    }

    /// Refuses to reuse a stored card for `pan` unless it opens, its fingerprint checks and it
    /// holds the same number (a row whose fingerprint was swapped in the database would
    /// otherwise hand out, and overwrite, another card's token).
    static func confirm(_ card: SealedCard, holds pan: PrimaryAccountNumber, keys: KeyRing) throws(VaultError) {
        let stored: CardData
        do {
            stored = try keys.open(card)
        } catch let error where error.failedRow != nil {
            throw VaultError.integrityFailure.naming(row: .cards, card.token.rawValue)
        }
        guard stored.pan.matches(pan) else {
            IntegrityFailures.record(.cards)
            throw VaultError.integrityFailure.naming(row: .cards, card.token.rawValue)
        }
    }

    /// The idempotency hash of a tokenize request: keyed, over the validated card and whether a
    /// security code came with it (the code itself never enters any hash).
    static func requestHash(_ data: CardData, hasCode: Bool, retainUntil: String?, key: SymmetricKey) -> [UInt8] {
        data.withPlaintext { plaintext in
            var bytes = plaintext + [hasCode ? 0x31 : 0x30] + Array((retainUntil ?? "").utf8)
            defer { wipe(&bytes) }
            return StoredResponse.requestHash(operation: .tokenize, canonical: bytes, key: key)
        }
    }
}

extension VaultError {
    /// A stored row failed its integrity check; nothing was read or changed. Counted and audited.
    public static let integrityFailure = VaultError(
        .unavailable, code: .integrityFailure, message: "a stored record failed its integrity check; nothing was read or changed")

    /// Storage refused a card sealed under a retired or unknown data-key version.
    public static let keyVersionNotUsable = VaultError(
        .unavailable, code: .keyVersionNotUsable, message: "the data-key version is retired; retry")
}
