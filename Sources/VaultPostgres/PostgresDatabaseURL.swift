import Foundation
import VaultDomain

/// `--database postgres://USER@HOST[:PORT][,HOST[:PORT]...]/DB[?PARAMETERS]` (also
/// `postgresql://`), read as libpq reads it where the two overlap:
/// - several hosts are tried in order; with `target_session_attrs=read-write` (the default when
///   more than one host is named) a server in recovery (a standby) is passed over, so the vault
///   writes only to the primary and finds the promoted standby after a failover;
/// - `sslmode=disable|require|verify-ca|verify-full` (default `disable` for a loopback host,
///   `verify-full` otherwise), `sslrootcert=FILE` (PEM; the system's roots when absent).
///
/// The password is never in the URL (it would show in `ps`, logs and shell history): it is read
/// from `CARDVAULT_DATABASE_PASSWORD_FILE` when set. A file path instead selects SQLite.
public struct PostgresDatabaseURL: Sendable, Equatable, CustomStringConvertible {
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (loopback only by default).
        case disable
        /// Encrypted, the server's certificate not checked (libpq's `require`).
        case require
        /// Encrypted, the chain checked against `sslrootcert`, any host name.
        case verifyCA = "verify-ca"
        /// Encrypted, the chain and the host name checked.
        case verifyFull = "verify-full"
    }

    public enum SessionTarget: String, Sendable, Equatable {
        case any
        case readWrite = "read-write"
    }

    public var user: String
    public var endpoints: [Endpoint]
    public var database: String
    public var tls: TLSMode
    public var rootCertificateFile: String?
    public var target: SessionTarget
    public var password: String?

    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    static func invalid(_ reason: String) -> VaultError { VaultError.invalid("database", code: .invalidSetting, reason) }

    public init(_ text: String, passwordFile: String? = nil) throws(VaultError) {
        guard Self.isPostgres(text) else { throw Self.invalid("a PostgreSQL database is postgres://USER@HOST:PORT/DB") }
        let rest = text.drop(while: { $0 != ":" }).dropFirst(3)
        let (authority, pathAndQuery) = rest.firstIndex(of: "/").map { (rest[..<$0], rest[$0...]) } ?? (rest, "")
        guard let at = authority.lastIndex(of: "@") else { throw Self.invalid("a PostgreSQL database is postgres://USER@HOST:PORT/DB") }
        let userInfo = authority[..<at]
        guard !userInfo.contains(":") else {
            throw Self.invalid("put the PostgreSQL password in CARDVAULT_DATABASE_PASSWORD_FILE, never in the URL")
        }
        guard let user = String(userInfo).removingPercentEncoding, !user.isEmpty else {
            throw Self.invalid("a PostgreSQL database is postgres://USER@HOST:PORT/DB")
        }
        var endpoints: [Endpoint] = []
        for part in authority[authority.index(after: at)...].split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(pieces.count), !pieces[0].isEmpty,
                pieces[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" })
            else { throw Self.invalid("the PostgreSQL URL names a host that is not HOST or HOST:PORT") }
            var port = 5432
            if pieces.count == 2 {
                guard let number = Int(pieces[1]), (1...65535).contains(number) else {
                    throw Self.invalid("the PostgreSQL URL names a port that is not 1 to 65535")
                }
                port = number
            }
            endpoints.append(Endpoint(host: String(pieces[0]), port: port))
        }
        guard (1...8).contains(endpoints.count) else { throw Self.invalid("the PostgreSQL URL names 1 to 8 hosts") }
        let (path, query) = pathAndQuery.firstIndex(of: "?").map { (pathAndQuery[..<$0], pathAndQuery[pathAndQuery.index(after: $0)...]) } ?? (pathAndQuery, "")
        let name = String(path.drop(while: { $0 == "/" }))
        guard !name.isEmpty, !name.contains("/") else { throw Self.invalid("the PostgreSQL URL names no database") }
        var tls: TLSMode?
        var target: SessionTarget?
        var rootCertificateFile: String?
        var seen = Set<String>()
        for item in query.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pair[0])
            let value = pair.count == 2 ? (String(pair[1]).removingPercentEncoding ?? "") : ""
            guard seen.insert(key).inserted else { throw Self.invalid("the PostgreSQL URL sets \(key) twice") }
            switch key {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw Self.invalid("sslmode is disable, require, verify-ca or verify-full")
                }
                tls = mode
            case "sslrootcert":
                guard value.hasPrefix("/") else { throw Self.invalid("sslrootcert is an absolute path to a PEM file") }
                rootCertificateFile = value
            case "target_session_attrs":
                guard let attrs = SessionTarget(rawValue: value) else { throw Self.invalid("target_session_attrs is any or read-write") }
                target = attrs
            default:
                throw Self.invalid("the PostgreSQL URL takes sslmode, sslrootcert and target_session_attrs only")
            }
        }
        let loopback = endpoints.allSatisfy { LoopbackHost.contains($0.host) }
        self.user = user
        self.endpoints = endpoints
        self.database = name
        self.tls = tls ?? (loopback ? .disable : .verifyFull)
        self.rootCertificateFile = rootCertificateFile
        self.target = target ?? (endpoints.count > 1 ? .readWrite : .any)
        if rootCertificateFile != nil, self.tls == .disable || self.tls == .require {
            throw Self.invalid("sslrootcert needs sslmode=verify-ca or verify-full")
        }
        if let passwordFile {
            // The master key file's rules (`SecretFile`); PostgresNIO takes the password as a String.
            let secret = try SecretFile.read(passwordFile, setting: "CARDVAULT_DATABASE_PASSWORD_FILE", code: .invalidSetting)
            password = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// The first host (for messages).
    public var host: String { endpoints[0].host }
    public var port: Int { endpoints[0].port }

    /// Without the password.
    public var description: String {
        let hosts = endpoints.map { "\($0.host):\($0.port)" }.joined(separator: ",")
        var parameters = ["sslmode=\(tls.rawValue)"]
        if let rootCertificateFile { parameters.append("sslrootcert=\(rootCertificateFile)") }
        if target != .any { parameters.append("target_session_attrs=\(target.rawValue)") }
        return "postgres://\(user)@\(hosts)/\(database)?\(parameters.joined(separator: "&"))"
    }
}
