import Foundation
import VaultCrypto
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The keys directory: the master key file (`master.key`, 32 raw bytes, mode 0600); while
/// `keys rotate-master` runs, its successor `master.key.new`; after it, the predecessor
/// `master.key.old` until the next successful server start. Key bytes are read straight into
/// guarded memory and never pass through a Swift `Data` or `String`. Every command that writes,
/// renames or removes a key file holds the folder's lock (`withLock`).
public struct KeyDirectory: Sendable {
    public let path: String
    public static let masterFileName = "master.key"
    public static let pendingFileName = "master.key.new"
    public static let previousFileName = "master.key.old"
    static let lockFileName = ".lock"

    public init(path: String) { self.path = path }

    public var masterKeyPath: String { path + "/" + Self.masterFileName }
    public var pendingKeyPath: String { path + "/" + Self.pendingFileName }
    public var previousKeyPath: String { path + "/" + Self.previousFileName }

    public static let locked = VaultError(
        .unavailable, code: .keysLocked, message: "another cardvault command holds the keys folder; retry when it is done")

    /// Runs `body` holding an exclusive `flock` on the folder's lock file, so no two processes
    /// write, rename or remove key files at once (a `keys status` during `rotate-master` waits
    /// instead of racing it). Waits up to `timeout`, then answers `keys_locked`. Not reentrant:
    /// callers inside `body` use the unlocked variants.
    public func withLock<T>(timeout: Duration = .seconds(60), _ body: () async throws -> T) async throws -> T {
        // No folder, no key files to protect (and a mistyped --keys-dir is not created).
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { return try await body() }
        let fd = open(path + "/" + Self.lockFileName, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw VaultError(.failedPrecondition, code: .keysDirUnwritable, message: "cannot open the lock file in \(path)") }
        defer { close(fd) }
        let deadline = ContinuousClock.now + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else { throw Self.locked }
            try await Task.sleep(for: .milliseconds(25))
        }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }

    public var hasMasterKey: Bool { FileManager.default.fileExists(atPath: masterKeyPath) }

    /// Loads the master key, refusing a missing file or one that group or others can read.
    public func loadMasterKey() throws(VaultError) -> SymmetricKey {
        try Self.load(masterKeyPath)
    }

    /// The successor left by an interrupted `rotate-master`, if any.
    public func loadPendingMasterKey() -> SymmetricKey? {
        guard FileManager.default.fileExists(atPath: pendingKeyPath) else { return nil }
        return try? Self.load(pendingKeyPath)
    }

    /// Opens the file once, without following a symbolic link, and checks what was opened (not
    /// the path, which could be swapped between a check and the open): a regular file, owned by
    /// the process's user, mode 0600 or stricter, exactly 32 bytes.
    static func load(_ file: String) throws(VaultError) -> SymmetricKey {
        let fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)
        guard fd >= 0 else {
            let reason = errno
            if reason == ELOOP {
                throw VaultError(
                    .failedPrecondition, code: .masterKeySymlink,
                    message: "master key file \(file) is a symbolic link; the key must be a regular file")
            }
            if reason == ENOENT {
                throw VaultError(
                    .failedPrecondition, code: .masterKeyMissing,
                    message: "master key file \(file) is missing; run `cardvault keys init`")
            }
            throw VaultError(.failedPrecondition, code: .masterKeyUnreadable, message: "cannot read master key file \(file)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw VaultError(.failedPrecondition, code: .masterKeyInvalid, message: "master key file \(file) is not a regular file")
        }
        guard info.st_uid == geteuid() else {
            throw VaultError(
                .failedPrecondition, code: .masterKeyOwner,
                message: "master key file \(file) is not owned by the user running cardvault")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw VaultError(
                .failedPrecondition, code: .masterKeyPermissions,
                message: "master key file \(file) is accessible by group or others; run `chmod 600 \(file)`")
        }
        guard info.st_size == off_t(SymmetricKey.byteCount) else {
            throw VaultError(
                .failedPrecondition, code: .masterKeyInvalid,
                message: "master key file \(file) must hold exactly 32 bytes")
        }
        var readOK = true
        let secure = try? SecureBytes(count: SymmetricKey.byteCount) { buffer in
            var done = 0
            while done < buffer.count {
                let n = read(fd, buffer.baseAddress! + done, buffer.count - done)
                if n <= 0 { readOK = false; return }
                done += n
            }
        }
        guard readOK, let secure, let key = try? SymmetricKey(secure) else {
            throw VaultError(.failedPrecondition, code: .masterKeyUnreadable, message: "cannot read master key file \(file)")
        }
        return key
    }

    /// Creates the directory (0700) when missing.
    public func ensureExists() throws(VaultError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw VaultError(.failedPrecondition, code: .keysDirUnwritable, message: "cannot create keys directory \(path)")
        }
    }

    /// Writes a new key file with mode 0600, refusing to overwrite, and syncs it to disk.
    func write(_ key: SymmetricKey, to file: String) throws(VaultError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw VaultError(
                .failedPrecondition, code: .masterKeyExists,
                message: "cannot create \(file): it already exists or the directory is not writable")
        }
        let ok = key.withUnsafeBytes { buffer -> Bool in
            var done = 0
            while done < buffer.count {
                let n = Glibc_write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n <= 0 { return false }
                done += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok else {
            unlink(file)
            throw VaultError(.unavailable, code: .masterKeyWriteFailed, message: "could not write \(file)")
        }
        syncDirectory()
    }

    func writeMasterKey(_ key: SymmetricKey) throws(VaultError) { try write(key, to: masterKeyPath) }
    func writePendingMasterKey(_ key: SymmetricKey) throws(VaultError) {
        unlink(pendingKeyPath)
        try write(key, to: pendingKeyPath)
    }

    /// Atomically replaces `master.key` with `master.key.new`, keeping the replaced key as
    /// `master.key.old` (a hard link made first, so `master.key` never goes missing).
    func promotePendingMasterKey() throws(VaultError) {
        unlink(previousKeyPath)
        _ = link(masterKeyPath, previousKeyPath)
        guard rename(pendingKeyPath, masterKeyPath) == 0 else {
            throw VaultError(.unavailable, code: .masterKeyWriteFailed, message: "could not replace \(masterKeyPath)")
        }
        syncDirectory()
    }

    func removePendingMasterKey() { unlink(pendingKeyPath) }

    func removeMasterKey() {
        unlink(masterKeyPath)
        syncDirectory()
    }

    /// Overwrites `master.key`, `.new` and `.old` with zeros (synced), then removes them: after
    /// `migrate-seal` away from the file seal no copy of the key stays in the folder (on a
    /// journaling or copy-on-write file system old blocks may survive: the runbook says to
    /// start a vault meant for shamir or pkcs11 under that seal).
    func destroyMasterKeyFiles() {
        for file in [masterKeyPath, pendingKeyPath, previousKeyPath] {
            let fd = open(file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
            if fd >= 0 {
                let zeros = [UInt8](repeating: 0, count: SymmetricKey.byteCount)
                _ = zeros.withUnsafeBytes { Glibc_write(fd, $0.baseAddress!, $0.count) }
                _ = fsync(fd)
                close(fd)
            }
            unlink(file)
        }
        syncDirectory()
    }

    /// The predecessor `rotate-master` kept, if any.
    public func loadPreviousMasterKey() -> SymmetricKey? {
        guard FileManager.default.fileExists(atPath: previousKeyPath) else { return nil }
        return try? Self.load(previousKeyPath)
    }

    func removePreviousMasterKey() {
        unlink(previousKeyPath)
        syncDirectory()
    }

    private func syncDirectory() {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ buf: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(fd, buf, n)
    #else
        Darwin.write(fd, buf, n)
    #endif
}
