import Foundation
import VaultDomain

/// The file signed audit checkpoints are appended to (`CARDVAULT_AUDIT_ANCHOR_FILE`), by the
/// server and by admin commands that ran without one.
public enum AuditAnchorFile {
    /// Appends and syncs one line (O_APPEND: whole lines, even with another writer); the file
    /// is created 0600 and never followed through a symbolic link.
    public static func append(_ line: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw VaultError(.failedPrecondition, code: .invalidSetting, message: "cannot append to CARDVAULT_AUDIT_ANCHOR_FILE \(path)")
        }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw VaultError(.unavailable, code: .storageUnavailable, message: "could not write the audit anchor file")
        }
    }
}
