import Foundation
import GRDB
import Testing
import VaultTestSupport

/// The audit chain anchored outside the database: the server signs checkpoints of the chain's
/// head into CARDVAULT_AUDIT_ANCHOR_FILE, and `audit verify --anchor` fails, naming the row,
/// when the log's tail was cut (the chain alone still verifies), when the database is an older
/// copy, or when a checkpoint was edited.
@Suite("Anchored audit", .serialized)
struct AuditAnchorTests {
    @Test func truncationRollbackAndForgeryAreNamed() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run(["keys", "init"]).status == 0)
        let added = try cli.run(["clients", "add", "payments", "--scopes", "cards:write,cards:read", "--json"])
        let secret = try #require(added.object["secret"] as? String)
        let anchor = cli.folder.appendingPathComponent("anchor.jsonl").path
        let port = CLIRunner.freePort()

        func session(cards: Range<Int>) async throws {
            let (process, _, _) = try cli.start(
                ["serve", "--listen", "127.0.0.1:\(port)"],
                environment: ["CARDVAULT_AUDIT_ANCHOR_FILE": anchor, "CARDVAULT_AUDIT_CHECKPOINT_ROWS": "4"])
            for _ in 0..<100 where (try? HTTP.request(port: port, "GET /healthz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
            for i in cards {
                let body = #"{"number":"\#(SentinelCards.visa(900 + i))","exp_month":12,"exp_year":"2031"}"#
                #expect(try HTTP.request(port: port, "POST /v1/cards", headers: ["Authorization": "Bearer \(secret)"], body: body).status == 201)
            }
            try await Task.sleep(for: .milliseconds(1500))  // one checkpoint tick
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        func verify() throws -> CLIRunner.Result { try cli.run(["audit", "verify", "--anchor", anchor, "--json"]) }
        func copyDatabase(to suffix: String) throws {
            for file in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: cli.databasePath + file) {
                try? FileManager.default.removeItem(atPath: cli.databasePath + file + suffix)
                try FileManager.default.copyItem(atPath: cli.databasePath + file, toPath: cli.databasePath + file + suffix)
            }
        }
        func restoreDatabase(from suffix: String) throws {
            for file in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: cli.databasePath + file)
                if FileManager.default.fileExists(atPath: cli.databasePath + file + suffix) {
                    try FileManager.default.copyItem(atPath: cli.databasePath + file + suffix, toPath: cli.databasePath + file)
                }
            }
        }

        let rfc3339 = ISO8601DateFormatter()
        rfc3339.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        try await session(cards: 0..<6)
        try copyDatabase(to: ".first")
        let betweenSessions = rfc3339.string(from: Date())
        try await session(cards: 6..<12)
        let afterBoth = rfc3339.string(from: Date())
        let lines = try String(contentsOfFile: anchor, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 4, "\(lines.count) checkpoints: start and stop of two sessions at least")
        let intact = try verify()
        #expect(intact.status == 0, "\(intact.stdout) \(intact.stderr)")
        try copyDatabase(to: ".full")

        // 1. The tail cut off: the chain of what is left still verifies, the anchor does not.
        let db = try DatabaseQueue(path: cli.databasePath)
        try await db.write { try $0.execute(sql: "DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 6 FROM audit_log)") }
        try db.close()
        #expect(try cli.run(["audit", "verify"]).status == 0, "a cut tail breaks no link: the chain alone cannot see it")
        let cut = try verify()
        #expect(cut.status == 2)
        #expect((cut.object["reason"] as? String)?.contains("missing") == true, "\(cut.stdout)")

        // 2. The database replaced by an older copy (the first session's).
        try restoreDatabase(from: ".first")
        let rolledBack = try verify()
        #expect(rolledBack.status == 2)
        #expect((rolledBack.object["reason"] as? String)?.contains("older copy") == true, "\(rolledBack.stdout)")

        // 2b. That older copy as a restore to the point between the sessions: with --until that
        // point, the second session's checkpoints are the cut tail, named, and the rest holds.
        let restored = try cli.run(["audit", "verify", "--anchor", anchor, "--until", betweenSessions, "--json"])
        #expect(restored.status == 0, "\(restored.stdout) \(restored.stderr)")
        let tail = try #require(restored.object["cut_tail"] as? [String: Any], "\(restored.stdout)")
        #expect((tail["checkpoints"] as? Int ?? 0) >= 1 && (tail["first_at"] as? String ?? "") > betweenSessions, "\(tail)")
        #expect((restored.object["anchored"] as? Int ?? 0) >= 1, "the first session's checkpoints hold")
        let text = try cli.run(["audit", "verify", "--anchor", anchor, "--until", betweenSessions])
        #expect(text.status == 0 && text.stdout.contains("the tail the restore to that point cut off"), "\(text.stdout)")
        // A point after the second session does not excuse its missing rows.
        let tooLate = try cli.run(["audit", "verify", "--anchor", anchor, "--until", afterBoth, "--json"])
        #expect(tooLate.status == 2, "\(tooLate.stdout)")
        #expect(try cli.run(["audit", "verify", "--until", afterBoth]).status != 0, "--until without --anchor is refused")

        // 3. A checkpoint edited in the anchor file.
        try restoreDatabase(from: ".full")
        #expect(try verify().status == 0)
        var edited = lines.map(String.init)
        edited[1] = edited[1].replacingOccurrences(of: #""seq":"#, with: #""seq":1"#)
        try (edited.joined(separator: "\n") + "\n").write(toFile: anchor, atomically: true, encoding: .utf8)
        let forged = try verify()
        #expect(forged.status == 2)
        #expect((forged.object["reason"] as? String)?.contains("not signed") == true, "\(forged.stdout)")
    }

    /// Admin commands run without a server sign a checkpoint over the rows they appended: to
    /// the anchor file when one is set (printed to standard error otherwise), so cutting an
    /// offline command's rows (here `clients add`'s) is caught by `audit verify --anchor`.
    @Test func offlineCommandsAnchorTheRowsTheyAppend() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let anchor = cli.folder.appendingPathComponent("anchor.jsonl").path
        let environment = ["CARDVAULT_AUDIT_ANCHOR_FILE": anchor]
        let initialised = try cli.run(["keys", "init"])
        #expect(initialised.stderr.contains("audit checkpoint: {"), "\(initialised.stderr)")
        #expect(try cli.run(["clients", "add", "payments", "--scopes", "cards:write"], environment: environment).status == 0)
        let lines = (try String(contentsOfFile: anchor, encoding: .utf8)).split(separator: "\n")
        #expect(lines.count == 1)
        let newest = try cli.run(["audit", "tail", "-n", "1", "--json"])
        let seq = try #require((newest.json as? [[String: Any]])?.first?["seq"] as? Int)
        let checkpointed = try #require((try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])?["seq"] as? Int)
        #expect(checkpointed == seq)  // tail shows the rows before its own
        #expect(try cli.run(["audit", "verify", "--anchor", anchor]).status == 0)
        // Cut the client's rows: the chain alone still verifies, the anchor does not.
        let queue = try DatabaseQueue(path: cli.databasePath)
        try queue.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE seq >= ?", arguments: [checkpointed]) }
        try queue.close()
        #expect(try cli.run(["audit", "verify"]).status == 0)
        let cut = try cli.run(["audit", "verify", "--anchor", anchor])
        #expect(cut.status != 0 && cut.stderr.contains("row \(checkpointed)"), "\(cut.stderr)")
    }

    /// A full disk tore the anchor file's last line: the next checkpoint starts on a line of
    /// its own, and `audit verify --anchor` names the torn line, skips it and passes.
    @Test func aTornAnchorLineIsNamedAndSkipped() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let anchor = cli.folder.appendingPathComponent("anchor.jsonl").path
        let environment = ["CARDVAULT_AUDIT_ANCHOR_FILE": anchor]
        #expect(try cli.run(["keys", "init"]).status == 0)
        #expect(try cli.run(["clients", "add", "payments", "--scopes", "cards:write"], environment: environment).status == 0)
        let whole = try String(contentsOfFile: anchor, encoding: .utf8)
        let handle = try #require(FileHandle(forWritingAtPath: anchor))
        handle.seekToEndOfFile()
        handle.write(Data(whole.prefix(whole.count / 2).utf8))  // half a checkpoint, no newline
        try handle.close()
        #expect(try cli.run(["clients", "add", "refunds", "--scopes", "cards:write"], environment: environment).status == 0)
        let lines = try String(contentsOfFile: anchor, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect((try? JSONSerialization.jsonObject(with: Data(lines[2].utf8))) != nil, "the new checkpoint is a line of its own")
        let verified = try cli.run(["audit", "verify", "--anchor", anchor])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        #expect(verified.stderr.contains("line 2 of \(anchor) is not a whole audit checkpoint"), "\(verified.stderr)")
    }
}
