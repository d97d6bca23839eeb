import Foundation
import Testing
import VaultCrypto
import VaultDomain
import VaultHSM
import VaultStorage
import VaultTestSupport

/// The pkcs11 seal against SoftHSM2: the master key is made inside the token, cannot leave it,
/// and wraps the vault's keys there; a vault moves to and from it.
@Suite("pkcs11 seal (SoftHSM2)")
struct PKCS11SealTests {
    func opener(_ token: SoftHSMToken, keyLabel: String = "cardvault-master") -> @Sendable () throws(VaultError) -> any HardwareKeyStore {
        { () throws(VaultError) -> any HardwareKeyStore in
            try PKCS11KeyStore(settings: PKCS11Settings(module: SoftHSMToken.module, token: token.label, pinFile: token.pinFile, keyLabel: keyLabel))
        }
    }

    func tokenize(_ vault: TemporaryVault, count: Int) async throws -> [String: String] {
        try await vault.tokenizeSentinels(count: count)
    }

    func expectReadable(_ runtime: VaultRuntime, _ tokens: [String: String]) async throws {
        #expect(try await TemporaryVault.pans(runtime, tokens.keys) == tokens)
    }

    @Test func aCardWrittenAndReadBackThroughTheToken() async throws {
        let token = try SoftHSMToken.make()
        let vault = try await TemporaryVault(seal: .pkcs11(keyLabel: "cardvault-master"), hardwareKeys: opener(token))
        let tokens = try await tokenize(vault, count: 3)
        // Another process: a new session on the token, nothing in memory.
        let other = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory, hardwareKeys: opener(token))
        try await other.keyAdmin.load()
        try await expectReadable(other, tokens)
        let status = try await other.keyAdmin.status()
        #expect(status.seal == SealDescriptor(kind: .pkcs11, keyLabel: "cardvault-master"))
        #expect(status.masterKeyID.hasPrefix("p11-"))
        #expect(!FileManager.default.fileExists(atPath: vault.keysDirectory + "/master.key"))
        // The key can never leave the token.
        let store = try opener(token)() as! PKCS11KeyStore
        let attributes = try store.attributes(label: "cardvault-master")
        #expect(attributes.extractable == false)
        #expect(attributes.sensitive == true)
        #expect(attributes.neverExtractable == true)
        // And it does one thing: AES-GCM, no signing, no derivation, attributes frozen.
        let usage = try store.usage(label: "cardvault-master")
        #expect(usage.allowedMechanisms == [PKCS11KeyUsage.aesGCM], "\(usage)")
        #expect(!usage.sign && !usage.verify && !usage.derive)
        #expect(!usage.modifiable && !usage.copyable)
        // Wrapped keys are AES-GCM boxes from the token (12-byte IV, 16-byte tag).
        let wrapped = try await other.store.read { try $0.keySnapshot() }
        #expect(wrapped.dataKeys.allSatisfy { $0.box?.nonce.count == 12 && $0.box?.ciphertext.count == 48 })
        // Rotate the master key inside the token; cards stay readable.
        let newID = try await other.keyAdmin.rotateMaster(actor: TemporaryVault.testOperator)
        #expect(newID != status.masterKeyID)
        let third = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory, hardwareKeys: opener(token))
        try await third.keyAdmin.load()
        try await expectReadable(third, tokens)
    }

    @Test func aWrongPinOrTokenIsNamed() async throws {
        let token = try SoftHSMToken.make()
        let wrongPin = token.pinFile + ".wrong"
        _ = FileManager.default.createFile(atPath: wrongPin, contents: Data("0000\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(throws: VaultError(.unavailable, code: .hsmUnavailable, message: "")) {
            try PKCS11KeyStore(settings: PKCS11Settings(module: SoftHSMToken.module, token: token.label, pinFile: wrongPin))
        }
        #expect(throws: VaultError(.unavailable, code: .hsmUnavailable, message: "")) {
            try PKCS11KeyStore(settings: PKCS11Settings(module: SoftHSMToken.module, token: "no-such-token", pinFile: token.pinFile))
        }
        let readable = token.pinFile + ".open"
        _ = FileManager.default.createFile(atPath: readable, contents: Data("1234\n".utf8), attributes: [.posixPermissions: 0o644])
        #expect(throws: VaultError(.unavailable, code: .hsmUnavailable, message: "")) {
            try PKCS11KeyStore(settings: PKCS11Settings(module: SoftHSMToken.module, token: token.label, pinFile: readable))
        }
    }

    @Test func migrateSealFileToPKCS11AndBack() async throws {
        let token = try SoftHSMToken.make()
        let vault = try await TemporaryVault(hardwareKeys: opener(token))
        let tokens = try await tokenize(vault, count: 3)
        let cardsBefore = try await vault.runtime.store.read { try $0.cardCountsByKeyVersion() }
        _ = try await vault.runtime.keyAdmin.migrateSeal(to: .pkcs11(keyLabel: "migrated"), actor: TemporaryVault.testOperator)
        #expect(!FileManager.default.fileExists(atPath: vault.keysDirectory + "/master.key"))
        let other = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory, hardwareKeys: opener(token))
        try await other.keyAdmin.load()
        try await expectReadable(other, tokens)
        #expect(try await other.store.read { try $0.cardCountsByKeyVersion() } == cardsBefore)
        _ = try await other.keyAdmin.migrateSeal(to: .file, actor: TemporaryVault.testOperator)
        let fresh = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory)
        try await fresh.keyAdmin.load()
        try await expectReadable(fresh, tokens)
        #expect(try await fresh.keyAdmin.status().seal.kind == .file)
    }
}
