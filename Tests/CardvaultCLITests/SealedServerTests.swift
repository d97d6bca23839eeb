import Foundation
import Testing
import VaultTestSupport

/// The shamir and pkcs11 seals through the real binary: `keys init --seal`, a server that
/// starts sealed, `operator unseal` one share at a time over the admin socket, admin commands
/// run inside the server with the operator named from the socket's credentials, dual control,
/// reseal, and offline commands with shares on standard input.
@Suite("sealed server (CLI)", .serialized)
struct SealedServerTests {
    func shares(_ folder: URL) throws -> [String] {
        try (1...3).map {
            try String(contentsOf: folder.appendingPathComponent("share\($0).txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func status(_ port: Int, _ path: String) throws -> (Int, String) {
        let reply = try HTTP.request(port: port, path)
        return (reply.status, String(decoding: reply.body, as: UTF8.self))
    }

    @Test func shamirServerStartsSealedAndUnsealsOneShareAtATime() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let (files, initialised) = try cli.initialiseShamir()
        #expect(initialised.status == 0, "\(initialised.stderr)")
        #expect(!initialised.stdout.contains("cvshare1"))
        for file in files {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        #expect(!FileManager.default.fileExists(atPath: cli.keysDirectory + "/master.key"))
        let shares = try shares(cli.folder)
        #expect(try cli.run(["keys", "status"]).stdout.contains("seal shamir (2 of 3"))

        let port = CLIRunner.freePort()
        let (server, _, serverLog) = try cli.start(["serve", "--listen", "127.0.0.1:\(port)"])
        defer { server.terminate() }
        for _ in 0..<100 where (try? HTTP.request(port: port, "GET /healthz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        let (code, body) = try status(port, "GET /readyz")
        #expect(code == 503 && body.contains(#""status":"sealed""#))
        // Before any work: no credentials checked, no body read.
        let gated = try HTTP.request(port: port, "POST /v1/cards", body: "not json")
        #expect(gated.status == 503 && String(decoding: gated.body, as: UTF8.self).contains(#""code":"sealed""#))
        let socket = cli.folder.appendingPathComponent("data/admin.sock").path
        let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // A corrupt share is named; K-1 shares leave it sealed.
        var corrupt = Array(shares[0])
        corrupt[24] = corrupt[24] == "0" ? "1" : "0"
        let refused = try cli.run(["operator", "unseal", "--json"], input: String(corrupt) + "\n")
        #expect(refused.status == 1 && refused.stdout.contains("share_invalid"))
        let first = try cli.run(["operator", "unseal"], input: shares[0] + "\n")
        #expect(first.status == 0 && first.stdout.contains("unseal progress: 1 of 2"), "\(first.stdout)\(first.stderr)")
        #expect(try status(port, "GET /readyz").0 == 503)
        let second = try cli.run(["operator", "unseal"], input: shares[2] + "\n")
        #expect(second.stdout.contains("sealed: no"), "\(second.stdout)\(second.stderr)")
        #expect(try status(port, "GET /readyz").0 == 200)

        // Admin commands run inside the server; the operator is the socket's peer.
        let added = try cli.run(["clients", "add", "svc", "--scopes", "cards:write", "--json"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.object["secret"] is String)
        // Dual control: retire needs both shares in the same command.
        #expect(try cli.run(["keys", "rotate"]).status == 0)
        let alone = try cli.run(["keys", "retire", "1"], input: shares[1] + "\n")
        #expect(alone.status != 0 && alone.stderr.contains("2 key share(s)"), "\(alone.stderr)")
        let retired = try cli.run(["keys", "retire", "1"], input: shares[1] + "\n" + shares[2] + "\n")
        #expect(retired.status == 0, "\(retired.stdout)\(retired.stderr)")
        let tail = try cli.run(["audit", "tail", "--json"])
        let me = String(cString: getpwuid(getuid())!.pointee.pw_name)
        #expect(tail.stdout.contains("\(me)(\(getuid()))|pid="))
        #expect(tail.stdout.contains("via=admin-socket"))
        #expect(tail.stdout.contains("keys.retire|share 2|bob") && tail.stdout.contains("keys.retire|share 3|carol"))
        #expect(tail.stdout.contains("keys.unseal_share") && tail.stdout.contains("server.unseal"))

        // A relative backup path is the operator's folder, not the server's.
        let elsewhere = cli.folder.appendingPathComponent("operator-home")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let backup = try cli.run(["backup", "--to", "backups/one.sqlite"], directory: elsewhere)
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("backups/one.sqlite").path))

        // Reseal: keys leave memory, /v1 answers sealed again.
        #expect(try cli.run(["operator", "seal"]).stdout.contains("sealed: yes"))
        #expect(String(decoding: try HTTP.request(port: port, "POST /v1/cards", body: "{}").body, as: UTF8.self).contains(#""code":"sealed""#))
        server.terminate()
        server.waitUntilExit()
        // No share in the server's log or in any audit row.
        let log = String(decoding: serverLog.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("unseal share accepted") && log.contains("unseal share refused"))
        #expect(!log.contains("cvshare1") && !tail.stdout.contains("cvshare1"))
        for share in shares { #expect(!log.contains(String(share.split(separator: "-")[4]))) }

        // Offline (server stopped): the same command takes the shares on standard input.
        let offline = try cli.run(["clients", "list", "--json"], input: shares[0] + "\n" + shares[1] + "\n")
        #expect(offline.status == 0 && offline.stdout.contains("svc"), "\(offline.stderr)")
        let noShares = try cli.run(["clients", "list"], input: "")
        #expect(noShares.status != 0)
        let verified = try cli.run(["audit", "verify"], input: shares[0] + "\n" + shares[1] + "\n")
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }

    @Test func aShareSetNotHandedOverWholeLeavesNoFileAndNoVault() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let files = (1...3).map { cli.folder.appendingPathComponent("share\($0).txt").path }
        _ = FileManager.default.createFile(atPath: files[2], contents: Data("someone else's\n".utf8))
        let refused = try cli.run(["keys", "init", "--seal", "shamir", "--shares", "3", "--threshold", "2"] + files.flatMap { ["--share-file", $0] })
        #expect(refused.status != 0 && refused.stderr.contains(files[2]), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: files[0]) && !FileManager.default.fileExists(atPath: files[1]))
        #expect(try String(contentsOfFile: files[2], encoding: .utf8) == "someone else's\n")
        #expect(try cli.run(["keys", "status"]).stderr.contains("keys init"))
    }

    @Test func pkcs11ServerServesCardsWithTheKeyInTheToken() async throws {
        let token = try SoftHSMToken.make()
        let environment = token.environment()
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let initialised = try cli.run(["keys", "init", "--seal", "pkcs11", "--json"], environment: environment)
        #expect(initialised.status == 0, "\(initialised.stderr)")
        #expect((initialised.object["seal"] as? [String: Any])?["kind"] as? String == "pkcs11")
        #expect(!FileManager.default.fileExists(atPath: cli.keysDirectory + "/master.key"))
        let port = CLIRunner.freePort()
        let server = try await cli.startServer(port: port, environment: environment)
        defer { server.terminate() }
        #expect(try status(port, "GET /readyz").0 == 200)
        let added = try cli.run(["clients", "add", "svc", "--scopes", "cards:write,cards:read", "--json"], environment: environment)
        let secret = try #require(added.object["secret"] as? String, "\(added.stderr)")
        let created = try HTTP.request(
            port: port, "POST /v1/cards", headers: ["Authorization": "Bearer \(secret)"],
            body: #"{"number":"\#(SentinelCards.visa(1))","exp_month":"03","exp_year":"2031"}"#)
        #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
        // Without the token's settings the vault cannot open.
        server.terminate()
        server.waitUntilExit()
        let without = try cli.run(["clients", "list"])
        #expect(without.status != 0 && without.stderr.contains("CARDVAULT_PKCS11_MODULE"), "\(without.stderr)")
        #expect(try cli.run(["clients", "list"], environment: environment).status == 0)
    }
}
