import Synchronization

/// The group-commit writer's one connection: opened on first use, opened again (finding the
/// primary) after it closed or was given up, and dropped after a failed batch when it no
/// longer takes writes. Used by one batch at a time.
final class PostgresWriterConnection: Sendable {
    private let connect: @Sendable () throws -> PostgresSession
    private let session = Mutex<PostgresSession?>(nil)

    init(connect: @escaping @Sendable () throws -> PostgresSession) {
        self.connect = connect
    }

    /// The connection, opened (again) when there is none or it is not usable; its writes are
    /// queued (`deferring`).
    func current() throws -> PostgresSession {
        if let session = session.withLock({ $0 }), session.isUsable { return session }
        let fresh = try connect()
        fresh.deferring = true
        let old = session.withLock { held in
            defer { held = fresh }
            return held
        }
        old?.close()
        return fresh
    }

    /// After a failed batch: a connection that closed, or that now refuses writes (a demoted
    /// primary), is dropped so the next batch looks for the primary again.
    func dropIfBroken() {
        let dropped = session.withLock { held -> PostgresSession? in
            guard let current = held else { return nil }
            let readOnly = (try? current.rows("SELECT pg_is_in_recovery()").first?.decode(Bool.self)) ?? true
            guard !current.isUsable || readOnly else { return nil }
            held = nil
            return current
        }
        dropped?.close()
    }

    func close() {
        session.withLock { held in
            defer { held = nil }
            return held
        }?.close()
    }
}
