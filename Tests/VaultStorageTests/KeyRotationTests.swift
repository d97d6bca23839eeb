import Foundation
import GRDB
import Testing
import VaultCrypto
import VaultTestSupport
@testable import VaultDomain
@testable import VaultStorage

@Suite("Key rotation")
struct KeyRotationTests {
    let actor = TemporaryVault.testOperator

    /// A `master.key.new` the database does not use yet belongs to a `rotate-master` that has
    /// not committed: loading (any admin command, a server start) must leave it alone. Before,
    /// `load()` deleted it, so a `keys status` run between rotate-master's commit and its rename
    /// destroyed the only copy of the key every data key was then wrapped under.
    @Test func loadingNeverDeletesAPendingMasterKey() async throws {
        let vault = try await TemporaryVault()
        let directory = KeyDirectory(path: vault.keysDirectory)
        try directory.writePendingMasterKey(try SymmetricKey.generate())
        try await vault.runtime.keyAdmin.load()
        try await vault.runtime.keyAdmin.loadAtStart()
        #expect(FileManager.default.fileExists(atPath: directory.pendingKeyPath))
    }

    /// rotate-master keeps the replaced key as master.key.old; the next server start on the
    /// new key removes it; an admin command's load does not.
    @Test func theReplacedMasterKeyIsKeptUntilTheNextStart() async throws {
        let vault = try await TemporaryVault()
        let directory = KeyDirectory(path: vault.keysDirectory)
        let before = try directory.loadMasterKey().checkValue
        let after = try await vault.runtime.keyAdmin.rotateMaster(actor: actor)
        #expect(directory.loadPreviousMasterKey()?.checkValue == before)
        #expect(try directory.loadMasterKey().checkValue == after)
        try await vault.runtime.keyAdmin.load()
        #expect(directory.loadPreviousMasterKey() != nil)
        try await vault.runtime.keyAdmin.loadAtStart()
        #expect(directory.loadPreviousMasterKey() == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.pendingKeyPath))
    }

    /// A retired data key leaves no copy of its wrapped bytes in the database or its WAL.
    @Test func retiringADataKeyLeavesNoPageImage() async throws {
        let vault = try await TemporaryVault()
        let admin = vault.runtime.keyAdmin
        _ = try await admin.rotate(actor: actor)
        let wrapped = try #require(try await vault.runtime.store.read { try $0.keySnapshot() }.dataKeys.first { $0.version == 1 }?.box)
        let needle = Array(wrapped.ciphertext.prefix(32))
        #expect(vault.databaseFiles().contains { LeakScanner.contains($0.1, needle) }, "the scan finds nothing even before the retire")
        try await admin.retire(version: 1, actor: actor)
        for (name, bytes) in vault.databaseFiles() {
            let lingers = LeakScanner.contains(bytes, needle)
            #expect(!lingers, "the retired key's wrapped bytes are still in \(name)")
        }
    }

    /// The keys folder's lock: a second holder waits, and gives up with keys_locked.
    @Test func theKeysFolderLockExcludesASecondHolder() async throws {
        let vault = try await TemporaryVault()
        let directory = KeyDirectory(path: vault.keysDirectory)
        _ = try await directory.withLock {
            // flock is per open file: a second open, even in this process, is a second holder.
            await #expect(throws: KeyDirectory.locked) { try await directory.withLock(timeout: .milliseconds(100)) {} }
        }
        try await directory.withLock(timeout: .milliseconds(100)) {}
    }

    func tokenize(_ vault: TemporaryVault, count: Int, from start: Int = 0) async throws -> [String: String] {
        var tokens: [String: String] = [:]
        let caller = try await vault.caller()
        for i in start..<(start + count) {
            let number = SentinelCards.visa(i)
            let answer = try await vault.runtime.cards.tokenize(
                CardInput(number: number, expMonth: "3", expYear: "2031", holder: "HOLDER \(i % 7)", verificationValue: nil),
                caller: caller, idempotencyKey: nil)
            let token = try JSONSerialization.jsonObject(with: Data(answer.body)) as! [String: Any]
            tokens[token["token"] as! String] = number
        }
        return tokens
    }

