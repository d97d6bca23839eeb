import Foundation
import Testing
import VaultCrypto
import VaultDomain
import VaultImport
import VaultStorage
import VaultTestSupport

/// `cardvault import`: a sealed card file in, a sealed mapping file out, a dry run that changes
/// nothing, re-runs and a run killed half-way that create nothing twice, and no card number in
/// any answer, progress line, mapping file or audit row.
@Suite("Card import", .serialized)
struct CardImportTests {
    static func json(_ number: String, ref: String, month: String = "\"03\"", year: String = "\"2031\"", holder: String? = "ANNA LEE") -> String {
        "{\"number\":\"\(number)\",\"exp_month\":\(month),\"exp_year\":\(year)" + (holder.map { ",\"holder\":\"\($0)\"" } ?? "")
            + ",\"reference\":\"\(ref)\"}"
    }

    /// Seals `text` to the vault's import key into a new file; returns its path.
    static func sealed(_ cli: CLIRunner, _ text: String, name: String) throws -> String {
        let key = try #require(try cli.run(["import-key", "--json"]).object["public_key"] as? String)
        let path = cli.folder.appendingPathComponent(name).path
        let r = try cli.run(["seal-file", "--to", key, "--out", path], vaultFlags: false, input: text)
        #expect(r.status == 0, "\(r.stderr)")
        return path
    }

    /// The mapping file's records (after its header), opened with the operator's key.
    static func mapping(_ path: String, _ key: SealedBoxKeyPair) throws -> [[String]] {
        let reader = try SealedFile.reader(path: path, keyPair: key)
        var bytes: [UInt8] = []
        while try reader.next({ bytes += $0 }) {}
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
    }

    @Test func dryRunImportRerunAndMapping() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        _ = try cli.initialiseWithClient(scopes: "cards:read,cards:write")
        let rows = [
            Self.json(SentinelCards.visa(501), ref: "cust-1"),
            Self.json(SentinelCards.visa(502), ref: "cust-2", month: "4", year: "2032", holder: nil),
            Self.json("4111111111111112", ref: "cust-3"),  // fails Luhn
            Self.json(SentinelCards.visa(503), ref: "cust-1"),  // the reference again
            Self.json(SentinelCards.visa(504), ref: SentinelCards.visa(505)),  // a reference that is a card number
            "not json",
            Self.json(SentinelCards.visa(501), ref: "cust-7"),  // the first card again, another reference
        ]
        let file = try Self.sealed(cli, rows.joined(separator: "\n") + "\n", name: "cards.sealed")
        let everyNumber = (501...505).map(SentinelCards.visa) + ["4111111111111112"]

