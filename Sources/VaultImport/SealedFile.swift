import Foundation
import VaultCrypto
import VaultDomain

/// The files an import or export reads and writes: sealed streams (`SealedStreamWriter`),
/// created new with mode 0600 and never over an existing file.
public enum SealedFile {
    /// A reader of the sealed stream at `path`, opened with `keyPair`.
    public static func reader(path: String, keyPair: SealedBoxKeyPair) throws(VaultError) -> SealedStreamReader {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw VaultError(.failedPrecondition, code: .importFileUnreadable, message: "cannot open \(path)")
        }
        do {
            return try SealedStreamReader(keyPair: keyPair) { count in
                var out: [UInt8] = []
                while out.count < count {
                    guard let data = try handle.read(upToCount: count - out.count), !data.isEmpty else { break }
                    out += data
                }
                return out
            }
        } catch {
            throw unreadable
        }
    }

    public static let unreadable = VaultError(
        .failedPrecondition, code: .importFileUnreadable,
        message: "the file is not sealed to this vault's import key (cardvault import-key), or it is damaged")

    /// A new file at `path` (mode 0600; refused when anything is there) and a writer sealing
    /// to `recipient`. `close()` the handle after `finish()`.
    public static func create(path: String, recipient: [UInt8]) throws(VaultError) -> (SealedStreamWriter, FileHandle) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw VaultError(.failedPrecondition, code: .outputFileExists, message: "\(path) exists already; give a new path") }
            throw VaultError(.failedPrecondition, code: .invalidSetting, message: "cannot create \(path)")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            let writer = try SealedStreamWriter(recipient: recipient) { bytes in try handle.write(contentsOf: Data(bytes)) }
            return (writer, handle)
        } catch {
            try? handle.close()
            unlink(path)
            throw VaultError(.invalidInput, code: .invalidSetting, message: "not an X25519 public key (32 bytes, base64url)")
        }
    }

    /// A public key as printed by `cardvault import-key` (base64url, 32 bytes).
    public static func publicKey(_ text: String, setting: String) throws(VaultError) -> [UInt8] {
        guard let key = Base64URL.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), key.count == SealedBoxKeyPair.publicKeyCount else {
            throw VaultError(.invalidInput, code: .invalidSetting, message: "\(setting) is not an X25519 public key (32 bytes, base64url)")
        }
        return key
    }
}
