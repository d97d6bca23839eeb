import Foundation
import GRDB
import Testing
import VaultDomain
import VaultStorage
import VaultTestSupport

@Suite("Admin CLI", .serialized)
struct AdminCommandTests {
    /// The audited binary holds no provider stand-ins: no `simulate` command, no simulator code.
    @Test func theVaultBinaryHoldsNoSimulator() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["simulate", "horizonpay"], vaultFlags: false).status != 0)
        let vault = try Data(contentsOf: URL(fileURLWithPath: CLIRunner.binary))
        let simulator = try Data(contentsOf: URL(fileURLWithPath: CLIRunner.simulatorBinary))
        let module = Data("ProviderSimulators".utf8)
        #expect(simulator.range(of: module) != nil, "the check reads nothing: the simulator binary should name its module")
        #expect(vault.range(of: module) == nil, "cardvault links the provider simulators")
    }

    /// The audit names the operator from the kernel's real user id, never from `$USER` or
    /// `$SUDO_USER`, which the caller sets at will.
    @Test func theOperatorIsWhoTheKernelSaysNotWhatTheEnvironmentClaims() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let claim = ["USER": "mallory", "SUDO_USER": "mallory", "LOGNAME": "mallory"]
        #expect(try cli.run(["keys", "init"], environment: claim).status == 0)
        let rows = (try cli.run(["audit", "tail", "-n", "5", "--json"], environment: claim).json as? [[String: Any]]) ?? []
        let operators = Set(rows.compactMap { $0["client"] as? String }.filter { $0.hasPrefix("operator:") })
        #expect(!operators.isEmpty)
        #expect(operators.allSatisfy { !$0.contains("mallory") && $0.contains("(\(getuid()))") }, "\(operators)")
    }

    @Test func keysLifecycleWithJSONOutput() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        var r = try cli.run(["keys", "init", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.object["result"] as? String == "created")
        #expect(r.object["active_version"] as? Int == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: cli.keysDirectory + "/master.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        r = try cli.run(["keys", "init", "--json"])
        #expect(r.object["result"] as? String == "already_initialised")

        r = try cli.run(["keys", "status"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("v1       active"))

        r = try cli.run(["keys", "rotate", "--json"])
        #expect(r.object["active_version"] as? Int == 2)
        r = try cli.run(["keys", "status", "--json"])
        let versions = r.object["versions"] as? [[String: Any]] ?? []
        #expect(versions.map { $0["state"] as? String } == ["decrypt-only", "active"])

        r = try cli.run(["keys", "retire", "2"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("active"))
        r = try cli.run(["keys", "rewrap", "--json"])
        #expect(r.status == 0)
        #expect(r.object["remaining"] as? Int == 0)
        r = try cli.run(["keys", "retire", "v1", "--json"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        r = try cli.run(["keys", "retire", "v1", "--json"])
        #expect(r.status == 1)
        #expect((r.object["error"] as? [String: Any])?["code"] as? String == "key_version_retired")
        r = try cli.run(["keys", "rewrap", "--batch-size", "0"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--batch-size"))

        let before = try cli.run(["keys", "status", "--json"]).object["master_key_id"] as? String
        r = try cli.run(["keys", "rotate-master", "--json"])
        #expect(r.status == 0)
        let after = r.object["master_key_id"] as? String
        #expect(after != nil && after != before)
        #expect(try cli.run(["keys", "status", "--json"]).object["master_key_id"] as? String == after)
    }

    @Test func backupAndRestoreCommands() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let backup = cli.folder.appendingPathComponent("backups/one.sqlite").path
        var r = try cli.run(["backup", "--to", backup, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.object["path"] as? String == backup && r.object["cards"] as? Int == 0)
        #expect((r.object["master_key_id"] as? String)?.count == 16)
        r = try cli.run(["backup", "--to", backup])
        #expect(r.status != 0 && r.stderr.contains("already exists"))
        // Restore refuses to overwrite the live database, then restores next to it.
        r = try cli.run(["restore", "--from", backup])
        #expect(r.status != 0 && r.stderr.contains("already at the destination"))
        let target = cli.folder.appendingPathComponent("restored/vault.sqlite").path
        r = try cli.run(["restore", "--from", backup, "--database", target, "--keys-dir", cli.keysDirectory, "--json"], vaultFlags: false)
        #expect(r.status == 0, "\(r.stderr)")
        r = try cli.run(["audit", "verify", "--database", target, "--keys-dir", cli.keysDirectory], vaultFlags: false)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func clientsAndAudit() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        var r = try cli.run(["clients", "add", "checkout", "--scopes", "cards:write,cards:read", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let secret = r.object["secret"] as? String ?? ""
        #expect(secret.hasPrefix("cvs_"))
        r = try cli.run(["clients", "add", "checkout", "--scopes", "cards:read"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("exists"))
        r = try cli.run(["clients", "add", "4012001037141112", "--scopes", "cards:read"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("start with a letter"))
        #expect(!r.stderr.contains("4012001037141112"))
        r = try cli.run(["clients", "add", "other", "--scopes", "cards:admin"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("unknown scope"))

        r = try cli.run(["clients", "add", "wallet", "--scopes", "cards:read", "--tenant", "Wallet 4012001037141112"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("tenant must start with a lower-case letter") && !r.stderr.contains("4012001037141112"))
        // A tenant no client belongs to is a typo until --new-tenant says otherwise.
        r = try cli.run(["clients", "add", "wallet", "--scopes", "cards:read", "--tenant", "wallet-kz"])
        #expect(r.status == 1 && r.stderr.contains("no client belongs to tenant wallet-kz") && r.stderr.contains("--new-tenant"), "\(r.stderr)")
        r = try cli.run(["clients", "add", "wallet", "--scopes", "cards:read", "--tenant", "wallet-kz", "--new-tenant"])
        #expect(r.status == 0 && r.stdout.contains("in tenant wallet-kz"), "\(r.stderr)")
        r = try cli.run(["clients", "add", "wallet2", "--scopes", "cards:read", "--tenant", "wallet-kz"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try cli.run(["tenants", "list"])
        #expect(r.status == 0 && r.stdout.hasPrefix("TENANT"), "\(r.stderr)")
        r = try cli.run(["tenants", "list", "--json"])
        let tenants = r.json as? [[String: Any]] ?? []
        #expect(tenants.map { $0["tenant"] as? String } == ["default", "wallet-kz"])
        #expect(tenants.map { $0["clients"] as? Int } == [1, 2])
        r = try cli.run(["clients", "revoke", "wallet2"])

        r = try cli.run(["clients", "list", "--json"])
        let listed = r.json as? [[String: Any]] ?? []
        #expect(listed.map { $0["name"] as? String } == ["checkout", "wallet", "wallet2"])
        #expect(listed.map { $0["tenant"] as? String } == ["default", "wallet-kz", "wallet-kz"])
        #expect(!r.stdout.contains(secret))

        r = try cli.run(["clients", "rotate-secret", "checkout", "--json"])
        let rotated = r.object["secret"] as? String ?? ""
        #expect(rotated.hasPrefix("cvs_") && rotated != secret)
        r = try cli.run(["clients", "revoke", "checkout"])
        #expect(r.status == 0)
        r = try cli.run(["clients", "list"])
        #expect(r.stdout.contains("revoked"))
        r = try cli.run(["clients", "revoke", "nobody"])
        #expect(r.status == 1)

        r = try cli.run(["audit", "verify", "--json"])
        #expect(r.status == 0)
        #expect(r.object["intact"] as? Bool == true)
        r = try cli.run(["audit", "tail", "-n", "50", "--json"])
        let rows = r.json as? [[String: Any]] ?? []
        let actions = rows.compactMap { $0["action"] as? String }
        #expect(try cli.run(["keys", "status"]).status == 0)
        r = try cli.run(["audit", "tail", "-n", "50", "--json"])
        let withStatus = (r.json as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        for expected in ["keys.init", "keys.status", "client.add", "client.list", "client.rotate_secret", "client.revoke", "audit.verify", "audit.tail"] {
            #expect(withStatus.contains(expected), "\(expected) missing")
        }
        for expected in ["keys.init", "client.add", "client.list", "client.rotate_secret", "client.revoke", "audit.verify"] {
            #expect(actions.contains(expected), "\(expected) missing")
        }
        #expect(!r.stdout.contains(secret) && !r.stdout.contains(rotated))

        // Tamper with one row: verify fails with a non-zero status and names the row.
        let db = try AppDatabase(path: cli.databasePath)
        try db.pool.write { try $0.execute(sql: "UPDATE audit_log SET action = 'nothing' WHERE seq = 2") }
        r = try cli.run(["audit", "verify"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("row 2"))
    }

    @Test func serveRefusesUnsafeStarts() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        var r = try cli.run(["serve", "--listen", "127.0.0.1:0"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("master key file"))
        #expect(r.stderr.split(separator: "\n").count == 1)

        #expect(try cli.run(["keys", "init"]).status == 0)
        chmod(cli.keysDirectory + "/master.key", 0o644)
        r = try cli.run(["serve", "--listen", "127.0.0.1:0"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("chmod 600"))
        chmod(cli.keysDirectory + "/master.key", 0o600)

        r = try cli.run(["serve", "--listen", "0.0.0.0:8787"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("not loopback"))
    }

    @Test func serveAnswersAndStopsOnSIGTERM() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let port = CLIRunner.freePort()
        let (process, _, err) = try cli.start(["serve", "--listen", "127.0.0.1:\(port)"])
        var healthy = false
        for _ in 0..<100 where !healthy {
            try await Task.sleep(for: .milliseconds(100))
            healthy = (try? Self.get("http://127.0.0.1:\(port)/healthz")) == 200
        }
        #expect(healthy)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("cardvault listening"))
        // Root may lock memory whatever RLIMIT_MEMLOCK says: serve locks all of it.
        #expect(geteuid() != 0 || log.contains("memory locked"), "\(log)")
        // The server's start and its graceful stop are audit events, by the server itself.
        let tail = try cli.run(["audit", "tail", "-n", "5", "--json"])
        let rows = (tail.json as? [[String: Any]]) ?? []
        let lifecycle = rows.filter { ($0["client"] as? String) == "system:server" }.compactMap { $0["action"] as? String }
        #expect(lifecycle == ["server.start", "server.stop"], "\(tail.stdout)")
        #expect(try cli.run(["audit", "verify"]).status == 0)
    }

    @Test func servesAUnixSocketBesideTCPWithItsFileMode() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let socket = cli.folder.appendingPathComponent("run/cv.sock").path
        // A regular file where the socket should go is never replaced.
        try FileManager.default.createDirectory(atPath: (socket as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: socket, contents: Data("keep".utf8))
        var r = try cli.run(["serve", "--listen", "unix:\(socket)"])
        #expect(r.status == 1 && r.stderr.contains("not a socket"))
        #expect(FileManager.default.contents(atPath: socket) == Data("keep".utf8))
        try FileManager.default.removeItem(atPath: socket)
        r = try cli.run(["serve", "--listen", "unix:\(socket)", "--socket-mode", "666"])
        #expect(r.status == 1 && r.stderr.contains("socket mode"))

        let port = CLIRunner.freePort()
        let (process, _, _) = try cli.start(["serve", "--listen", "127.0.0.1:\(port)", "--listen", "unix:\(socket)", "--socket-mode", "600"])
        var status = -1
        for _ in 0..<100 where status != 200 {
            try await Task.sleep(for: .milliseconds(100))
            status = (try? Self.request(unixSocket: socket, "GET /healthz")) ?? -1
        }
        #expect(status == 200)
        #expect((try? Self.get("http://127.0.0.1:\(port)/healthz")) == 200)
        let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // The bearer secret is still required behind the socket.
        #expect(try Self.request(unixSocket: socket, "GET /v1/cards/tok_AAAAAAAAAAAAAAAAAAAAAA") == 401)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// An HTTP/1.1 request over a Unix domain socket; returns the status.
    static func request(unixSocket path: String, _ line: String) throws -> Int {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)) + [0])
        }
        return status(family: AF_UNIX, address: addr, request: line)
    }

    /// A plain HTTP/1.1 GET over a socket (no URLSession, to keep tests independent of it).
    static func get(_ url: String) throws -> Int {
        let parts = URL(string: url)!
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(parts.port!).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return status(family: AF_INET, address: addr, request: "GET \(parts.path)")
    }

    /// Connects to `address`, sends `request` (method and path) with `Connection: close` and
    /// returns the answer's status, or -1.
    static func status<Address>(family: Int32, address: Address, request: String) -> Int {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
        guard connected == 0 else { return -1 }
        let text = "\(request) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        _ = text.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 12 else { return -1 }
        return Int(String(decoding: buffer[9..<12], as: UTF8.self)) ?? -1
    }
}

@Suite("Admin CLI under failure", .serialized)
struct AdminCommandFailureTests {
    /// Seeds `count` sentinel-style cards through the library, as the server would have.
    static func seed(_ cli: CLIRunner, count: Int) async throws -> [String: String] {
        let runtime = try VaultRuntime(databasePath: cli.databasePath, keysDirectory: cli.keysDirectory)
        try await runtime.keyAdmin.load()
        let (client, _) = try await runtime.clients.add(name: "seed", scopes: ["cards:write"], actor: .operatorCLI(user: "test"))
        var tokens: [String: String] = [:]
        for i in 0..<count {
            let number = SentinelCards.visa(500_000 + i)
            let answer = try await runtime.cards.tokenize(
                CardInput(number: number, expMonth: "4", expYear: "2032", holder: "SEED \(i % 5)", verificationValue: nil),
                caller: .trusted(client), idempotencyKey: nil)
            let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as! [String: Any]
            tokens[json["token"] as! String] = number
        }
        return tokens
    }

    @Test func rewrapKilledWithSIGKILLResumesAndLosesNothing() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let tokens = try await Self.seed(cli, count: 600)
        #expect(try cli.run(["keys", "rotate"]).status == 0)

        // Kill -9 the rewrap at different points, several times, then let it finish.
        var kills = 0
        for delay in [30, 60, 90] {
            let (process, _, _) = try cli.start(["keys", "rewrap", "--batch-size", "5"])
            try await Task.sleep(for: .milliseconds(delay))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
        }
        let final = try cli.run(["keys", "rewrap", "--json"])
        #expect(final.status == 0, "\(final.stderr)")
        #expect(final.object["remaining"] as? Int == 0)
        let status = try cli.run(["keys", "status", "--json"]).object
        let versions = status["versions"] as? [[String: Any]] ?? []
        #expect(versions.map { $0["cards"] as? Int } == [0, 600])
        #expect(try cli.run(["keys", "retire", "1"]).status == 0)

        // Every card decrypts to its own number under the new version.
        let runtime = try VaultRuntime(databasePath: cli.databasePath, keysDirectory: cli.keysDirectory)
        try await runtime.keyAdmin.load()
        for (token, number) in tokens {
            let card = try await runtime.store.read { try $0.card(token: CardToken(token)!, tenant: .default) }
            let data = try await runtime.cards.open(try #require(card))
            #expect(data.pan.withDigits { String(decoding: $0, as: UTF8.self) } == number)
            #expect(card?.keyVersion == 2)
        }
        #expect(try cli.run(["audit", "verify"]).status == 0)
        #expect(kills >= 1, "the rewrap finished before any kill; the test proved nothing")
    }

    @Test func adminOutputNeverCarriesCardData() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let tokens = try await Self.seed(cli, count: 20)
        var outputs: [String] = []
        for args in [
            ["keys", "status"], ["keys", "status", "--json"], ["keys", "rotate", "--json"], ["keys", "rewrap"],
            ["keys", "rewrap", "--json"], ["keys", "retire", "1", "--json"], ["keys", "rotate-master", "--json"],
            ["clients", "list", "--json"], ["audit", "verify", "--json"], ["audit", "tail", "-n", "1000"],
            ["audit", "tail", "-n", "1000", "--json"],
        ] {
            let r = try cli.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            outputs += [r.stdout, r.stderr]
        }
        let scanner = LeakScanner(needles: Array(tokens.values))
        var found: [String] = []
        for (i, text) in outputs.enumerated() { found += scanner.scan(text, place: "output \(i)") }
        for file in ["", "-wal"] {
            if let data = FileManager.default.contents(atPath: cli.databasePath + file) {
                found += scanner.scan([UInt8](data), place: "database\(file)")
            }
        }
        #expect(found.isEmpty, "\(found)")
    }
}