    /// Every token decrypts to its own PAN.
    func expectAllDecrypt(_ vault: TemporaryVault, _ tokens: [String: String]) async throws {
        for (token, number) in tokens {
            let card = try await vault.runtime.store.read { try $0.card(token: CardToken(token)!, tenant: .default) }
            let data = try await vault.runtime.cards.open(try #require(card))
            #expect(data.pan.withDigits { String(decoding: $0, as: UTF8.self) } == number)
        }
    }

    @Test func rotateWriteRewrapRetireRotateMaster() async throws {
        let vault = try await TemporaryVault()
        let admin = vault.runtime.keyAdmin
        var tokens = try await tokenize(vault, count: 30)

        #expect(try await admin.rotate(actor: actor) == 2)
        tokens.merge(try await tokenize(vault, count: 10, from: 100)) { $1 }
        var status = try await admin.status()
        #expect(status.versions.map(\.cards) == [30, 10])
        #expect(status.versions.map(\.state) == [.decryptOnly, .active])

        // Retiring a version still in use is refused with the count.
        await #expect { try await admin.retire(version: 1, actor: actor) } throws: { error in
            (error as? VaultError)?.code == .keyVersionInUse && (error as? VaultError)?.message.contains("30 card") == true
        }
        await #expect { try await admin.retire(version: 2, actor: actor) } throws: { ($0 as? VaultError)?.code == .keyVersionActive }

        // A rewrap interrupted after two batches of 7 keeps what it did; a second run finishes.
        let partial = try await admin.rewrap(actor: actor, batchSize: 7, maxBatches: 2)
        #expect(partial.rewrapped == 14)
        #expect(partial.remaining == 16)
        status = try await admin.status()
        #expect(status.versions.map(\.cards) == [16, 24])
        try await expectAllDecrypt(vault, tokens)

        let rest = try await admin.rewrap(actor: actor, batchSize: 7)
        #expect(rest.rewrapped == 16)
        #expect(rest.remaining == 0)
        status = try await admin.status()
        #expect(status.versionsInUse == [2])

        try await admin.retire(version: 1, actor: actor)
        status = try await admin.status()
        #expect(status.versions.first?.state == .retired)
        let wrapped = try await vault.runtime.store.read { try $0.keySnapshot().dataKeys.first { $0.version == 1 } }
        #expect(wrapped?.box == nil)  // key bytes destroyed

        let oldMaster = try vault.runtime.keys.masterKey().checkValue
        let newMaster = try await admin.rotateMaster(actor: actor)
        #expect(newMaster != oldMaster)
        #expect(!FileManager.default.fileExists(atPath: vault.keysDirectory + "/master.key.new"))
        #expect(try KeyDirectory(path: vault.keysDirectory).loadMasterKey().checkValue == newMaster)

        // A second process (like a server started after the rotation) reads everything back.
        let other = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory)
        try await other.keyAdmin.load()
        for (token, number) in tokens {
            let card = try await other.store.read { try $0.card(token: CardToken(token)!, tenant: .default) }
            #expect(try await other.cards.open(try #require(card)).pan.withDigits { String(decoding: $0, as: UTF8.self) } == number)
        }
        #expect(try await vault.runtime.audit.verify(actor: actor) != .intact(rows: 0))
        let actions = try await vault.runtime.audit.tail(limit: 100).map(\.action)
        for expected in ["keys.rotate", "keys.rewrap.batch", "keys.rewrap.paused", "keys.rewrap.complete", "keys.retire", "keys.rotate_master"] {
            #expect(actions.contains(expected), "\(expected) not audited")
        }
    }

    @Test func runningProcessFollowsARotationByAnotherProcess() async throws {
        let vault = try await TemporaryVault()
        let cli = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory)
        try await vault.runtime.keyAdmin.load()
        #expect(vault.runtime.keys.activeVersion == 1)
        _ = try await cli.keyAdmin.rotate(actor: actor)
        // The server's refresher does exactly this every second.
        try await vault.runtime.cards.refreshKeys()
        #expect(vault.runtime.keys.activeVersion == 2)
        _ = try await cli.keyAdmin.rotateMaster(actor: actor)
        try await vault.runtime.cards.refreshKeys()
        #expect(try vault.runtime.keys.masterKey().checkValue == cli.keys.masterKey().checkValue)
    }

    @Test func interruptedRotateMasterIsFinishedOnLoad() async throws {
        let vault = try await TemporaryVault()
        try await vault.runtime.keyAdmin.load()
        let directory = KeyDirectory(path: vault.keysDirectory)
        // Simulate a crash after the commit and before the rename: the database already uses
        // the successor, which still sits in master.key.new.
        let successor = (try! SymmetricKey.generate())
        try directory.writePendingMasterKey(successor)
        let old = try vault.runtime.keys.masterKey()
        try await vault.runtime.store.write { tx in
            let snapshot = try tx.keySnapshot()
            let index = snapshot.indexKey!
            let indexKey = try KeyWrap.unwrap(index.box, associatedData: WrappedIndexKey.associatedData(kekID: index.kekID), master: old)
            let id = successor.checkValue
            try tx.save(
                WrappedIndexKey(
                    kekID: id, box: KeyWrap.wrap(indexKey, associatedData: WrappedIndexKey.associatedData(kekID: id), master: successor),
                    createdAt: index.createdAt))
            for var key in snapshot.dataKeys {
                let dek = try KeyWrap.unwrap(key.box!, associatedData: WrappedDataKey.associatedData(version: key.version, kekID: key.kekID), master: old)
                key.box = KeyWrap.wrap(dek, associatedData: WrappedDataKey.associatedData(version: key.version, kekID: id), master: successor)
                key.kekID = id
                try tx.save(key)
            }
        }
        let fresh = try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory)
        try await fresh.keyAdmin.load()
        #expect(try directory.loadMasterKey().checkValue == successor.checkValue)
        #expect(!FileManager.default.fileExists(atPath: directory.pendingKeyPath))
    }
}
