import Foundation
import Logging
import VaultDomain
import VaultPostgres

/// Everything one process needs to work on a vault: the database, the key ring and the
/// services built on them. Shared by the server and the admin commands, so both run exactly the
/// same code.
public struct VaultRuntime: Sendable {
    /// The SQLite database, when the vault is on SQLite (nil on PostgreSQL).
    public let database: AppDatabase?
    /// The storage every service works through. This runtime is the one place that names a
    /// backend; the domain, HTTP and CLI see only the protocol.
    public let store: any VaultStore
    public let keys: KeyRing
    public let codes: SecurityCodeVault
    /// Shares handed to this process towards an unseal (shamir seal).
    public let unsealer = Unsealer()

    /// The services, over one context (see `VaultContext`).
    public var context: VaultContext { VaultContext(store: store, keys: keys, codes: codes) }
    public var cards: CardVault { CardVault(context: context, defaultRetention: defaultRetention) }
    public var references: ProviderReferences { ProviderReferences(context: context) }
    public var providerCalls: ProviderCallLedger { ProviderCallLedger(context: context) }
    public var retention: RetentionSweeper { RetentionSweeper(context: context) }
    public var importer: CardImporter { CardImporter(context: context, defaultRetention: defaultRetention) }
    /// Retention for cards created without `retain_until` (`CARDVAULT_RETENTION_DAYS`).
    public let defaultRetention: TimeInterval?
    /// One per runtime: it holds the cache of known-good client secrets.
    public let authenticator: ClientAuthenticator
    public var clients: ClientAdministration { ClientAdministration(context: context) }
    public var keyAdmin: KeyAdministration { KeyAdministration(context: context) }
    public var audit: AuditAdministration { AuditAdministration(context: context) }

    public init(
        databasePath: String, keysDirectory: String, securityCodeTTL: TimeInterval = 15 * 60,
        maxPendingCodes: Int = SecurityCodeVault.defaultCapacity,
        defaultRetention: TimeInterval? = nil, logger: Logger = Logger(label: "cardvault.storage"),
        hardwareKeys: (@Sendable () throws(VaultError) -> any HardwareKeyStore)? = nil
    ) throws {
        self.defaultRetention = defaultRetention
        // The one place that picks the backend: a postgres:// URL, or a SQLite file path.
        if PostgresDatabaseURL.isPostgres(databasePath) {
            let url = try PostgresDatabaseURL(databasePath, passwordFile: ProcessInfo.processInfo.environment["CARDVAULT_DATABASE_PASSWORD_FILE"])
            database = nil
            // Connections per instance: size it to the server's max_connections / instances.
            let pool = ProcessInfo.processInfo.environment["CARDVAULT_DATABASE_CONNECTIONS"]
            let connections = pool == nil ? 16 : (Int(pool ?? "") ?? 0)
            guard (1...500).contains(connections) else {
                throw VaultError.invalid("CARDVAULT_DATABASE_CONNECTIONS", code: .invalidSetting, "must be a whole number from 1 to 500")
            }
            // The longest a request waits on the database (connection, statement, commit).
            let wait = ProcessInfo.processInfo.environment["CARDVAULT_DATABASE_TIMEOUT"]
            let seconds = wait == nil ? 10 : (Int(wait ?? "") ?? 0)
            guard (1...300).contains(seconds) else {
                throw VaultError.invalid("CARDVAULT_DATABASE_TIMEOUT", code: .invalidSetting, "must be a whole number of seconds from 1 to 300")
            }
            store = try PostgresVaultStore(url: url, connections: connections, timeout: .seconds(seconds), logger: logger)
        } else {
            let sqlite = try AppDatabase(path: databasePath)
            database = sqlite
            store = SQLiteVaultStore(database: sqlite, logger: logger)
        }
        keys = KeyRing(directory: KeyDirectory(path: keysDirectory), hardware: hardwareKeys)
        // PostgreSQL: codes shared by the instances, sealed to their short-lived keys.
        codes = try SecurityCodeVault(timeToLive: securityCodeTTL, capacity: maxPendingCodes, sharedStore: store.sharedCodes)
        authenticator = ClientAuthenticator(store: store, keys: keys)
    }
}
