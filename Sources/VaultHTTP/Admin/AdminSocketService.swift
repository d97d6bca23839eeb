import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VaultCrypto
import VaultDomain
import VaultProviders
import VaultStorage

#if canImport(Glibc)
    import Glibc
#endif

/// The admin socket: a Unix socket (mode 0600 by default) that carries unseal, seal, status and
/// the key-bearing admin commands to a running server, so that under the shamir and pkcs11
/// seals no admin command needs the master key anywhere but in this process. The operator is
/// named from the socket peer's kernel credentials (`SO_PEERCRED`).
///
/// One connection at a time, on a thread of its own (blocking `accept`/`read` never touch the
/// server's executors): a request line, for `run` possibly a share hand-over exchange, a result
/// line. Reads time out, lines are bounded, so nothing a local client sends can hold or grow
/// the server.
///
/// Requests (one JSON object per line; unknown fields are refused):
/// `{"op":"status"}`, `{"op":"unseal","share":"cvshare1-..."}`, `{"op":"seal"}`,
/// `{"op":"run","argv":["keys","rotate"],"database":"/abs/path","shares":[...]}`.
/// Answers end with `{"type":"result","exit":N,"stdout":"...","stderr":"...","status":{...}}`.
public final class AdminSocketService: Service, @unchecked Sendable {
    let path: String
    let mode: mode_t
    let runtime: VaultRuntime
    let databasePath: String
    let runner: AdminCommandRunner?
    let logger: Logger
    private let listener = Mutex<Int32>(-1)
    /// Connections being served now.
    private let active = Mutex<Int>(0)
    /// One request handled at a time.
    private let handling = DispatchSemaphore(value: 1)
    /// Refused shares per peer uid, and when that uid may send the next one.
    private let throttle = Mutex<[UInt32: (refusals: Int, notBefore: Date)]>([:])
    /// Shares refused since the server started (`operator status`).
    private let refusedShares = Mutex<Int>(0)
    /// Shares accepted towards the current unseal, for the audit once the keys are back.
    private let pendingAudit = Mutex<[(share: Int, custodian: String, actor: AuditActor)]>([])

    let group: gid_t?

    public init(
        path: String, mode: mode_t = 0o600, group: gid_t? = nil, runtime: VaultRuntime, databasePath: String, runner: AdminCommandRunner?, logger: Logger
    ) {
        self.group = group
        self.path = path
        self.mode = mode
        self.runtime = runtime
        self.databasePath = databasePath
        self.runner = runner
        self.logger = logger
    }

