import Foundation

/// A throwaway PostgreSQL 15 cluster for the tests: `initdb` in a temporary folder, a free
/// loopback port, run as the `postgres` user when the tests run as root (PostgreSQL refuses
/// root), stopped when the test process exits. One cluster per test process; every vault gets
/// its own database in it. Needs Debian's `postgresql-15` (`.ci/run` installs it).
public final class PostgresCluster: Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"
    public let folder: String
    public let port: Int
    public let user = "cardvault"

    /// Whether this machine has the server binaries.
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binaries + "/initdb") }

    /// The process's cluster, started on first use.
    public static let shared: Result<PostgresCluster, ClusterError> = {
        do { return .success(try PostgresCluster()) } catch let error as ClusterError { return .failure(error) } catch {
            return .failure(ClusterError(message: "\(error)"))
        }
    }()

    private init() throws {
        TestLogging.configure()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cardvault-pg-\(getpid())").path
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        port = Self.freePort()
        // A throwaway CA and a server certificate for the name localhost (not the address), so TLS is tested too
        // (the server takes plain and TLS connections alike).
        try Self.makeCertificates(in: folder)
        if getuid() == 0 { try Self.shell(["chown", "-R", "postgres:postgres", folder]) }
        try Self.asOwner([Self.binaries + "/initdb", "-D", folder + "/data", "-U", user, "-A", "trust", "--no-sync", "-E", "UTF8"])
        // The server outlives pg_ctl and would hold a pipe open: its output goes to the log only.
        try Self.asOwner(
            [
                Self.binaries + "/pg_ctl", "-D", folder + "/data", "-l", folder + "/server.log", "-w", "-o",
                // A synchronous standby that never connects, waited for only by databases set to
                // synchronous_commit=on (a test of a standby that is gone): the others commit locally.
                "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c max_connections=200 -c ssl=on"
                    + " -c synchronous_standby_names=ghost -c synchronous_commit=local"
                    + " -c ssl_cert_file=\(folder)/server.pem -c ssl_key_file=\(folder)/server.key", "start",
            ], capture: false)
        Self.started.withLock { $0 = folder }
        atexit {
            if let folder = PostgresCluster.started.withLock({ $0 }) {
                _ = try? PostgresCluster.asOwner([PostgresCluster.binaries + "/pg_ctl", "-D", folder + "/data", "-m", "immediate", "stop"])
                try? FileManager.default.removeItem(atPath: folder)
            }
        }
    }

    private static let started = NSLockedValue<String?>(nil)

    /// The CA that signed the server's certificate (PEM), for `sslrootcert`.
    public var certificateAuthorityFile: String { folder + "/ca.pem" }

    /// A CA that signed nothing here, for the refusal test.
    public var foreignCertificateAuthorityFile: String { folder + "/foreign-ca.pem" }

    static func makeCertificates(in folder: String) throws {
        let openssl = "/usr/bin/openssl"
        for ca in ["ca", "foreign-ca"] {
            try shell([
                openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=cardvault test \(ca)", "-keyout", "\(folder)/\(ca).key", "-out", "\(folder)/\(ca).pem",
            ])
        }
        try shell([
            openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "\(folder)/server.key", "-out", "\(folder)/server.csr",
        ])
        try "subjectAltName=DNS:localhost\n".write(toFile: "\(folder)/san.ext", atomically: true, encoding: .utf8)
        try shell([
            openssl, "x509", "-req", "-in", "\(folder)/server.csr", "-CA", "\(folder)/ca.pem", "-CAkey", "\(folder)/ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "\(folder)/san.ext", "-out", "\(folder)/server.pem",
        ])
        chmod("\(folder)/server.key", 0o600)
    }

    /// A new empty database; answers its URL (`parameters` appended as its query).
    public func makeDatabase(host: String = "127.0.0.1", parameters: String = "") throws -> String {
        let name = "cv_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try Self.shell([Self.binaries + "/psql", "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", "postgres", "-q", "-c", "CREATE DATABASE \(name)"])
        return "postgres://\(user)@\(host):\(port)/\(name)" + (parameters.isEmpty ? "" : "?" + parameters)
    }

    /// Runs `sql` with psql in the database of `url` (made by `makeDatabase`); answers its
    /// unaligned output.
    @discardableResult
    public func query(_ url: String, _ sql: String) throws -> String {
        let database = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
        return try Self.shell([Self.binaries + "/psql", "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database, "-Atqc", sql])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func asOwner(_ arguments: [String], capture: Bool = true) throws {
        if getuid() == 0 {
            try shell(["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments, capture: capture)
        } else {
            try shell(arguments, capture: capture)
        }
    }

    @discardableResult
    static func shell(_ arguments: [String], capture: Bool = true) throws -> String {
        if !capture { return try spawn(arguments) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0].hasPrefix("/") ? arguments[0] : "/usr/bin/env")
        process.arguments = arguments[0].hasPrefix("/") ? Array(arguments.dropFirst()) : arguments
        let output = Pipe()
        process.standardOutput = capture ? output : FileHandle.nullDevice
        process.standardError = capture ? output : FileHandle.nullDevice
        try process.run()
        let text = capture ? String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) : ""
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ClusterError(message: "\(arguments.joined(separator: " ")) failed: \(text)") }
        return text
    }

    /// posix_spawn and waitpid, output to /dev/null: for `pg_ctl start`, whose server outlives
    /// it (Foundation's `Process` did not reap it here).
    static func spawn(_ arguments: [String]) throws -> String {
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, arguments[0], &actions, nil, argv, environ) == 0 else {
            throw ClusterError(message: "cannot start \(arguments[0])")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw ClusterError(message: "\(arguments.joined(separator: " ")) failed (status \(status))") }
        return ""
    }

    /// A loopback port nothing listens on (just now).
    public static func unusedPort() -> Int { freePort() }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public struct ClusterError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }
}

/// A value behind a lock (the cluster's folder, read by the exit handler).
final class NSLockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}
