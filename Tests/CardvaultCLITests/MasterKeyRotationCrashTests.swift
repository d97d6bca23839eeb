import Foundation
import Testing
import VaultDomain
import VaultStorage
import VaultTestSupport

/// `keys rotate-master` killed with SIGKILL at any point, with `keys status` runs racing it,
/// never loses access: afterwards every card still decrypts to its own number and the audit
/// chain verifies.
@Suite("Master key rotation across kills", .serialized)
struct MasterKeyRotationCrashTests {
    @Test func rotateMasterKilledAtAnyPointLosesNothing() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let cards = try await AdminCommandFailureTests.seed(cli, count: 40)
        var kills = 0, completed = 0
        var rounds: [String] = []
        // Kill delays spread over the command's life (start-up, load, write of master.key.new,
        // the commit, the rename); the last round lets it finish.
        let delays = [0, 15, 30, 45, 60, 80, 100, 130, 160, 200, 250, 320, 400, nil]
        for (round, delay) in delays.enumerated() {
            let (rotation, _, _) = try cli.start(["keys", "rotate-master"])
            // Admin commands racing the rotation: each loads the keys (and used to delete a
            // master.key.new it did not recognise).
            let racers = try (0..<2).map { _ in try cli.start(["keys", "status", "--json"]).0 }
            if let delay { try await Task.sleep(for: .milliseconds(delay)) }
            var killed = false
            if delay != nil, rotation.isRunning {
                kill(rotation.processIdentifier, SIGKILL)
                kills += 1
                killed = true
            }
            rotation.waitUntilExit()
            if !killed {
                #expect(rotation.terminationStatus == 0, "round \(round): a rotation that was not killed failed")
            }
            if rotation.terminationReason == .exit && rotation.terminationStatus == 0 { completed += 1 }
            rounds.append("\(delay.map(String.init) ?? "-"):\(rotation.terminationReason == .exit ? "exit" : "signal")\(rotation.terminationStatus)")
            for racer in racers {
                racer.waitUntilExit()
                #expect(racer.terminationStatus == 0, "keys status failed in round \(round)")
            }
            let status = try cli.run(["keys", "status", "--json"])
            #expect(status.status == 0, "round \(round): \(status.stderr)")
        }
        #expect(kills >= 2, "only \(kills) rotations were killed while running; the test proved little: \(rounds)")
        #expect(completed >= 1, "no rotation ever completed")

        let runtime = try VaultRuntime(databasePath: cli.databasePath, keysDirectory: cli.keysDirectory)
        try await runtime.keyAdmin.load()
        for (token, number) in cards {
            let card = try await runtime.store.read { try $0.card(token: CardToken(token)!, tenant: .default) }
            let data = try await runtime.cards.open(try #require(card))
            #expect(data.pan.withDigits { String(decoding: $0, as: UTF8.self) } == number)
        }
        #expect(try cli.run(["audit", "verify"]).status == 0)
    }
}
