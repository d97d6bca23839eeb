import Foundation
import VaultCrypto

/// `cardvault import`: cards from an exporter's file into one tenant, a batch of rows per
/// commit. Each row is validated as `POST /v1/cards` validates a card; its reference must be
/// new in the file. A reference an earlier run imported is skipped (so a second run, or a run
/// resumed after a crash, creates nothing twice); a card the tenant holds already is reused
/// (its fingerprint confirmed by decrypting it, as tokenize does). Every card stored or mapped
/// is audited (`card.import`), in the commit that stores it.
public struct CardImporter: VaultService {
    public let context: VaultContext
    /// Retention for imported cards (`CARDVAULT_RETENTION_DAYS`), as for tokenized ones.
    public let defaultRetention: TimeInterval?

    public init(context: VaultContext, defaultRetention: TimeInterval? = nil) {
        self.context = context
        self.defaultRetention = defaultRetention
    }

    /// What one run has seen so far, 8 bytes per row each (the keyed reference hash truncated;
    /// in a dry run the fingerprint's hash), to find references, and in a dry run cards,
    /// repeated within the file. Grows with the file by about 20 bytes per row, never with
    /// card data.
    public struct Seen: Sendable {
        var references: Set<UInt64> = []
        var cards: Set<UInt64> = []

        public init() {}

        static func short(_ hash: [UInt8]) -> UInt64 { hash.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    }

    /// A valid row, ready to store.
    struct Checked: Sendable {
        let line: Int
        let reference: String
        let referenceHash: [UInt8]
        let data: CardData
        let fingerprint: CardFingerprint
    }

    /// Checks `rows` and answers what importing them would do, changing nothing (`--dry-run`).
    public func check(_ rows: [CardImportRow], tenant: Tenant, seen: inout Seen) async throws -> [CardImportOutcome] {
        let (checked, outcomes) = try await validate(rows, tenant: tenant, seen: &seen)
        var cardsSeen = seen.cards
        let derived = try await loadedKeys().derivedKeys()
        // The same test the import applies: a record counts only with its MAC and its card.
        let found = try await store.read { tx in
            try checked.map { row -> (CardImportRecord?, SealedCard?) in
                (try Self.standing(row, tenant: tenant, in: tx, keys: derived), try tx.card(fingerprint: row.fingerprint, tenant: tenant))
            }
        }
        var results = outcomes
        for (row, (record, card)) in zip(checked, found) {
            let cardKey = UInt64(bitPattern: Int64(row.fingerprint.rawValue.hashValue))
            let repeated = !cardsSeen.insert(cardKey).inserted
            if let record {
                results.append(
                    CardImportOutcome(line: row.line, reference: row.reference, status: .imported, token: record.token, fingerprint: row.fingerprint))
            } else {
                results.append(
                    CardImportOutcome(
                        line: row.line, reference: row.reference, status: card != nil || repeated ? .existing : .created, token: card?.token,
                        fingerprint: row.fingerprint))
            }
        }
        seen.cards = cardsSeen
        return results.sorted { $0.line < $1.line }
    }

    /// A batch validated and hashed, ready for `store` (which may run while the next batch is
    /// read and prepared: the commits stay in file order, the CPU work around them overlaps).
    public struct PreparedBatch: Sendable {
        let checked: [Checked]
        let outcomes: [CardImportOutcome]
    }

    /// Validates and hashes `rows` (references repeated in the file found through `seen`).
    public func prepare(_ rows: [CardImportRow], tenant: Tenant, seen: inout Seen) async throws -> PreparedBatch {
        let (checked, outcomes) = try await validate(rows, tenant: tenant, seen: &seen)
        return PreparedBatch(checked: checked, outcomes: outcomes)
    }

    /// Imports `rows` into `tenant` in one commit and answers each row's outcome.
    public func importBatch(_ rows: [CardImportRow], tenant: Tenant, actor: AuditActor, seen: inout Seen) async throws -> [CardImportOutcome] {
        try await store(try await prepare(rows, tenant: tenant, seen: &seen), tenant: tenant, actor: actor)
    }

    /// Stores a prepared batch in one commit and answers each row's outcome.
    public func store(_ batch: PreparedBatch, tenant: Tenant, actor: AuditActor) async throws -> [CardImportOutcome] {
        let (checked, outcomes) = (batch.checked, batch.outcomes)
        guard !checked.isEmpty else { return outcomes }
        let now = clock()
        let derived = try await loadedKeys().derivedKeys()
        let (keys, chain) = (self.keys, AuditChain(key: derived.audit))
        try await refreshKeys()
        let stored = try await withKeyRetry {
            try await auditingIntegrity(actor: actor, chain: chain, at: now) {
                try await store.write { tx -> [CardImportOutcome] in
                    let key = try keys.activeKey()
                    var results: [CardImportOutcome] = []
                    for row in checked {
                        // A reference imported before keeps its token while that card lives.
                        if let record = try Self.standing(row, tenant: tenant, in: tx, keys: derived) {
                            results.append(
                                CardImportOutcome(
                                    line: row.line, reference: row.reference, status: .imported, token: record.token, fingerprint: row.fingerprint))
                            continue
                        }
                        let token: CardToken
                        let status: CardImportOutcome.Status
                        if let existing = try tx.card(fingerprint: row.fingerprint, tenant: tenant) {
                            // The fingerprint column is the database's word only: the card must
                            // hold this very number before its token is handed out.
                            try CardVault.confirm(existing, holds: row.data.pan, keys: keys)
                            (token, status) = (existing.token, .existing)
                        } else {
                            token = CardToken.generate()
                            try tx.insert(
                                SealedCard(
                                    token: token, tenant: tenant, fingerprint: row.fingerprint, keyVersion: key.version,
                                    box: SealedCard.seal(row.data, token: token, tenant: tenant, key: key), createdAt: now, updatedAt: now,
                                    retainUntil: defaultRetention.map { now.addingTimeInterval($0) }))
                            status = .created
                        }
                        try tx.save(
                            CardImportRecord(
                                tenant: tenant, referenceHash: row.referenceHash, token: token,
                                mac: derived.importRowMAC(referenceHash: row.referenceHash, token: token), createdAt: now))
                        try tx.appendAudit(
                            AuditEvent(action: "card.import", subject: "\(token.rawValue)|\(status.rawValue)", outcome: .success, actor: actor), chain: chain,
                            at: now)
                        results.append(CardImportOutcome(line: row.line, reference: row.reference, status: status, token: token, fingerprint: row.fingerprint))
                    }
                    return results
                }
            }
        }
        return (outcomes + stored).sorted { $0.line < $1.line }
    }

