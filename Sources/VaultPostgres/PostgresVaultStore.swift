import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import VaultDomain

/// `VaultStore` over PostgreSQL (PostgresNIO). Transaction bodies stay synchronous, as the
/// domain writes them, and wait for their queries on worker threads (never on an event loop),
/// with a pooled connection each. No body awaits anything but the database, so no transaction
/// holds its locks across a provider call.
///
/// Writes take no lock of the vault's own: each runs in its own READ COMMITTED transaction on
/// its own connection, in parallel with every other instance's, and conflicts are the
/// database's to find. A row read to be rewritten is locked as it is read (`FOR UPDATE`), so
/// two writers of one row take turns and the second works on what the first wrote; a unique
/// key (one card per fingerprint, one row per token, one idempotency record per client and
/// key) makes the second inserter fail, and it runs again from the start (as after a
/// deadlock), then finds the winner's row. The key-version trigger locks the version's row
/// (`FOR SHARE`), so a card cannot commit under a version being retired. The audit log's
/// order is made after commit (`sequenceAudit`), so writers share no head to wait for. Reads
/// run in REPEATABLE READ, read-only snapshots.
public final class PostgresVaultStore: VaultStore, @unchecked Sendable {
    public let url: PostgresDatabaseURL
    let logger: Logger
    private let tls: PostgresConnection.Configuration.TLS
    private let idle = Mutex<[PostgresSession]>([])
    private let slots: ConnectionSlots
    /// One thread per connection: a body that waits on PostgreSQL blocks one of these, never an
    /// event loop or a thread of the shared pool (which grows slowly when its threads block).
    private let threads: NIOThreadPool
    /// For the best-effort work outside a request (terminating an abandoned backend): threads
    /// of its own. On Dispatch's shared threads, terminates that wait out a connect timeout to
    /// a host cut off (5 s each) starved Swift concurrency's executor on a small host, and
    /// requests whose database wait had ended at its bound were answered seconds later.
    private let workers = NIOThreadPool(numberOfThreads: 2)
    /// PostgreSQL's connections run on an event loop of their own, so their answers never wait
    /// behind HTTP request work on the server's loops.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// The advisory lock a bulk copy into an empty database takes (`migrate-storage`; an
    /// arbitrary constant: "cardvault" in ASCII). Requests never take it.
    static let writeLock: Int64 = 0x63_61_72_64_76_61_75
    /// Taken by the audit sequencer for one batch, so one instance at a time gives rows their
    /// place; a writer never waits for it.
    static let sequencerLock: Int64 = writeLock + 2
    /// Every connection's bounds, set at its start, so the server gives up on its own: a
    /// statement, and the wait for a lock, are cancelled by PostgreSQL a second before the vault
    /// stops waiting (`timeout`, CARDVAULT_DATABASE_TIMEOUT), a transaction left open by a vault
    /// that went silent (frozen, partitioned) is ended after 30 s (or three timeouts) and its
    /// locks released, and a peer that vanished is found by TCP keepalives and by checking the
    /// client socket during long queries. Maintenance (migrations, VACUUM) lifts the statement
    /// bound for itself. A COMMIT waiting for a synchronous standby is bounded by the vault alone
    /// (see `writing`).
    static func sessionSettings(timeout: Duration) -> [(String, String)] {
        let serverBound = max(timeout - .seconds(1), .milliseconds(500))
        let idle = max(.seconds(30), timeout * 3)
        return [
            ("statement_timeout", "\(serverBound.milliseconds)ms"), ("lock_timeout", "\(serverBound.milliseconds)ms"),
            ("idle_in_transaction_session_timeout", "\(idle.milliseconds)ms"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
            ("client_connection_check_interval", "5s"),
        ]
    }
    /// How often a write that lost a conflict runs again before the request fails.
    static let writeAttempts = 8

    /// The longest a request waits on the database (CARDVAULT_DATABASE_TIMEOUT, 10 s), all its
    /// transactions together (`DatabaseWaitBudget`): for a free connection, for connecting
    /// (shared by the hosts of the URL), for statements' answers, for a COMMIT's confirmation.
    /// Past it the connection is given up, its backend terminated on the server, and the request
    /// answered 503. Work outside a request gets it whole for each transaction.
    public let timeout: Duration
    var statementTimeout: DispatchTimeInterval { .milliseconds(Int(timeout.milliseconds)) }

    /// Connects, applies the migrations this build knows, and keeps up to `connections`
    /// connections.
    public init(
        url: PostgresDatabaseURL, connections: Int = 16, timeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "cardvault.postgres")
    ) throws {
        self.url = url
        self.timeout = timeout
        // PostgresNIO logs whole backend messages at trace level, data rows included (wrapped
        // keys, ciphertext): its logger never goes below info, whatever CARDVAULT_LOG_LEVEL says.
        var driverLogger = logger
        driverLogger.logLevel = max(logger.logLevel, .info)
        self.logger = driverLogger
        self.slots = ConnectionSlots(connections)
        self.threads = NIOThreadPool(numberOfThreads: connections)
        threads.start()
        workers.start()
        let tls = try Self.tls(for: url)
        self.tls = tls
        let session = try connect()
        try Self.migrate(session)
        idle.withLock { $0.append(session) }
    }