    /// Binds the socket (replacing a stale socket, never another file) with `mode` set before
    /// it accepts anything. Called by `buildApplication`, so a bad path stops the start.
    public func bind() throws(VaultError) {
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw VaultError(.failedPrecondition, code: .socketPathTaken, message: "\(path) exists and is not a socket; refusing to replace it")
            }
            // A socket another live server answers on is not stale: two servers on one host
            // each need their own --admin-socket.
            guard !Self.answers(path) else {
                throw VaultError(
                    .failedPrecondition, code: .socketPathTaken,
                    message:
                        "another cardvault server already answers on the admin socket \(path): if it serves this vault, stop it first "
                        + "(Ctrl-C in its terminal, or systemctl stop cardvault); to run a second instance on one PostgreSQL database, "
                        + "give this one its own --admin-socket")
            }
            unlink(path)
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let bound = fd < 0 ? nil : UnixSocket.withAddress(path) { address, length in Glibc.bind(fd, address, length) }
        guard let bound else {
            if fd >= 0 { close(fd) }
            throw VaultError(
                .failedPrecondition, code: .invalidSetting, message: "the admin socket path \(path) is too long (at most 107 bytes)", field: "admin-socket")
        }
        // The mode is set before listen(): until then nobody can connect.
        // So are the group (the operators', never the callers') and the mode.
        guard bound == 0, group.map({ chown(path, uid_t.max, $0) == 0 }) ?? true, chmod(path, mode) == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw VaultError(.failedPrecondition, code: .invalidSetting, message: "cannot listen on the admin socket \(path)", field: "admin-socket")
        }
        listener.withLock { $0 = fd }
    }

    public func run() async throws {
        if listener.withLock({ $0 }) < 0 { try bind() }
        let fd = listener.withLock { $0 }
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "cardvault-admin-socket"
        thread.start()
        logger.notice("admin socket ready", metadata: ["path": "\(path)"])
        try? await gracefulShutdown()
        listener.withLock { $0 = -1 }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            guard let peer = AdminPeer.of(socket: client) else {
                close(client)
                continue
            }
            // Each connection on a thread of its own, so a stalled client never delays another;
            // at most `maxConnections` at once (one more is told so and closed).
            guard
                active.withLock({ count in
                    guard count < Self.maxConnections else { return false }
                    count += 1
                    return true
                })
            else {
                AdminConnection(fd: client, peer: peer, timeoutSeconds: 1).send(
                    Self.failure(VaultError(.tooManyRequests, code: .adminBusy, message: "too many admin connections at once; retry")))
                continue
            }
            let thread = Thread { [self] in
                defer { active.withLock { $0 -= 1 } }
                serve(AdminConnection(fd: client, peer: peer))
            }
            thread.name = "cardvault-admin-connection"
            thread.start()
        }
    }

    /// Admin connections served at once.
    static let maxConnections = 16
    /// How long a client has to send its whole first request line.
    static let requestDeadline: Double = 5

    private func serve(_ connection: AdminConnection) {
        guard let request = connection.readLine(within: Self.requestDeadline) else {
            connection.send(Self.failure(VaultError.malformed(nil, "one JSON object per line, at most 64 KiB, within 5 seconds")))
            return
        }
        // A user whose shares were refused waits first, holding nothing.
        if case .string("unseal")? = request["op"], let notBefore = throttle.withLock({ $0[connection.peer.uid]?.notBefore }) {
            let wait = notBefore.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
        // Requests are handled one at a time (unseal progress, seal, commands), but only once
        // read whole: a slow reader holds nothing.
        handling.wait()
        defer { handling.signal() }
        let done = DispatchSemaphore(value: 0)
        Task {
            await self.handle(request, connection)
            done.signal()
        }
        done.wait()
    }

    static let fields: Set<String> = ["op", "share", "shares", "argv", "database", "sudo_uid"]

    func handle(_ request: JSONValue, _ connection: AdminConnection) async {
        guard case .object(let members) = request, let unknown = Optional(members.map(\.0).filter { !Self.fields.contains($0) }), unknown.isEmpty,
            case .string(let op)? = request["op"]
        else {
            connection.send(Self.failure(VaultError.malformed("op", "a request is {\"op\": \"status\"|\"unseal\"|\"seal\"|\"run\", ...} with no other fields")))
            return
        }
        var peer = connection.peer
        if case .int(let claimed)? = request["sudo_uid"], peer.uid == 0 || peer.uid == geteuid(), let uid = UInt32(exactly: claimed) { peer.sudoUID = uid }
        do {
            switch op {
            case "status":
                connection.send(try await result(status: status()))
            case "unseal":
                guard case .string(let share)? = request["share"] else { throw VaultError.malformed("share", "unseal needs one share") }
                connection.send(try await result(status: unseal(share, peer: peer)))
            case "seal":
                try await seal(peer: peer)
                connection.send(try await result(status: status()))
            case "run":
                try await run(request, peer: peer, connection: connection)
            default:
                throw VaultError.malformed("op", "op is status, unseal, seal or run")
            }
        } catch let error as VaultError {
            connection.send(Self.failure(error))
        } catch {
            connection.send(Self.failure(VaultError(.unavailable, code: .internalError, message: "the admin request failed")))
        }
    }

    // MARK: operations

    func status() async throws -> [String: Any] {
        let snapshot = try await runtime.store.read { try $0.keySnapshot() }
        var status: [String: Any] = [
            "sealed": runtime.keys.isSealed || !runtime.keys.isLoaded, "seal": snapshot.seal.kind.rawValue, "initialised": snapshot.isInitialised,
        ]
        if let id = snapshot.indexKey?.kekID { status["master_key_id"] = id }
        if snapshot.seal.kind == .shamir {
            status["threshold"] = snapshot.seal.threshold ?? 0
            status["shares"] = snapshot.seal.shares ?? 0
            status["progress"] = runtime.unsealer.received
            status["refused_shares"] = refusedShares.withLock { $0 }
        }
        return status
    }

    func unseal(_ share: String, peer: AdminPeer) async throws -> [String: Any] {
        let snapshot = try await runtime.store.read { try $0.keySnapshot() }
        if runtime.keys.isLoaded && !runtime.keys.isSealed { return try await status() }
        switch snapshot.seal.kind {
        case .shamir:
            let submitted = Result { () throws(VaultError) -> Unsealer.Progress in try runtime.unsealer.submit(share, snapshot: snapshot, keys: runtime.keys) }
            guard case .success(let progress) = submitted else {
                if case .failure(let error) = submitted { try refused(error, peer: peer) }
                return try await status()
            }
            if progress.sealed {
                let x = (try? ShamirSecretSharing.Share(text: share)).map { Int($0.x) } ?? 0
                pendingAudit.withLock { $0.append((x, snapshot.seal.custodian(ofShare: x), peer.actor)) }
                logger.notice("unseal share accepted", metadata: ["progress": "\(progress.progress)/\(progress.threshold)", "operator": "\(peer.name)"])
            } else {
                let x = (try? ShamirSecretSharing.Share(text: share)).map { Int($0.x) } ?? 0
                var shares = pendingAudit.withLock { pending in
                    defer { pending.removeAll() }
                    return pending
                }
                shares.append((x, snapshot.seal.custodian(ofShare: x), peer.actor))
                try await recordUnseal(shares, peer: peer)
            }
        case .file, .pkcs11:
            // After `operator seal`: the keys come back from the file or the token.
            runtime.keys.unseal(master: nil)
            try runtime.keys.refresh(from: snapshot)
            try await recordUnseal([], peer: peer)
        }
        return try await status()
    }

    /// No key, no audit chain: a refused share goes to the log (never the share), then to the
    /// operator.
    private func refused(_ error: VaultError, peer: AdminPeer) throws(VaultError) {
        // Each refusal makes the same user wait longer before the next share is even looked at
        // (0.25 s, doubling, at most 8 s), so shares cannot be guessed at the socket's pace.
        let count = throttle.withLock { entries in
            let n = (entries[peer.uid]?.refusals ?? 0) + 1
            entries[peer.uid] = (n, Date().addingTimeInterval(min(8, 0.25 * Double(1 << min(n - 1, 6)))))
            return n
        }
        refusedShares.withLock { $0 += 1 }
        logger.warning(
            "unseal share refused", metadata: ["error_code": "\(error.code.rawValue)", "operator": "\(peer.name)", "refusals": "\(count)"])
        if error.code == .sharesMismatch { pendingAudit.withLock { $0.removeAll() } }
        throw error
    }

    /// Audits each share (custodian, operator who gave it) and the unseal; a failed write seals
    /// again (every audit failure fails its operation).
    private func recordUnseal(_ shares: [(share: Int, custodian: String, actor: AuditActor)], peer: AdminPeer) async throws {
        do {
            let chain = AuditChain(key: try runtime.keys.derivedKeys().audit)
            let now = Date()
            try await runtime.store.write { tx in
                for share in shares {
                    try tx.appendAudit(
                        AuditEvent(action: "keys.unseal_share", subject: "share \(share.share)|\(share.custodian)", outcome: .success, actor: share.actor),
                        chain: chain, at: now)
                }
                try tx.appendAudit(AuditEvent(action: "server.unseal", subject: "pid=\(getpid())", outcome: .success, actor: peer.actor), chain: chain, at: now)
            }
            logger.notice("unsealed", metadata: ["operator": "\(peer.name)"])
        } catch {
            runtime.keys.seal()
            throw error
        }
    }

    func seal(peer: AdminPeer) async throws {
        runtime.unsealer.reset()
        pendingAudit.withLock { $0.removeAll() }
        guard runtime.keys.isLoaded else { return }
        let chain = AuditChain(key: try runtime.keys.derivedKeys().audit)
        let now = Date()
        _ = try await runtime.store.write { tx in
            try tx.appendAudit(AuditEvent(action: "server.seal", subject: "pid=\(getpid())", outcome: .success, actor: peer.actor), chain: chain, at: now)
        }
        runtime.keys.seal()
        logger.notice("sealed by operator", metadata: ["operator": "\(peer.name)"])
    }

    func run(_ request: JSONValue, peer: AdminPeer, connection: AdminConnection) async throws {
        guard let runner else { throw VaultError(.failedPrecondition, code: .adminCommandRefused, message: "this server runs no admin commands") }
        guard case .array(let items)? = request["argv"], !items.isEmpty, items.count <= 64 else {
            throw VaultError.malformed("argv", "run needs argv: the command's words")
        }
        let arguments = try items.map { item throws(VaultError) -> String in
            guard case .string(let word) = item else { throw VaultError.malformed("argv", "argv holds strings") }
            return word
        }
        var custody: [String] = []
        if case .array(let shares)? = request["shares"] {
            guard shares.count <= 10 else { throw VaultError.malformed("shares", "at most 10 shares") }
            for share in shares {
                guard case .string(let text) = share else { throw VaultError.malformed("shares", "shares are strings") }
                custody.append(text)
            }
        }
        // The client resolved its --database; it must be this server's vault.
        guard case .string(let database)? = request["database"], Self.sameFile(database, databasePath) else {
            throw VaultError(.failedPrecondition, code: .adminCommandRefused, message: "the server on \(path) serves another database")
        }
        let handOver: KeyAdministration.ShareHandOver = { shares, seal in
            let sent = connection.send([
                "type": "shares", "shares": shares.map(\.text), "threshold": seal.threshold ?? 0, "share_set": seal.shareSet ?? "",
                "custodians": (1...max(1, shares.count)).map { seal.custodian(ofShare: $0) },
            ])
            guard sent, case .bool(true)? = await connection.nextLine()?["ack"] else {
                throw VaultError(.unavailable, code: .adminSocketUnavailable, message: "the operator did not acknowledge the new shares; nothing was changed")
            }
        }
        let result = await runner(AdminInvocation(arguments: arguments, custody: custody, actor: peer.actor, runtime: runtime, handOver: handOver))
        connection.send(["type": "result", "exit": Int(result.exitCode), "stdout": result.standardOutput, "stderr": result.standardError])
    }

    // MARK: helpers

    func result(status: [String: Any]) async throws -> [String: Any] {
        ["type": "result", "exit": 0, "status": status, "stdout": "", "stderr": ""]
    }

    static func failure(_ error: VaultError) -> [String: Any] {
        var object: [String: Any] = ["code": error.code.rawValue, "message": error.message]
        if let field = error.field { object["field"] = field }
        return ["type": "result", "exit": 1, "error": object, "stdout": "", "stderr": "error: \(error.message)\n"]
    }

    /// Whether something accepts connections on the Unix socket at `path`.
    static func answers(_ path: String) -> Bool {
        guard let fd = UnixSocket.connect(path) else { return false }
        close(fd)
        return true
    }

    static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat()
        var y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }
}
