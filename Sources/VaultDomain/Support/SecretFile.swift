import Foundation
import VaultCrypto

/// A small file holding a secret the vault is configured with (a PKCS#11 PIN, the PostgreSQL
/// password), held to the master key file's rules: a regular file (a symbolic link is not
/// followed), owned by the user running cardvault, unreadable by group and others, and not
/// empty or oversized. A trailing newline (an editor's, `echo`'s) is not part of the secret.
public enum SecretFile {
    /// The secret in guarded memory, or an error naming `setting` and the rule broken.
    public static func read(_ path: String, setting: String, code: VaultError.Code, maxBytes: Int = 1024) throws(VaultError) -> SecureBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "is a symbolic link; name the file itself" : "cannot be read"
            throw VaultError.invalid(setting, code: code, "\(setting) \(path) \(reason)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw VaultError.invalid(setting, code: code, "\(setting) \(path) is not a regular file")
        }
        guard info.st_uid == geteuid() else {
            throw VaultError.invalid(setting, code: code, "\(setting) \(path) is not owned by the user running cardvault")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw VaultError.invalid(setting, code: code, "\(setting) \(path) is accessible by group or others; run `chmod 600 \(path)`")
        }
        guard (1...off_t(maxBytes)).contains(info.st_size) else {
            throw VaultError.invalid(setting, code: code, "\(setting) \(path) must hold 1 to \(maxBytes) bytes")
        }
        var length = 0
        let raw = try? SecureBytes(count: Int(info.st_size)) { buffer in
            while length < buffer.count {
                let n = Foundation.read(fd, buffer.baseAddress! + length, buffer.count - length)
                if n <= 0 { break }
                length += n
            }
            while length > 0, buffer[length - 1] == 0x0A || buffer[length - 1] == 0x0D { length -= 1 }
        }
        guard let raw, length > 0, let secret = raw.withUnsafeBytes({ try? SecureBytes(copying: $0.prefix(length)) }) else {
            throw VaultError.invalid(setting, code: code, "\(setting) \(path) is empty")
        }
        return secret
    }
}