    /// Closes every connection; each stays referenced until its close completes (a
    /// connection must be closed before it is released).
    deinit {
        threads.shutdownGracefully { _ in }
        workers.shutdownGracefully { _ in }
        for session in idle.withLock({ $0 }) { session.close() }
    }

    /// A connection to the first host that answers and, under `target_session_attrs=read-write`,
    /// accepts writes (not in recovery: a standby is passed over, the promoted one found).
    private func connect(within budget: Duration? = nil) throws -> PostgresSession {
        let session = try Self.connect(url: url, tls: tls, logger: logger, timeout: timeout, within: budget)
        session.abandoned = { [url, tls, logger, workers] backend in
            workers.submit { state in
                guard case .active = state else { return }
                Self.terminate(backend, url: url, tls: tls, logger: logger)
            }
        }
        return session
    }

    /// A connection to the first host of `url` that answers (and, for read-write, is the
    /// primary). Each host gets its share of `budget` (what is left of the request's timeout),
    /// at most 5 s; when none will do, the failure is counted and logged with its cause (once
    /// per episode: `StorageFailures`).
    static func connect(
        url: PostgresDatabaseURL, tls: PostgresConnection.Configuration.TLS, logger: Logger, timeout: Duration = .seconds(10),
        within budget: Duration? = nil, countingFailures: Bool = true
    ) throws -> PostgresSession {
        var refusals: [(host: String, cause: StorageFailures.Cause)] = []
        let share = min(.seconds(5), max(.milliseconds(200), (budget ?? timeout) / url.endpoints.count))
        for endpoint in url.endpoints {
            var configuration = PostgresConnection.Configuration(
                host: endpoint.host, port: endpoint.port, username: url.user, password: url.password, database: url.database, tls: tls)
            configuration.options.connectTimeout = .milliseconds(share.milliseconds)
            configuration.options.additionalStartupParameters = sessionSettings(timeout: timeout)
            // connectTimeout covers TCP, TLS, the startup and authentication (a frozen server's
            // kernel still completes the handshake and then nothing answers: PostgresNIO gives up
            // at the same bound); the host's share also bounds the query below.
            let attemptEnd = DispatchTime.now() + .milliseconds(Int(share.milliseconds))
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection.connect(
                    on: eventLoops.any(), configuration: configuration, id: 1, logger: logger
                ).wait()
            } catch {
                refusals.append(("\(endpoint.host):\(endpoint.port)", cause(of: error)))
                continue
            }
            let session = PostgresSession(connection: connection, logger: logger, timeout: .milliseconds(Int(timeout.milliseconds)))
            session.deadline = attemptEnd
            defer { session.deadline = nil }
            // Which backend serves this connection (to terminate it if a statement goes
            // unanswered), and whether it is the primary.
            let row = try? session.rows(
                "SELECT pg_is_in_recovery(), pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            ).first?.decode((Bool, Int32, String).self)
            session.backend = row.map { PostgresSession.Backend(endpoint: endpoint, pid: $0.1, started: $0.2) }
            guard session.isUsable else {
                refusals.append(("\(endpoint.host):\(endpoint.port)", .timeout))
                continue
            }
            if url.target == .readWrite, row?.0 != false {
                connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
                refusals.append(("\(endpoint.host):\(endpoint.port)", row == nil ? .timeout : .noPrimary))
                continue
            }
            return session
        }
        // The most telling cause: a standby that answered means a failover is under way.
        let cause = refusals.contains { $0.cause == .noPrimary } ? .noPrimary : (refusals.first?.cause ?? .other)
        if countingFailures {
            StorageFailures.record(
                cause, detail: refusals.map { "\($0.host) \($0.cause.rawValue)" }.joined(separator: "; "), logger: logger)
        }
        throw VaultError(.unavailable, code: .storageUnavailable, message: "the database is not available")
    }