        // The dry run reports every row and stores nothing.
        var r = try cli.run(["import", "--tenant", "default", file, "--dry-run", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        var counts = r.object["counts"] as? [String: Int] ?? [:]
        #expect(counts == ["created": 2, "existing": 1, "duplicate": 1, "invalid": 3], "\(r.stdout)")
        let errors = r.object["errors"] as? [[String: Any]] ?? []
        #expect(errors.map { $0["line"] as? Int } == [3, 4, 5, 6])
        #expect((errors[0]["fields"] as? [[String: Any]])?.first?["field"] as? String == "number")
        #expect((errors[2]["fields"] as? [[String: Any]])?.first?["code"] as? String == "invalid_import_reference")
        #expect(try cli.run(["keys", "status", "--json"]).object["total_cards"] as? Int == 0)

        // The import, with a mapping sealed to the operator's key.
        let operatorKey = try SealedBoxKeyPair()
        let mappingPath = cli.folder.appendingPathComponent("mapping.sealed").path
        r = try cli.run(["import", "--tenant", "default", file, "--mapping", mappingPath, "--mapping-key", Base64URL.encode(operatorKey.publicKey), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        counts = r.object["counts"] as? [String: Int] ?? [:]
        #expect(counts == ["created": 2, "existing": 1, "duplicate": 1, "invalid": 3], "\(r.stdout)")
        #expect(r.stderr.contains("\"progress\""))
        let mode = try FileManager.default.attributesOfItem(atPath: mappingPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let records = try Self.mapping(mappingPath, operatorKey)
        #expect(records.map { $0[0] } == ["1", "2", "3", "4", "5", "6", "7"])
        #expect(records.map { $0[4] } == ["created", "created", "invalid", "duplicate", "invalid", "invalid", "existing"])
        #expect(records[0][2].hasPrefix("tok_") && records[0][3].hasPrefix("fp_") && records[0][1] == "cust-1")
        #expect(records[6][2] == records[0][2], "the same card under another reference maps to the same token")
        #expect(records[2][5] == "number:invalid_card_number")
        #expect(records[4][1].isEmpty, "a reference that is a card number is not written back")
        // A mapping file is never overwritten.
        r = try cli.run(["import", "--tenant", "default", file, "--mapping", mappingPath, "--mapping-key", Base64URL.encode(operatorKey.publicKey)])
        #expect(r.status == 1 && r.stderr.contains("exists already"))

        // The cards are there, and open to the numbers that were sent.
        let runtime = try VaultRuntime(databasePath: cli.databasePath, keysDirectory: cli.keysDirectory)
        try await runtime.keyAdmin.load()
        for (record, number) in [(records[0], SentinelCards.visa(501)), (records[1], SentinelCards.visa(502))] {
            let card = try #require(try await runtime.store.read { try $0.card(token: CardToken(record[2])!, tenant: .default) })
            #expect(try await runtime.cards.open(card).pan.withDigits { String(decoding: $0, as: UTF8.self) } == number)
        }

        // A second run creates nothing: every valid reference was imported.
        r = try cli.run(["import", "--tenant", "default", file, "--json"])
        counts = r.object["counts"] as? [String: Int] ?? [:]
        #expect(counts == ["imported": 3, "duplicate": 1, "invalid": 3], "\(r.stdout)")
        #expect(try cli.run(["keys", "status", "--json"]).object["total_cards"] as? Int == 2)

        // A file cut short or tampered with is refused, naming why.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 5] ^= 0x01
        let tampered = cli.folder.appendingPathComponent("tampered.sealed").path
        try bytes.write(to: URL(fileURLWithPath: tampered))
        r = try cli.run(["import", "--tenant", "default", tampered, "--json"])
        #expect(r.status == 1 && r.stdout.contains("import_file_unreadable"), "\(r.stdout)")
        try bytes.prefix(bytes.count - 40).write(to: URL(fileURLWithPath: tampered + "2"))
        r = try cli.run(["import", "--tenant", "default", tampered + "2", "--json"])
        #expect(r.status == 1 && r.stdout.contains("import_file_unreadable"), "\(r.stdout)")

        // The audit has one row per card and one per run, and no number anywhere.
        let audit = (try cli.run(["audit", "tail", "-n", "50", "--json"]).json as? [[String: Any]]) ?? []
        #expect(audit.filter { $0["action"] as? String == "card.import" }.count == 3)
        #expect(audit.filter { $0["action"] as? String == "cards.import" }.count >= 3)
        let everything = r.stdout + r.stderr + "\(audit)" + records.flatMap { $0 }.joined(separator: ",")
        let scanner = LeakScanner(needles: everyNumber)
        #expect(scanner.scan(Array(everything.utf8), place: "output").isEmpty)
        for (name, data) in [("db", cli.databasePath), ("wal", cli.databasePath + "-wal")] {
            if let bytes = FileManager.default.contents(atPath: data) { #expect(scanner.scan(Array(bytes), place: name).isEmpty) }
        }
    }

    /// A base64url key may start with '-' (one in 64 keys does): it is taken as the value of
    /// --to and --mapping-key, not as another option (the suite once failed on such a key).
    @Test func keysStartingWithADashAreValues() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        var key = try SealedBoxKeyPair()
        while !Base64URL.encode(key.publicKey).hasPrefix("-") { key = try SealedBoxKeyPair() }
        let path = cli.folder.appendingPathComponent("dash.sealed").path
        let r = try cli.run(["seal-file", "--to", Base64URL.encode(key.publicKey), "--out", path], vaultFlags: false, input: "x")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func csvFilesAndOtherTenants() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        _ = try cli.initialiseWithClient(scopes: "cards:read,cards:write")
        let csv = """
            reference,number,exp_month,exp_year,holder
            a-1,\(SentinelCards.visa(601)),03,2031,"ANNA ""AL"" LEE"
            a-2,\(SentinelCards.visa(602)),4,2032,

            """
        let file = try Self.sealed(cli, csv, name: "cards.csv.sealed")
        // An unknown tenant is refused; a tenant with a client takes the cards.
        var r = try cli.run(["import", "--tenant", "rival", file, "--json"])
        #expect(r.status == 1 && r.stdout.contains("tenant_not_found"))
        #expect(try cli.run(["clients", "add", "rival-svc", "--scopes", "cards:read", "--tenant", "rival", "--new-tenant"]).status == 0)
        r = try cli.run(["import", "--tenant", "rival", file, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.object["counts"] as? [String: Int] == ["created": 2], "\(r.stdout)")
        // The same file into the default tenant: new cards there, the references are per tenant.
        r = try cli.run(["import", "--tenant", "default", file, "--json"])
        #expect(r.object["counts"] as? [String: Int] == ["created": 2], "\(r.stdout)")
        #expect(try cli.run(["keys", "status", "--json"]).object["total_cards"] as? Int == 4)
    }

    /// Killed with SIGKILL half-way through, the import is resumed by running it again: every
    /// row ends up imported once, none twice.
    @Test func aKilledImportResumesWithoutDuplicates() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        _ = try cli.initialiseWithClient(scopes: "cards:read,cards:write")
        let count = 4_000
        let rows = (0..<count).map { Self.json(SentinelCards.visa(10_000 + $0), ref: "r-\($0)") }
        let file = try Self.sealed(cli, rows.joined(separator: "\n"), name: "many.sealed")
        let (process, _, err) = try cli.start(["import", "--tenant", "default", file, "--batch-size", "25", "--json"])
        // Wait for some progress, then kill it mid-run.
        var seen = Data()
        while process.isRunning, !String(decoding: seen, as: UTF8.self).contains("\"rows\":500") {
            seen += err.fileHandleForReading.availableData
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let before = try #require(try cli.run(["keys", "status", "--json"]).object["total_cards"] as? Int)
        #expect(before >= 500 && before < count, "killed after \(before) card(s)")
        let r = try cli.run(["import", "--tenant", "default", file, "--json"])
        let counts = r.object["counts"] as? [String: Int] ?? [:]
        #expect((counts["imported"] ?? 0) + (counts["created"] ?? 0) == count, "\(r.stdout)")
        #expect(counts["imported"] == before, "every card the killed run committed is recognised")
        #expect(try cli.run(["keys", "status", "--json"]).object["total_cards"] as? Int == count)
    }
}

@Suite("Card export", .serialized)
struct CardExportTests {
    /// Every card of a tenant goes out sealed to a second vault's import key and comes in there
    /// unchanged: number, expiry and holder, card for card; the old token is the reference.
    @Test func exportRoundTripsIntoAnotherVault() async throws {
        let source = try CLIRunner()
        let target = try CLIRunner()
        defer {
            source.cleanUp()
            target.cleanUp()
        }
        _ = try source.initialiseWithClient(scopes: "cards:read,cards:write")
        _ = try target.initialiseWithClient(scopes: "cards:read,cards:write")
        let count = 1_203  // more than two pages of --batch-size 500
        let rows = (0..<count).map {
            CardImportTests.json(
                SentinelCards.visa(30_000 + $0), ref: "r-\($0)", holder: $0 % 3 == 0 ? nil : "HOLDER \"\($0)\"".replacingOccurrences(of: "\"", with: "\\\""))
        }
        let file = try CardImportTests.sealed(source, rows.joined(separator: "\n"), name: "in.sealed")
        #expect(try source.run(["import", "--tenant", "default", file]).status == 0)

        let targetKey = try #require(try target.run(["import-key", "--json"]).object["public_key"] as? String)
        let out = source.folder.appendingPathComponent("out.sealed").path
        var r = try source.run(["export", "--tenant", "default", "--all", "--to", targetKey, "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.object["cards"] as? Int == count)
        #expect(try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int == 0o600)
        r = try source.run(["export", "--tenant", "default", "--all", "--to", targetKey, "--out", out])
        #expect(r.status == 1 && r.stderr.contains("exists already"))
        // Sealed: not a number in the clear, and the source vault cannot read it back.
        let sealedBytes = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(LeakScanner(needles: [SentinelCards.visa(30_000)]).scan(Array(sealedBytes), place: "export").isEmpty)
        #expect(try source.run(["import", "--tenant", "default", out, "--dry-run"]).status == 1)

        let mapKey = try SealedBoxKeyPair()
        let mapping = target.folder.appendingPathComponent("map.sealed").path
        r = try target.run(["import", "--tenant", "default", out, "--mapping", mapping, "--mapping-key", Base64URL.encode(mapKey.publicKey), "--json"])
        #expect(r.object["counts"] as? [String: Int] == ["created": count], "\(r.stdout)")

        // Card for card: the source's card under the old token is the target's under the new.
        let here = try VaultRuntime(databasePath: source.databasePath, keysDirectory: source.keysDirectory)
        let there = try VaultRuntime(databasePath: target.databasePath, keysDirectory: target.keysDirectory)
        try await here.keyAdmin.load()
        try await there.keyAdmin.load()
        let records = try CardImportTests.mapping(mapping, mapKey)
        #expect(records.count == count)
        for record in records {
            let old = try #require(try await here.store.read { try $0.card(token: CardToken(record[1])!, tenant: .default) })
            let new = try #require(try await there.store.read { try $0.card(token: CardToken(record[2])!, tenant: .default) })
            let (a, b) = (try await here.cards.open(old), try await there.cards.open(new))
            #expect(a.pan.withDigits { $0 } == b.pan.withDigits { $0 } && a.expiry == b.expiry && a.holder?.name == b.holder?.name)
        }
        // One audit row per card released, and one for the run.
        let audit = (try source.run(["audit", "tail", "-n", "1300", "--json"]).json as? [[String: Any]]) ?? []
        #expect(audit.filter { $0["action"] as? String == "card.export" }.count == count)
        #expect(audit.contains { $0["action"] as? String == "cards.export" && ($0["subject"] as? String)?.contains("cards=\(count)") == true })

        // --tokens: only the cards named; an unknown token releases nothing.
        let list = source.folder.appendingPathComponent("tokens.txt").path
        try (records.prefix(2).map { $0[1] }.joined(separator: "\n") + "\n").write(toFile: list, atomically: true, encoding: .utf8)
        r = try source.run(["export", "--tenant", "default", "--tokens", list, "--to", targetKey, "--out", out + "2", "--json"])
        #expect(r.object["cards"] as? Int == 2, "\(r.stdout)\(r.stderr)")
        try ("tok_" + String(repeating: "Z", count: 22) + "\n").write(toFile: list, atomically: true, encoding: .utf8)
        r = try source.run(["export", "--tenant", "default", "--tokens", list, "--to", targetKey, "--out", out + "3", "--json"])
        #expect(r.status == 1 && r.stdout.contains("card_not_found"))
        #expect(!FileManager.default.fileExists(atPath: out + "3"))
    }
}

@Suite("Card import under the shamir seal", .serialized)
struct ShamirCardImportTests {
    /// Under shamir the import is dual control, run inside the unsealed server over its admin
    /// socket (its file arguments the operator's, not the server's folder), or offline with the
    /// shares on standard input; export likewise.
    @Test func importAndExportNeedTheThresholdOfShares() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let (files, initialised) = try cli.initialiseShamir()
        #expect(initialised.status == 0, "\(initialised.stderr)")
        let shares = try files.map { try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }

        let port = CLIRunner.freePort()
        let (server, _, _) = try cli.start(["serve", "--listen", "127.0.0.1:\(port)"])
        defer { server.terminate() }
        for _ in 0..<100 where (try? HTTP.request(port: port, "GET /healthz").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try cli.run(["operator", "unseal"], input: shares[0] + "\n").status == 0)
        #expect(try cli.run(["operator", "unseal"], input: shares[1] + "\n").stdout.contains("sealed: no"))

        // The operator works in a folder of its own; the server runs in the vault's.
        let home = cli.folder.appendingPathComponent("operator")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let key = try #require(try cli.run(["import-key", "--json"]).object["public_key"] as? String)
        let rows = (0..<3).map { CardImportTests.json(SentinelCards.visa(800 + $0), ref: "s-\($0)") }.joined(separator: "\n")
        #expect(try cli.run(["seal-file", "--to", key, "--out", home.appendingPathComponent("cards.sealed").path], vaultFlags: false, input: rows).status == 0)
        let alone = try cli.run(["import", "--tenant", "default", "cards.sealed"], input: shares[2] + "\n", directory: home)
        #expect(alone.status != 0 && alone.stderr.contains("2 key share(s)"), "\(alone.stdout)\(alone.stderr)")
        let imported = try cli.run(["import", "--tenant", "default", "cards.sealed", "--json"], input: shares[2] + "\n" + shares[0] + "\n", directory: home)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains(#""created" : 3"#) || imported.stdout.contains(#""created":3"#), "\(imported.stdout)")
        let tail = try cli.run(["audit", "tail", "-n", "20", "--json"]).stdout
        #expect(tail.contains("cards.import|share 3|carol") && tail.contains("via=admin-socket"))

        // Export the same way, to a relative path in the operator's folder.
        let exported = try cli.run(
            ["export", "--tenant", "default", "--all", "--to", key, "--out", "out.sealed", "--json"], input: shares[0] + "\n" + shares[1] + "\n",
            directory: home)
        #expect(exported.status == 0, "\(exported.stdout)\(exported.stderr)")
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("out.sealed").path))

        // Offline, server stopped: the shares on standard input unseal and authorise at once.
        server.terminate()
        server.waitUntilExit()
        let again = try cli.run(
            ["import", "--tenant", "default", home.appendingPathComponent("out.sealed").path, "--json"], input: shares[1] + "\n" + shares[2] + "\n")
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("existing"), "the exported cards are the tenant's own: \(again.stdout)")
    }
}
