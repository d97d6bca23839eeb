import Foundation
import VaultCrypto

/// The master-key and seal ceremonies: `keys rotate-master`, `keys migrate-seal`.
extension KeyAdministration {
    /// Replaces the master key; card records are untouched.
    ///
    /// - file: writes `master.key.new`, re-wraps every data key and the index key under it in
    ///   one transaction, then renames it over `master.key`. A crash between the commit and the
    ///   rename is finished by the next `load()`.
    /// - shamir (dual control: `custody` holds the threshold of current shares): a new key
    ///   and a new share set, handed over before the commit; the old shares stop working.
    /// - pkcs11: a new token key labelled `<label>.<check>`; the old one stays in the token
    ///   (backups are wrapped under it) until an operator destroys it.
    public func rotateMaster(actor: AuditActor, custody: [String] = [], handOver: ShareHandOver = { _, _ in }) async throws -> String {
        try await directory.withLock {
            try await loadUnlocked()
            let seal = try await snapshot().seal
            switch seal.kind {
            case .file:
                return try await rotateMasterFile(actor: actor)
            case .shamir:
                _ = try await verifyCustody(custody, for: "keys.rotate_master", actor: actor)
                let master = try SymmetricKey.generate()
                let (descriptor, shares) = try KeyShares.split(
                    master, shares: seal.shares ?? 0, threshold: seal.threshold ?? 0, custodians: seal.custodians ?? [])
                try await handOver(shares, descriptor)
                let new = SoftwareKeyEncryptionKey(master)
                try await rewrapKeys(to: new, seal: descriptor, action: "keys.rotate_master", actor: actor)
                keys.unseal(master: master)
                try await loadUnlocked()
                return new.id
            case .pkcs11:
                let base = (seal.keyLabel ?? "cardvault-master").split(separator: ".").first.map(String.init) ?? "cardvault-master"
                let label = base + "." + Hex.encode(SecureRandom.bytes(4))
                let new = try keys.hardwareKeys().generateKey(label: label)
                try await rewrapKeys(to: new, seal: SealDescriptor(kind: .pkcs11, keyLabel: label), action: "keys.rotate_master", actor: actor)
                try await loadUnlocked()
                return new.id
            }
        }
    }

    func rotateMasterFile(actor: AuditActor) async throws -> String {
        let old = try keys.masterKey()
        let new = try SymmetricKey.generate()
        try directory.writePendingMasterKey(new)
        do {
            try await rewrapKeys(to: SoftwareKeyEncryptionKey(new), seal: .file, action: "keys.rotate_master", actor: actor)
        } catch {
            // Only when the database certainly does not use it: a failed commit may still have
            // committed (a lost answer), so look before removing anything.
            if let snapshot = try? await snapshot(), snapshot.indexKey?.kekID == old.checkValue { directory.removePendingMasterKey() }
            throw error
        }
        try directory.promotePendingMasterKey()
        try await loadUnlocked()
        return new.checkValue
    }

    /// Re-wraps the index key and every data key from the loaded master key to `new` and
    /// records `seal`, in one transaction with its audit event.
    func rewrapKeys(to new: any KeyEncryptionKey, seal: SealDescriptor, action: String, actor: AuditActor) async throws {
        let old = try keys.keyEncryptionKey()
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        let (oldID, newID) = (old.id, new.id)
        let previousSeal = try await snapshot().seal
        try await store.write { tx in
            let snapshot = try tx.keySnapshot()
            guard let index = snapshot.indexKey, index.kekID == oldID else {
                throw VaultError(.conflict, code: .masterKeyChanged, message: "the master key changed while rotating; run again")
            }
            let indexKey = try old.unwrap(index.box, associatedData: WrappedIndexKey.associatedData(kekID: oldID))
            try tx.save(
                WrappedIndexKey(
                    kekID: newID, box: try new.wrap(indexKey, associatedData: WrappedIndexKey.associatedData(kekID: newID)), createdAt: index.createdAt))
            for var wrapped in snapshot.dataKeys {
                if let box = wrapped.box {
                    guard wrapped.kekID == oldID else {
                        throw VaultError(.conflict, code: .masterKeyChanged, message: "the master key changed while rotating; run again")
                    }
                    let dek = try old.unwrap(box, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: oldID))
                    wrapped.box = try new.wrap(dek, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: newID))
                }
                wrapped.kekID = newID
                try tx.save(wrapped)
            }
            try tx.save(seal, at: now)
            let subject = previousSeal.kind == seal.kind ? "\(oldID)->\(newID)" : "\(previousSeal.kind.rawValue):\(oldID)->\(seal.kind.rawValue):\(newID)"
            try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: .success, actor: actor), chain: chain, at: now)
        }
    }

    /// `keys migrate-seal --to`: moves the vault to another seal by re-wrapping the index and
    /// data keys (card rows untouched). Leaving the file seal destroys `master.key` after the
    /// commit; leaving pkcs11 leaves the token key for the operator to destroy. Dual control
    /// when leaving shamir.
    public func migrateSeal(
        to request: SealRequest, actor: AuditActor, custody: [String] = [], handOver: ShareHandOver = { _, _ in }
    ) async throws
        -> SealDescriptor
    {
        try request.validate()
        return try await directory.withLock {
            let current = try await snapshot()
            if current.seal.kind == .shamir, !keys.isLoaded,
                let master = try? KeyShares.rebuild(texts: custody, seal: current.seal, kekID: current.indexKey?.kekID ?? "").0
            {
                keys.unseal(master: master)
            }
            try await loadUnlocked()
            guard current.seal.kind != request.kind else {
                throw VaultError.invalid(
                    "to", code: .sealInvalid,
                    "the vault is under the \(request.kind.rawValue) seal already\(request.kind == .shamir ? "; `keys rekey` makes new shares" : "")")
            }
            try await verifyCustody(custody, for: "keys.migrate_seal", actor: actor)
            let new: any KeyEncryptionKey
            var descriptor: SealDescriptor
            var master: SymmetricKey?
            switch request {
            case .file:
                try directory.ensureExists()
                guard !directory.hasMasterKey else {
                    throw VaultError(
                        .failedPrecondition, code: .masterKeyExists,
                        message: "\(directory.masterKeyPath) exists; move it away before migrating to the file seal")
                }
                let key = try SymmetricKey.generate()
                try directory.writeMasterKey(key)
                new = SoftwareKeyEncryptionKey(key)
                descriptor = .file
            case .shamir(let count, let threshold, let custodians):
                let key = try SymmetricKey.generate()
                let split = try KeyShares.split(key, shares: count, threshold: threshold, custodians: custodians)
                descriptor = split.0
                try await handOver(split.1, descriptor)
                new = SoftwareKeyEncryptionKey(key)
                master = key
            case .pkcs11(let label):
                new = try keys.hardwareKeys().generateKey(label: label)
                descriptor = SealDescriptor(kind: .pkcs11, keyLabel: label)
            }
            do {
                try await rewrapKeys(to: new, seal: descriptor, action: "keys.migrate_seal", actor: actor)
            } catch {
                if request == .file, let after = try? await snapshot(), after.indexKey?.kekID != new.id { directory.removeMasterKey() }
                throw error
            }
            if let master { keys.unseal(master: master) }
            if current.seal.kind == .file {
                // The plaintext key file is what the new seal replaces: destroy every copy.
                directory.destroyMasterKeyFiles()
            }
            try await loadUnlocked()
            return descriptor
        }
    }
}
