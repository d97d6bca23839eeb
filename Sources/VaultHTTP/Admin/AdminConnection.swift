import Foundation
import VaultCrypto
import VaultProviders

#if canImport(Glibc)
    import Glibc
#endif

/// One accepted admin-socket connection: newline-delimited JSON both ways, each line at most
/// `maxLine` bytes, reads bounded by a timeout (a silent client cannot hold the socket).
public final class AdminConnection: @unchecked Sendable {
    public static let maxLine = 64 * 1024
    let fd: Int32
    public let peer: AdminPeer
    private var buffered: [UInt8] = []

    init(fd: Int32, peer: AdminPeer, timeoutSeconds: Int = 30) {
        self.fd = fd
        self.peer = peer
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        wipe(&buffered)
        close(fd)
    }

    /// The next line as strict JSON (`JSONValue`), or nil on end of stream, timeout (per read,
    /// or for the whole line when `seconds` is given), an over-long line or bytes that are not
    /// one JSON value.
    func readLine(within seconds: Double? = nil) -> JSONValue? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        defer { wipe(&chunk) }
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        while true {
            // A whole-line deadline: bytes trickled in do not extend it.
            if let deadline {
                let left = deadline.timeIntervalSinceNow
                guard left > 0 else { return nil }
                var timeout = timeval(tv_sec: Int(left), tv_usec: Int((left - left.rounded(.down)) * 1_000_000))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            }
            if let newline = buffered.firstIndex(of: 0x0A) {
                var line = Array(buffered[..<newline])
                defer { wipe(&line) }
                buffered.removeSubrange(...newline)
                return JSONValue.parse(line)
            }
            guard buffered.count <= Self.maxLine else { return nil }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return nil }
            buffered.append(contentsOf: chunk[..<n])
        }
    }

    /// The next line read on a thread of its own, so a waiting client never blocks the
    /// server's executor (nor Dispatch's shared threads, which that executor runs on).
    public func nextLine() async -> JSONValue? {
        await withCheckedContinuation { continuation in
            let reader = Thread { continuation.resume(returning: self.readLine()) }
            reader.name = "cardvault-admin-read"
            reader.start()
        }
    }

    /// Writes one JSON line; false when the client has gone.
    @discardableResult
    public func send(_ object: [String: Any]) -> Bool {
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return false }
        data.append(0x0A)
        defer { data.withUnsafeMutableBytes { zeroize($0.baseAddress!, count: $0.count) } }
        return data.withUnsafeBytes { UnixSocket.writeAll(fd, $0) }
    }
}
