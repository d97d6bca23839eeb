import Foundation
import VaultCrypto
import VaultDomain

/// A new sealed file being written (`SealedFile.create`): plaintext in, sealed chunks out, and
/// at the end the final chunk sealed, the file synced and closed. What the card, mapping and
/// `seal-file` writers share; `failed` is the error each of them answers with.
public final class SealedFileOutput {
    private let writer: SealedStreamWriter
    private let handle: FileHandle
    private let failed: VaultError

    public init(path: String, recipient: [UInt8], failed: VaultError) throws(VaultError) {
        (writer, handle) = try SealedFile.create(path: path, recipient: recipient)
        self.failed = failed
    }

    public func write(_ bytes: [UInt8]) throws(VaultError) {
        do { try writer.write(bytes) } catch { throw failed }
    }

    /// Seals the last chunk, syncs and closes the file.
    public func finish() throws(VaultError) {
        do {
            try writer.finish()
            try handle.synchronize()
            try handle.close()
        } catch {
            throw failed
        }
    }
}
