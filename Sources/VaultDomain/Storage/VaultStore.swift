import Foundation

/// Storage as the domain sees it: transactions over cards, keys, clients, audit rows and
/// idempotency records. The SQLite implementation group-commits `write` bodies: many callers'
/// transactions share one durable commit, and `write` returns only after that commit.
///
/// What every backend promises (held by `StorageConformanceTests` against each one):
/// 1. A `write` body is all or nothing, and `write` returns only once it is durable.
/// 2. Writes are serialisable as the vault uses them: at most one card per (tenant,
///    fingerprint) and one row per token, so one PAN sent concurrently gets one token; at most
///    one idempotency record per (client, key), so one key sent concurrently stores one answer.
/// 3. No card, provider token or provider reference row is inserted or updated under a key
///    version that is retired or unknown: that write fails (SQLite: triggers).
/// 4. The audit log is one gapless, hash-chained order however many writers there are. SQLite:
///    rows get consecutive sequence numbers in commit order (the last row a write body reads is
///    the chain's head). PostgreSQL: writers share no head; each connection appends to its own
///    lane (`AuditLaneEntry`), and `sequenceAudit` later gives committed rows their place.
/// 5. Every look-up by what a caller sent is scoped to a tenant (see `VaultReader`).
/// 6. A deleted row's bytes do not outlive the deletion in the database files once
///    `checkpoint()` ran (SQLite: `secure_delete` and a truncated WAL).
/// 7. `read` sees one consistent snapshot.
public protocol VaultStore: Sendable {
    /// Runs `body` in a write transaction (its own savepoint when batched) and returns once the
    /// enclosing commit is durable. If `body` throws, none of its writes remain. A body may run
    /// more than once (PostgreSQL runs it again after losing a conflict with a concurrent
    /// writer): it acts only through its transaction.
    func write<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T
    /// Runs `body` against a consistent snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any VaultReader) throws -> T) async throws -> T
    /// Folds the write-ahead log into the database and truncates it, so that pages of deleted
    /// rows do not linger in it.
    func checkpoint() async throws
    /// The shared pending-code tables, when this backend has them (several instances on one
    /// database); nil keeps codes in each process's memory.
    var sharedCodes: (any SharedCodeStore)? { get }
    /// Whether other instances may write to this database at the same time (PostgreSQL): then
    /// a pending idempotency claim of another process may still be in flight.
    var servesSeveralInstances: Bool { get }
    /// Runs `body` unless another instance on this database is running the job `name` right
    /// now (then answers false without running it): the retention sweep and purges run once.
    func runAlone(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool
    /// Whether writers queue audit rows that `sequenceAudit` orders after commit (PostgreSQL);
    /// false when every row gets its place as it is written (SQLite).
    var sequencesAuditAfterCommit: Bool { get }
    /// Gives up to `limit` committed, queued audit rows their place in the log, chained with
    /// `chain`, in one transaction; answers how many, or nil while another instance is
    /// sequencing.
    func sequenceAudit(chain: AuditChain, limit: Int) async throws -> Int?
}

extension VaultStore {
    public var sharedCodes: (any SharedCodeStore)? { nil }
    public var servesSeveralInstances: Bool { false }
    public var sequencesAuditAfterCommit: Bool { false }
    public func sequenceAudit(chain: AuditChain, limit: Int) async throws -> Int? { 0 }
    /// One host: nothing else runs the job.
    public func runAlone(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        try await body()
        return true
    }
}

/// Read access within a transaction or snapshot. Every look-up of a card, reference, provider
/// token or provider call by what a caller sent is scoped to a tenant: a row of another tenant
/// is never returned.
public protocol VaultReader {
    func card(token: CardToken, tenant: Tenant) throws -> SealedCard?
    func card(fingerprint: CardFingerprint, tenant: Tenant) throws -> SealedCard?
    /// The cards of `tenant` with tokens after `token` (from the first when nil), in token
    /// order, at most `limit` (an export's pages).
    func cards(tenant: Tenant, after token: CardToken?, limit: Int) throws -> [SealedCard]
    /// Number of cards sealed under each data-key version.
    func cardCountsByKeyVersion() throws -> [Int: Int]
    func cardCount() throws -> Int
    /// Number of stored provider tokens under each data-key version.
    func providerTokenCountsByKeyVersion() throws -> [Int: Int]
    func providerToken(card: CardToken, provider: String, tenant: Tenant) throws -> SealedProviderToken?
    /// The provider references a vault token holds (at most one of each kind).
    func references(token: CardToken, tenant: Tenant) throws -> [SealedProviderReference]
    /// The reference with this blind index, if any.
    func reference(kind: ProviderReferenceKind, blindIndex: [UInt8], tenant: Tenant) throws -> SealedProviderReference?
    /// Number of stored provider references under each data-key version.
    func providerReferenceCountsByKeyVersion() throws -> [Int: Int]

