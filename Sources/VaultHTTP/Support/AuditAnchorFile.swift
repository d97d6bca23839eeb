import Foundation
import VaultDomain

/// The file signed audit checkpoints are appended to (`CARDVAULT_AUDIT_ANCHOR_FILE`), by the
/// server and by admin commands that ran without one.
public enum AuditAnchorFile {
    /// Appends and syncs one line (O_APPEND: whole lines, even with another writer); the file
    /// is created 0600 and never followed through a symbolic link. A line torn by an earlier
    /// failed write (a full disk) is ended first, so the new line starts on a line of its own,
    /// and a write that fails part-way is cut back off, as far as the file system lets it.
    public static func append(_ line: String, to path: String) throws {
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw VaultError(.failedPrecondition, code: .invalidSetting, message: "cannot append to CARDVAULT_AUDIT_ANCHOR_FILE \(path)")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw unwritable }
        var bytes = Array(line.utf8)
        if status.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, status.st_size - 1) == 1, last != UInt8(ascii: "\n") { bytes.insert(UInt8(ascii: "\n"), at: 0) }
        }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            if written > 0 { _ = ftruncate(fd, status.st_size) }
            throw unwritable
        }
    }

    private static let unwritable = VaultError(.unavailable, code: .storageUnavailable, message: "could not write the audit anchor file")

    /// The checkpoints of an anchor file's text, and the lines that are not whole checkpoints
    /// (torn by a full disk or a crash mid-write), by number: those are skipped, never fatal.
    public static func checkpoints(in text: String) -> (checkpoints: [AuditCheckpoint], torn: [Int]) {
        var checkpoints: [AuditCheckpoint] = []
        var torn: [Int] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if let checkpoint = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(line.utf8)) {
                checkpoints.append(checkpoint)
            } else {
                torn.append(index + 1)
            }
        }
        return (checkpoints, torn)
    }
}
