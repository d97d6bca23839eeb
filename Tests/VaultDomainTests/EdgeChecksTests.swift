import Foundation
import Testing
import VaultDomain
import VaultTestSupport

/// Files and addresses: what counts as loopback, and how the master key file is opened.
@Suite("Files and addresses")
struct EdgeChecksTests {
    @Test func loopbackIsAParsedAddress() {
        for host in ["localhost", "127.0.0.1", "127.255.10.3", "::1", "[::1]", "0:0:0:0:0:0:0:1"] {
            #expect(LoopbackHost.contains(host), "\(host)")
        }
        for host in ["127.evil.example", "127.0.0.1.nip.io", "1270.0.0.1", "128.0.0.1", "0.0.0.0", "::", "::2", "localhost.example", "10.0.0.1", ""] {
            #expect(!LoopbackHost.contains(host), "\(host)")
        }
    }

    @Test func masterKeyFileIsOpenedOnceAndCheckedOnTheDescriptor() async throws {
        let vault = try await TemporaryVault()
        let directory = KeyDirectory(path: vault.keysDirectory)
        let file = directory.masterKeyPath
        #expect(throws: Never.self) { try directory.loadMasterKey() }

        // A symbolic link is refused, even to a good key file.
        let real = vault.folder.appendingPathComponent("elsewhere.key").path
        try FileManager.default.moveItem(atPath: file, toPath: real)
        try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: real)
        #expect(throws: VaultError.self) { try directory.loadMasterKey() }
        do { _ = try directory.loadMasterKey() } catch { #expect(error.code == .masterKeySymlink) }
        try FileManager.default.removeItem(atPath: file)
        try FileManager.default.moveItem(atPath: real, toPath: file)

        // A file of another user is refused (the tests run as root, which can hand it over).
        if geteuid() == 0 {
            #expect(chown(file, 65534, 65534) == 0)
            do { _ = try directory.loadMasterKey(); Issue.record("a key file of another user was accepted") } catch {
                #expect(error.code == .masterKeyOwner)
            }
            #expect(chown(file, 0, 0) == 0)
        }
        // Group or others may not read it.
        chmod(file, 0o640)
        do { _ = try directory.loadMasterKey(); Issue.record("a group-readable key file was accepted") } catch {
            #expect(error.code == .masterKeyPermissions)
        }
        chmod(file, 0o600)
        #expect(throws: Never.self) { try directory.loadMasterKey() }
    }
}