    /// The stored content of a provider object (an ioka order, a Horizonpay transaction or
    /// async job) by its look-up hash, which already names the owning tenant; `ProviderObjects`
    /// checks its MAC and reads the cards it was started with.
    func providerObject(provider: String, reference: String) throws -> String?
    /// The answer given to a provider notification already processed (by its keyed hash).
    func providerNotification(key: String) throws -> [UInt8]?

    func keySnapshot() throws -> KeySnapshot

    /// Client rows as stored; `ClientRows.verified` checks one before anything acts on it.
    func client(secretHash: [UInt8]) throws -> StoredClient?
    func client(name: String) throws -> StoredClient?
    /// Whether the client `id` is active and its secret hash is still `secretHash`.
    func clientIsCurrent(id: String, secretHash: [UInt8]) throws -> Bool
    func clients() throws -> [StoredClient]
    /// Whether the one-time marker `name` is set (`vault_markers`).
    func hasMarker(_ name: String) throws -> Bool

    func lastAuditEntry() throws -> AuditEntry?
    /// Rows with `seq > after`, in order, at most `limit`.
    func auditEntries(after seq: Int64, limit: Int) throws -> [AuditEntry]
    /// The newest `limit` rows, oldest first.
    func latestAuditEntries(limit: Int) throws -> [AuditEntry]

    /// Rows appended in lanes (sequenced or not), ordered by lane and position, after `lane`'s
    /// row `laneSeq` (from the start when nil), at most `limit` ([] where there are no lanes).
    func auditLaneEntries(after position: (lane: [UInt8], laneSeq: Int64)?, limit: Int) throws -> [AuditLaneEntry]
    /// How many committed rows wait to be sequenced, and the oldest `limit` of them.
    func queuedAuditEntries(limit: Int) throws -> (count: Int, oldest: [AuditLaneEntry])

    func idempotentResponse(client: String, key: IdempotencyKey) throws -> StoredResponse?

    /// The import record of an exporter reference (`CardImportRecord.referenceHash`) in `tenant`.
    func cardImport(tenant: Tenant, referenceHash: [UInt8]) throws -> CardImportRecord?

    /// How many distinct cards of one bucket (keyed hash of BIN and last four) `client` has
    /// tokenized since `date`, and whether `card` (keyed hash of the PAN) is one of them.
    func enumerationGuard(client: String, bucket: [UInt8], card: [UInt8], since date: Date) throws -> (distinct: Int, seen: Bool)

