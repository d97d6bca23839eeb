import Foundation
import GRDB
import VaultDomain

/// `VaultTransaction` over one GRDB `Database` access (a transaction, savepoint or snapshot).
/// Every statement is a cached prepared statement: preparing SQL (and running GRDB's query
/// builder) on each request cost more than the queries themselves.
struct SQLiteTransaction: VaultTransaction {
    let db: Database
    /// Shared by the jobs of one group-commit batch; nil for reads and lone transactions.
    var batch: BatchState? = nil

    // Rows are mapped straight off the cursor: `Row.fetchOne` / `fetchAll` would first copy every
    // column of every row into a detached `Row`, only for `map` to read it once.
    private func one<T>(_ sql: String, _ arguments: StatementArguments, _ map: (Row) throws -> T) throws -> T? {
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        return try withExtendedLifetime(cursor) { try cursor.next().map(map) }
    }

    private func all<T>(_ sql: String, _ arguments: StatementArguments = [], _ map: (Row) throws -> T) throws -> [T] {
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        var values: [T] = []
        while let row = try cursor.next() { values.append(try map(row)) }
        return values
    }

    private func execute(_ sql: String, _ arguments: StatementArguments) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    // MARK: cards

    func card(token: CardToken, tenant: Tenant) throws -> SealedCard? {
        try one(CardRecord.byToken, [token.rawValue, tenant.rawValue], CardRecord.card)
    }

    func card(fingerprint: CardFingerprint, tenant: Tenant) throws -> SealedCard? {
        try one(CardRecord.byFingerprint, [fingerprint.rawValue, tenant.rawValue], CardRecord.card)
    }

    func cards(tenant: Tenant, after token: CardToken?, limit: Int) throws -> [SealedCard] {
        try all(CardRecord.byTenantAfter, [tenant.rawValue, token?.rawValue ?? "", limit], CardRecord.card)
    }

