import Foundation
import VaultDomain
import VaultHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// The operator's end of the admin socket: one request line, then the server's lines (a new
/// share set to hand over and acknowledge, then the result).
struct AdminClient {
    let fd: Int32
    private var buffered: [UInt8] = []

    /// Connects to the server's admin socket; nil when no server listens there.
    init?(path: String) {
        guard let fd = UnixSocket.connect(path) else { return nil }
        self.fd = fd
    }

    /// Connects, then checks who listens before anything (a share, a command) is sent: the
    /// listener (`SO_PEERCRED`) must own the socket file, its folder must be writable by its
    /// owner alone, and the listener must be `expectedUID` (the service user) when known.
    /// nil when no server listens there; refused (nothing sent) when the wrong one does.
    static func connect(_ vault: VaultOptions) throws(VaultError) -> AdminClient? {
        let path = vault.adminSocketPath
        guard let client = AdminClient(path: path) else { return nil }
        let expected = try vault.expectedServiceUID()
        var socketInfo = stat()
        var folderInfo = stat()
        let folder = (path as NSString).deletingLastPathComponent
        guard let peer = AdminPeer.of(socket: client.fd), lstat(path, &socketInfo) == 0, stat(folder.isEmpty ? "." : folder, &folderInfo) == 0,
            socketInfo.st_uid == peer.uid, folderInfo.st_uid == peer.uid || folderInfo.st_uid == 0, folderInfo.st_mode & 0o022 == 0,
            expected.map({ $0 == peer.uid }) ?? true
        else {
            client.close()
            throw VaultError(
                .failedPrecondition, code: .adminSocketUntrusted,
                message: "the process listening on \(path) is not the cardvault service "
                    + "(its owner, folder or user does not match; see --service-user); nothing was sent")
        }
        return client
    }

    func close() { Glibc.close(fd) }

    func send(_ object: [String: Any]) throws(VaultError) {
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            throw VaultError(.unavailable, code: .adminSocketUnavailable, message: "cannot encode the admin request")
        }
        data.append(0x0A)
        let ok = data.withUnsafeBytes { UnixSocket.writeAll(fd, $0) }
        data.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) }
        guard ok else { throw VaultError(.unavailable, code: .adminSocketUnavailable, message: "the server closed the admin socket") }
    }

    mutating func receive() throws(VaultError) -> [String: Any] {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                let line = Data(buffered[..<newline])
                buffered.removeSubrange(...newline)
                guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else { break }
                return object
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            buffered.append(contentsOf: chunk[..<n])
        }
        throw VaultError(.unavailable, code: .adminSocketUnavailable, message: "the server closed the admin socket without an answer")
    }

    /// Sends `request` and follows the exchange to its result; a new share set is delivered
    /// here (printed, or written to `shareFiles`) and acknowledged before the server commits it.
    mutating func exchange(_ request: [String: Any], shareFiles: [String] = [], json: Bool = false) throws(VaultError) -> [String: Any] {
        try send(request)
        while true {
            let message = try receive()
            if message["type"] as? String == "shares" {
                do {
                    try ShareDelivery.deliver(
                        message["shares"] as? [String] ?? [], threshold: message["threshold"] as? Int ?? 0,
                        custodians: message["custodians"] as? [String] ?? [], files: shareFiles, json: json)
                } catch {
                    try send(["ack": false])
                    throw error
                }
                try send(["ack": true])
                continue
            }
            return message
        }
    }

    /// Prints a result's output where it belongs and answers its exit status.
    static func finish(_ result: [String: Any]) -> Int32 {
        if let out = result["stdout"] as? String, !out.isEmpty { FileHandle.standardOutput.write(Data(out.utf8)) }
        if let err = result["stderr"] as? String, !err.isEmpty { FileHandle.standardError.write(Data(err.utf8)) }
        return Int32(result["exit"] as? Int ?? 1)
    }

    /// No server listens at `path`: names the path, and how a running server's socket is found.
    static func unavailable(at path: String) -> VaultError {
        VaultError(
            .unavailable, code: .adminSocketUnavailable,
            message:
                "no cardvault server answers on the admin socket \(path); is `cardvault serve` running? Give this command the server's "
                + "--database (its socket is admin.sock beside a SQLite file, in --keys-dir for PostgreSQL) or its --admin-socket")
    }
}
