import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import VaultDomain

/// `VaultStore` over PostgreSQL (PostgresNIO). Transaction bodies stay synchronous, as the
/// domain writes them, and wait for their queries on worker threads (never on an event loop):
/// reads with a pooled connection each, writes group-committed on the writer's connection
/// (`PostgresGroupCommit`). No body awaits anything but the database, so no transaction holds
/// its locks across a provider call.
///
/// Every write batch first takes one transaction-scoped advisory lock, so writes are
/// serial across every instance on the database, as SQLite's single writer is within one
/// host: the audit chain's head read in a write is the last committed row, fingerprints and
/// idempotency keys are checked and inserted without a race, and PostgreSQL's unique
/// constraints remain the backstop. Reads run in REPEATABLE READ, read-only snapshots.
public final class PostgresVaultStore: VaultStore, @unchecked Sendable {
    public let url: PostgresDatabaseURL
    let logger: Logger
    private let tls: PostgresConnection.Configuration.TLS
    /// Every `write` goes through it: many callers' bodies share one transaction and commit.
    private let writer: PostgresGroupCommit
    private let idle = Mutex<[PostgresSession]>([])
    private let available: DispatchSemaphore
    private let workers = DispatchQueue(label: "cardvault.postgres", attributes: .concurrent)
    /// PostgreSQL's connections run on an event loop of their own, so the serial writer's
    /// answers never wait behind HTTP request work on the server's loops.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// The advisory lock every write takes (an arbitrary constant: "cardvault" in ASCII).
    static let writeLock: Int64 = 0x63_61_72_64_76_61_75

    /// Connects, applies the migrations this build knows, and keeps up to `connections`
    /// connections.
    public init(url: PostgresDatabaseURL, connections: Int = 8, logger: Logger = Logger(label: "cardvault.postgres")) throws {
        self.url = url
        // PostgresNIO logs whole backend messages at trace level, data rows included (wrapped
        // keys, ciphertext): its logger never goes below info, whatever CARDVAULT_LOG_LEVEL says.
        var driverLogger = logger
        driverLogger.logLevel = max(logger.logLevel, .info)
        self.logger = driverLogger
        self.available = DispatchSemaphore(value: connections)
        let tls = try Self.tls(for: url)
        self.tls = tls
        let writerLogger = driverLogger
        writer = PostgresGroupCommit(lock: Self.writeLock) { try Self.connect(url: url, tls: tls, logger: writerLogger) }
        let session = try connect()
        try Self.migrate(session)
        idle.withLock { $0.append(session) }
    }

    /// Closes every connection; each stays referenced until its close completes (a
    /// connection must be closed before it is released).
    deinit {
        for session in idle.withLock({ $0 }) { session.close() }
        writer.close()
    }

    /// A connection to the first host that answers and, under `target_session_attrs=read-write`,
    /// accepts writes (not in recovery: a standby is passed over, the promoted one found).
    private func connect() throws -> PostgresSession { try Self.connect(url: url, tls: tls, logger: logger) }

    static func connect(url: PostgresDatabaseURL, tls: PostgresConnection.Configuration.TLS, logger: Logger) throws -> PostgresSession {
        var refusals: [String] = []
        for endpoint in url.endpoints {
            var configuration = PostgresConnection.Configuration(
                host: endpoint.host, port: endpoint.port, username: url.user, password: url.password, database: url.database, tls: tls)
            configuration.options.connectTimeout = .seconds(5)
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection.connect(
                    on: eventLoops.any(), configuration: configuration, id: 1, logger: logger
                ).wait()
            } catch {
                refusals.append("\(endpoint.host):\(endpoint.port) did not answer")
                continue
            }
            let session = PostgresSession(connection: connection, logger: logger)
            if url.target == .readWrite {
                let standby = try? session.rows("SELECT pg_is_in_recovery()").first?.decode(Bool.self)
                guard standby == false else {
                    connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
                    refusals.append("\(endpoint.host):\(endpoint.port) \(standby == true ? "is a standby" : "did not answer")")
                    continue
                }
            }
            return session
        }
        logger.warning("no PostgreSQL server accepts writes", metadata: ["tried": "\(refusals.joined(separator: "; "))"])
        throw VaultError(.unavailable, code: .storageUnavailable, message: "the database is not available")
    }

    /// Applies the schema's migrations not yet recorded, each in its own transaction, under a
    /// session advisory lock so two instances starting together do not race.
    static func migrate(_ session: PostgresSession) throws {
        session.timeout = .seconds(600)
        defer { session.timeout = .seconds(15) }
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
        try await withCheckedThrowingContinuation { continuation in
            workers.async { [self] in
                available.wait()
                defer { available.signal() }
                continuation.resume(
                    with: Result {
                        let session = try takeIdle() ?? connect()
                        do {
                            let result = try body(session)
                            idle.withLock { $0.append(session) }
                            return result
                        } catch {
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
                    })
            }
        }
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

    /// Group-committed (`PostgresGroupCommit`): the body runs in its own savepoint of a batch
    /// transaction that holds the writers' advisory lock; `write` returns after the batch's
    /// COMMIT.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any VaultTransaction) throws -> T) async throws -> T {
        try await writer.submit(body)
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
            session.timeout = .seconds(3600)
            defer { session.timeout = .seconds(15) }
            for table in ["cards", "provider_tokens", "provider_references", "data_keys", "index_key"] {
                try session.run(PostgresQuery(unsafeSQL: "VACUUM \(table)"))
            }
        }
    }
}
