import ArgumentParser
import Foundation
import GRDB
import VaultCrypto
import VaultDomain
import VaultHSM
import VaultStorage
import VaultTestSupport

/// Helpers for the benchmark scripts: the no-HTTP baseline, seeding cards for the GET run, and
/// the pass-through proxy that `scripts/bench-horizonpay.sh` measures the vault against.
@main
struct CardvaultBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cardvault-bench",
        abstract: "Benchmark helpers (baseline without HTTP, seeding, pass-through proxy).",
        subcommands: [Baseline.self, Seed.self, PassThroughProxy.self]
    )
}

/// The tokenize work without HTTP: XChaCha20-Poly1305 encryption of a card plus one durable
/// SQLite insert per card, one transaction each, WAL with synchronous=FULL, as the vault's own
/// database is configured. This is what one fsync per card costs on this disk.
struct Baseline: ParsableCommand {
    @Option var database: String
    @Option var count = 3000
    @Option var seconds = 8.0

    func run() throws {
        try? FileManager.default.removeItem(atPath: database)
        let db = try AppDatabase(path: database)
        try db.pool.write { db in
            try db.execute(sql: "CREATE TABLE bench_cards (token TEXT PRIMARY KEY, fingerprint TEXT UNIQUE, nonce BLOB, ciphertext BLOB) WITHOUT ROWID")
        }
        let key = try SymmetricKey.generate()
        var inserted = 0
        let start = Date()
        while inserted < count && Date().timeIntervalSince(start) < seconds {
            let pan = Array(SentinelCards.visa(inserted).utf8)
            let token = "tok_" + Base64URL.encode(SecureRandom.bytes(16))
            let box = XChaCha20Poly1305.seal(pan, associatedData: Array(token.utf8), key: key)
            let fingerprint = "fp_" + Base64URL.encode(KeyedHash.hash(pan, key: key))
            try db.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO bench_cards (token, fingerprint, nonce, ciphertext) VALUES (?, ?, ?, ?)",
                    arguments: [token, fingerprint, Data(box.nonce), Data(box.ciphertext)])
            }
            inserted += 1
        }
        let elapsed = Date().timeIntervalSince(start)
        print(String(format: "baseline_rows_per_second %.1f", Double(inserted) / elapsed))
        print("baseline_rows \(inserted)")
        print("baseline_synchronous \(try db.pragmas().synchronous)")
    }
}

/// Vaults `count` cards through the library and prints their tokens, one per line.
struct Seed: AsyncParsableCommand {
    @Option var database: String
    @Option(name: .customLong("keys-dir")) var keysDir: String
    @Option var count = 1000
    @Option var offset = 10_000_000

    func run() async throws {
        // A pkcs11 vault (scripts/bench.sh SEAL=pkcs11) opens its token from CARDVAULT_PKCS11_*.
        var hardwareKeys: (@Sendable () throws(VaultError) -> any HardwareKeyStore)?
        if let settings = try PKCS11Settings(environment: ProcessInfo.processInfo.environment) {
            hardwareKeys = { () throws(VaultError) -> any HardwareKeyStore in try PKCS11KeyStore(settings: settings) }
        }
        let runtime = try VaultRuntime(databasePath: database, keysDirectory: keysDir, hardwareKeys: hardwareKeys)
        let cards = runtime.cards
        try await runtime.keyAdmin.load()
        let (client, _) = try await runtime.clients.add(
            name: "bench-seed-\(offset / 1000)k-\(count)", scopes: ["cards:write"], actor: .operatorCLI(user: "bench"))
        let caller = Caller.trusted(client, source: "bench")
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        // At most 256 in flight: enough to fill every group commit, bounded for million-card seeds.
        try await withThrowingTaskGroup(of: String.self) { group in
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask {
                    let answer = try await cards.tokenize(
                        CardInput(number: SentinelCards.visa(offset + i), expMonth: "12", expYear: "2031", holder: nil, verificationValue: nil),
                        caller: caller, idempotencyKey: nil)
                    let json = try JSONSerialization.jsonObject(with: Data(answer.body)) as! [String: Any]
                    return json["token"] as! String
                }
            }
            while next < min(count, 256) { add() }
            for try await token in group {
                tokens.append(token)
                if next < count { add() }
            }
        }
        print(tokens.joined(separator: "\n"))
    }
}
