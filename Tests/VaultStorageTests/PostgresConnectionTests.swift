import Foundation
import Logging
import Testing
import VaultDomain
import PostgresNIO
@testable import VaultPostgres
import VaultTestSupport

/// How `--database postgres://...` is read (hosts, TLS, session target) and what the store
/// makes of it against the throwaway cluster: TLS checked against a CA, a host that does not
/// answer passed over.
@Suite("PostgreSQL URLs and connections")
struct PostgresConnectionTests {
    @Test func urlsAreReadStrictly() throws {
        let one = try PostgresDatabaseURL("postgres://vault@127.0.0.1:5433/cards")
        #expect(one.endpoints == [.init(host: "127.0.0.1", port: 5433)])
        #expect(one.tls == .disable && one.target == .any)
        let remote = try PostgresDatabaseURL("postgresql://vault@db.internal/cards")
        #expect(remote.tls == .verifyFull, "a remote server is checked unless the URL says otherwise")
        #expect(remote.port == 5432)
        let pair = try PostgresDatabaseURL(
            "postgres://vault@db-a:5432,db-b:6432/cards?sslmode=verify-ca&sslrootcert=/etc/cardvault/pg-ca.pem")
        #expect(pair.endpoints.map(\.host) == ["db-a", "db-b"] && pair.endpoints.map(\.port) == [5432, 6432])
        #expect(pair.target == .readWrite, "several hosts: writes go to the primary only")
        #expect(pair.tls == .verifyCA && pair.rootCertificateFile == "/etc/cardvault/pg-ca.pem")
        #expect(
            pair.description
                == "postgres://vault@db-a:5432,db-b:6432/cards?sslmode=verify-ca&sslrootcert=/etc/cardvault/pg-ca.pem&target_session_attrs=read-write")
        for bad in [
            "postgres://vault:secret@127.0.0.1/cards", "postgres://127.0.0.1/cards", "postgres://vault@127.0.0.1/",
            "postgres://vault@127.0.0.1:0/cards", "postgres://vault@127.0.0.1:70000/cards", "postgres://vault@a,,b/cards",
            "postgres://vault@127.0.0.1/cards?sslmode=prefer", "postgres://vault@127.0.0.1/cards?sslmode=require&sslmode=disable",
            "postgres://vault@127.0.0.1/cards?application_name=x", "postgres://vault@127.0.0.1/cards?sslmode=verify-full&sslrootcert=ca.pem",
            "postgres://vault@127.0.0.1/cards?sslmode=require&sslrootcert=/ca.pem", "postgres://vault@h/st/cards",
            "postgres://vault@h/cards?target_session_attrs=primary",
        ] {
            #expect(throws: VaultError.self, "\(bad)") { _ = try PostgresDatabaseURL(bad) }
        }
    }

    @Test(.enabled(if: PostgresCluster.isInstalled))
    func tlsIsCheckedAgainstTheRootCertificate() async throws {
        let cluster = try PostgresCluster.shared.get()
        let verified = try cluster.makeDatabase(
            host: "localhost", parameters: "sslmode=verify-full&sslrootcert=\(cluster.certificateAuthorityFile)")
        let store = try PostgresVaultStore(url: PostgresDatabaseURL(verified))
        #expect(try await store.connectionReport().isEncrypted)
        let plain = try PostgresVaultStore(url: PostgresDatabaseURL(try cluster.makeDatabase()))
        #expect(try await plain.connectionReport().isEncrypted == false)
        // verify-ca checks the chain only; verify-full the name too (the certificate names
        // localhost, not 127.0.0.1).
        let chainOnly = try cluster.makeDatabase(parameters: "sslmode=verify-ca&sslrootcert=\(cluster.certificateAuthorityFile)")
        #expect(try await PostgresVaultStore(url: PostgresDatabaseURL(chainOnly)).connectionReport().isEncrypted)
        // A server whose certificate another CA signed is refused, as is the wrong host name.
        let foreign = try cluster.makeDatabase(
            host: "localhost", parameters: "sslmode=verify-full&sslrootcert=\(cluster.foreignCertificateAuthorityFile)")
        #expect(throws: VaultError.self) { _ = try PostgresVaultStore(url: PostgresDatabaseURL(foreign)) }
        let otherName = try cluster.makeDatabase(
            host: "127.0.0.1", parameters: "sslmode=verify-full&sslrootcert=\(cluster.certificateAuthorityFile)")
        #expect(throws: VaultError.self) { _ = try PostgresVaultStore(url: PostgresDatabaseURL(otherName)) }
    }

    @Test(.enabled(if: PostgresCluster.isInstalled))
    func aHostThatDoesNotAnswerIsPassedOver() async throws {
        let cluster = try PostgresCluster.shared.get()
        let url = try cluster.makeDatabase()
        // A closed port first: the store finds the primary after it.
        let dead = PostgresCluster.unusedPort()
        let store = try PostgresVaultStore(url: PostgresDatabaseURL(url.replacingOccurrences(of: "@127.0.0.1:", with: "@127.0.0.1:\(dead),127.0.0.1:")))
        let report = try await store.connectionReport()
        #expect(report.port == cluster.port && report.isPrimary)
        #expect(throws: VaultError.self) {
            _ = try PostgresVaultStore(url: PostgresDatabaseURL("postgres://\(cluster.user)@127.0.0.1:\(dead)/postgres"))
        }
    }

    @Test(.enabled(if: PostgresCluster.isInstalled))
    func aStatementThatIsNotAnsweredInTimeClosesItsConnection() async throws {
        let store = try PostgresVaultStore(url: PostgresDatabaseURL(try PostgresCluster.shared.get().makeDatabase()))
        let (closed, error) = try await store.onWorker { session -> (Bool, String) in
            session.timeout = .milliseconds(300)
            do {
                try session.run("SELECT pg_sleep(5)")
                return (!session.isUsable, "none")
            } catch {
                return (!session.isUsable, "\(error)")
            }
        }
        #expect(closed && error.contains("did not answer in time"), "\(error)")
        // The pool drops it; the next statement gets a fresh connection.
        #expect(try await store.connectionReport().isPrimary)
    }

    /// A COMMIT the database does not confirm in time (here a deferred trigger makes it slow;
    /// in production, a stalled disk or a partition) answers `storage_unconfirmed`, which says
    /// "retry with the same Idempotency-Key": the commit may or may not have happened. The
    /// backend left behind is terminated on the server, not left to finish on its own.
    @Test(.enabled(if: PostgresCluster.isInstalled))
    func aCommitNotConfirmedInTimeIsReportedAsUnconfirmed() async throws {
        let database = try PostgresCluster.shared.get().makeDatabase()
        let store = try PostgresVaultStore(url: PostgresDatabaseURL(database), timeout: .seconds(1))
        try PostgresCluster.shared.get().query(
            database,
            """
            CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON vault_markers DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION slow_commit();
            """)
        let error = await #expect(throws: VaultError.self) { try await store.write { tx in try tx.setMarker("slow", at: Date()) } }
        #expect(error?.code == .storageUnconfirmed)
        #expect(error?.retryAfter == 1)
        // Terminated on the server well before its 3 s trigger would have ended.
        #expect(try await Self.backendsGone(database, waiting: "PgSleep", within: .milliseconds(1500)))
    }

    /// The synchronous standby is gone (the cluster names one, `ghost`, that never connects;
    /// this database's commits wait for it): a write is answered `storage_unconfirmed` within
    /// the database timeout (PostgreSQL's own `statement_timeout` does not cover that wait),
    /// and the waiting backend is terminated on the server, its locks and slot released.
    @Test(.enabled(if: PostgresCluster.isInstalled))
    func aCommitWaitingForAStandbyThatIsGoneIsAnsweredInBoundedTime() async throws {
        let cluster = try PostgresCluster.shared.get()
        let database = try cluster.makeDatabase()
        _ = try PostgresVaultStore(url: PostgresDatabaseURL(database))  // the schema, committed before the standby "goes"
        let name = String(database.split(separator: "/").last ?? "")
        try cluster.query(database, "ALTER DATABASE \(name) SET synchronous_commit = on")
        let store = try PostgresVaultStore(url: PostgresDatabaseURL(database), timeout: .seconds(2))
        let started = ContinuousClock.now
        let error = await #expect(throws: VaultError.self) { try await store.write { tx in try tx.touchMarker("probe", at: Date()) } }
        #expect(error?.code == .storageUnconfirmed)
        // Bounded, where it would wait forever: about 2.1 s when run alone; the whole suite in
        // parallel on 2 cores has been seen to stretch it to 12-14 s (not yet explained: the
        // driver's one shared event loop is the suspect), so the test allows 20.
        #expect(ContinuousClock.now - started < .seconds(20), "\(ContinuousClock.now - started)")
        #expect(try await Self.backendsGone(database, waiting: "SyncRep", within: .seconds(2)))
        #expect(StorageFailures.snapshot()[.unconfirmed, default: 0] > 0)
    }

    /// A request's transactions share one timeout (`DatabaseWaitBudget`): once its first write
    /// spent it waiting for the standby that is gone, its next transaction is refused at once
    /// (`storage_unavailable`) instead of waiting the whole timeout again. Work outside a
    /// request gets the whole timeout for each transaction.
    @Test(.enabled(if: PostgresCluster.isInstalled))
    func aRequestsTransactionsShareOneTimeout() async throws {
        let cluster = try PostgresCluster.shared.get()
        let database = try cluster.makeDatabase()
        _ = try PostgresVaultStore(url: PostgresDatabaseURL(database))
        let name = String(database.split(separator: "/").last ?? "")
        try cluster.query(database, "ALTER DATABASE \(name) SET synchronous_commit = on")
        let store = try PostgresVaultStore(url: PostgresDatabaseURL(database), timeout: .seconds(2))
        let budget = DatabaseWaitBudget()
        await DatabaseWaitBudget.$current.withValue(budget) {
            let first = await #expect(throws: VaultError.self) { try await store.write { tx in try tx.touchMarker("probe", at: Date()) } }
            #expect(first?.code == .storageUnconfirmed)
            let second = await #expect(throws: VaultError.self) { try await store.write { tx in try tx.touchMarker("probe", at: Date()) } }
            #expect(second?.code == .storageUnavailable, "it waited again: \(String(describing: second?.code))")
        }
        #expect(budget.spent >= .milliseconds(1900), "the first write's wait is charged: \(budget.spent)")
        let background = await #expect(throws: VaultError.self) { try await store.write { tx in try tx.touchMarker("probe", at: Date()) } }
        #expect(background?.code == .storageUnconfirmed)
    }

    /// An abandoned backend is terminated only if it is still the same process: after a failover
    /// its pid may belong to someone else's session on another server, or on this one later.
    /// The pid alone (a start time that does not match) ends nothing; pid and start time do.
    @Test(.enabled(if: PostgresCluster.isInstalled))
    func onlyTheAbandonedBackendItselfIsTerminated() async throws {
        let url = try PostgresDatabaseURL(try PostgresCluster.shared.get().makeDatabase())
        let tls = try PostgresVaultStore.tls(for: url)
        let logger = Logger(label: "test")
        let victim = try PostgresVaultStore.connect(url: url, tls: tls, logger: logger)
        defer { victim.close() }
        let backend = try #require(victim.backend)
        #expect(backend.endpoint == url.endpoints[0] && backend.pid > 0 && !backend.started.isEmpty)
        let impostor = PostgresSession.Backend(endpoint: backend.endpoint, pid: backend.pid, started: "2000-01-01 00:00:00+00")
        PostgresVaultStore.terminate(impostor, url: url, tls: tls, logger: logger)
        #expect(try victim.run("SELECT 1") >= 0, "a backend with the same pid and another start is not this one")
        PostgresVaultStore.terminate(backend, url: url, tls: tls, logger: logger)
        #expect(throws: (any Error).self) { _ = try victim.run("SELECT 1") }
    }

    /// Whether no backend of `database` waits on `event` (a wait event, or a query's text)
    /// within `within`.
    static func backendsGone(_ database: String, waiting event: String, within: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + within
        let sql = """
            SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                AND (wait_event = '\(event)' OR query LIKE '%\(event)%')
            """
        while ContinuousClock.now < deadline {
            if try PostgresCluster.shared.get().query(database, sql) == "0" { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Every connection carries the server-side bounds, so PostgreSQL itself ends what a silent
    /// vault left behind.
    @Test(.enabled(if: PostgresCluster.isInstalled))
    func connectionsCarryServerSideBounds() async throws {
        let store = try PostgresVaultStore(url: PostgresDatabaseURL(try PostgresCluster.shared.get().makeDatabase()))
        let settings = try await store.onWorker { session in
            try session.rows(
                """
                SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),
                    current_setting('idle_in_transaction_session_timeout'), current_setting('client_connection_check_interval')
                """
            ).first?.decode((String, String, String, String).self)
        }
        #expect(settings?.0 == "9s" && settings?.1 == "9s" && settings?.2 == "30s" && settings?.3 == "5s", "\(String(describing: settings))")
    }

    /// The password file is held to the master key file's rules.
    @Test func thePasswordFileIsHeldToTheMasterKeysRules() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cv-pw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("pg-password").path
        try Data("s3cret-pw\n".utf8).write(to: URL(fileURLWithPath: file))
        let url = "postgres://vault@127.0.0.1:5432/vault"
        chmod(file, 0o644)
        let open = #expect(throws: VaultError.self) { _ = try PostgresDatabaseURL(url, passwordFile: file) }
        #expect(open?.message.contains("accessible by group or others") == true, "\(String(describing: open?.message))")
        chmod(file, 0o600)
        #expect(try PostgresDatabaseURL(url, passwordFile: file).password == "s3cret-pw")
        let link = folder.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: file)
        let linked = #expect(throws: VaultError.self) { _ = try PostgresDatabaseURL(url, passwordFile: link) }
        #expect(linked?.message.contains("symbolic link") == true)
        try Data().write(to: URL(fileURLWithPath: file))
        #expect(throws: VaultError.self) { _ = try PostgresDatabaseURL(url, passwordFile: file) }
    }
}
