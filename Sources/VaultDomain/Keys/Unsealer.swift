import Synchronization
import VaultCrypto

/// Collects shares handed to a running server one at a time (`cardvault operator unseal`,
/// one custodian after another), as HashiCorp Vault's unseal does. At the threshold it
/// rebuilds the master key, hands it to the key ring and forgets the shares; a wrong set of
/// shares resets the progress. Bounded: at most `threshold` shares are ever held.
public final class Unsealer: Sendable {
    public struct Progress: Sendable, Equatable, Codable {
        public var sealed: Bool
        public var seal: SealDescriptor.Kind
        /// Shares received towards the next unseal.
        public var progress: Int
        public var threshold: Int
        /// For the audit: the custodians whose shares unsealed the vault (only at the unseal).
        public var custodians: [String]

        enum CodingKeys: String, CodingKey {
            case sealed, seal, progress, threshold, custodians
        }
    }

    private let pending = Mutex<[ShamirSecretSharing.Share]>([])

    public init() {}

    public var received: Int { pending.withLock { $0.count } }

    /// Takes one share. Returns the progress; when it completes the set, the master key is in
    /// the ring and `sealed` is false.
    public func submit(_ text: String, snapshot: KeySnapshot, keys: KeyRing) throws(VaultError) -> Progress {
        let seal = snapshot.seal
        let threshold = seal.threshold ?? 0
        guard seal.kind == .shamir, let kekID = snapshot.indexKey?.kekID else {
            throw VaultError(.failedPrecondition, code: .sealInvalid, message: "this vault's seal (\(seal.kind.rawValue)) takes no key shares")
        }
        let share = try KeyShares.parse(text, seal: seal)
        let collected: [ShamirSecretSharing.Share]? = try pending.withLock { (shares) throws(VaultError) -> [ShamirSecretSharing.Share]? in
            if shares.contains(where: { $0.x == share.x }) {
                throw VaultError.invalid("share", code: .shareRepeated, "share \(share.x) was given already; \(shares.count) of \(threshold) received")
            }
            shares.append(share)
            guard shares.count >= threshold else { return nil }
            defer { shares.removeAll() }
            return shares
        }
        guard let collected else {
            return Progress(sealed: true, seal: .shamir, progress: received, threshold: threshold, custodians: [])
        }
        let master = try KeyShares.rebuild(collected, seal: seal, kekID: kekID)
        keys.unseal(master: master)
        try keys.refresh(from: snapshot)
        return Progress(
            sealed: false, seal: .shamir, progress: 0, threshold: threshold, custodians: collected.map { seal.custodian(ofShare: Int($0.x)) })
    }

    /// Forgets the shares received so far (`operator seal`, or a reset).
    public func reset() { pending.withLock { $0.removeAll() } }
}
