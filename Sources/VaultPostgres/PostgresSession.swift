import Foundation
import Logging
import NIOCore
import PostgresNIO
import VaultDomain

/// One connection, used by one transaction at a time from a worker thread: every query waits
/// for its answer (`EventLoopFuture.wait()`, never on an event loop), so transaction bodies
/// stay the synchronous closures the domain writes, as under SQLite.
final class PostgresSession: @unchecked Sendable {
    let connection: PostgresConnection
    let logger: Logger
    /// This connection's audit lane: the rows its write transactions append.
    let lane = AuditLaneCursor()
    /// The server process behind the connection, and what to do with it when the connection is
    /// given up on (the store terminates it on the server).
    var backend: Backend?
    var abandoned: (@Sendable (Backend) -> Void)?

    /// One server process, named so that no other can be mistaken for it: the host it runs on,
    /// its pid and when it started (after a failover the same pid may serve someone else on
    /// another server, or on the same one later).
    struct Backend: Sendable, Equatable {
        let endpoint: PostgresDatabaseURL.Endpoint
        let pid: Int32
        let started: String
    }

    init(connection: PostgresConnection, logger: Logger, timeout: DispatchTimeInterval = .seconds(15)) {
        self.connection = connection
        self.logger = logger
        self.standardTimeout = timeout
        self.timeout = timeout
    }

    /// Closes the connection; it stays referenced until the close completes (a connection must
    /// be closed before it is released).
    func close() {
        let connection = self.connection
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// With `deferring` (set for write transactions), `send` does not wait: the statement
    /// is queued on the connection behind the previous ones, and its outcome is checked at the
    /// next statement that waits, or at `settle()`. Statements run in order either way, so a
    /// transaction body reads its own writes; it only saves a round trip per write.
    var deferring = false
    private var deferred: [EventLoopFuture<PostgresQueryResult>] = []
    /// How long a statement may take before the connection counts as gone (closed, its
    /// statements failed): a server that stops answering without closing the socket must not
    /// hold the writer forever. Maintenance (VACUUM, migrations) raises it.
    var timeout: DispatchTimeInterval
    /// The bound outside maintenance.
    let standardTimeout: DispatchTimeInterval
    /// When the request using the connection must have its answer (its share of the database
    /// timeout): no wait goes past it. Maintenance lifts it.
    var deadline: DispatchTime?

    /// Runs `body` with the client's bound raised to `timeout` and the server's statement and
    /// lock bounds lifted (migrations, VACUUM), then puts them back.
    func maintaining<T>(for timeout: DispatchTimeInterval, _ body: () throws -> T) throws -> T {
        self.timeout = timeout
        let requestDeadline = deadline
        deadline = nil
        try run("SET statement_timeout = 0")
        try run("SET lock_timeout = 0")
        defer {
            self.timeout = standardTimeout
            deadline = requestDeadline
            _ = try? run("RESET statement_timeout")
            _ = try? run("RESET lock_timeout")
        }
        return try body()
    }

    /// Set when a statement went unanswered: the connection is being closed.
    private(set) var broken = false
    /// Open and not given up on: worth sending a statement to.
    var isUsable: Bool { !broken && !connection.isClosed }

    static let unanswered = VaultError(.unavailable, code: .storageUnavailable, message: "the database did not answer in time")

    /// The rows of `query` (after every statement sent before it; the first of those that
    /// failed is thrown instead).
    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        try answer(query).rows
    }

    /// Runs `query`; answers how many rows it changed.
    @discardableResult
    func run(_ query: PostgresQuery) throws -> Int {
        try answer(query).metadata.rows ?? 0
    }

    /// Runs a statement whose answer nobody reads: queued without waiting when `deferring`.
    func send(_ query: PostgresQuery) throws {
        guard deferring else {
            try run(query)
            return
        }
        deferred.append(connection.query(query, logger: logger))
    }

    /// Waits for every statement sent and throws the first failure among them.
    func settle() throws {
        let pending = deferred
        deferred = []
        var first: (any Error)?
        for future in pending {
            do { _ = try wait(future) } catch { first = first ?? error }
        }
        if let first { try Self.mapping { throw first } }
    }

    /// The future's value, or `unanswered` (and the connection closed) after `timeout`.
    private func wait<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let done = DispatchSemaphore(value: 0)
        future.whenComplete { _ in done.signal() }
        let limit = DispatchTime.now() + timeout
        guard done.wait(timeout: deadline.map { min($0, limit) } ?? limit) == .success else {
            let first = !broken
            broken = true
            close()
            if first, let backend, let abandoned { abandoned(backend) }
            StorageFailures.record(.timeout, detail: "a statement was not answered within the database timeout", logger: logger)
            throw Self.unanswered
        }
        return try future.wait()  // complete: returns at once
    }

    private func answer(_ query: PostgresQuery) throws -> PostgresQueryResult {
        guard isUsable else {
            deferred = []
            throw Self.unanswered
        }
        let result = Result { try wait(connection.query(query, logger: logger)) }
        try settle()
        return try Self.mapping { try result.get() }
    }

    /// A trigger's refusal becomes the vault's error; anything else from the server stays a
    /// storage failure (its text, which may quote a value, is never shown to a caller).
    static func mapping<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PSQLError where error.serverInfo?[.message] == "key_version_not_usable" {
            throw VaultError.keyVersionNotUsable
        }
    }
}