    /// When the pending security code of (tenant, token) kept in this database expires, if one
    /// is pending at `date` (only a backend with a `SharedCodeStore` keeps codes: nil otherwise).
    func pendingCodeExpiry(token: CardToken, tenant: Tenant, at date: Date) throws -> Date?
}

extension VaultReader {
    public func pendingCodeExpiry(token: CardToken, tenant: Tenant, at date: Date) throws -> Date? { nil }
    public func auditLaneEntries(after position: (lane: [UInt8], laneSeq: Int64)?, limit: Int) throws -> [AuditLaneEntry] { [] }
    public func queuedAuditEntries(limit: Int) throws -> (count: Int, oldest: [AuditLaneEntry]) { (0, []) }
}

/// Write access within a transaction.
public protocol VaultTransaction: VaultReader {
    func insert(_ card: SealedCard) throws
    func update(_ card: SealedCard) throws
    /// Returns whether a row was deleted.
    func deleteCard(token: CardToken, tenant: Tenant) throws -> Bool
    /// Cards whose retention ended at or before `date`, oldest first, at most `limit`.
    func cards(expiringBy date: Date, limit: Int) throws -> [(token: CardToken, tenant: Tenant)]
    /// Cards sealed under a version other than `version`, at most `limit`.
    func cards(notUnderVersion version: Int, limit: Int) throws -> [SealedCard]
    /// Inserts or replaces the token of `card` at its provider.
    func save(_ token: SealedProviderToken) throws
    func providerTokens(notUnderVersion version: Int, limit: Int) throws -> [SealedProviderToken]
    /// Inserts or replaces the reference of its kind for its token.
    func save(_ reference: SealedProviderReference) throws
    /// Removes every reference a token holds; returns how many.
    func deleteReferences(token: CardToken, tenant: Tenant) throws -> Int
    func providerReferences(notUnderVersion version: Int, limit: Int) throws -> [SealedProviderReference]

    /// Inserts or replaces a provider object's row (see `ProviderObjects.remember`).
    func saveProviderObject(_ content: String, provider: String, reference: String, tenant: Tenant, at date: Date) throws
    func saveProviderNotification(key: String, answer: [UInt8], at date: Date) throws
    /// Removes provider-call and processed-notification records created before `date`; returns
    /// how many.
    func purgeProviderCalls(before date: Date) throws -> Int

    func save(_ key: WrappedDataKey) throws
    func save(_ key: WrappedIndexKey) throws
    /// Records how the master key is held (one row; `keySnapshot().seal` reads it back).
    func save(_ seal: SealDescriptor, at date: Date) throws

    func insert(_ client: StoredClient) throws
    /// Rewrites every column of the client row with `client.client.id`.
    func update(_ client: StoredClient) throws
    func setMarker(_ name: String, at date: Date) throws
    /// Sets the marker `name` to `date`, set before or not: a real durable write that changes
    /// nothing else (`/readyz` proves with it that writes commit).
    func touchMarker(_ name: String, at date: Date) throws

    func insert(_ entry: AuditEntry) throws
    /// Appends `event` to the audit log (see `VaultTransaction+Audit` for the chained default;
    /// PostgreSQL queues it in the connection's lane).
    @discardableResult
    func appendAudit(_ event: AuditEvent, chain: AuditChain, at date: Date) throws -> AuditEntry

    /// Inserts or replaces the import record of its (tenant, reference hash).
    func save(_ record: CardImportRecord) throws

    func save(_ response: StoredResponse, client: String, key: IdempotencyKey) throws
    /// Inserts or overwrites (completing a pending claim).
    func replace(_ response: StoredResponse, client: String, key: IdempotencyKey) throws
    func deleteIdempotency(client: String, key: IdempotencyKey) throws
    /// Removes answered idempotency records created before `date`; returns how many. A claim
    /// whose outcome is unknown (still pending) is never purged: purging it would let the same
    /// key move money twice.
    func purgeIdempotency(before date: Date) throws -> Int

    /// Records that `client` tokenized `card` (keyed hashes only) in `bucket` at `date`.
    func recordEnumeration(client: String, bucket: [UInt8], card: [UInt8], at date: Date) throws
    /// Removes enumeration-guard rows older than `date`; returns how many.
    func purgeEnumerationGuard(before date: Date) throws -> Int
}
