import Foundation
import VaultDomain

#if canImport(Glibc)
    import Glibc
#endif

/// Who is on the other end of the admin socket, from the kernel (`SO_PEERCRED`), never from
/// anything the client says: the uid mapped to its account name, and the process id.
public struct AdminPeer: Sendable, Equatable {
    public let uid: UInt32
    public let gid: UInt32
    public let pid: Int32
    /// Only when the peer is root or the service user itself (the two that can set it): the
    /// invoking account sudo recorded (`SUDO_UID`), marked as sudo's claim.
    public var sudoUID: UInt32?

    /// `name(uid)|pid=N|via=admin-socket`, plus `|via-sudo-uid=N` when claimed.
    public var name: String {
        var account = "uid\(uid)"
        if let entry = getpwuid(uid), let pwName = entry.pointee.pw_name { account = "\(String(cString: pwName))(\(uid))" }
        var text = "\(account)|pid=\(pid)|via=admin-socket"
        if let sudoUID { text += "|via-sudo-uid=\(sudoUID)" }
        return text
    }

    public var actor: AuditActor { .operatorCLI(user: name) }

    /// The credentials of a connected Unix socket's peer.
    public static func of(socket fd: Int32) -> AdminPeer? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var credentials = (Int32(0), UInt32(0), UInt32(0))
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, length == 12 else { return nil }
        return AdminPeer(uid: credentials.1, gid: credentials.2, pid: credentials.0, sudoUID: nil)
    }
}