    /// Ends, on the server, the backend of a connection given up on (a statement or COMMIT
    /// unanswered): its locks and its connection slot are released now, not when TCP notices.
    /// Best effort, from a connection of its own; a server that cannot be reached ends it by
    /// itself (keepalives, `idle_in_transaction_session_timeout`).
    ///
    /// Only that backend: the connection goes to its own host (not to whichever is the primary
    /// now), and the server ends the process only if its pid and start time both match.
    static func terminate(_ backend: PostgresSession.Backend, url: PostgresDatabaseURL, tls: PostgresConnection.Configuration.TLS, logger: Logger) {
        var own = url
        own.endpoints = [backend.endpoint]
        own.target = .any
        // Not a storage failure when it cannot be reached (the old primary after a failover, cut
        // off): requests are served elsewhere, and that server ends the backend by itself.
        guard let session = try? connect(url: own, tls: tls, logger: logger, timeout: .seconds(5), countingFailures: false) else { return }
        defer { session.close() }
        _ = try? session.run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = \(backend.pid) AND backend_start::text = \(backend.started)")
    }

    /// What a failed connection attempt says about the server, as one of a few fixed causes.
    static func cause(of error: any Error) -> StorageFailures.Cause {
        if let psql = error as? PSQLError {
            switch psql.serverInfo?[.sqlState] {
            case PostgresError.Code.tooManyConnections.raw: return .tooManyConnections
            case PostgresError.Code.invalidPassword.raw, PostgresError.Code.invalidAuthorizationSpecification.raw: return .credentials
            case PostgresError.Code.cannotConnectNow.raw: return .startingUp
            case .some: return .other
            case nil: break
            }
            if psql.code == .sslUnsupported { return .tls }
            if let underlying = psql.underlying { return cause(of: underlying) }
            return .other
        }
        if error is NIOSSLError || error is BoringSSLError { return .tls }
        if let connectFailure = error as? NIOConnectionError {
            return connectFailure.connectionErrors.first.map { cause(of: $0.error) } ?? .unreachable
        }
        if let io = error as? IOError {
            return io.errnoCode == ECONNREFUSED ? .refused : .unreachable
        }
        if case ChannelError.connectTimeout = error { return .unreachable }
        return .other
    }

    /// Applies the schema's migrations not yet recorded, each in its own transaction, under a
    /// session advisory lock so two instances starting together do not race.
    static func migrate(_ session: PostgresSession) throws {
        try session.maintaining(for: .seconds(600)) { try applyMigrations(session) }
    }

