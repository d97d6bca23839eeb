import Foundation
import Testing
@testable import VaultCrypto
import VaultDomain
import VaultStorage
import VaultTestSupport

/// The shamir seal in the domain: unseal with K shares, refusal with K-1, wrong and repeated
/// shares named, reseal, rekey, dual control, rotate-master and migrate-seal both ways.
@Suite("shamir seal")
struct ShamirSealTests {
    static let custodians = ["alice", "bob", "carol", "dave", "erin"]

    func tokenize(_ vault: TemporaryVault, count: Int) async throws -> [String: String] {
        try await vault.tokenizeSentinels(count: count)
    }

    func expectReadable(_ runtime: VaultRuntime, _ tokens: [String: String]) async throws {
        #expect(try await TemporaryVault.pans(runtime, tokens.keys) == tokens)
    }

    /// A second process on the same files: starts with nothing in memory.
    func reopen(_ vault: TemporaryVault) throws -> VaultRuntime {
        try VaultRuntime(databasePath: vault.databasePath, keysDirectory: vault.keysDirectory)
    }

    func snapshot(_ runtime: VaultRuntime) async throws -> KeySnapshot {
        try await runtime.store.read { try $0.keySnapshot() }
    }

    @Test func unsealNeedsThresholdSharesAndNamesBadOnes() async throws {
        let vault = try await TemporaryVault(seal: .shamir(shares: 5, threshold: 3, custodians: Self.custodians))
        #expect(vault.shares.count == 5)
        #expect(!FileManager.default.fileExists(atPath: vault.keysDirectory + "/master.key"))
        let tokens = try await tokenize(vault, count: 3)

        let server = try reopen(vault)
        await #expect(throws: VaultError.sealed) { try await server.keyAdmin.load() }
        #expect(server.keys.isSealed)
        let unsealer = Unsealer()
        let snap = try await snapshot(server)
        // A mistyped share, a share of another vault, a repeated share: each named.
        var mistyped = Array(vault.shares[0])
        mistyped[20] = mistyped[20] == "a" ? "b" : "a"
        #expect(throws: VaultError(.invalidInput, code: .shareInvalid, message: "")) {
            try unsealer.submit(String(mistyped), snapshot: snap, keys: server.keys)
        }
        let other = try await TemporaryVault(seal: .shamir(shares: 3, threshold: 2, custodians: []))
        #expect(throws: VaultError(.invalidInput, code: .shareWrongSet, message: "")) {
            try unsealer.submit(other.shares[0], snapshot: snap, keys: server.keys)
        }
        #expect(try unsealer.submit(vault.shares[3], snapshot: snap, keys: server.keys).progress == 1)
        #expect(throws: VaultError(.invalidInput, code: .shareRepeated, message: "")) {
            try unsealer.submit(vault.shares[3], snapshot: snap, keys: server.keys)
        }
        let two = try unsealer.submit(vault.shares[1], snapshot: snap, keys: server.keys)
        #expect(two.sealed && two.progress == 2 && two.threshold == 3)
        // K-1 shares: still sealed, nothing readable.
        #expect(server.keys.isSealed)
        await #expect(throws: VaultError.sealed) { try await expectReadable(server, tokens) }
        let done = try unsealer.submit(vault.shares[4], snapshot: snap, keys: server.keys)
        #expect(!done.sealed && done.custodians == ["dave", "bob", "erin"])
        try await expectReadable(server, tokens)

        // Reseal: the keys leave memory.
        server.keys.seal()
        #expect(server.keys.isSealed)
        await #expect(throws: VaultError.sealed) { try await expectReadable(server, tokens) }
        _ = try unsealer.submit(vault.shares[0], snapshot: snap, keys: server.keys)
        _ = try unsealer.submit(vault.shares[1], snapshot: snap, keys: server.keys)
        _ = try unsealer.submit(vault.shares[2], snapshot: snap, keys: server.keys)
        try await expectReadable(server, tokens)
    }

    @Test func sharesOfTheRightSetThatRebuildAnotherKeyAreRefused() async throws {
        let vault = try await TemporaryVault(seal: .shamir(shares: 3, threshold: 2, custodians: []))
        var snap = try await snapshot(vault.runtime)
        // The database names another master key: the right shares rebuild the wrong key.
        snap.indexKey?.kekID = "0000000000000000"
        let server = try reopen(vault)
        let unsealer = Unsealer()
        _ = try unsealer.submit(vault.shares[0], snapshot: snap, keys: server.keys)
        #expect(throws: VaultError(.invalidInput, code: .sharesMismatch, message: "")) {
            try unsealer.submit(vault.shares[1], snapshot: snap, keys: server.keys)
        }
        #expect(unsealer.received == 0)
    }

    /// Shares nobody issued: the right set id and threshold (the set id is not secret), but a
    /// made-up value, unsigned, signed by another key, or a number the set never had. Each is
    /// refused as `share_invalid` before it counts toward anything, named by its position in a
    /// dual-control operation, and leaves real custodians' shares working.
    @Test func forgedAndSurplusSharesAreRefusedBeforeTheyCount() async throws {
        let vault = try await TemporaryVault(seal: .shamir(shares: 5, threshold: 3, custodians: Self.custodians))
        let tokens = try await tokenize(vault, count: 2)
        let real = try vault.shares.map { try ShamirSecretSharing.Share(text: $0) }
        #expect(real.allSatisfy { $0.signature != nil } && vault.shares.allSatisfy { $0.hasPrefix("cvshare2-") })
        let random = { SecureRandom.bytes(real[0].y.count) }
        let intruder = try Ed25519SigningKey(seed: SymmetricKey.generate())
        let forged = [
            ShamirSecretSharing.Share(threshold: 3, x: 3, set: real[0].set, y: random()),  // unsigned (cvshare1)
            ShamirSecretSharing.Share(threshold: 3, x: 3, set: real[0].set, y: random()).signed(by: intruder),
            ShamirSecretSharing.Share(threshold: 3, x: 3, set: real[0].set, y: random(), signature: real[2].signature),  // a real share's signature
            ShamirSecretSharing.Share(threshold: 3, x: 200, set: real[0].set, y: random()).signed(by: intruder),
        ].map(\.text)

        let server = try reopen(vault)
        let snap = try await snapshot(server)
        #expect(snap.seal.sharePublicKey?.count == 64)
        let unsealer = Unsealer()
        for text in forged {
            #expect(throws: VaultError(.invalidInput, code: .shareInvalid, message: "")) { try unsealer.submit(text, snapshot: snap, keys: server.keys) }
            #expect(unsealer.received == 0)
        }
        _ = try unsealer.submit(vault.shares[0], snapshot: snap, keys: server.keys)
        _ = try unsealer.submit(vault.shares[1], snapshot: snap, keys: server.keys)
        #expect(try unsealer.submit(vault.shares[2], snapshot: snap, keys: server.keys).sealed == false)
        try await expectReadable(server, tokens)

        // Dual control with real shares and surplus forged ones: every share is checked, the
        // forged one is named by its place, nothing is done and no custodian is audited.
        let admin = vault.runtime.keyAdmin
        let actor = TemporaryVault.testOperator
        _ = try await admin.rotate(actor: actor)
        _ = try await admin.rewrap(actor: actor)
        for surplus in [forged[1], forged[3]] {
            let error = await #expect(throws: VaultError.self) {
                try await admin.retire(version: 1, actor: actor, custody: [vault.shares[0], vault.shares[1], vault.shares[2], surplus])
            }
            #expect(error?.code == .shareInvalid && error?.field == "share 4", "\(String(describing: error))")
        }
        #expect(try await vault.runtime.audit.tail(limit: 20).filter { $0.action == "keys.custody" }.isEmpty)
        #expect(try await snapshot(vault.runtime).dataKeys.contains { $0.version == 1 && $0.state != .retired })
    }

    @Test func dualControlRekeyAndRotateMaster() async throws {
        let vault = try await TemporaryVault(seal: .shamir(shares: 5, threshold: 3, custodians: Self.custodians))
        let tokens = try await tokenize(vault, count: 2)
        let admin = vault.runtime.keyAdmin
        let actor = TemporaryVault.testOperator
        _ = try await admin.rotate(actor: actor)
        _ = try await admin.rewrap(actor: actor)
        // Dual control: retire needs K shares in the same operation.
        await #expect(throws: VaultError(.failedPrecondition, code: .sharesRequired, message: "")) { try await admin.retire(version: 1, actor: actor) }
        await #expect(throws: VaultError(.failedPrecondition, code: .sharesRequired, message: "")) {
            try await admin.retire(version: 1, actor: actor, custody: Array(vault.shares.prefix(2)))
        }
        try await admin.retire(version: 1, actor: actor, custody: [vault.shares[0], vault.shares[2], vault.shares[4]])
        let custody = try await vault.runtime.audit.tail(limit: 10).filter { $0.action == "keys.custody" }.map(\.subject)
        #expect(Set(custody) == ["keys.retire|share 1|alice", "keys.retire|share 3|carol", "keys.retire|share 5|erin"])

        // Rekey: 3-of-5 becomes 2-of-3 for the same master key; the old shares stop working.
        let rekeyed = ShareBox()
        let masterID = try await snapshot(vault.runtime).indexKey!.kekID
        let descriptor = try await admin.rekey(
            shares: 3, threshold: 2, custodians: ["x", "y", "z"], actor: actor, custody: Array(vault.shares.prefix(3))
        ) { made, _ in rekeyed.set(made.map(\.text)) }
        #expect(descriptor.threshold == 2 && rekeyed.value.count == 3)
        #expect(try await snapshot(vault.runtime).indexKey!.kekID == masterID)
        var server = try reopen(vault)
        var snap = try await snapshot(server)
        #expect(throws: VaultError(.invalidInput, code: .shareWrongSet, message: "")) {
            try Unsealer().submit(vault.shares[0], snapshot: snap, keys: server.keys)
        }
        var unsealer = Unsealer()
        _ = try unsealer.submit(rekeyed.value[2], snapshot: snap, keys: server.keys)
        #expect(try unsealer.submit(rekeyed.value[0], snapshot: snap, keys: server.keys).sealed == false)
        try await expectReadable(server, tokens)

        // rotate-master: a new key and a new set; the rekeyed shares stop working.
        let rotated = ShareBox()
        let newID = try await admin.rotateMaster(actor: actor, custody: Array(rekeyed.value.prefix(2))) { made, _ in rotated.set(made.map(\.text)) }
        #expect(newID != masterID && rotated.value.count == 3)
        server = try reopen(vault)
        snap = try await snapshot(server)
        #expect(throws: VaultError(.invalidInput, code: .shareWrongSet, message: "")) {
            try Unsealer().submit(rekeyed.value[0], snapshot: snap, keys: server.keys)
        }
        unsealer = Unsealer()
        _ = try unsealer.submit(rotated.value[1], snapshot: snap, keys: server.keys)
        _ = try unsealer.submit(rotated.value[2], snapshot: snap, keys: server.keys)
        try await expectReadable(server, tokens)
        if case .broken = try await vault.runtime.audit.verify(actor: TemporaryVault.testOperator) { Issue.record("audit chain broken") }
    }

    @Test func migrateSealFileToShamirAndBack() async throws {
        let vault = try await TemporaryVault()
        let tokens = try await tokenize(vault, count: 3)
        let before = vault.databaseFiles().first { !$0.name.hasSuffix("-shm") }
        _ = before
        let handed = ShareBox()
        let descriptor = try await vault.runtime.keyAdmin.migrateSeal(
            to: .shamir(shares: 3, threshold: 2, custodians: []), actor: TemporaryVault.testOperator
        ) { made, _ in handed.set(made.map(\.text)) }
        #expect(descriptor.kind == .shamir)
        // The plaintext key file is gone, every copy of it.
        let left = try FileManager.default.contentsOfDirectory(atPath: vault.keysDirectory).filter { $0.hasPrefix("master.key") }
        #expect(left.isEmpty)
        try await expectReadable(vault.runtime, tokens)
        let server = try reopen(vault)
        await #expect(throws: VaultError.sealed) { try await server.keyAdmin.load() }
        let snap = try await snapshot(server)
        let unsealer = Unsealer()
        _ = try unsealer.submit(handed.value[0], snapshot: snap, keys: server.keys)
        _ = try unsealer.submit(handed.value[2], snapshot: snap, keys: server.keys)
        try await expectReadable(server, tokens)

        // And back to a file, under dual control.
        await #expect(throws: VaultError(.failedPrecondition, code: .sharesRequired, message: "")) {
            _ = try await server.keyAdmin.migrateSeal(to: .file, actor: TemporaryVault.testOperator)
        }
        _ = try await server.keyAdmin.migrateSeal(to: .file, actor: TemporaryVault.testOperator, custody: Array(handed.value.prefix(2)))
        let fresh = try reopen(vault)
        try await fresh.keyAdmin.load()
        try await expectReadable(fresh, tokens)
        #expect(try await fresh.keyAdmin.status().seal.kind == .file)
        if case .broken = try await fresh.audit.verify(actor: TemporaryVault.testOperator) { Issue.record("audit chain broken") }
    }
}
