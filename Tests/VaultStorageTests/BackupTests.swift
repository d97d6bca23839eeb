import Foundation
import GRDB
import Testing
import VaultCrypto
import VaultTestSupport
@testable import VaultDomain
@testable import VaultStorage

@Suite("Backup and restore")
struct BackupTests {
    let actor = TemporaryVault.testOperator

    /// Back up while writes go on, wipe, restore: every token decrypts to its own PAN with the
    /// same keys, references still resolve, and the copy holds no master key and no PAN in clear.
    @Test func backupWhileWritingWipeRestore() async throws {
        let vault = try await TemporaryVault()
        let rotation = KeyRotationTests()
        var tokens = try await rotation.tokenize(vault, count: 40)
        _ = try await vault.runtime.keyAdmin.rotate(actor: actor)
        tokens.merge(try await rotation.tokenize(vault, count: 20, from: 40)) { a, _ in a }
        let writer = try await vault.caller(scopes: [.iokaWrite])
        _ = try await vault.runtime.references.register(ReferenceInput(value: "crd_BACKUP0001"), kind: .iokaCard, caller: writer, idempotencyKey: nil)

        // Writes keep going while the backup runs.
        let backupPath = vault.folder.appendingPathComponent("backups/vault-1.sqlite").path
        async let more = rotation.tokenize(vault, count: 30, from: 100)
        let summary = try await VaultBackup.create(vault.runtime, to: backupPath, actor: actor)
        _ = try await more
        #expect(summary.cards >= 60 && summary.providerReferences == 1)
        #expect(summary.masterKeyID == (try vault.runtime.keys.masterKey().checkValue))
        let mode = try FileManager.default.attributesOfItem(atPath: backupPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: backupPath + "-wal"))
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: backupPath)))
        let master = [UInt8](try #require(FileManager.default.contents(atPath: vault.keysDirectory + "/master.key")))
        #expect(LeakScanner(needles: Array(tokens.values.prefix(20))).scan(bytes, place: "backup").isEmpty)
        let holdsMaster = LeakScanner.contains(bytes, master)
        #expect(master.count == 32 && !holdsMaster)
        // A second backup to the same name is refused.
        await #expect(throws: VaultError.self) { _ = try await VaultBackup.create(vault.runtime, to: backupPath, actor: actor) }

        // Wipe, then restore into the original path.
        let restoredPath = vault.folder.appendingPathComponent("restored/vault.sqlite").path
        await #expect(throws: VaultError.self) {
            _ = try await VaultBackup.restore(from: backupPath, to: vault.databasePath, keysDirectory: vault.keysDirectory, actor: actor)
        }
        let restored = try await VaultBackup.restore(from: backupPath, to: restoredPath, keysDirectory: vault.keysDirectory, actor: actor)
        #expect(restored.cards == summary.cards)
        let reopened = try VaultRuntime(databasePath: restoredPath, keysDirectory: vault.keysDirectory)
        try await reopened.keyAdmin.load()
        for (token, number) in tokens {
            let card = try #require(try await reopened.store.read { try $0.card(token: CardToken(token)!, tenant: .default) })
            #expect(try await reopened.cards.open(card).pan.withDigits { String(decoding: $0, as: UTF8.self) } == number)
        }
        let again = try await reopened.references.register(
            ReferenceInput(value: "crd_BACKUP0001"), kind: .iokaCard,
            caller: .trusted(try #require(try await reopened.store.read { try $0.client(name: writer.client.name)?.client })),
            idempotencyKey: nil)
        #expect(again.outcome == .existing)
        let audit = try await reopened.audit.tail(limit: 5).map(\.action)
        #expect(audit.contains("backup.create") && audit.contains("backup.restore"))
        guard case .intact = try await reopened.audit.verify(actor: actor) else { Issue.record("audit chain broken after restore"); return }
    }

    @Test func restoreRefusesAnotherMasterKeyOrACorruptFile() async throws {
        let vault = try await TemporaryVault()
        let other = try await TemporaryVault()
        let backupPath = vault.folder.appendingPathComponent("b.sqlite").path
        _ = try await VaultBackup.create(vault.runtime, to: backupPath, actor: actor)
        do {
            _ = try await VaultBackup.restore(
                from: backupPath, to: other.folder.appendingPathComponent("x.sqlite").path, keysDirectory: other.keysDirectory, actor: actor)
            Issue.record("restored under another master key")
        } catch let error as VaultError {
            #expect(error.code == .masterKeyMismatch)
        }
        var bytes = try #require(FileManager.default.contents(atPath: backupPath))
        bytes.replaceSubrange(0..<16, with: Data(repeating: 0x41, count: 16))
        let broken = vault.folder.appendingPathComponent("broken.sqlite").path
        _ = FileManager.default.createFile(atPath: broken, contents: bytes)
        await #expect(throws: (any Error).self) {
            _ = try await VaultBackup.restore(
                from: broken, to: vault.folder.appendingPathComponent("y.sqlite").path, keysDirectory: vault.keysDirectory, actor: actor)
        }
        #expect(!FileManager.default.fileExists(atPath: vault.folder.appendingPathComponent("y.sqlite").path))
    }

    /// A tampered backup is refused before anything is put in place: a dropped trigger (the
    /// refusal of cards under a retired key), a changed audit row, a damaged wrapped key.
    @Test func restoreChecksSchemaKeysAndAuditChainFirst() async throws {
        let vault = try await TemporaryVault()
        _ = try await KeyRotationTests().tokenize(vault, count: 5)
        let backupPath = vault.folder.appendingPathComponent("good.sqlite").path
        _ = try await VaultBackup.create(vault.runtime, to: backupPath, actor: actor)
        let tamperings: [(String, String)] = [
            ("DROP TRIGGER cards_key_usable_on_insert", "backup_schema_altered"),
            ("CREATE TABLE smuggled (x)", "backup_schema_altered"),
            ("UPDATE audit_log SET action = 'nothing' WHERE seq = 2", "backup_audit_broken"),
            ("UPDATE data_keys SET wrapped = zeroblob(length(wrapped)) WHERE wrapped IS NOT NULL", "backup_keys_unusable"),
            ("INSERT INTO grdb_migrations VALUES ('v99-from-the-future')", "backup_schema_unknown"),
        ]
        for (index, (sql, code)) in tamperings.enumerated() {
            let tampered = vault.folder.appendingPathComponent("tampered-\(index).sqlite").path
            try FileManager.default.copyItem(atPath: backupPath, toPath: tampered)
            let db = try DatabaseQueue(path: tampered)
            try await db.write { try $0.execute(sql: sql) }
            try db.close()
            let destination = vault.folder.appendingPathComponent("restored-\(index)/vault.sqlite").path
            do {
                _ = try await VaultBackup.restore(from: tampered, to: destination, keysDirectory: vault.keysDirectory, actor: actor)
                Issue.record("restored a backup after: \(sql)")
            } catch let error as VaultError {
                #expect(error.code.rawValue == code, "\(sql): \(error.code)")
            }
            for suffix in ["", "-wal", "-shm", ".restoring", ".restoring-wal"] {
                #expect(!FileManager.default.fileExists(atPath: destination + suffix), "\(sql) left \(suffix)")
            }
        }
        // The untouched backup restores.
        let destination = vault.folder.appendingPathComponent("restored-good/vault.sqlite").path
        let summary = try await VaultBackup.restore(from: backupPath, to: destination, keysDirectory: vault.keysDirectory, actor: actor)
        #expect(summary.cards == 5)
        #expect(!FileManager.default.fileExists(atPath: destination + ".restoring"))
    }
}
