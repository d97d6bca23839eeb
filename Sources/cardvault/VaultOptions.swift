import ArgumentParser
import Foundation
import Synchronization
import VaultDomain
import VaultHSM
import VaultHTTP
import VaultPostgres
import VaultStorage

/// Where the vault lives; flags override `CARDVAULT_DATABASE` / `CARDVAULT_KEYS_DIR` /
/// `CARDVAULT_ADMIN_SOCKET`, which override the defaults.
struct VaultOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "A SQLite database file or a postgres://USER@HOST[,HOST...]/DB URL (env CARDVAULT_DATABASE, default ./data/cardvault.sqlite).")
    var database: String?

    @Option(name: .customLong("keys-dir"), help: "Keys directory holding master.key under the file seal (env CARDVAULT_KEYS_DIR, default ./keys).")
    var keysDir: String?

    @Option(
        name: .customLong("admin-socket"),
        help: "The running server's admin socket (env CARDVAULT_ADMIN_SOCKET, default admin.sock beside a SQLite database, in --keys-dir for PostgreSQL).")
    var adminSocket: String?

    @Option(
        name: .customLong("service-user"),
        help: ArgumentHelp(
            "The user the server runs as: nothing is sent to an admin socket another user listens on "
                + "(env CARDVAULT_SERVICE_USER, default the owner of the database's folder)."))
    var serviceUser: String?

    /// The uid the admin socket's listener must have: `--service-user`, or the owner of the
    /// SQLite database's folder (the service's own, mode 0700); nil when neither is known.
    func expectedServiceUID() throws(VaultError) -> uid_t? {
        if let name = serviceUser ?? ProcessInfo.processInfo.environment["CARDVAULT_SERVICE_USER"], !name.isEmpty {
            guard let entry = getpwnam(name) else {
                throw VaultError.invalid("service-user", code: .invalidSetting, "there is no user \(name) on this host")
            }
            return entry.pointee.pw_uid
        }
        guard !PostgresDatabaseURL.isPostgres(databasePath) else { return nil }
        var info = stat()
        let folder = (databasePath as NSString).deletingLastPathComponent
        return stat(folder.isEmpty ? "." : folder, &info) == 0 ? info.st_uid : nil
    }

    var databasePath: String {
        database ?? ProcessInfo.processInfo.environment["CARDVAULT_DATABASE"] ?? "./data/cardvault.sqlite"
    }

    var keysDirectory: String {
        keysDir ?? ProcessInfo.processInfo.environment["CARDVAULT_KEYS_DIR"] ?? "./keys"
    }

    var adminSocketPath: String {
        if let adminSocket { return adminSocket }
        if let path = ProcessInfo.processInfo.environment["CARDVAULT_ADMIN_SOCKET"], !path.isEmpty { return path }
        // Beside a SQLite file; for a PostgreSQL URL, in the keys folder: two vaults started
        // from one folder on different databases never share a socket.
        if PostgresDatabaseURL.isPostgres(databasePath) { return (keysDirectory as NSString).appendingPathComponent("admin.sock") }
        let folder = (databasePath as NSString).deletingLastPathComponent
        return (folder.isEmpty ? "." : folder) + "/admin.sock"
    }

    /// The PKCS#11 token from `CARDVAULT_PKCS11_*`, opened when a pkcs11 vault first needs it.
    static func hardwareKeys() throws(VaultError) -> (@Sendable () throws(VaultError) -> any HardwareKeyStore)? {
        guard let settings = try PKCS11Settings(environment: ProcessInfo.processInfo.environment) else { return nil }
        return { () throws(VaultError) -> any HardwareKeyStore in try PKCS11KeyStore(settings: settings) }
    }

    /// The vault's runtime: the server's own when the command runs over the admin socket;
    /// otherwise opened here, and with `unseal` a shamir vault is opened with the threshold of
    /// shares read from standard input (they are also the command's dual-control custody).
    func openRuntime(unseal: Bool = true) async throws -> VaultRuntime {
        if let session = AdminSession.current { return session.runtime }
        let runtime = try VaultRuntime(databasePath: databasePath, keysDirectory: keysDirectory, hardwareKeys: Self.hardwareKeys())
        await OfflineRuntimes.register(runtime)
        if unseal { try await unsealOffline(runtime) }
        return runtime
    }

    /// Opens the vault and loads its keys (finishing an interrupted `rotate-master`).
    func openLoadedRuntime() async throws -> VaultRuntime {
        let runtime = try await openRuntime()
        try await runtime.keyAdmin.load()
        return runtime
    }

    /// The shares given for dual control: sent over the admin socket, or read offline.
    var custody: [String] { AdminSession.current?.custody ?? OfflineShares.read.withLock { $0 } }

    /// A new share set goes to the operator's terminal (over the socket) or is printed or
    /// written here.
    func handOver(files: [String], json: Bool = false) -> KeyAdministration.ShareHandOver {
        if let session = AdminSession.current { return session.handOver }
        return { shares, seal in
            try ShareDelivery.deliver(shares.map(\.text), threshold: seal.threshold ?? 0, custodians: seal.custodians ?? [], files: files, json: json)
        }
    }

    private func unsealOffline(_ runtime: VaultRuntime) async throws {
        let snapshot = try await runtime.store.read { try $0.keySnapshot() }
        guard snapshot.seal.kind == .shamir, snapshot.isInitialised, let kekID = snapshot.indexKey?.kekID else { return }
        let shares = try OfflineShares.read.withLock { held in
            if held.isEmpty { held = try ShareInput.read(count: snapshot.seal.threshold ?? 0, purpose: "unseal (server stopped)") }
            return held
        }
        runtime.keys.unseal(master: try KeyShares.rebuild(texts: shares, seal: snapshot.seal, kekID: kekID).0)
    }

    /// The vault's seal, read without any key.
    func seal() async throws -> SealDescriptor {
        guard FileManager.default.fileExists(atPath: databasePath) else { return .file }
        let runtime = try VaultRuntime(databasePath: databasePath, keysDirectory: keysDirectory)
        return try await runtime.store.read { try $0.keySnapshot() }.seal
    }
}