    /// The import record of `row`'s reference when it still stands: its MAC holds (a record
    /// re-pointed by SQL does not) and its card is still there (a deleted card is imported
    /// again).
    static func standing(_ row: Checked, tenant: Tenant, in tx: any VaultReader, keys: DerivedKeys) throws -> CardImportRecord? {
        guard let record = try tx.cardImport(tenant: tenant, referenceHash: row.referenceHash),
            KeyedHash.equal(record.mac, keys.importRowMAC(referenceHash: row.referenceHash, token: record.token)),
            try tx.card(token: record.token, tenant: tenant) != nil
        else { return nil }
        return record
    }

    /// The run's own audit row (`cards.import`): the tenant and the counts, after its batches.
    public func recordRun(tenant: Tenant, counts: [CardImportOutcome.Status: Int], dryRun: Bool, actor: AuditActor) async throws {
        let now = clock()
        let chain = AuditChain(key: try await loadedKeys().derivedKeys().audit)
        let order: [CardImportOutcome.Status] = [.created, .existing, .imported, .duplicate, .invalid]
        let subject = "tenant=\(tenant.rawValue)|" + (dryRun ? "dry_run|" : "") + order.map { "\($0.rawValue)=\(counts[$0] ?? 0)" }.joined(separator: "|")
        try await store.write { tx in
            _ = try tx.appendAudit(AuditEvent(action: "cards.import", subject: subject, outcome: .success, actor: actor), chain: chain, at: now)
        }
    }

    /// The valid rows of `rows` (with their keyed hashes) and the outcomes of the others.
    private func validate(_ rows: [CardImportRow], tenant: Tenant, seen: inout Seen) async throws -> ([Checked], [CardImportOutcome]) {
        let derived = try await loadedKeys().derivedKeys()
        let fingerprintKey = try derived.tenant(tenant).fingerprint
        let now = clock()
        var checked: [Checked] = []
        var outcomes: [CardImportOutcome] = []
        for row in rows {
            var v = FieldValidator()
            let reference = v.check { () throws(VaultError) -> String in try Self.reference(row.reference) }
            let pan = v.check { () throws(VaultError) -> PrimaryAccountNumber in
                guard let number = row.number else { throw .invalid("number", code: .missingField, "number is required") }
                return try PrimaryAccountNumber(validating: number)
            }
            let expiry = v.check { () throws(VaultError) -> CardExpiry in
                guard let m = row.expMonth else { throw .invalid("exp_month", code: .missingField, "exp_month is required") }
                guard let y = row.expYear else { throw .invalid("exp_year", code: .missingField, "exp_year is required") }
                return try CardExpiry.validating(month: m, year: y, now: now)
            }
            let holder = v.check { () throws(VaultError) -> CardHolder? in try row.holder.map { h throws(VaultError) in try CardHolder(validating: h) } } ?? nil
            do {
                try v.finish()
            } catch {
                outcomes.append(CardImportOutcome(line: row.line, reference: reference, status: .invalid, issues: error.fieldIssues))
                continue
            }
            guard let reference, let pan, let expiry else { continue }
            let referenceHash = derived.importReference(tenant: tenant, reference)
            guard seen.references.insert(Seen.short(referenceHash)).inserted else {
                outcomes.append(CardImportOutcome(line: row.line, reference: reference, status: .duplicate))
                continue
            }
            checked.append(
                Checked(
                    line: row.line, reference: reference, referenceHash: referenceHash, data: CardData(pan: pan, expiry: expiry, holder: holder),
                    fingerprint: CardFingerprint(pan: pan, key: fingerprintKey)))
        }
        return (checked, outcomes)
    }

    /// An exporter's reference: 1 to 128 visible ASCII characters, never anything that could
    /// be a card number (it goes back out in the mapping file).
    static func reference(_ text: String?) throws(VaultError) -> String {
        guard let text, !text.isEmpty else { throw .invalid("reference", code: .missingField, "reference is required") }
        guard text.utf8.count <= 128, text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }), text.utf8.first != UInt8(ascii: "=") else {
            throw .invalid("reference", code: .invalidImportReference, "reference must be 1 to 128 visible ASCII characters")
        }
        guard !ReferenceDetails.hasDigitRun(text, atLeast: 12), PANScrubber.scrub(text) == text else {
            throw .invalid("reference", code: .invalidImportReference, "reference must not look like a card number")
        }
        return text
    }
}
