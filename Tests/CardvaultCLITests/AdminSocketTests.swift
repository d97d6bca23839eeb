import Foundation
import Testing
import VaultTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The admin socket as a custodian meets it: each connection served on its own, a stalled
/// client (a request line never finished) holds nobody up and is dropped at its deadline, and
/// custodian names that the audit could confuse are refused at split time.
@Suite("admin socket (CLI)", .serialized)
struct AdminSocketTests {
    /// A raw connection to a Unix socket, or nil.
    static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Whether the server closed `fd` within `seconds` (anything it sent is ignored).
    static func closed(_ fd: Int32, within seconds: Int) -> Bool {
        var wait = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }

    @Test func aStalledClientHoldsNobodyUpAndIsDroppedAtItsDeadline() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let files = (1...3).map { cli.folder.appendingPathComponent("share\($0).txt").path }
        let initialised = try cli.run(["keys", "init", "--seal", "shamir", "--shares", "3", "--threshold", "2"] + files.flatMap { ["--share-file", $0] })
        #expect(initialised.status == 0, "\(initialised.stderr)")
        let port = CLIRunner.freePort()
        let (server, _, _) = try cli.start(["serve", "--listen", "127.0.0.1:\(port)"])
        defer { server.terminate() }
        for _ in 0..<100 where (try? HTTP.request(port: port, "GET /healthz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        let socket = cli.folder.appendingPathComponent("data/admin.sock").path

        // Three clients that start a request and never finish its line (one trickling bytes).
        let stalled = (0..<3).compactMap { _ in Self.connect(socket) }
        #expect(stalled.count == 3)
        for fd in stalled { _ = "{\"op\":".withCString { send(fd, $0, 6, Int32(MSG_NOSIGNAL)) } }
        // Meanwhile a custodian's status and a share go through at once.
        let started = Date()
        let status = try cli.run(["operator", "status", "--json"])
        #expect(status.status == 0 && status.stdout.contains("sealed"), "\(status.stdout)\(status.stderr)")
        let share = try String(contentsOfFile: files[0], encoding: .utf8)
        let unseal = try cli.run(["operator", "unseal"], input: share)
        #expect(unseal.status == 0 && unseal.stdout.contains("1 of 2"), "\(unseal.stdout)\(unseal.stderr)")
        #expect(Date().timeIntervalSince(started) < 4, "the stalled clients delayed the others")
        _ = " ".withCString { send(stalled[0], $0, 1, Int32(MSG_NOSIGNAL)) }
        // Each stalled client is dropped at its deadline (5 s for the whole line), trickling or not.
        for fd in stalled {
            #expect(Self.closed(fd, within: 8))
            close(fd)
        }
    }

    /// Two vaults from one folder: the second server's refusal says to stop the first (or give a
    /// second PostgreSQL instance its own socket); a command with no server names the path it tried.
    @Test func aSecondServerAndAMissingOneSayWhatToDo() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let socket = cli.folder.appendingPathComponent("data/admin.sock").path
        #expect(try cli.run(["keys", "init"]).status == 0)
        let missing = try cli.run(["operator", "status"])
        #expect(missing.status != 0 && missing.stderr.contains(socket) && missing.stderr.contains("--database"), "\(missing.stderr)")
        let port = CLIRunner.freePort()
        let (server, _, _) = try cli.start(["serve", "--listen", "127.0.0.1:\(port)"])
        defer { server.terminate() }
        for _ in 0..<100 where (try? HTTP.request(port: port, "GET /healthz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        let second = try cli.run(["serve", "--listen", "127.0.0.1:\(CLIRunner.freePort())"])
        #expect(second.status != 0 && second.stderr.contains("stop it first") && second.stderr.contains(socket), "\(second.stderr)")
        // With PostgreSQL the default socket is in the keys folder, never ./data of the working folder.
        let pg = try cli.run(
            ["operator", "status", "--database", "postgres://cardvault@127.0.0.1:1/none", "--keys-dir", cli.keysDirectory], vaultFlags: false)
        #expect(pg.stderr.contains(cli.keysDirectory + "/admin.sock"), "\(pg.stderr)")
    }

    /// Refused shares slow the same user down (0.25 s, doubling) and are counted in the status.
    @Test func refusedSharesAreThrottledAndCounted() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let files = (1...3).map { cli.folder.appendingPathComponent("share\($0).txt").path }
        #expect(try cli.run(["keys", "init", "--seal", "shamir", "--shares", "3", "--threshold", "2"] + files.flatMap { ["--share-file", $0] }).status == 0)
        let port = CLIRunner.freePort()
        let (server, _, _) = try cli.start(["serve", "--listen", "127.0.0.1:\(port)"])
        defer { server.terminate() }
        for _ in 0..<100 where (try? HTTP.request(port: port, "GET /healthz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        var times: [Double] = []
        for _ in 0..<4 {
            let started = Date()
            let bogus = "cvshare2-2-1-0011223344556677-00-" + String(repeating: "0", count: 128) + "-00000000\n"
            let refused = try cli.run(["operator", "unseal", "--json"], input: bogus)
            #expect(refused.status != 0 && refused.stdout.contains("share_invalid"))
            times.append(Date().timeIntervalSince(started))
        }
        // The third attempt waited 0.5 s and the fourth 1 s before being looked at.
        #expect(times[3] - times[0] > 0.7, "\(times)")
        let status = try cli.run(["operator", "status", "--json"])
        let fields = (status.object["status"] as? [String: Any]) ?? status.object
        #expect(fields["refused_shares"] as? Int == 4, "\(status.stdout)")
    }

    @Test func custodianNamesAreUniqueAndCannotForgeAnAuditField() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let base = ["keys", "init", "--seal", "shamir", "--shares", "3", "--threshold", "2"]
        for custodians in [["c1", "c1"], ["alice", "ALICE"], ["c1|share 9", "c2"], ["9lives"], ["alice bob"], [String(repeating: "a", count: 65)]] {
            let result = try cli.run(base + custodians.flatMap { ["--custodian", $0] } + ["--json"])
            #expect(result.status != 0 && result.stdout.contains("seal_invalid"), "\(custodians): \(result.stdout)\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: cli.keysDirectory + "/master.key"))
        let files = (1...3).map { cli.folder.appendingPathComponent("share\($0).txt").path }
        let good = try cli.run(
            base + ["--custodian", "alice.k@bank", "--custodian", "bob-2", "--custodian", "carol_c"] + files.flatMap { ["--share-file", $0] })
        #expect(good.status == 0, "\(good.stderr)")
    }

    /// The reference deployment's split: API callers are in one group, operators in another
    /// (`CARDVAULT_ADMIN_SOCKET_GROUP`). A process with only the callers' group cannot connect
    /// to the admin socket; one in the operators' group can. Needs root (to act as others).
    @Test(.enabled(if: getuid() == 0)) func theCallersGroupCannotReachTheAdminSocket() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let folder = "/tmp/cv-admin-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o711])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socket = folder + "/admin.sock"
        let port = CLIRunner.freePort()
        let (server, _, _) = try cli.start(
            ["serve", "--listen", "127.0.0.1:\(port)", "--admin-socket", socket],
            environment: ["CARDVAULT_ADMIN_SOCKET_MODE": "660", "CARDVAULT_ADMIN_SOCKET_GROUP": "adm"])
        defer { server.terminate() }
        for _ in 0..<100 where (try? HTTP.request(port: port, "GET /healthz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        var info = stat()
        #expect(stat(socket, &info) == 0 && info.st_gid == 4 && info.st_mode & 0o777 == 0o660)

        func connects(groups: [String]) throws -> Bool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments =
                ["--reuid=65534", "--regid=65534"] + (groups.isEmpty ? ["--clear-groups"] : ["--groups=" + groups.joined(separator: ",")])
                + ["/usr/bin/python3", "-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])", socket]
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0
        }
        // A calling service: its own uid, the callers' group (nogroup here), not the operators'.
        #expect(try !connects(groups: []))
        #expect(try !connects(groups: ["65534"]))
        // An operator: a member of the admin socket's group.
        #expect(try connects(groups: ["4"]))
    }

    /// `operator unseal` checks who listens before it sends a share: a listener run by another
    /// user (here nobody, in a folder nobody owns) gets nothing, and the custodian is told.
    /// Needs root (to run the fake listener as another user).
    @Test(.enabled(if: getuid() == 0)) func aShareIsNeverSentToAListenerThatIsNotTheService() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let files = (1...3).map { cli.folder.appendingPathComponent("share\($0).txt").path }
        #expect(try cli.run(["keys", "init", "--seal", "shamir", "--shares", "3", "--threshold", "2"] + files.flatMap { ["--share-file", $0] }).status == 0)
        let folder = "/tmp/cv-fake-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(chown(folder, 65534, 65534) == 0)
        let socket = folder + "/admin.sock"
        let received = folder + "/received"
        // The fake server: accepts one connection, writes down how many bytes it got.
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        listener.arguments = [
            "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
            """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
            c, _ = s.accept(); c.settimeout(3)
            data = b""
            try:
                while True:
                    chunk = c.recv(4096)
                    if not chunk: break
                    data += chunk
            except Exception: pass
            open(sys.argv[2], "w").write(str(len(data)))
            """,
            socket, received,
        ]
        try listener.run()
        for _ in 0..<50 where !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(100)) }
        let share = try String(contentsOfFile: files[0], encoding: .utf8)
        let refused = try cli.run(["operator", "unseal", "--admin-socket", socket, "--json"], input: share)
        #expect(refused.status != 0 && refused.stdout.contains("admin_socket_untrusted"), "\(refused.stdout)\(refused.stderr)")
        listener.waitUntilExit()
        #expect(try String(contentsOfFile: received, encoding: .utf8) == "0")
    }
}