/// Shares read from standard input once per process (offline: unseal and custody are the same
/// shares, read once).
enum OfflineShares {
    static let read = Mutex<[String]>([])
}

/// The runtimes this process opened itself (no server), with the newest audit row when each was
/// opened. Before the process exits, what its command appended to the audit log is sequenced
/// (PostgreSQL: nothing is left waiting for a server that may never run) and covered by a
/// signed checkpoint, appended to `CARDVAULT_AUDIT_ANCHOR_FILE` when set and printed to
/// standard error otherwise: rows an offline command appended cannot be cut undetected either.
enum OfflineRuntimes {
    static let opened = Mutex<[(runtime: VaultRuntime, newestAtOpen: Int64)]>([])

    static func register(_ runtime: VaultRuntime) async {
        let newest = (try? await runtime.store.read { try $0.latestAuditEntries(limit: 1) }.first?.seq) ?? 0
        opened.withLock { $0.append((runtime, newest)) }
    }

    static func finish() async {
        for (runtime, newestAtOpen) in opened.withLock({ $0 }) where runtime.keys.isLoaded && !runtime.keys.isSealed {
            do {
                let waiting = try await runtime.audit.settle()
                if waiting > 0 { Output.status("note: \(waiting) audit row(s) still wait to be sequenced; a running server sequences them\n") }
                guard let checkpoint = try await runtime.audit.checkpoint(at: Date()), checkpoint.seq > newestAtOpen else { continue }
                if let anchor = ProcessInfo.processInfo.environment["CARDVAULT_AUDIT_ANCHOR_FILE"], !anchor.isEmpty {
                    try AuditAnchorFile.append(checkpoint.line + "\n", to: anchor)
                } else {
                    Output.status("audit checkpoint: \(checkpoint.line)\n")
                }
            } catch {
                Output.status("note: the audit rows of this command are committed but no checkpoint covers them yet; a running server signs one\n")
            }
        }
    }
}

/// `--json` for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false
}
