import Foundation
import VaultDomain
import VaultStorage

/// A vault in a fresh temporary folder: its own SQLite file and keys directory, removed when
/// the value is released. Real files, real WAL, real fsync.
public final class TemporaryVault: @unchecked Sendable {
    public let folder: URL
    public let runtime: VaultRuntime
    /// The shares `keys init --seal shamir` handed over (empty under other seals).
    public let shares: [String]

    /// The SQLite file, or the PostgreSQL URL.
    public let databasePath: String
    public var keysDirectory: String { folder.appendingPathComponent("keys").path }

    /// Opens a vault; with `initialise` its keys are created as `keys init` would.
    public init(
        initialise: Bool = true, securityCodeTTL: TimeInterval = 900, maxPendingCodes: Int = 10_000, seal: SealRequest = .file,
        hardwareKeys: (@Sendable () throws(VaultError) -> any HardwareKeyStore)? = nil, database: String? = nil
    ) async throws {
        TestLogging.configure()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cardvault-test-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        databasePath = database ?? folder.appendingPathComponent("vault.sqlite").path
        runtime = try VaultRuntime(
            databasePath: databasePath,
            keysDirectory: folder.appendingPathComponent("keys").path,
            securityCodeTTL: securityCodeTTL, maxPendingCodes: maxPendingCodes, hardwareKeys: hardwareKeys)
        let handedOver = ShareBox()
        if initialise {
            _ = try await runtime.keyAdmin.initialize(actor: Self.testOperator, seal: seal) { made, _ in handedOver.set(made.map(\.text)) }
        }
        shares = handedOver.value
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }

    public static let testOperator = AuditActor.operatorCLI(user: "test")

    /// Registers a client and returns its secret.
    public func addClient(
        _ name: String = "svc-\(UUID().uuidString.prefix(4))-\(UUID().uuidString.prefix(4))", scopes: [Scope],
        tenant: String = Tenant.default.rawValue
    ) async throws -> String {
        let (_, secret) = try await runtime.clients.add(name: name, scopes: scopes.map(\.rawValue), tenant: tenant, newTenant: true, actor: Self.testOperator)
        return secret.revealed
    }

    /// Registers a client and returns it as an in-process caller (no secret on the wire).
    public func caller(
        _ name: String = "svc-\(UUID().uuidString.prefix(4))-\(UUID().uuidString.prefix(4))", scopes: [Scope] = [.cardsWrite, .cardsRead],
        tenant: String = Tenant.default.rawValue
    ) async throws -> Caller {
        let (client, _) = try await runtime.clients.add(name: name, scopes: scopes.map(\.rawValue), tenant: tenant, newTenant: true, actor: Self.testOperator)
        return .trusted(client)
    }

    /// Every file of the vault's database (main file, WAL, shared memory) as bytes.
    public func databaseFiles() -> [(name: String, bytes: [UInt8])] {
        ["", "-wal", "-shm"].compactMap { suffix in
            let path = databasePath + suffix
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return ((path as NSString).lastPathComponent, [UInt8](data))
        }
    }
}

/// Collects shares handed over by a key operation (tests).
public final class ShareBox: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String] = []
    public init() {}
    public func set(_ value: [String]) { lock.withLock { texts = value } }
    public var value: [String] { lock.withLock { texts } }
}

extension TemporaryVault {
    /// Tokenizes sentinel cards `start..<start+count` (`SentinelCards.visa`) and answers
    /// token → PAN.
    public func tokenizeSentinels(count: Int, from start: Int = 0) async throws -> [String: String] {
        var tokens: [String: String] = [:]
        let caller = try await self.caller()
        for i in start..<(start + count) {
            let number = SentinelCards.visa(i)
            let answer = try await runtime.cards.tokenize(
                CardInput(number: number, expMonth: "3", expYear: "2031", holder: "HOLDER", verificationValue: nil), caller: caller, idempotencyKey: nil)
            guard let body = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any], let token = body["token"] as? String else {
                throw TemporaryVaultError.unexpectedAnswer
            }
            tokens[token] = number
        }
        return tokens
    }

    /// The PAN each token decrypts to through `runtime` (nil for a token with no card).
    public static func pans(_ runtime: VaultRuntime, _ tokens: some Sequence<String>) async throws -> [String: String] {
        var pans: [String: String] = [:]
        for token in tokens {
            guard let parsed = CardToken(token), let card = try await runtime.store.read({ try $0.card(token: parsed, tenant: .default) }) else { continue }
            pans[token] = try await runtime.cards.open(card).pan.withDigits { String(decoding: $0, as: UTF8.self) }
        }
        return pans
    }
}

enum TemporaryVaultError: Error { case unexpectedAnswer }
