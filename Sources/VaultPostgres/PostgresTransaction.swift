import Foundation
import NIOCore
import PostgresNIO
import VaultCrypto
import VaultDomain

/// `VaultTransaction` over one PostgreSQL transaction (or read-only snapshot). Same rows as
/// SQLite: times in milliseconds, bytes as `bytea`, JSON as text.
struct PostgresTransaction: VaultTransaction {
    let session: PostgresSession
    /// In a write (READ COMMITTED): a row the body reads in order to rewrite it is locked as
    /// it is read (`FOR UPDATE`), so a concurrent writer of the same row waits for this one and
    /// then reads what it wrote, and no update is lost. Rows read only to check them (the
    /// caller's credential) are never locked: requests of one client do not queue.
    var forWrite = false

    /// The locking clause of a write's read-to-rewrite.
    private var lock: String { forWrite ? " FOR UPDATE" : "" }

    private func millis(_ date: Date) -> Int64 { StoredDate.millis(date) }
    private func date(_ millis: Int64) -> Date { StoredDate.date(millis) }
    private func date(_ millis: Int64?) -> Date? { millis.map { date($0) } }
    private func bytes(_ value: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: value) }
    private func array(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }
    private func array(_ buffer: ByteBuffer?) -> [UInt8]? { buffer.map { Array($0.readableBytesView) } }

    static let corrupt = VaultError(.unavailable, code: .storageUnavailable, message: "a stored row is malformed")

    // MARK: cards

    private static let cardColumns = "token, fingerprint, key_version, nonce, ciphertext, created_at, updated_at, retain_until, tenant"

    private func card(_ row: PostgresRow) throws -> SealedCard {
        let (token, fingerprint, version, nonce, ciphertext, created, updated, retain, tenant) = try row.decode(
            (String, String, Int, ByteBuffer, ByteBuffer, Int64, Int64, Int64?, String).self)
        guard let token = CardToken(token) else { throw Self.corrupt }
        return SealedCard(
            token: token, tenant: Tenant(stored: tenant), fingerprint: CardFingerprint(stored: fingerprint), keyVersion: version,
            box: SealedBox(nonce: array(nonce), ciphertext: array(ciphertext)), createdAt: date(created), updatedAt: date(updated),
            retainUntil: date(retain))
    }

    func card(token: CardToken, tenant: Tenant) throws -> SealedCard? {
        try session.rows("SELECT \(unescaped: Self.cardColumns) FROM cards WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue)\(unescaped: lock)")
            .first.map(card)
    }

    func card(fingerprint: CardFingerprint, tenant: Tenant) throws -> SealedCard? {
        try session.rows(
            "SELECT \(unescaped: Self.cardColumns) FROM cards WHERE fingerprint = \(fingerprint.rawValue) AND tenant = \(tenant.rawValue)\(unescaped: lock)"
        )
        .first.map(card)
    }

    func cards(tenant: Tenant, after token: CardToken?, limit: Int) throws -> [SealedCard] {
        try session.rows(
            "SELECT \(unescaped: Self.cardColumns) FROM cards WHERE tenant = \(tenant.rawValue) AND token COLLATE \"C\" > \(token?.rawValue ?? "") ORDER BY token COLLATE \"C\" LIMIT \(limit)"
        ).map(card)
    }

    private func counts(_ table: String) throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try session.rows("SELECT key_version, COUNT(*) FROM \(unescaped: table) GROUP BY key_version") {
            let (version, count) = try row.decode((Int, Int).self)
            counts[version] = count
        }
        return counts
    }

    func cardCountsByKeyVersion() throws -> [Int: Int] { try counts("cards") }

    func cardCount() throws -> Int {
        try session.rows("SELECT COUNT(*) FROM cards").first.map { try $0.decode(Int.self) } ?? 0
    }

    func insert(_ card: SealedCard) throws {
        try session.send(
            """
            INSERT INTO cards (\(unescaped: Self.cardColumns)) VALUES (\(card.token.rawValue), \(card.fingerprint.rawValue), \(card.keyVersion), \
            \(bytes(card.box.nonce)), \(bytes(card.box.ciphertext)), \(millis(card.createdAt)), \(millis(card.updatedAt)), \
            \(card.retainUntil.map(millis)), \(card.tenant.rawValue))
            """)
    }

    func update(_ card: SealedCard) throws {
        try session.send(
            """
            UPDATE cards SET fingerprint = \(card.fingerprint.rawValue), key_version = \(card.keyVersion), nonce = \(bytes(card.box.nonce)), \
            ciphertext = \(bytes(card.box.ciphertext)), updated_at = \(millis(card.updatedAt)), retain_until = \(card.retainUntil.map(millis)) \
            WHERE token = \(card.token.rawValue) AND tenant = \(card.tenant.rawValue)
            """)
    }

    func deleteCard(token: CardToken, tenant: Tenant) throws -> Bool {
        try session.run("DELETE FROM cards WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue)") > 0
    }

    func cards(expiringBy date: Date, limit: Int) throws -> [(token: CardToken, tenant: Tenant)] {
        try session.rows("SELECT token, tenant FROM cards WHERE retain_until <= \(millis(date)) ORDER BY retain_until LIMIT \(limit)").compactMap {
            row in
            let (token, tenant) = try row.decode((String, String).self)
            return CardToken(token).map { (token: $0, tenant: Tenant(stored: tenant)) }
        }
    }

    func cards(notUnderVersion version: Int, limit: Int) throws -> [SealedCard] {
        try session.rows("SELECT \(unescaped: Self.cardColumns) FROM cards WHERE key_version <> \(version) LIMIT \(limit)\(unescaped: lock)").map(card)
    }

    // MARK: provider tokens

    private func providerToken(_ row: PostgresRow) throws -> SealedProviderToken {
        let (card, provider, version, nonce, ciphertext, created) = try row.decode((String, String, Int, ByteBuffer, ByteBuffer, Int64).self)
        guard let token = CardToken(card) else { throw Self.corrupt }
        return SealedProviderToken(
            card: token, provider: provider, keyVersion: version, box: SealedBox(nonce: array(nonce), ciphertext: array(ciphertext)),
            createdAt: date(created))
    }

    func providerTokenCountsByKeyVersion() throws -> [Int: Int] { try counts("provider_tokens") }

    func providerToken(card: CardToken, provider: String, tenant: Tenant) throws -> SealedProviderToken? {
        try session.rows(
            """
            SELECT p.card_token, p.provider, p.key_version, p.nonce, p.ciphertext, p.created_at
            FROM provider_tokens p JOIN cards c ON c.token = p.card_token
            WHERE p.card_token = \(card.rawValue) AND p.provider = \(provider) AND c.tenant = \(tenant.rawValue)\(unescaped: forWrite ? " FOR UPDATE OF p" : "")
            """
        ).first.map(providerToken)
    }

    func save(_ token: SealedProviderToken) throws {
        try session.send(
            """
            INSERT INTO provider_tokens (card_token, provider, key_version, nonce, ciphertext, created_at) VALUES (\(token.card.rawValue), \
            \(token.provider), \(token.keyVersion), \(bytes(token.box.nonce)), \(bytes(token.box.ciphertext)), \(millis(token.createdAt)))
            ON CONFLICT (card_token, provider) DO UPDATE SET key_version = excluded.key_version, nonce = excluded.nonce,
                ciphertext = excluded.ciphertext, created_at = excluded.created_at
            """)
    }

    func providerTokens(notUnderVersion version: Int, limit: Int) throws -> [SealedProviderToken] {
        try session.rows(
            "SELECT card_token, provider, key_version, nonce, ciphertext, created_at FROM provider_tokens WHERE key_version <> \(version) LIMIT \(limit)\(unescaped: lock)"
        ).map(providerToken)
    }

    // MARK: provider references

    private static let referenceColumns = "token, kind, blind_index, key_version, nonce, ciphertext, details, created_at, updated_at, tenant"

    private func reference(_ row: PostgresRow) throws -> SealedProviderReference {
        let (token, kind, blind, version, nonce, ciphertext, details, created, updated, tenant) = try row.decode(
            (String, String, ByteBuffer, Int, ByteBuffer, ByteBuffer, String, Int64, Int64, String).self)
        guard let token = CardToken(token), let kind = ProviderReferenceKind(rawValue: kind),
            let details = try? JSONDecoder().decode(ReferenceDetails.self, from: Data(details.utf8))
        else { throw Self.corrupt }
        return SealedProviderReference(
            token: token, tenant: Tenant(stored: tenant), kind: kind, blindIndex: array(blind), keyVersion: version,
            box: SealedBox(nonce: array(nonce), ciphertext: array(ciphertext)), details: details, createdAt: date(created), updatedAt: date(updated))
    }

    func references(token: CardToken, tenant: Tenant) throws -> [SealedProviderReference] {
        try session.rows(
            "SELECT \(unescaped: Self.referenceColumns) FROM provider_references WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue) ORDER BY kind\(unescaped: lock)"
        ).map(reference)
    }

    func reference(kind: ProviderReferenceKind, blindIndex: [UInt8], tenant: Tenant) throws -> SealedProviderReference? {
        try session.rows(
            """
            SELECT \(unescaped: Self.referenceColumns) FROM provider_references
            WHERE blind_index = \(bytes(blindIndex)) AND kind = \(kind.rawValue) AND tenant = \(tenant.rawValue)\(unescaped: lock)
            """
        ).first.map(reference)
    }

    func providerReferenceCountsByKeyVersion() throws -> [Int: Int] { try counts("provider_references") }

    func save(_ r: SealedProviderReference) throws {
        try session.send(
            """
            INSERT INTO provider_references (\(unescaped: Self.referenceColumns)) VALUES (\(r.token.rawValue), \(r.kind.rawValue), \
            \(bytes(r.blindIndex)), \(r.keyVersion), \(bytes(r.box.nonce)), \(bytes(r.box.ciphertext)), \
            \(String(decoding: VaultJSON.encode(r.details), as: UTF8.self)), \(millis(r.createdAt)), \(millis(r.updatedAt)), \(r.tenant.rawValue))
            ON CONFLICT (token, kind) DO UPDATE SET blind_index = excluded.blind_index, key_version = excluded.key_version,
                nonce = excluded.nonce, ciphertext = excluded.ciphertext, details = excluded.details, updated_at = excluded.updated_at
            """)
    }

    func deleteReferences(token: CardToken, tenant: Tenant) throws -> Int {
        try session.run("DELETE FROM provider_references WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue)")
    }

    func providerReferences(notUnderVersion version: Int, limit: Int) throws -> [SealedProviderReference] {
        try session.rows("SELECT \(unescaped: Self.referenceColumns) FROM provider_references WHERE key_version <> \(version) LIMIT \(limit)\(unescaped: lock)")
            .map(reference)
    }

    // MARK: card imports

    func cardImport(tenant: Tenant, referenceHash: [UInt8]) throws -> CardImportRecord? {
        try session.rows(
            "SELECT token, mac, created_at FROM card_imports WHERE tenant = \(tenant.rawValue) AND reference_hash = \(ByteBuffer(bytes: referenceHash))\(unescaped: lock)"
        ).first.flatMap { row in
            let (token, mac, created) = try row.decode((String, ByteBuffer, Int64).self)
            return CardToken(token).map {
                CardImportRecord(
                    tenant: tenant, referenceHash: referenceHash, token: $0, mac: Array(mac.readableBytesView), createdAt: StoredDate.date(created))
            }
        }
    }

    func save(_ record: CardImportRecord) throws {
        try session.send(
            """
            INSERT INTO card_imports (tenant, reference_hash, token, mac, created_at) VALUES (\(record.tenant.rawValue), \
            \(ByteBuffer(bytes: record.referenceHash)), \(record.token.rawValue), \(ByteBuffer(bytes: record.mac)), \(millis(record.createdAt)))
            ON CONFLICT (tenant, reference_hash) DO UPDATE SET token = excluded.token, mac = excluded.mac, created_at = excluded.created_at
            """)
    }

    // MARK: provider calls and notifications

    func providerObject(provider: String, reference: String) throws -> String? {
        try session.rows("SELECT cards FROM provider_calls WHERE provider = \(provider) AND reference = \(reference)")
            .first.map { try $0.decode(String.self) }
    }

    func saveProviderObject(_ content: String, provider: String, reference: String, tenant: Tenant, at date: Date) throws {
        try session.send(
            """
            INSERT INTO provider_calls (provider, reference, cards, created_at, tenant) VALUES (\(provider), \(reference), \(content), \
            \(millis(date)), \(tenant.rawValue))
            ON CONFLICT (provider, reference) DO UPDATE SET cards = excluded.cards, created_at = excluded.created_at, tenant = excluded.tenant
            """)
    }

    func purgeProviderCalls(before date: Date) throws -> Int {
        try session.run("DELETE FROM provider_calls WHERE created_at < \(millis(date))")
            + session.run("DELETE FROM provider_notifications WHERE created_at < \(millis(date))")
    }

    func providerNotification(key: String) throws -> [UInt8]? {
        try session.rows("SELECT answer FROM provider_notifications WHERE key = \(key)").first.map { array(try $0.decode(ByteBuffer.self)) }
    }

    func saveProviderNotification(key: String, answer: [UInt8], at date: Date) throws {
        try session.send(
            """
            INSERT INTO provider_notifications (key, answer, created_at) VALUES (\(key), \(bytes(answer)), \(millis(date)))
            ON CONFLICT (key) DO UPDATE SET answer = excluded.answer, created_at = excluded.created_at
            """)
    }

    // MARK: keys

    func keySnapshot() throws -> KeySnapshot {
        let dataKeys = try session.rows("SELECT version, state, kek_id, nonce, wrapped, created_at, retired_at FROM data_keys ORDER BY version").map {
            row -> WrappedDataKey in
            let (version, state, kek, nonce, wrapped, created, retired) = try row.decode((Int, String, String, ByteBuffer?, ByteBuffer?, Int64, Int64?).self)
            guard let state = DataKeyState(rawValue: state) else { throw Self.corrupt }
            var box: SealedBox?
            if let nonce, let wrapped { box = SealedBox(nonce: array(nonce), ciphertext: array(wrapped)) }
            return WrappedDataKey(version: version, state: state, kekID: kek, box: box, createdAt: date(created), retiredAt: date(retired))
        }
        let index = try session.rows("SELECT kek_id, nonce, wrapped, created_at FROM index_key WHERE id = 1").first.map { row -> WrappedIndexKey in
            let (kek, nonce, wrapped, created) = try row.decode((String, ByteBuffer, ByteBuffer, Int64).self)
            return WrappedIndexKey(kekID: kek, box: SealedBox(nonce: array(nonce), ciphertext: array(wrapped)), createdAt: date(created))
        }
        let seal = try session.rows("SELECT descriptor FROM seal WHERE id = 1").first.map { row in
            try JSONDecoder().decode(SealDescriptor.self, from: Data(try row.decode(String.self).utf8))
        }
        return KeySnapshot(dataKeys: dataKeys, indexKey: index, seal: seal ?? .file)
    }

    func save(_ key: WrappedDataKey) throws {
        try session.send(
            """
            INSERT INTO data_keys (version, state, kek_id, nonce, wrapped, created_at, retired_at) VALUES (\(key.version), \(key.state.rawValue), \
            \(key.kekID), \(key.box.map { bytes($0.nonce) }), \(key.box.map { bytes($0.ciphertext) }), \(millis(key.createdAt)), \
            \(key.retiredAt.map(millis)))
            ON CONFLICT (version) DO UPDATE SET state = excluded.state, kek_id = excluded.kek_id, nonce = excluded.nonce,
                wrapped = excluded.wrapped, retired_at = excluded.retired_at
            """)
    }

    func save(_ key: WrappedIndexKey) throws {
        try session.send(
            """
            INSERT INTO index_key (id, kek_id, nonce, wrapped, created_at) VALUES (1, \(key.kekID), \(bytes(key.box.nonce)), \
            \(bytes(key.box.ciphertext)), \(millis(key.createdAt)))
            ON CONFLICT (id) DO UPDATE SET kek_id = excluded.kek_id, nonce = excluded.nonce, wrapped = excluded.wrapped
            """)
    }

    func save(_ seal: SealDescriptor, at date: Date) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(seal), as: UTF8.self)
        try session.send(
            """
            INSERT INTO seal (id, descriptor, updated_at) VALUES (1, \(text), \(millis(date)))
            ON CONFLICT (id) DO UPDATE SET descriptor = excluded.descriptor, updated_at = excluded.updated_at
            """)
    }

    // MARK: clients

    private static let clientColumns = "id, name, scopes, created_at, revoked_at, secret_rotated_at, tenant, secret_hash, mac"

    private func client(_ row: PostgresRow) throws -> StoredClient {
        let (id, name, scopes, created, revoked, rotated, tenant, hash, mac) = try row.decode(
            (String, String, String, Int64, Int64?, Int64?, String, ByteBuffer, ByteBuffer?).self)
        return StoredClient(
            client: Client(
                id: id, name: name, scopes: Scope.parseStored(scopes), createdAt: date(created), revokedAt: date(revoked),
                secretRotatedAt: date(rotated), tenant: Tenant(stored: tenant)),
            secretHash: array(hash), mac: array(mac))
    }

    private func scopes(_ client: Client) -> String { client.scopes.map(\.rawValue).sorted().joined(separator: ",") }

    func client(secretHash: [UInt8]) throws -> StoredClient? {
        try session.rows("SELECT \(unescaped: Self.clientColumns) FROM clients WHERE secret_hash = \(bytes(secretHash))").first.map(client)
    }

    func client(name: String) throws -> StoredClient? {
        try session.rows("SELECT \(unescaped: Self.clientColumns) FROM clients WHERE name = \(name)\(unescaped: lock)").first.map(client)
    }

    func clientIsCurrent(id: String, secretHash: [UInt8]) throws -> Bool {
        try !session.rows("SELECT 1 FROM clients WHERE id = \(id) AND secret_hash = \(bytes(secretHash)) AND revoked_at IS NULL").isEmpty
    }

    func clients() throws -> [StoredClient] {
        try session.rows("SELECT \(unescaped: Self.clientColumns) FROM clients ORDER BY created_at, name").map(client)
    }

    func hasMarker(_ name: String) throws -> Bool {
        try !session.rows("SELECT 1 FROM vault_markers WHERE name = \(name)").isEmpty
    }

    func setMarker(_ name: String, at date: Date) throws {
        try session.send("INSERT INTO vault_markers (name, at) VALUES (\(name), \(millis(date))) ON CONFLICT (name) DO NOTHING")
    }

    func touchMarker(_ name: String, at date: Date) throws {
        try session.send("INSERT INTO vault_markers (name, at) VALUES (\(name), \(millis(date))) ON CONFLICT (name) DO UPDATE SET at = excluded.at")
    }

    func insert(_ row: StoredClient) throws {
        let client = row.client
        try session.send(
            """
            INSERT INTO clients (id, name, scopes, created_at, revoked_at, secret_rotated_at, tenant, secret_hash, mac) VALUES (\(client.id), \
            \(client.name), \(scopes(client)), \(millis(client.createdAt)), \(client.revokedAt.map(millis)), \(client.secretRotatedAt.map(millis)), \
            \(client.tenant.rawValue), \(bytes(row.secretHash)), \(row.mac.map(bytes)))
            """)
    }

    func update(_ row: StoredClient) throws {
        let client = row.client
        try session.send(
            """
            UPDATE clients SET name = \(client.name), scopes = \(scopes(client)), created_at = \(millis(client.createdAt)), \
            revoked_at = \(client.revokedAt.map(millis)), secret_rotated_at = \(client.secretRotatedAt.map(millis)), \
            tenant = \(client.tenant.rawValue), secret_hash = \(bytes(row.secretHash)), mac = \(row.mac.map(bytes)) WHERE id = \(client.id)
            """)
    }

    // MARK: audit

    private static let auditColumns = "seq, at, client, action, subject, outcome, request_id, source, hash, tenant"

    private func auditEntry(_ row: PostgresRow) throws -> AuditEntry {
        let (seq, at, client, action, subject, outcome, requestID, source, hash, tenant) = try row.decode(
            (Int64, String, String?, String, String?, String, String?, String?, ByteBuffer, String?).self)
        return AuditEntry(
            seq: seq, at: at, client: client, action: action, subject: subject, outcome: outcome, requestID: requestID, source: source,
            hash: array(hash), tenant: tenant)
    }

    /// The log's last sequenced row.
    func lastAuditEntry() throws -> AuditEntry? {
        try session.rows("SELECT \(unescaped: Self.auditColumns) FROM audit_log ORDER BY seq DESC LIMIT 1").first.map(auditEntry)
    }

    func auditEntries(after seq: Int64, limit: Int) throws -> [AuditEntry] {
        try session.rows("SELECT \(unescaped: Self.auditColumns) FROM audit_log WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)").map(auditEntry)
    }

    func latestAuditEntries(limit: Int) throws -> [AuditEntry] {
        try session.rows("SELECT \(unescaped: Self.auditColumns) FROM audit_log ORDER BY seq DESC LIMIT \(limit)").map(auditEntry).reversed()
    }

    /// A row as it was (`migrate-storage` copies sequenced rows, which have no lane).
    func insert(_ e: AuditEntry) throws {
        try session.send(
            """
            INSERT INTO audit_log (\(unescaped: Self.auditColumns)) VALUES (\(e.seq), \(e.at), \(e.client), \(e.action), \(e.subject), \(e.outcome), \
            \(e.requestID), \(e.source), \(bytes(e.hash)), \(e.tenant))
            """)
    }

    /// Queues the row in this connection's lane: one insert, nothing read, nothing shared with
    /// other writers. The sequencer gives it its place after commit.
    func appendAudit(_ event: AuditEvent, chain: AuditChain, at date: Date) throws -> AuditEntry {
        let row = session.lane.append(event, chain: chain, at: date)
        let e = row.entry
        try session.send(
            """
            INSERT INTO audit_queue (\(unescaped: Self.queueColumns)) VALUES (\(bytes(row.lane)), \(row.laneSeq), \(e.at), \(e.client), \
            \(e.action), \(e.subject), \(e.outcome), \(e.requestID), \(e.source), \(e.tenant), \(bytes(row.laneHash)))
            """)
        return e
    }

    static let queueColumns = "lane, lane_seq, at, client, action, subject, outcome, request_id, source, tenant, lane_hash"

    /// A lane row of `audit_queue` (then `seq` 0) or of `audit_log`.
    private func laneEntry(_ row: PostgresRow) throws -> AuditLaneEntry {
        let (lane, laneSeq, at, client, action, subject, outcome, requestID, source, tenant, laneHash, seq, hash) = try row.decode(
            (ByteBuffer, Int64, String, String?, String, String?, String, String?, String?, String?, ByteBuffer, Int64, ByteBuffer).self)
        return AuditLaneEntry(
            entry: AuditEntry(
                seq: seq, at: at, client: client, action: action, subject: subject, outcome: outcome, requestID: requestID, source: source,
                hash: array(hash), tenant: tenant),
            lane: array(lane), laneSeq: laneSeq, laneHash: array(laneHash))
    }

    func auditLaneEntries(after position: (lane: [UInt8], laneSeq: Int64)?, limit: Int) throws -> [AuditLaneEntry] {
        let (lane, laneSeq) = (position?.lane ?? [], position?.laneSeq ?? 0)
        return try session.rows(
            """
            SELECT * FROM (
                SELECT \(unescaped: Self.queueColumns), seq, hash FROM audit_log WHERE lane IS NOT NULL
                UNION ALL
                SELECT \(unescaped: Self.queueColumns), 0::bigint, ''::bytea FROM audit_queue
            ) lanes WHERE (lane, lane_seq) > (\(bytes(lane)), \(laneSeq)) ORDER BY lane, lane_seq LIMIT \(limit)
            """
        ).map(laneEntry)
    }

    /// The oldest committed rows of the queue, with their queue positions, for the sequencer.
    func queuedForSequencing(limit: Int) throws -> [(pos: Int64, row: AuditLaneEntry)] {
        try session.rows("SELECT \(unescaped: Self.queueColumns), 0::bigint, ''::bytea, pos FROM audit_queue ORDER BY pos LIMIT \(limit)").map { row in
            (try row.makeRandomAccess()[13].decode(Int64.self), try laneEntry(row))
        }
    }

    /// A queued row with its place in the log, keeping its lane columns.
    func insertSequenced(_ row: AuditLaneEntry) throws {
        let e = row.entry
        try session.send(
            """
            INSERT INTO audit_log (\(unescaped: Self.auditColumns), lane, lane_seq, lane_hash) VALUES (\(e.seq), \(e.at), \(e.client), \(e.action), \
            \(e.subject), \(e.outcome), \(e.requestID), \(e.source), \(bytes(e.hash)), \(e.tenant), \(bytes(row.lane)), \(row.laneSeq), \
            \(bytes(row.laneHash)))
            """)
    }

    func queuedAuditEntries(limit: Int) throws -> (count: Int, oldest: [AuditLaneEntry]) {
        let count = try session.rows("SELECT COUNT(*) FROM audit_queue").first.map { try $0.decode(Int.self) } ?? 0
        guard count > 0, limit > 0 else { return (count, []) }
        let oldest = try session.rows(
            "SELECT \(unescaped: Self.queueColumns), 0::bigint, ''::bytea FROM audit_queue ORDER BY pos LIMIT \(limit)"
        ).map(laneEntry)
        return (count, oldest)
    }

    // MARK: idempotency

    func idempotentResponse(client: String, key: IdempotencyKey) throws -> StoredResponse? {
        try session.rows(
            "SELECT request_hash, status, body, created_at, mac FROM idempotency_keys WHERE client = \(client) AND key = \(key.rawValue)\(unescaped: lock)"
        )
        .first.map { row in
            let (hash, status, body, created, mac) = try row.decode((ByteBuffer, Int, ByteBuffer, Int64, ByteBuffer?).self)
            return StoredResponse(requestHash: array(hash), status: status, body: array(body), createdAt: date(created), mac: array(mac))
        }
    }

    func save(_ r: StoredResponse, client: String, key: IdempotencyKey) throws {
        try session.send(
            """
            INSERT INTO idempotency_keys (client, key, request_hash, status, body, created_at, mac) VALUES (\(client), \(key.rawValue), \
            \(bytes(r.requestHash)), \(r.status), \(bytes(r.body)), \(millis(r.createdAt)), \(r.mac.map(bytes)))
            """)
    }

    func replace(_ r: StoredResponse, client: String, key: IdempotencyKey) throws {
        try session.send(
            """
            INSERT INTO idempotency_keys (client, key, request_hash, status, body, created_at, mac) VALUES (\(client), \(key.rawValue), \
            \(bytes(r.requestHash)), \(r.status), \(bytes(r.body)), \(millis(r.createdAt)), \(r.mac.map(bytes)))
            ON CONFLICT (client, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, body = excluded.body,
                created_at = excluded.created_at, mac = excluded.mac
            """)
    }

    func deleteIdempotency(client: String, key: IdempotencyKey) throws {
        try session.run("DELETE FROM idempotency_keys WHERE client = \(client) AND key = \(key.rawValue)")
    }

    func purgeIdempotency(before date: Date) throws -> Int {
        try session.run("DELETE FROM idempotency_keys WHERE created_at < \(millis(date)) AND status <> 0")
    }

    // MARK: enumeration guard

    private func day(_ date: Date) -> Int64 { millis(date) / 86_400_000 }

    func pendingCodeExpiry(token: CardToken, tenant: Tenant, at date: Date) throws -> Date? {
        let row = try session.rows(
            """
            SELECT MAX(expires_at) FROM pending_codes
            WHERE token = \(token.rawValue) AND tenant = \(tenant.rawValue) AND expires_at > \(millis(date))
            """
        ).first
        return self.date(try row?.decode(Int64?.self))
    }

    func enumerationGuard(client: String, bucket: [UInt8], card: [UInt8], since date: Date) throws -> (distinct: Int, seen: Bool) {
        let row = try session.rows(
            """
            SELECT COUNT(*), COALESCE(BOOL_OR(card = \(bytes(card))), FALSE) FROM enumeration_guard
            WHERE day IN (\(day(date)), \(day(date) + 1)) AND client = \(client) AND bucket = \(bytes(bucket)) AND seen_at >= \(millis(date))
            """
        ).first
        guard let row else { return (0, false) }
        let (count, seen) = try row.decode((Int, Bool).self)
        return (count, seen)
    }

    func recordEnumeration(client: String, bucket: [UInt8], card: [UInt8], at date: Date) throws {
        try session.send(
            """
            INSERT INTO enumeration_guard (day, client, bucket, card, seen_at) VALUES (\(day(date)), \(client), \(bytes(bucket)), \(bytes(card)), \
            \(millis(date)))
            ON CONFLICT (day, client, bucket, card) DO UPDATE SET seen_at = excluded.seen_at
            """)
    }

    func purgeEnumerationGuard(before date: Date) throws -> Int {
        try session.run("DELETE FROM enumeration_guard WHERE day < \(day(date))")
    }
}