    func cardCountsByKeyVersion() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key_version, COUNT(*) FROM cards GROUP BY key_version")) {
            counts[row[0]] = row[1]
        }
        return counts
    }

    func cardCount() throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM cards")) ?? 0
    }

    func insert(_ card: SealedCard) throws {
        try mapTriggers { try execute(CardRecord.insert, CardRecord.insertArguments(card)) }
    }

    func update(_ card: SealedCard) throws {
        try mapTriggers { try execute(CardRecord.update, CardRecord.updateArguments(card)) }
    }

    func deleteCard(token: CardToken, tenant: Tenant) throws -> Bool {
        try execute(CardRecord.delete, [token.rawValue, tenant.rawValue])
        return db.changesCount > 0
    }

    func cards(expiringBy date: Date, limit: Int) throws -> [(token: CardToken, tenant: Tenant)] {
        try all(CardRecord.expiring, [StoredDate.millis(date), limit]) { row in
            CardToken(row[0] as String).map { (token: $0, tenant: Tenant(stored: row[1])) }
        }.compactMap { $0 }
    }

    func cards(notUnderVersion version: Int, limit: Int) throws -> [SealedCard] {
        try all(CardRecord.notUnderVersion, [version, limit], CardRecord.card)
    }

    // MARK: provider tokens

    func providerTokenCountsByKeyVersion() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key_version, COUNT(*) FROM provider_tokens GROUP BY key_version")) {
            counts[row[0]] = row[1]
        }
        return counts
    }

    func providerToken(card: CardToken, provider: String, tenant: Tenant) throws -> SealedProviderToken? {
        try one(ProviderTokenRecord.find, [card.rawValue, provider, tenant.rawValue], ProviderTokenRecord.token)
    }

    func save(_ token: SealedProviderToken) throws {
        try mapTriggers { try execute(ProviderTokenRecord.upsert, ProviderTokenRecord.arguments(token)) }
    }

    func providerTokens(notUnderVersion version: Int, limit: Int) throws -> [SealedProviderToken] {
        try all(ProviderTokenRecord.notUnderVersion, [version, limit], ProviderTokenRecord.token)
    }

    // MARK: provider references

    func references(token: CardToken, tenant: Tenant) throws -> [SealedProviderReference] {
        try all(ProviderReferenceRecord.byToken, [token.rawValue, tenant.rawValue], ProviderReferenceRecord.reference)
    }

    func reference(kind: ProviderReferenceKind, blindIndex: [UInt8], tenant: Tenant) throws -> SealedProviderReference? {
        try one(ProviderReferenceRecord.byBlindIndex, [Data(blindIndex), kind.rawValue, tenant.rawValue], ProviderReferenceRecord.reference)
    }

    func providerReferenceCountsByKeyVersion() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key_version, COUNT(*) FROM provider_references GROUP BY key_version")) {
            counts[row[0]] = row[1]
        }
        return counts
    }

    func save(_ reference: SealedProviderReference) throws {
        try mapTriggers { try execute(ProviderReferenceRecord.upsert, ProviderReferenceRecord.arguments(reference)) }
    }

    func deleteReferences(token: CardToken, tenant: Tenant) throws -> Int {
        try execute(ProviderReferenceRecord.delete, [token.rawValue, tenant.rawValue])
        return db.changesCount
    }

    func providerReferences(notUnderVersion version: Int, limit: Int) throws -> [SealedProviderReference] {
        try all(ProviderReferenceRecord.notUnderVersion, [version, limit], ProviderReferenceRecord.reference)
    }

    // MARK: card imports

    func cardImport(tenant: Tenant, referenceHash: [UInt8]) throws -> CardImportRecord? {
        try one("SELECT token, mac, created_at FROM card_imports WHERE tenant = ? AND reference_hash = ?", [tenant.rawValue, Data(referenceHash)]) {
            row -> CardImportRecord? in
            CardToken(row["token"] as String).map {
                CardImportRecord(
                    tenant: tenant, referenceHash: referenceHash, token: $0, mac: Array(row["mac"] as Data),
                    createdAt: StoredDate.date(row["created_at"] as Int64))
            }
        } ?? nil
    }

    func save(_ record: CardImportRecord) throws {
        try execute(
            "INSERT OR REPLACE INTO card_imports (tenant, reference_hash, token, mac, created_at) VALUES (?, ?, ?, ?, ?)",
            [record.tenant.rawValue, Data(record.referenceHash), record.token.rawValue, Data(record.mac), StoredDate.millis(record.createdAt)])
    }

    // MARK: provider calls

    func providerObject(provider: String, reference: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT cards FROM provider_calls WHERE provider = ? AND reference = ?"), arguments: [provider, reference])
    }

    func saveProviderObject(_ content: String, provider: String, reference: String, tenant: Tenant, at date: Date) throws {
        try execute(
            "INSERT OR REPLACE INTO provider_calls (provider, reference, cards, created_at, tenant) VALUES (?, ?, ?, ?, ?)",
            [provider, reference, content, StoredDate.millis(date), tenant.rawValue])
    }

    func purgeProviderCalls(before date: Date) throws -> Int {
        try execute("DELETE FROM provider_calls WHERE created_at < ?", [StoredDate.millis(date)])
        let calls = db.changesCount
        try execute("DELETE FROM provider_notifications WHERE created_at < ?", [StoredDate.millis(date)])
        return calls + db.changesCount
    }

    func providerNotification(key: String) throws -> [UInt8]? {
        try one("SELECT answer FROM provider_notifications WHERE key = ?", [key]) { row in [UInt8](row[0] as Data) }
    }

    func saveProviderNotification(key: String, answer: [UInt8], at date: Date) throws {
        try execute("INSERT OR REPLACE INTO provider_notifications (key, answer, created_at) VALUES (?, ?, ?)", [key, Data(answer), StoredDate.millis(date)])
    }

    private func mapTriggers(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as DatabaseError where error.message == "key_version_not_usable" {
            throw VaultError.keyVersionNotUsable
        }
    }

    // MARK: keys

    func keySnapshot() throws -> KeySnapshot {
        KeySnapshot(
            dataKeys: try all(KeyRecords.dataKeys, [], KeyRecords.dataKey),
            indexKey: try one(KeyRecords.indexKey, [], KeyRecords.indexKey),
            seal: try one(KeyRecords.seal, [], KeyRecords.seal) ?? .file)
    }

    func save(_ seal: SealDescriptor, at date: Date) throws {
        try execute(KeyRecords.upsertSeal, try KeyRecords.sealArguments(seal, at: date))
    }

    func save(_ key: WrappedDataKey) throws {
        try execute(KeyRecords.upsertDataKey, KeyRecords.dataKeyArguments(key))
    }

    func save(_ key: WrappedIndexKey) throws {
        try execute(KeyRecords.upsertIndexKey, KeyRecords.indexKeyArguments(key))
    }

    // MARK: clients

    func client(secretHash: [UInt8]) throws -> StoredClient? {
        try one(ClientRecord.bySecretHash, [Data(secretHash)], ClientRecord.client)
    }

    func client(name: String) throws -> StoredClient? {
        try one(ClientRecord.byName, [name], ClientRecord.client)
    }

    func clientIsCurrent(id: String, secretHash: [UInt8]) throws -> Bool {
        let key = Array(id.utf8) + [0] + secretHash
        if batch?.currentClients.contains(key) == true { return true }
        let current =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM clients WHERE id = ? AND secret_hash = ? AND revoked_at IS NULL"),
                arguments: [id, Data(secretHash)]) != nil
        if current { batch?.currentClients.insert(key) }
        return current
    }

    func clients() throws -> [StoredClient] {
        try all(ClientRecord.all, [], ClientRecord.client)
    }

    func hasMarker(_ name: String) throws -> Bool {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM vault_markers WHERE name = ?"), arguments: [name]) != nil
    }

    func setMarker(_ name: String, at date: Date) throws {
        try execute("INSERT INTO vault_markers (name, at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", [name, StoredDate.millis(date)])
    }

    func touchMarker(_ name: String, at date: Date) throws {
        try execute("INSERT INTO vault_markers (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at", [name, StoredDate.millis(date)])
    }

    func insert(_ row: StoredClient) throws {
        try execute(ClientRecord.insert, StatementArguments([row.client.id] + ClientRecord.arguments(row)))
    }

    func update(_ row: StoredClient) throws {
        batch?.currentClients.removeAll()
        try execute(ClientRecord.update, StatementArguments(ClientRecord.arguments(row) + [row.client.id]))
    }

    // MARK: audit

    func lastAuditEntry() throws -> AuditEntry? {
        if let cached = batch?.lastAudit { return cached }
        let last = try one(AuditRecord.last, [], AuditRecord.entry)
        batch?.lastAudit = .some(last)
        return last
    }

    func auditEntries(after seq: Int64, limit: Int) throws -> [AuditEntry] {
        try all(AuditRecord.after, [seq, limit], AuditRecord.entry)
    }

    func latestAuditEntries(limit: Int) throws -> [AuditEntry] {
        try all(AuditRecord.latest, [limit], AuditRecord.entry).reversed()
    }

    func insert(_ entry: AuditEntry) throws {
        batch?.lastAudit = nil
        try execute(AuditRecord.insert, AuditRecord.arguments(entry))
        batch?.lastAudit = .some(entry)
    }

    // MARK: idempotency

    func idempotentResponse(client: String, key: IdempotencyKey) throws -> StoredResponse? {
        try one(IdempotencyRecord.find, [client, key.rawValue], IdempotencyRecord.response)
    }

    func save(_ response: StoredResponse, client: String, key: IdempotencyKey) throws {
        try execute(IdempotencyRecord.insert, IdempotencyRecord.arguments(response, client: client, key: key.rawValue))
    }

    func replace(_ response: StoredResponse, client: String, key: IdempotencyKey) throws {
        try execute(
            "INSERT OR REPLACE" + IdempotencyRecord.insert.dropFirst("INSERT".count), IdempotencyRecord.arguments(response, client: client, key: key.rawValue))
    }

    func deleteIdempotency(client: String, key: IdempotencyKey) throws {
        try execute("DELETE FROM idempotency_keys WHERE client = ? AND key = ?", [client, key.rawValue])
    }

    func purgeIdempotency(before date: Date) throws -> Int {
        try execute(IdempotencyRecord.purge, [StoredDate.millis(date)])
        return db.changesCount
    }

    // MARK: enumeration guard

    /// The guard's rows live under their UTC day; a window of at most a day spans two of them.
    private static func day(_ date: Date) -> Int64 { StoredDate.millis(date) / 86_400_000 }

    func enumerationGuard(client: String, bucket: [UInt8], card: [UInt8], since date: Date) throws -> (distinct: Int, seen: Bool) {
        let row = try one(
            """
            SELECT COUNT(*), COALESCE(MAX(card = ?), 0) FROM enumeration_guard
            WHERE day IN (?, ?) AND client = ? AND bucket = ? AND seen_at >= ?
            """, [Data(card), Self.day(date), Self.day(date) + 1, client, Data(bucket), StoredDate.millis(date)]
        ) { row in
            (row[0] as Int, (row[1] as Int) != 0)
        }
        return row ?? (0, false)
    }

    func recordEnumeration(client: String, bucket: [UInt8], card: [UInt8], at date: Date) throws {
        try execute(
            "INSERT OR REPLACE INTO enumeration_guard (day, client, bucket, card, seen_at) VALUES (?, ?, ?, ?, ?)",
            [Self.day(date), client, Data(bucket), Data(card), StoredDate.millis(date)])
    }

    /// Drops whole days older than `date`'s: a row can outlive `date` by up to a day, and the
    /// look-up's `seen_at` bound keeps such rows out of every count.
    func purgeEnumerationGuard(before date: Date) throws -> Int {
        try execute("DELETE FROM enumeration_guard WHERE day < ?", [Self.day(date)])
        return db.changesCount
    }
}
