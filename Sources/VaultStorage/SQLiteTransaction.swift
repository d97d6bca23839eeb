import Foundation
import GRDB
import VaultDomain

/// `VaultTransaction` over one GRDB `Database` access (a transaction, savepoint or snapshot).
/// Lives only for the duration of the closure it is handed to.
struct SQLiteTransaction: VaultTransaction {
    let db: Database

    // MARK: cards

    func card(token: CardToken) throws -> SealedCard? {
        try CardRecord.fetchOne(db, key: token.rawValue)?.card
    }

    func card(fingerprint: CardFingerprint) throws -> SealedCard? {
        try CardRecord.filter(CardRecord.Columns.fingerprint == fingerprint.rawValue).fetchOne(db)?.card
    }

    func cardCountsByKeyVersion() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key_version, COUNT(*) AS n FROM cards GROUP BY key_version") {
            counts[row["key_version"]] = row["n"]
        }
        return counts
    }

    func cardCount() throws -> Int {
        try CardRecord.fetchCount(db)
    }

    func insert(_ card: SealedCard) throws {
        try mapTriggers { try CardRecord(card).insert(db) }
    }

    func update(_ card: SealedCard) throws {
        try mapTriggers { try CardRecord(card).update(db) }
    }

    func deleteCard(token: CardToken) throws -> Bool {
        try CardRecord.deleteOne(db, key: token.rawValue)
    }

    func cards(notUnderVersion version: Int, limit: Int) throws -> [SealedCard] {
        try CardRecord.filter(CardRecord.Columns.keyVersion != version).limit(limit).fetchAll(db).map(\.card)
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
            dataKeys: try DataKeyRecord.order(DataKeyRecord.Columns.version).fetchAll(db).map(\.key),
            indexKey: try IndexKeyRecord.fetchOne(db)?.key)
    }

    func save(_ key: WrappedDataKey) throws {
        try DataKeyRecord(key).upsert(db)
    }

    func save(_ key: WrappedIndexKey) throws {
        try IndexKeyRecord(key).upsert(db)
    }

    // MARK: clients

    func client(secretHash: [UInt8]) throws -> Client? {
        try ClientRecord.filter(ClientRecord.Columns.secretHash == Data(secretHash)).fetchOne(db)?.client
    }

    func client(name: String) throws -> Client? {
        try ClientRecord.filter(ClientRecord.Columns.name == name).fetchOne(db)?.client
    }

    func clients() throws -> [Client] {
        try ClientRecord.order(ClientRecord.Columns.createdAt, ClientRecord.Columns.name).fetchAll(db).map(\.client)
    }

    func insert(_ client: Client, secretHash: [UInt8]) throws {
        try ClientRecord(client, secretHash: secretHash).insert(db)
    }

    func update(_ client: Client) throws {
        try ClientRecord(client).update(db)
    }

    func setSecretHash(_ hash: [UInt8], forClient id: String) throws {
        try db.execute(sql: "UPDATE clients SET secret_hash = ? WHERE id = ?", arguments: [Data(hash), id])
    }

    // MARK: audit

    func lastAuditEntry() throws -> AuditEntry? {
        try AuditRecord.order(AuditRecord.Columns.seq.desc).fetchOne(db)?.entry
    }

    func auditEntries(after seq: Int64, limit: Int) throws -> [AuditEntry] {
        try AuditRecord.filter(AuditRecord.Columns.seq > seq).order(AuditRecord.Columns.seq).limit(limit).fetchAll(db).map(\.entry)
    }

    func latestAuditEntries(limit: Int) throws -> [AuditEntry] {
        try AuditRecord.order(AuditRecord.Columns.seq.desc).limit(limit).fetchAll(db).map(\.entry).reversed()
    }

    func insert(_ entry: AuditEntry) throws {
        try AuditRecord(entry).insert(db)
    }

    // MARK: idempotency

    func idempotentResponse(client: String, key: IdempotencyKey) throws -> StoredResponse? {
        try IdempotencyRecord.fetchOne(db, key: ["client": client, "key": key.rawValue])?.response
    }

    func save(_ response: StoredResponse, client: String, key: IdempotencyKey) throws {
        try IdempotencyRecord(client: client, key: key.rawValue, response: response).insert(db)
    }

    func purgeIdempotency(before date: Date) throws -> Int {
        try IdempotencyRecord.filter(IdempotencyRecord.Columns.createdAt < date).deleteAll(db)
    }
}
