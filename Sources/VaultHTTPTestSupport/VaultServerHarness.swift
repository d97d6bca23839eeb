import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import VaultDomain
import VaultHTTP
import VaultStorage
import VaultTestSupport

/// Runs the real application on 127.0.0.1 (port 0) over a temporary vault and hands the test a
/// small JSON client. Every response body and log line is kept for leak scans.
public final class VaultServerHarness: @unchecked Sendable {
    public let vault: TemporaryVault
    public let logs = LogCapture()
    private let lock = NSLock()
    private var bodies: [[UInt8]] = []

    private let ownRuntime: VaultRuntime?

    /// A vault on SQLite in a temporary folder, or on the PostgreSQL `database` URL.
    public init(securityCodeTTL: TimeInterval = 900, maxPendingCodes: Int = 10_000, database: String? = nil) async throws {
        vault = try await TemporaryVault(securityCodeTTL: securityCodeTTL, maxPendingCodes: maxPendingCodes, database: database)
        ownRuntime = nil
    }

    /// Another instance of `other`'s vault (same database and keys, its own runtime and
    /// server): two instances on one PostgreSQL database.
    public init(secondInstanceOf other: VaultServerHarness) throws {
        vault = other.vault
        ownRuntime = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory, securityCodeTTL: vault.runtime.codes.timeToLive)
    }

    public var runtime: VaultRuntime { ownRuntime ?? vault.runtime }

    /// The same vault opened again, as the admin CLI running beside the server opens it.
    public func secondProcess() throws -> VaultRuntime {
        try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory)
    }

    func record(_ body: [UInt8]) { lock.withLock { bodies.append(body) } }
    public var responseBodies: [[UInt8]] { lock.withLock { bodies } }

    /// Where `needles` appear in everything the vault let out so far: every answer, every log
    /// line, the database file and its WAL. Empty when nothing leaked.
    public func leaks(of needles: [String]) -> [String] {
        let scanner = LeakScanner(needles: needles)
        var found: [String] = []
        for (i, body) in responseBodies.enumerated() { found += scanner.scan(body, place: "answer \(i)") }
        found += scanner.scan(logs.text, place: "logs")
        for (name, bytes) in vault.databaseFiles() { found += scanner.scan(bytes, place: name) }
        return found
    }

    public func run<T: Sendable>(
        configure: (inout VaultServerConfiguration) -> Void = { _ in },
        _ test: @Sendable (Client) async throws -> T
    ) async throws -> T {
        var config = VaultServerConfiguration()
        config.listen = ListenAddress(host: "127.0.0.1", port: 0)
        config.databasePath = vault.databasePath
        config.keysDirectory = vault.keysDirectory
        // The test client connects when the test starts and may send its first request much
        // later on a loaded machine: generous deadlines here; the tests of the deadlines set theirs.
        config.connections.headerTimeout = .seconds(600)
        config.connections.bodyTimeout = .seconds(600)
        config.connections.idleTimeout = .seconds(600)
        configure(&config)
        let app = try await buildApplication(config, runtime: runtime, logger: logs.logger())
        return try await app.test(.live) { client in
            try await test(Client(client: client, harness: self))
        }
    }

    public struct Reply: Sendable {
        public let status: Int
        public let body: [UInt8]
        public let headers: HTTPFields

        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        public var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
        public var errorFields: [String] {
            ((json["error"] as? [String: Any])?["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
        }
    }

    public struct Client: Sendable {
        let client: any TestClientProtocol
        let harness: VaultServerHarness

        public var port: Int { client.port ?? 0 }

        @discardableResult
        public func send(
            _ method: HTTPRequest.Method, _ uri: String, secret: String? = nil, json: String? = nil,
            rawBody: [UInt8]? = nil, headers extra: [String: String] = [:]
        ) async throws -> Reply {
            var headers: HTTPFields = [:]
            if let secret { headers[.authorization] = "Bearer \(secret)" }
            if json != nil || rawBody != nil { headers[.contentType] = "application/json" }
            for (name, value) in extra { headers[.init(name)!] = value }
            let body = rawBody.map { ByteBuffer(bytes: $0) } ?? json.map { ByteBuffer(string: $0) }
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
            let bytes = Array(response.body.readableBytesView)
            harness.record(bytes)
            return Reply(status: Int(response.status.code), body: bytes, headers: response.headers)
        }
    }
}

extension VaultServerHarness {
    public static func cardJSON(
        _ number: String, month: String = "\"12\"", year: String = "\"2031\"", holder: String? = "IVAN PETROV", code: String? = nil
    ) -> String {
        var fields = ["\"number\":\"\(number)\"", "\"exp_month\":\(month)", "\"exp_year\":\(year)"]
        if let holder { fields.append("\"holder\":\"\(holder)\"") }
        if let code { fields.append("\"verification_value\":\"\(code)\"") }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
