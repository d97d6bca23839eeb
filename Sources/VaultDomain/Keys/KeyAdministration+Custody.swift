import Foundation
import VaultCrypto

/// The custodians' ceremonies under the shamir seal: dual control (`verifyCustody`) and
/// `keys rekey`.
extension KeyAdministration {
    /// Dual control under the shamir seal: rebuilds the master key from `custody` (the
    /// threshold of current shares, given in this one operation), checks it is the vault's,
    /// and audits each share with its custodian. Other seals need no shares (nil).
    @discardableResult
    public func verifyCustody(_ custody: [String], for action: String, actor: AuditActor) async throws -> SymmetricKey? {
        let snapshot = try await snapshot()
        guard snapshot.seal.kind == .shamir else { return nil }
        guard let kekID = snapshot.indexKey?.kekID else { throw VaultError.keysNotInitialised }
        guard !custody.isEmpty else {
            throw VaultError(
                .failedPrecondition, code: .sharesRequired,
                message: "\(action) is under dual control: give \(snapshot.seal.threshold ?? 0) key shares on standard input", field: "share")
        }
        let (master, shares) = try KeyShares.rebuild(texts: custody, seal: snapshot.seal, kekID: kekID)
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        try await store.write { tx in
            for share in shares {
                try tx.appendAudit(
                    AuditEvent(
                        action: "keys.custody", subject: "\(action)|share \(share.x)|\(snapshot.seal.custodian(ofShare: Int(share.x)))", outcome: .success,
                        actor: actor), chain: chain, at: now)
            }
        }
        return master
    }

    /// `keys rekey`: a new share set (any count and threshold) for the same master key, from
    /// the threshold of current shares. Card rows and wrapped keys are untouched; the old
    /// shares stop working.
    public func rekey(
        shares count: Int, threshold: Int, custodians: [String], actor: AuditActor, custody: [String], handOver: ShareHandOver
    ) async throws -> SealDescriptor {
        try SealRequest.shamir(shares: count, threshold: threshold, custodians: custodians).validate()
        let current = try await snapshot()
        guard current.seal.kind == .shamir else {
            throw VaultError(
                .failedPrecondition, code: .sealInvalid, message: "rekey makes new shares of a shamir seal; this vault's seal is \(current.seal.kind.rawValue)")
        }
        // Offline the custody shares are also what opened the vault.
        if !keys.isLoaded, let master = try? KeyShares.rebuild(texts: custody, seal: current.seal, kekID: current.indexKey?.kekID ?? "").0 {
            keys.unseal(master: master)
        }
        try await load()
        guard let master = try await verifyCustody(custody, for: "keys.rekey", actor: actor) else { throw VaultError.sealed }
        let (descriptor, shares) = try KeyShares.split(master, shares: count, threshold: threshold, custodians: custodians)
        try await handOver(shares, descriptor)
        let chain = AuditChain(key: try keys.derivedKeys().audit)
        let now = clock()
        try await store.write { tx in
            guard try tx.keySnapshot().seal == current.seal else {
                throw VaultError(.conflict, code: .masterKeyChanged, message: "the seal changed while rekeying; run again")
            }
            try tx.save(descriptor, at: now)
            try tx.appendAudit(
                AuditEvent(
                    action: "keys.rekey", subject: "\(current.seal.shareSet ?? "")->\(descriptor.shareSet ?? ""):\(threshold)-of-\(count)", outcome: .success,
                    actor: actor), chain: chain, at: now)
        }
        return descriptor
    }
}
