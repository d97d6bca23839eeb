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

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Closes the connection; it stays referenced until the close completes (a connection must
    /// be closed before it is released).
    func close() {
        let connection = self.connection
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// The rows of `query`.
    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        try Self.mapping { try connection.query(query, logger: logger).wait().rows }
    }

    /// Runs `query`; answers how many rows it changed.
    @discardableResult
    func run(_ query: PostgresQuery) throws -> Int {
        try Self.mapping { try connection.query(query, logger: logger).wait().metadata.rows ?? 0 }
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