    private static func applyMigrations(_ session: PostgresSession) throws {
        try session.run("CREATE TABLE IF NOT EXISTS cardvault_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        try session.run("SELECT pg_advisory_lock(\(writeLock + 1))")
        defer { _ = try? session.run("SELECT pg_advisory_unlock(\(writeLock + 1))") }
        let applied = Set(try session.rows("SELECT id FROM cardvault_migrations").map { try $0.decode(String.self) })
        for migration in PostgresSchema.migrations where !applied.contains(migration.id) {
            try transaction(session, begin: "BEGIN") {
                for statement in migration.statements { try session.run(PostgresQuery(unsafeSQL: statement)) }
                try session.run("INSERT INTO cardvault_migrations (id, applied_at) VALUES (\(migration.id), \(StoredDate.millis(Date())))")
            }
        }
    }

    /// Runs `body` on a worker thread with a connection of the pool; a broken connection is
    /// dropped and replaced on the next use.
    func onWorker<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await onWorker(withRequestEnd: { session, _ in try body(session) })
    }

    /// `onWorker`, the body also given its request's end (nil without one): where a body
    /// starts a wait of its own (a write's next attempt) it must not reach past it.
    func onWorker<T: Sendable>(withRequestEnd body: @escaping @Sendable (PostgresSession, DispatchTime?) throws -> T) async throws -> T {
        // A request gets what is left of its timeout (`DatabaseWaitBudget`): its transactions
        // share one bound. Background work gets the whole timeout each time.
        let budget = DatabaseWaitBudget.current
        let allowed = budget?.remaining(of: timeout) ?? timeout
        guard allowed >= .milliseconds(50) else {
            StorageFailures.record(.timeout, detail: "a request spent its database timeout on earlier transactions", logger: logger)
            throw VaultError(.unavailable, code: .storageUnavailable, message: "the database is not available")
        }
        let started = ContinuousClock.now
        let phases = Mutex<[(String, ContinuousClock.Instant)]>([])
        defer {
            let took = ContinuousClock.now - started
            budget?.charge(took)
            if budget != nil, took > allowed + .milliseconds(250) {
                // A request's wait past its bound is a defect: say where the time went. (Work
                // outside a request may run longer on purpose: VACUUM under `maintaining`.)
                var metadata: Logger.Metadata = ["allowed_ms": "\(allowed.milliseconds)", "took_ms": "\(took.milliseconds)"]
                var last = started
                for (name, at) in phases.withLock({ $0 }) {
                    metadata["\(name)_ms"] = "\((at - last).milliseconds)"
                    last = at
                }
                logger.notice("a database wait overran its bound", metadata: metadata)
            }
        }
        // A free connection within the bound, or a clean 503: requests never queue without
        // limit behind connections that wait on a stalled server, and never hold a thread
        // while they wait for one.
        guard await slots.take(within: allowed) else {
            StorageFailures.record(.poolExhausted, detail: "every connection stayed busy for the database timeout", logger: logger)
            throw VaultError(.unavailable, code: .storageUnavailable, message: "the database is not available")
        }
        defer { slots.release() }
        phases.withLock { $0.append(("slot", ContinuousClock.now)) }
        // A request's end: what it has left after the wait for a slot. Without a request, none.
        let requestEnd = budget.map { _ in started + allowed }
        return try await threads.runIfActive { [self] in
            // One deadline for connecting and every statement of the transaction: they share the
            // timeout, rather than each getting all of it. (A write that lost a conflict gets a
            // new one for its next attempt, within what its request has left: a conflict is
            // contention, not a stalled server.)
            phases.withLock { $0.append(("thread", ContinuousClock.now)) }
            let deadline = min(ContinuousClock.now + timeout, requestEnd ?? ContinuousClock.now + timeout)
            let session = try takeIdle() ?? connect(within: max(deadline - ContinuousClock.now, .milliseconds(1)))
            phases.withLock { $0.append(("connect", ContinuousClock.now)) }
            session.deadline = Self.dispatchTime(deadline)
            defer { phases.withLock { $0.append(("body", ContinuousClock.now)) } }
            do {
                let result = try body(session, requestEnd.map(Self.dispatchTime))
                session.deadline = nil
                idle.withLock { $0.append(session) }
                return result
            } catch {
                session.deadline = nil
                if !session.isUsable { return try Self.rethrow(error) }
                if Self.isReadOnly(error) {
                    // A primary demoted under us: drop it, the next use looks again.
                    let connection = session.connection
                    connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
                    return try Self.rethrow(error)
                }
                idle.withLock { $0.append(session) }
                return try Self.rethrow(error)
            }
        }
    }

