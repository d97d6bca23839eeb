import Foundation
import Testing
import VaultDomain
import VaultStorage
import VaultTestSupport

/// `--database postgres://...` through the real binary: keys, a client, two servers on the same
/// database (a card tokenized on one is read on the other; the same PAN sent to both gets one
/// token), and the audit chain verified afterwards.
@Suite("PostgreSQL backend (CLI)", .serialized, .enabled(if: PostgresCluster.isInstalled))
struct PostgresServerTests {
    @Test func twoServersOnOneDatabaseBehaveAsOneVault() async throws {
        let url = try PostgresCluster.shared.get().makeDatabase()
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let flags = ["--database", url, "--keys-dir", cli.keysDirectory]
        #expect(try cli.run(["keys", "init"] + flags, vaultFlags: false).status == 0)
        let added = try cli.run(["clients", "add", "svc", "--scopes", "cards:write,cards:read", "--json"] + flags, vaultFlags: false)
        let secret = try #require(added.object["secret"] as? String, "\(added.stderr)")
        var servers: [(Process, Int)] = []
        for i in 0..<2 {
            let port = CLIRunner.freePort()
            let (process, _, _) = try cli.start(
                ["serve", "--listen", "127.0.0.1:\(port)", "--admin-socket", cli.folder.appendingPathComponent("admin\(i).sock").path] + flags,
                vaultFlags: false)
            servers.append((process, port))
        }
        defer { for (process, _) in servers { process.terminate() } }
        for (_, port) in servers {
            for _ in 0..<100 where (try? HTTP.request(port: port, "GET /readyz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        let auth = ["Authorization": "Bearer \(secret)"]
        let body = #"{"number":"\#(SentinelCards.visa(40))","exp_month":"03","exp_year":"2031"}"#
        // The same PAN to both servers at once: one token.
        let (portA, portB) = (servers[0].1, servers[1].1)
        async let first = Task { try HTTP.request(port: portA, "POST /v1/cards", headers: auth, body: body) }.value
        async let second = Task { try HTTP.request(port: portB, "POST /v1/cards", headers: auth, body: body) }.value
        let answers = try await [first, second]
        let tokens = Set(
            answers.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.body))) as? [String: Any] }.compactMap { $0["token"] as? String })
        #expect(tokens.count == 1, "\(answers.map { String(decoding: $0.body, as: UTF8.self) })")
        let token = try #require(tokens.first)
        // Read on the other server, delete there, gone on the first.
        #expect(try HTTP.request(port: servers[1].1, "GET /v1/cards/\(token)", headers: auth).status == 200)
        #expect(try HTTP.request(port: servers[1].1, "DELETE /v1/cards/\(token)", headers: auth).status == 204)
        #expect(try HTTP.request(port: servers[0].1, "GET /v1/cards/\(token)", headers: auth).status == 404)

        // A key rotation done once reaches both instances within 5 s: new cards on either are
        // sealed under v2.
        #expect(try cli.run(["keys", "rotate"] + flags, vaultFlags: false).status == 0)
        try await Task.sleep(for: .seconds(3))
        for (i, port) in [portA, portB].enumerated() {
            let card = #"{"number":"\#(SentinelCards.visa(50 + i))","exp_month":"03","exp_year":"2031"}"#
            #expect(try HTTP.request(port: port, "POST /v1/cards", headers: auth, body: card).status == 201)
        }
        let status = try cli.run(["keys", "status", "--json"] + flags, vaultFlags: false)
        let versions = status.object["versions"] as? [[String: Any]] ?? []
        #expect(versions.first { $0["version"] as? Int == 2 }?["cards"] as? Int == 2, "\(status.stdout)")
        // A revocation done once is refused by both at their next request.
        #expect(try cli.run(["clients", "revoke", "svc"] + flags, vaultFlags: false).status == 0)
        for port in [portA, portB] { #expect(try HTTP.request(port: port, "GET /v1/cards/\(token)", headers: auth).status == 401) }
        for (process, _) in servers {
            process.terminate()
            process.waitUntilExit()
        }
        let verified = try cli.run(["audit", "verify"] + flags, vaultFlags: false)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }

    /// Offline commands leave nothing waiting to be sequenced; rows another process committed
    /// and nobody sequenced yet are named by `audit verify` and shown (sequenced) by `audit tail`.
    @Test func auditVerifyNamesRowsNotYetSequencedAndTailSequencesThem() async throws {
        let url = try PostgresCluster.shared.get().makeDatabase()
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let flags = ["--database", url, "--keys-dir", cli.keysDirectory]
        #expect(try cli.run(["keys", "init"] + flags, vaultFlags: false).status == 0)
        #expect(try cli.run(["clients", "add", "svc", "--scopes", "cards:write", "--json"] + flags, vaultFlags: false).status == 0)
        let clean = try cli.run(["audit", "verify", "--json"] + flags, vaultFlags: false)
        #expect(clean.object["intact"] as? Bool == true && clean.object["queued"] as? Int == 0, "\(clean.stdout)\(clean.stderr)")
        // Another writer commits three rows and goes away before any sequencing.
        do {
            let writer = try VaultRuntime(databasePath: url, keysDirectory: cli.keysDirectory)
            try await writer.keyAdmin.load()
            for i in 0..<3 {
                try await writer.audit.record("test.write", subject: "row-\(i)", outcome: .success, actor: AuditActor.operatorCLI(user: "test"))
            }
        }
        let waiting = try cli.run(["audit", "verify"] + flags, vaultFlags: false)
        #expect(waiting.status == 0)
        #expect(waiting.stdout.contains("3 row(s) committed and not yet sequenced"), "\(waiting.stdout)")
        #expect(waiting.stdout.contains("test.write"), "\(waiting.stdout)")
        let tail = try cli.run(["audit", "tail", "-n", "10", "--json"] + flags, vaultFlags: false)
        let actions = (tail.json as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(actions.filter { $0 == "test.write" }.count == 3, "\(tail.stdout)")
        let after = try cli.run(["audit", "verify", "--json"] + flags, vaultFlags: false)
        #expect(after.object["intact"] as? Bool == true && after.object["queued"] as? Int == 0, "\(after.stdout)")
    }
}
