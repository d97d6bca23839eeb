import Foundation
import VaultCrypto
import VaultDomain

#if canImport(Glibc)
    import Glibc
#endif

/// Gives a new share set to the custodians: one file each (`--share-file`, mode 0600, created
/// new and synced) or, without files, printed once on standard output. Runs before the commit
/// that makes the set current.
enum ShareDelivery {
    /// With `json` (the command prints one JSON object on standard output) printed shares go to
    /// standard error instead.
    static func deliver(_ shares: [String], threshold: Int, custodians: [String], files: [String], json: Bool = false) throws(VaultError) {
        if !files.isEmpty {
            guard files.count == shares.count else {
                throw VaultError.invalid("share-file", code: .sealInvalid, "give one --share-file per share (\(shares.count)), or none to print them")
            }
            // All or none: a set that is not handed over whole never becomes current, so the
            // files already written would only be confusing copies of useless shares.
            var written: [String] = []
            do {
                for (share, file) in zip(shares, files) {
                    try write(share, to: file)
                    written.append(file)
                }
            } catch {
                for file in written { unlink(file) }
                throw error
            }
            for (i, file) in files.enumerated() {
                Output.status("share \(i + 1) of \(shares.count) (\(custodian(i, custodians))) written to \(file)\n")
            }
            return
        }
        var text = "\nKey shares: any \(threshold) of these \(shares.count) unseal the vault. They are shown once; cardvault keeps none.\n"
        for (i, share) in shares.enumerated() { text += "share \(i + 1) (\(custodian(i, custodians))): \(share)\n" }
        text += "Give each custodian exactly one share, then clear this screen.\n\n"
        if json { Output.status(text) } else { Output.text(text) }
    }

    static func custodian(_ i: Int, _ custodians: [String]) -> String { i < custodians.count ? custodians[i] : "share \(i + 1)" }

    private static func write(_ share: String, to file: String) throws(VaultError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw VaultError.invalid("share-file", code: .sealInvalid, "cannot create \(file): it exists or its folder is not writable") }
        let bytes = Array((share + "\n").utf8)
        let ok = bytes.withUnsafeBytes { buffer in Glibc.write(fd, buffer.baseAddress, buffer.count) == buffer.count } && fsync(fd) == 0
        close(fd)
        guard ok else {
            unlink(file)
            throw VaultError.invalid("share-file", code: .sealInvalid, "could not write \(file)")
        }
    }
}
