import Foundation
import Testing
import VaultTestSupport

/// Runs the built `cardvault` binary as a subprocess against a temporary vault.
struct CLIRunner {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cardvault-cli-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    var databasePath: String { folder.appendingPathComponent("data/vault.sqlite").path }
    var keysDirectory: String { folder.appendingPathComponent("keys").path }

    /// The binary next to the test bundle (`.build/debug/cardvault`), or `CARDVAULT_BINARY`.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["CARDVAULT_BINARY"] { return path }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cardvault").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("cardvault").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/cardvault").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    /// `cardvault-simulator`, beside `cardvault`.
    static var simulatorBinary: String {
        URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("cardvault-simulator").path
    }

    /// Starts `cardvault-simulator ARGS`.
    func startSimulator(_ args: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.simulatorBinary)
        process.arguments = args
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A loopback port the kernel had free a moment ago (bound to port 0, then closed). Random
    /// ports in a fixed range collided now and then with other tests' servers and with the
    /// kernel's ephemeral ports (32768 and up), and a server that could not bind failed a test.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Int.random(in: 20_000...32_000) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return bound ? Int(UInt16(bigEndian: addr.sin_port)) : Int.random(in: 20_000...32_000)
    }

    /// `keys init` and one client with `scopes`; answers its secret.
    /// `keys init` under a shamir seal, 2 of 3 shares for alice, bob and carol, each written to
    /// its own file in the test folder; answers the share files and the command's result.
    func initialiseShamir() throws -> (files: [String], result: Result) {
        let files = (1...3).map { folder.appendingPathComponent("share\($0).txt").path }
        let result = try run(
            ["keys", "init", "--seal", "shamir", "--shares", "3", "--threshold", "2", "--custodian", "alice", "--custodian", "bob", "--custodian", "carol"]
                + files.flatMap { ["--share-file", $0] })
        return (files, result)
    }

    func initialiseWithClient(scopes: String) throws -> String {
        guard try run(["keys", "init"]).status == 0 else { throw HTTP.Failed() }
        let added = try run(["clients", "add", "payments", "--scopes", scopes, "--json"])
        guard let secret = added.object["secret"] as? String else { throw HTTP.Failed() }
        return secret
    }

    /// The Horizonpay simulator on a random loopback port (`extra` flags after `--listen`),
    /// answering once it does, and the settings that point a vault at it.
    func startHorizonpaySimulator(_ extra: [String] = []) async throws -> (process: Process, port: Int, environment: [String: String]) {
        let port = Self.freePort()
        let process = try startSimulator(["horizonpay", "--listen", "127.0.0.1:\(port)"] + extra)
        for _ in 0..<50 where (try? HTTP.request(port: port, "GET /__simulator/calls").status) != 200 { try await Task.sleep(for: .milliseconds(100)) }
        let environment = [
            "HORIZONPAY_GATEWAY_URL": "http://127.0.0.1:\(port)", "HORIZONPAY_CHECKOUT_URL": "http://127.0.0.1:\(port)",
            "HORIZONPAY_SHOP_ID": "29", "HORIZONPAY_SECRET_KEY": "sim-secret-key", "HORIZONPAY_PUBLIC_KEY": "sim-public-key",
        ]
        return (process, port, environment)
    }

    /// `cardvault serve` on 127.0.0.1:`port`, answering `/healthz` (or recorded as not starting).
    func startServer(port: Int, environment: [String: String] = [:]) async throws -> Process {
        let (process, _, _) = try start(["serve", "--listen", "127.0.0.1:\(port)"], environment: environment)
        for _ in 0..<100 {
            if (try? HTTP.request(port: port, "GET /healthz").status) == 200 { return process }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the vault did not start")
        return process
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    /// Runs `cardvault ARGS --database … --keys-dir …` and waits.
    @discardableResult
    func run(_ args: [String], vaultFlags: Bool = true, environment: [String: String] = [:], input: String? = nil, directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = args + (vaultFlags ? ["--database", databasePath, "--keys-dir", keysDirectory] : [])
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        process.currentDirectoryURL = directory ?? folder
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Starts a long-running subcommand (serve) and returns the process and its pipes.
    func start(_ args: [String], vaultFlags: Bool = true, environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = args + (vaultFlags ? ["--database", databasePath, "--keys-dir", keysDirectory] : [])
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        process.currentDirectoryURL = folder
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: folder) }
}
