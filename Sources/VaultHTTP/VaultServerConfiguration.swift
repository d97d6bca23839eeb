import Foundation
import Logging
import VaultDomain
import VaultHSM
import VaultProviders

/// Everything `cardvault serve` can be told, with the embedded defaults a developer gets when
/// nothing is set. Each field has an environment variable (see `init(environment:)`).
public struct VaultServerConfiguration: Sendable {
    public var listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8787)
    /// More addresses served by the same vault (e.g. a Unix socket beside TCP).
    public var additionalListen: [ListenAddress] = []
    /// File mode of Unix sockets: the first gate, before the bearer secret.
    public var socketMode: mode_t = 0o660
    public var databasePath = "./data/cardvault.sqlite"
    public var keysDirectory = "./keys"
    /// Listening beyond loopback must be asked for explicitly.
    public var allowNonLoopback = false
    public var securityCodeTTL: TimeInterval = 15 * 60
    /// Security codes that may be pending at once (one guarded region sized at start).
    public var maxPendingCodes = SecurityCodeVault.defaultCapacity
    /// Tokenize requests per second and client (token bucket); 0 turns the limit off.
    public var tokenizeRate: Double = 200
    public var tokenizeBurst = 2000
    /// Distinct cards sharing first six and last four digits one client may tokenize in 24 h.
    public var enumerationLimit = 10
    /// The same for all clients of one tenant together; off unless set (it costs one more
    /// durable row per new card: docs/performance.md). The reference deployment sets 50.
    public var enumerationTenantLimit: Int?
    public var idempotencyRetention: TimeInterval = 24 * 60 * 60
    /// Retention of cards created without `retain_until`; nil keeps them until deleted.
    public var defaultRetention: TimeInterval?
    public var keyRefreshInterval: Duration = .seconds(1)
    /// Where signed audit checkpoints are appended (one JSON line each); they go to the log too.
    public var auditAnchorFile: String?
    /// A checkpoint every this many audit rows, or every `auditCheckpointSeconds`, and at start
    /// and stop.
    public var auditCheckpointRows = 1000
    public var auditCheckpointSeconds = 60
    public var logLevel: Logger.Level = .info
    /// Horizonpay endpoints and shop credentials (`HORIZONPAY_*`); nil leaves its routes
    /// answering 503.
    public var horizonpay: HorizonpayConfiguration?
    /// ioka API URL and key (`IOKA_*`); nil leaves its forwarding routes answering 503 (the
    /// reference registration routes work without it).
    public var ioka: IokaConfiguration?
    /// The admin socket (`--admin-socket` / `CARDVAULT_ADMIN_SOCKET`); `cardvault serve`
    /// defaults it to `admin.sock` beside the database. nil: none (in-process tests).
    public var adminSocket: String?
    /// Its file mode (`CARDVAULT_ADMIN_SOCKET_MODE`, default 600; 660 lets an operators' group
    /// connect as themselves, so the audit names each operator).
    public var adminSocketMode: mode_t = 0o600
    /// The group the admin socket is handed to (`CARDVAULT_ADMIN_SOCKET_GROUP`, the operators'
    /// group, never the callers'); nil keeps the service's own group.
    public var adminSocketGroup: gid_t?
    /// The pkcs11 seal's token (`CARDVAULT_PKCS11_*`).
    public var pkcs11: PKCS11Settings?
    /// Request deadlines and the connection cap (`CARDVAULT_HEADER_TIMEOUT_SECONDS`,
    /// `CARDVAULT_BODY_TIMEOUT_SECONDS`, `CARDVAULT_IDLE_TIMEOUT_SECONDS`,
    /// `CARDVAULT_MAX_CONNECTIONS`).
    public var connections = ConnectionLimits()

    public init() {}

    /// Reads `CARDVAULT_*` variables over the defaults.
    public init(environment: [String: String]) throws(VaultError) {
        if let v = environment["CARDVAULT_LISTEN"] { try setListen(v.split(separator: ",").map(String.init)) }
        if let v = environment["CARDVAULT_SOCKET_MODE"] { try setSocketMode(v) }
        if let v = environment["CARDVAULT_DATABASE"] { databasePath = v }
        if let v = environment["CARDVAULT_KEYS_DIR"] { keysDirectory = v }
        if let v = environment["CARDVAULT_ALLOW_NON_LOOPBACK"] { allowNonLoopback = ["1", "true", "yes"].contains(v.lowercased()) }
        if let v = environment["CARDVAULT_CVV_TTL_SECONDS"] {
            guard let s = TimeInterval(v), s >= 1, s <= 24 * 3600 else {
                throw .invalid("CARDVAULT_CVV_TTL_SECONDS", code: .invalidSetting, "must be 1 to 86400 seconds")
            }
            securityCodeTTL = s
        }
        if let n = try Self.integer(environment, "CARDVAULT_MAX_PENDING_CODES", in: 1...10_000_000) { maxPendingCodes = n }
        if let v = environment["CARDVAULT_AUDIT_ANCHOR_FILE"], !v.isEmpty { auditAnchorFile = v }
        if let n = try Self.integer(environment, "CARDVAULT_AUDIT_CHECKPOINT_ROWS", in: 1...10_000_000) { auditCheckpointRows = n }
        if let n = try Self.integer(environment, "CARDVAULT_AUDIT_CHECKPOINT_SECONDS", in: 1...86_400) { auditCheckpointSeconds = n }
        if let v = environment["CARDVAULT_TOKENIZE_RATE"] {
            guard let rate = Double(v), rate.isFinite, (0...1_000_000).contains(rate) else {
                throw .invalid("CARDVAULT_TOKENIZE_RATE", code: .invalidSetting, "must be 0 (off) to 1000000 requests a second")
            }
            tokenizeRate = rate
        }
        if let n = try Self.integer(environment, "CARDVAULT_TOKENIZE_BURST", in: 1...10_000_000) { tokenizeBurst = n }
        if let n = try Self.integer(environment, "CARDVAULT_ENUMERATION_LIMIT", in: 1...1_000_000) { enumerationLimit = n }
        if let n = try Self.integer(environment, "CARDVAULT_ENUMERATION_TENANT_LIMIT", in: 1...1_000_000) { enumerationTenantLimit = n }
        if let days = try Self.integer(environment, "CARDVAULT_RETENTION_DAYS", in: 1...3660, unit: " days") {
            defaultRetention = TimeInterval(days) * 86_400
        }
        if let v = environment["CARDVAULT_ADMIN_SOCKET"], !v.isEmpty { adminSocket = v }
        if let v = environment["CARDVAULT_ADMIN_SOCKET_MODE"] {
            guard let mode = mode_t(v, radix: 8), mode & ~0o660 == 0, mode & 0o600 == 0o600 else {
                throw .invalid("CARDVAULT_ADMIN_SOCKET_MODE", code: .invalidSetting, "must be 600 or 660")
            }
            adminSocketMode = mode
        }
        if let v = environment["CARDVAULT_ADMIN_SOCKET_GROUP"], !v.isEmpty {
            guard let group = getgrnam(v) else {
                throw .invalid("CARDVAULT_ADMIN_SOCKET_GROUP", code: .invalidSetting, "there is no group \(v) on this host")
            }
            adminSocketGroup = group.pointee.gr_gid
        }
        if let n = try Self.integer(environment, "CARDVAULT_HEADER_TIMEOUT_SECONDS", in: 1...300, unit: " seconds") {
            connections.headerTimeout = .seconds(n)
        }
        if let n = try Self.integer(environment, "CARDVAULT_BODY_TIMEOUT_SECONDS", in: 1...300, unit: " seconds") { connections.bodyTimeout = .seconds(n) }
        if let n = try Self.integer(environment, "CARDVAULT_IDLE_TIMEOUT_SECONDS", in: 1...3600, unit: " seconds") { connections.idleTimeout = .seconds(n) }
        if let n = try Self.integer(environment, "CARDVAULT_MAX_CONNECTIONS", in: 1...1_000_000) { connections.maxConnections = n }
        pkcs11 = try PKCS11Settings(environment: environment)
        horizonpay = try HorizonpayConfiguration(environment: environment)
        ioka = try IokaConfiguration(environment: environment)
        if let v = environment["CARDVAULT_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw .invalid("CARDVAULT_LOG_LEVEL", code: .invalidSetting, "must be trace, debug, info, notice, warning, error or critical")
            }
            logLevel = level
        }
    }

    /// The whole-number setting `name` within `range`; nil when it is not set.
    private static func integer(
        _ environment: [String: String], _ name: String, in range: ClosedRange<Int>,
        unit: String = ""
    ) throws(VaultError) -> Int? {
        guard let text = environment[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw .invalid(name, code: .invalidSetting, "must be \(range.lowerBound) to \(range.upperBound)\(unit)")
        }
        return value
    }

    /// The tokenize limits these settings describe (one rate limiter for the server).
    func tokenizeLimits() -> TokenizeLimits {
        TokenizeLimits(
            rate: tokenizeRate > 0 ? RateLimiter(rate: tokenizeRate, burst: tokenizeBurst) : nil, enumerationLimit: enumerationLimit,
            enumerationTenantLimit: enumerationTenantLimit)
    }

    /// Every address to serve: the first is `listen`, the others `additionalListen`.
    public var addresses: [ListenAddress] { [listen] + additionalListen }

    /// Sets the addresses from `--listen` values (each `host:port` or `unix:/path`).
    public mutating func setListen(_ values: [String]) throws(VaultError) {
        var parsed: [ListenAddress] = []
        for value in values { parsed.append(try ListenAddress(parsing: value.trimmingCharacters(in: .whitespaces))) }
        guard let first = parsed.first else { return }
        listen = first
        additionalListen = Array(parsed.dropFirst())
    }

    /// Sets the Unix sockets' mode from octal text: owner read-write, nothing for others.
    public mutating func setSocketMode(_ text: String) throws(VaultError) {
        guard let mode = mode_t(text, radix: 8), mode & 0o7007 == 0, mode & 0o600 == 0o600 else {
            throw .invalid("socket-mode", code: .invalidSetting, "the socket mode must be octal, owner read-write and nothing for others, e.g. 660")
        }
        socketMode = mode
    }

    /// Refuses a non-loopback address unless explicitly allowed.
    public func validate() throws(VaultError) {
        for address in addresses where !address.isLoopback && !allowNonLoopback {
            throw VaultError(
                .failedPrecondition, code: .nonLoopbackListen,
                message: "refusing to listen on \(address) (not loopback); pass --allow-non-loopback to do so on purpose")
        }
    }
}

/// `host:port`, or `unix:/path` for a Unix domain socket, to listen on.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Set for a Unix domain socket.
    public var unixPath: String?

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(unixPath: String) {
        self.init(host: "", port: 0)
        self.unixPath = unixPath
    }

    public init(parsing text: String) throws(VaultError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/") || path.hasPrefix("./"), path.utf8.count < 100 else {
                throw VaultError.invalid("listen", code: .invalidListen, "a Unix socket is unix:/absolute/path (under 100 bytes)")
            }
            self.init(unixPath: path)
            return
        }
        let bad = VaultError.invalid("listen", code: .invalidListen, "listen must be host:port (e.g. 127.0.0.1:8787) or unix:/path")
        guard let colon = text.lastIndex(of: ":") else { throw bad }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { throw bad }
        self.init(host: host, port: port)
    }

    /// A Unix socket counts as loopback: it is reachable only on this host, through its file mode.
    public var isLoopback: Bool {
        unixPath != nil || LoopbackHost.contains(host)
    }

    public var description: String {
        if let unixPath { return "unix:" + unixPath }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
