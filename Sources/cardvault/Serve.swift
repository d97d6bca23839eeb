import ArgumentParser
import Foundation
import Hummingbird
import Logging
import VaultCrypto
import VaultDomain
import VaultHTTP

/// `cardvault serve`: the HTTP server, stopped gracefully by SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the vault's JSON API.",
        discussion: """
            Settings that exist only as environment variables (docs/configuration.md says what each means):
              limits        CARDVAULT_MAX_PENDING_CODES, CARDVAULT_MAX_CONNECTIONS, CARDVAULT_TOKENIZE_RATE,
                            CARDVAULT_TOKENIZE_BURST, CARDVAULT_ENUMERATION_LIMIT, CARDVAULT_ENUMERATION_TENANT_LIMIT,
                            CARDVAULT_RETENTION_DAYS
              deadlines     CARDVAULT_HEADER_TIMEOUT_SECONDS, CARDVAULT_BODY_TIMEOUT_SECONDS, CARDVAULT_IDLE_TIMEOUT_SECONDS
              admin socket  CARDVAULT_ADMIN_SOCKET_MODE, CARDVAULT_ADMIN_SOCKET_GROUP, CARDVAULT_SERVICE_USER
              audit         CARDVAULT_AUDIT_ANCHOR_FILE, CARDVAULT_AUDIT_CHECKPOINT_ROWS, CARDVAULT_AUDIT_CHECKPOINT_SECONDS
              PostgreSQL    CARDVAULT_DATABASE_PASSWORD_FILE, CARDVAULT_DATABASE_CONNECTIONS, CARDVAULT_DATABASE_TIMEOUT
              pkcs11 seal   CARDVAULT_PKCS11_MODULE, CARDVAULT_PKCS11_TOKEN, CARDVAULT_PKCS11_PIN_FILE, CARDVAULT_PKCS11_KEY_LABEL
              process       CARDVAULT_REQUIRE_MLOCK, CARDVAULT_LOG_LEVEL, CARDVAULT_ALLOW_NON_LOOPBACK
              Horizonpay    HORIZONPAY_GATEWAY_URL, HORIZONPAY_CHECKOUT_URL, HORIZONPAY_SHOP_ID, HORIZONPAY_SECRET_KEY(_FILE),
                            HORIZONPAY_PUBLIC_KEY(_FILE), HORIZONPAY_TIMEOUT_SECONDS, HORIZONPAY_WEBHOOK_PUBLIC_KEY(_FILE),
                            HORIZONPAY_ALLOW_UNSIGNED_NOTIFICATIONS (docs/horizonpay.md)
              ioka          IOKA_API_URL, IOKA_API_KEY(_FILE), IOKA_TIMEOUT_SECONDS (docs/ioka.md)
            """)

    @Option(help: "host:port or unix:/path to listen on; repeat to serve several (env CARDVAULT_LISTEN, comma-separated; default 127.0.0.1:8787).")
    var listen: [String] = []

    @Option(name: .customLong("socket-mode"), help: "Octal file mode of Unix sockets (env CARDVAULT_SOCKET_MODE, default 660).")
    var socketMode: String?

    @OptionGroup var vault: VaultOptions

    @Flag(name: .customLong("allow-non-loopback"), help: "Allow listening on an address other than loopback.")
    var allowNonLoopback = false

    @Option(name: .customLong("cvv-ttl"), help: "Seconds a security code stays pending (env CARDVAULT_CVV_TTL_SECONDS, default 900).")
    var cvvTTL: Int?

    func run() async throws {
        var logger = Logger(label: "cardvault")
        do {
            var config = try VaultServerConfiguration(environment: ProcessInfo.processInfo.environment)
            if !listen.isEmpty { try config.setListen(listen) }
            if let socketMode { try config.setSocketMode(socketMode) }
            config.databasePath = vault.databasePath
            config.keysDirectory = vault.keysDirectory
            config.adminSocket = vault.adminSocketPath
            if allowNonLoopback { config.allowNonLoopback = true }
            if let cvvTTL {
                guard (1...86_400).contains(cvvTTL) else {
                    throw VaultError.invalid("cvv-ttl", code: .invalidSetting, "--cvv-ttl must be 1 to 86400 seconds")
                }
                config.securityCodeTTL = TimeInterval(cvvTTL)
            }
            logger.logLevel = config.logLevel
            let app = try await buildApplication(config, logger: logger, adminCommands: AdminSession.runner)
            // After the checks that refuse a start with one line: keep every page of the server out
            // of swap when the memlock limit allows it; with CARDVAULT_REQUIRE_MLOCK=1 refuse to
            // run otherwise.
            switch ProcessHardening.lockAllMemory() {
            case .locked:
                logger.notice("memory locked (mlockall): nothing of this process reaches swap")
            case .notAllowed(let limit):
                if ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CARDVAULT_REQUIRE_MLOCK"]?.lowercased() ?? "") {
                    throw VaultError(
                        .failedPrecondition, code: .mlockUnavailable,
                        message:
                            "CARDVAULT_REQUIRE_MLOCK=1 but memory cannot be locked (RLIMIT_MEMLOCK \(limit.map(String.init) ?? "unknown") bytes); set LimitMEMLOCK=infinity"
                    )
                }
                logger.warning(
                    "memory NOT locked: RLIMIT_MEMLOCK is \(limit.map { "\($0) bytes" } ?? "unknown"); pages may reach swap (set LimitMEMLOCK=infinity, or CARDVAULT_REQUIRE_MLOCK=1 to refuse)"
                )
            }
            logger.notice(
                "cardvault listening",
                metadata: [
                    "address": "\(config.addresses.map(\.description).joined(separator: ","))",
                    "database": "\(config.databasePath)",
                    "admin_socket": "\(config.adminSocket ?? "none")",
                ])
            try await app.runService()
        } catch let error as VaultError {
            FileHandle.standardError.write(Data("cardvault: \(error.namedMessage)\n".utf8))
            throw ExitCode(1)
        }
    }
}