    /// A point on the continuous clock as the dispatch time a session's waits use.
    static func dispatchTime(_ instant: ContinuousClock.Instant) -> DispatchTime {
        .now() + .milliseconds(Int(max(instant - ContinuousClock.now, .milliseconds(1)).milliseconds))
    }

    /// An idle connection still open (those to a server that went away are dropped here).
    private func takeIdle() -> PostgresSession? {
        idle.withLock { sessions in
            while let session = sessions.popLast() {
                if session.isUsable { return session }
            }
            return nil
        }
    }

    private static func isReadOnly(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == PostgresError.Code.readOnlySqlTransaction.raw
    }

    private static func rethrow<T>(_ error: any Error) throws -> T {
        if error is VaultError { throw error }
        throw VaultError(.unavailable, code: .storageUnavailable, message: "the database is not available")
    }

    /// The body in its own transaction on a pooled connection; run again (up to
    /// `writeAttempts` times, after a short random pause) when it lost a conflict with a
    /// concurrent writer. Statements that return nothing are pipelined: sent without waiting,
    /// their outcome checked at the next statement that waits, at the latest at COMMIT.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T {
        StorageCommits.record()
        return try await onWorker(withRequestEnd: { session, requestEnd in
            session.deferring = true
            defer { session.deferring = false }
            var attempt = 1
            while true {
                do {
                    let value = try Self.writing(session, body)
                    if StorageFailures.failing { StorageFailures.recovered(logger: self.logger) }
                    return value
                } catch  where session.isUsable && Self.isConflict(error) {
                    guard attempt < Self.writeAttempts else {
                        self.logger.warning(
                            "a write lost every attempt to concurrent writers",
                            metadata: ["attempts": "\(attempt)", "sqlstate": "\((error as? PSQLError)?.serverInfo?[.sqlState] ?? "-")"])
                        throw error
                    }
                    usleep(UInt32.random(in: 200...(500 << min(attempt, 6))))
                    if let requestEnd, requestEnd <= .now() { throw error }  // its request has no time left
                    session.deadline = min(.now() + self.statementTimeout, requestEnd ?? .distantFuture)
                    attempt += 1
                }
            }
        })
    }

    /// One attempt: BEGIN, the body, COMMIT; the connection's audit lane moves on only when
    /// the COMMIT is confirmed, and is abandoned when its outcome is unknown.
    private static func writing<T>(_ session: PostgresSession, _ body: (any VaultTransaction) throws -> T) throws -> T {
        session.lane.begin()
        try session.send("BEGIN")
        let value: T
        do {
            value = try body(PostgresTransaction(session: session, forWrite: true))
        } catch {
            try? session.settle()  // the queued statements' outcome no longer matters
            if session.isUsable { _ = try? session.run("ROLLBACK") }
            throw error
        }
        do {
            // PostgreSQL's statement_timeout does not cover a COMMIT's wait for the synchronous
            // standby (it is disabled before the commit); the vault's own bound ends that wait,
            // as unconfirmed, and terminates the backend.
            try session.run("COMMIT")
        } catch {
            // An answer (a statement of the body failed): rolled back. No answer: unknown.
            guard session.isUsable else {
                session.lane.abandon()
                StorageFailures.record(.unconfirmed, detail: "a COMMIT was not confirmed within the database timeout", logger: session.logger)
                throw VaultError.storageUnconfirmed
            }
            _ = try? session.run("ROLLBACK")
            throw error
        }
        session.lane.commit()
        return value
    }

    /// A conflict with a concurrent writer that running again resolves: a unique key another
    /// transaction inserted first, a row it changed first, a deadlock.
    static func isConflict(_ error: any Error) -> Bool {
        guard let state = (error as? PSQLError)?.serverInfo?[.sqlState] else { return false }
        return state == PostgresError.Code.uniqueViolation.raw || state == PostgresError.Code.serializationFailure.raw
            || state == PostgresError.Code.deadlockDetected.raw
    }

    public var sequencesAuditAfterCommit: Bool { true }

    /// One sequencing batch, under the sequencer's advisory lock (tried, never waited for): the
    /// oldest committed queued rows get the next positions of the log and its chain hash, move
    /// into `audit_log` with their lane columns, and leave the queue, in one transaction. A row
    /// committed later than one with a higher queue position simply joins a later batch.
    public func sequenceAudit(chain: AuditChain, limit: Int) async throws -> Int? {
        try await onWorker { session in
            session.deferring = true
            defer { session.deferring = false }
            return try Self.transaction(session, begin: "BEGIN") { () -> Int? in
                guard try session.rows("SELECT pg_try_advisory_xact_lock(\(Self.sequencerLock))").first?.decode(Bool.self) == true else { return nil }
                let tx = PostgresTransaction(session: session)
                let queued = try tx.queuedForSequencing(limit: limit)
                guard !queued.isEmpty else { return 0 }
                var previous = try tx.lastAuditEntry()
                for (_, row) in queued {
                    let placed = chain.sequence(row, after: previous)
                    try tx.insertSequenced(placed)
                    previous = placed.entry
                }
                try session.send("DELETE FROM audit_queue WHERE pos = ANY(\(queued.map(\.pos)))")
                return queued.count
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any VaultReader) throws -> T) async throws -> T {
        try await onWorker { session in
            try Self.transaction(session, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try body(PostgresTransaction(session: session)) }
        }
    }

    /// `body` between `begin` and COMMIT; a throw rolls back.
    static func transaction<T>(_ session: PostgresSession, begin: PostgresQuery, _ body: () throws -> T) throws -> T {
        try session.run(begin)
        do {
            let result = try body()
            try session.run("COMMIT")
            return result
        } catch {
            if session.isUsable { _ = try? session.run("ROLLBACK") }
            throw error
        }
    }

    /// Where this instance's connections go: the server, whether it is the primary, whether
    /// the connection is encrypted (logged at start; checked by the tests).
    public func connectionReport() async throws -> PostgresConnectionReport {
        try await onWorker { session in
            let row = try session.rows(
                "SELECT inet_server_port(), pg_is_in_recovery(), coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)"
            ).first
            guard let (port, standby, tls) = try row?.decode((Int?, Bool, Bool).self) else {
                throw VaultError(.unavailable, code: .storageUnavailable, message: "the database is not available")
            }
            return PostgresConnectionReport(port: port, isPrimary: !standby, isEncrypted: tls)
        }
    }

    /// Vacuums the tables whose deleted rows held ciphertext or keys, so their dead tuples are
    /// reclaimed. (PostgreSQL's WAL and the replicas' keep them until recycled: see
    /// docs/storage.md.)
    public func checkpoint() async throws {
        try await onWorker { session in
            try session.maintaining(for: .seconds(3600)) {
                for table in ["cards", "provider_tokens", "provider_references", "data_keys", "index_key"] {
                    try session.run(PostgresQuery(unsafeSQL: "VACUUM \(table)"))
                }
            }
        }
    }
}
