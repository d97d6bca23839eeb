import Foundation
import Testing
import VaultDomain
import VaultStorage
import VaultTestSupport

/// `cardvault migrate-storage --to postgres://...` through the binary: a SQLite vault with cards,
/// a provider reference, clients and an audit chain moves to PostgreSQL; every card decrypts
/// there with the same keys, the client's secret still works, the chain verifies; a copy while
/// a server runs is refused, as is a second run into the same database.
@Suite("migrate-storage (CLI)", .serialized, .enabled(if: PostgresCluster.isInstalled))
struct MigrateStorageTests {
    @Test func aSQLiteVaultMovesToPostgreSQLIntact() async throws {
        let source = try await TemporaryVault()
        let tokens = try await source.tokenizeSentinels(count: 40)
        let secret = try await source.addClient("payments", scopes: [.cardsRead, .cardsWrite])
        let caller = try await source.caller()
        let reference = try await source.runtime.references.register(
            ReferenceInput(value: "crd_MIGRATE0001"), kind: .iokaCard, caller: caller, idempotencyKey: nil)
        let url = try PostgresCluster.shared.get().makeDatabase()
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let flags = [
            "--database", source.databasePath, "--keys-dir", source.keysDirectory, "--admin-socket", cli.folder.appendingPathComponent("none.sock").path,
        ]
        // While a server runs on the SQLite vault (its admin socket answers), nothing is copied.
        let socket = cli.folder.appendingPathComponent("live.sock").path
        let port = CLIRunner.freePort()
        let (server, _, _) = try cli.start(
            ["serve", "--listen", "127.0.0.1:\(port)", "--database", source.databasePath, "--keys-dir", source.keysDirectory, "--admin-socket", socket],
            vaultFlags: false)
        for _ in 0..<100 where (try? HTTP.request(port: port, "GET /readyz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        let whileServing = try cli.run(
            ["migrate-storage", "--to", url, "--database", source.databasePath, "--keys-dir", source.keysDirectory, "--admin-socket", socket],
            vaultFlags: false)
        server.terminate()
        server.waitUntilExit()
        #expect(whileServing.status != 0 && whileServing.stderr.contains("stop it before migrating"), "\(whileServing.stderr)")

        let moved = try cli.run(["migrate-storage", "--to", url, "--json"] + flags, vaultFlags: false)
        #expect(moved.status == 0, "\(moved.stdout)\(moved.stderr)")
        #expect((moved.object["rows"] as? [String: Any])?["cards"] as? Int == 40)

        let target = try VaultRuntime(databasePath: url, keysDirectory: source.keysDirectory)
        try await target.keyAdmin.load()
        #expect(try await TemporaryVault.pans(target, tokens.keys) == tokens)
        #expect(try await target.authenticator.authenticate(secret: secret, scope: .cardsRead, actor: TemporaryVault.testOperator).client.name == "payments")
        #expect(try await target.store.read { try $0.cardCount() } == 40)
        guard case .intact = try await target.audit.verify(actor: TemporaryVault.testOperator) else {
            Issue.record("the moved audit chain does not verify")
            return
        }
        let referenceToken = try #require((try JSONSerialization.jsonObject(with: Data(reference.body)) as? [String: Any])?["token"] as? String)
        #expect(try await target.store.read { try $0.references(token: CardToken(referenceToken)!, tenant: .default) }.count == 1)
        let tail = try await target.audit.tail(limit: 3).map(\.action)
        #expect(tail.contains("storage.migrate"))

        let again = try cli.run(["migrate-storage", "--to", url] + flags, vaultFlags: false)
        #expect(again.status != 0 && again.stderr.contains("already holds a vault"), "\(again.stderr)")
    }
}
