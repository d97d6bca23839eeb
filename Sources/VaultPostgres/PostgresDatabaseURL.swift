import Foundation
import VaultDomain

/// `--database postgres://USER@HOST:PORT/DB?sslmode=disable|require` (also `postgresql://`).
/// The password is never in the URL (it would show in `ps`, logs and shell history): it is read
/// from `CARDVAULT_DATABASE_PASSWORD_FILE` when set. A file path instead selects SQLite.
public struct PostgresDatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var requireTLS: Bool
    public var password: String?

    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(_ text: String, passwordFile: String? = nil) throws(VaultError) {
        guard Self.isPostgres(text), let components = URLComponents(string: text), let host = components.host, !host.isEmpty,
            let user = components.user, !user.isEmpty
        else {
            throw VaultError.invalid("database", code: .invalidSetting, "a PostgreSQL database is postgres://USER@HOST:PORT/DB")
        }
        guard components.password == nil else {
            throw VaultError.invalid(
                "database", code: .invalidSetting, "put the PostgreSQL password in CARDVAULT_DATABASE_PASSWORD_FILE, never in the URL")
        }
        let name = String(components.path.drop(while: { $0 == "/" }))
        guard !name.isEmpty else { throw VaultError.invalid("database", code: .invalidSetting, "the PostgreSQL URL names no database") }
        var tls = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): tls = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): tls = true
            default:
                throw VaultError.invalid("database", code: .invalidSetting, "the PostgreSQL URL takes sslmode=disable|require only")
            }
        }
        self.user = user
        self.host = host
        self.port = components.port ?? 5432
        self.database = name
        self.requireTLS = tls
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile) else {
                throw VaultError.invalid("CARDVAULT_DATABASE_PASSWORD_FILE", code: .invalidSetting, "cannot read \(passwordFile)")
            }
            password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
    }

    /// Without the password.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)\(requireTLS ? "?sslmode=require" : "")" }
}
