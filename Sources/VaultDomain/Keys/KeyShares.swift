import VaultCrypto

/// Reading custodians' shares against the vault's seal: each share is named when it is
/// malformed, from another set or repeated, and the rebuilt key must be the one the database
/// names (`kekID`). Used by unseal (one share at a time, `Unsealer`) and by the operations under
/// dual control (all shares at once).
public enum KeyShares {
    /// One share's text, checked against the seal's current set.
    public static func parse(_ text: String, seal: SealDescriptor, position: Int? = nil) throws(VaultError) -> ShamirSecretSharing.Share {
        let field = position.map { "share \($0)" } ?? "share"
        let share: ShamirSecretSharing.Share
        do {
            share = try ShamirSecretSharing.Share(text: text)
        } catch {
            throw VaultError.invalid(field, code: .shareInvalid, "\(field) is not a valid key share: it is mistyped or corrupt")
        }
        guard seal.kind == .shamir, Hex.encode(share.set) == seal.shareSet, share.threshold == seal.threshold else {
            throw VaultError.invalid(field, code: .shareWrongSet, "\(field) belongs to another share set (an older one, or another vault's)")
        }
        // Only a share the set's key signed counts, and only one of the numbers it issued: a
        // share made up by anyone else (even with the right set id) is refused before it
        // counts toward anything.
        let issued = Int(share.x) <= (seal.shares ?? 0)
        if let publicKey = seal.sharePublicKey.flatMap(Hex.decode) {
            guard issued, share.isSigned(by: publicKey) else {
                throw VaultError.invalid(field, code: .shareInvalid, "\(field) was not issued in this vault's share set")
            }
        } else {
            guard issued else { throw VaultError.invalid(field, code: .shareInvalid, "\(field) was not issued in this vault's share set") }
        }
        return share
    }

    /// Rebuilds the master key from shares already parsed; refuses repeats, too few, and a
    /// key that is not `kekID`.
    public static func rebuild(_ shares: [ShamirSecretSharing.Share], seal: SealDescriptor, kekID: String) throws(VaultError) -> SymmetricKey {
        let threshold = seal.threshold ?? 0
        guard Set(shares.map(\.x)).count == shares.count else {
            throw VaultError.invalid("share", code: .shareRepeated, "the same key share was given twice")
        }
        guard shares.count >= threshold else {
            throw VaultError(
                .failedPrecondition, code: .sharesRequired, message: "\(shares.count) of \(threshold) key shares given; \(threshold) are needed",
                field: "share")
        }
        let master: SymmetricKey
        do {
            master = try SymmetricKey(ShamirSecretSharing.combine(shares))
        } catch {
            throw VaultError.invalid("share", code: .shareInvalid, "the key shares do not combine")
        }
        guard master.checkValue == kekID else {
            throw VaultError.invalid("share", code: .sharesMismatch, "the shares rebuild a key that is not this vault's master key")
        }
        return master
    }

    /// Parses and rebuilds in one step (dual control: every share in the same operation).
    public static func rebuild(texts: [String], seal: SealDescriptor, kekID: String) throws(VaultError) -> (SymmetricKey, [ShamirSecretSharing.Share]) {
        var shares: [ShamirSecretSharing.Share] = []
        for (i, text) in texts.enumerated() { shares.append(try parse(text, seal: seal, position: i + 1)) }
        return (try rebuild(shares, seal: seal, kekID: kekID), shares)
    }

    /// Splits a new master key for `request` (a shamir seal): the shares and the descriptor
    /// naming their set.
    static func split(
        _ master: SymmetricKey, shares: Int, threshold: Int, custodians: [String]
    ) throws(VaultError) -> (SealDescriptor, [ShamirSecretSharing.Share]) {
        let made: [ShamirSecretSharing.Share]
        let signer: Ed25519SigningKey
        do {
            // A key for this set alone: it signs each share, then goes (guarded memory, wiped
            // when released at the end of this function); only its public half is kept.
            signer = try Ed25519SigningKey(seed: SymmetricKey.generate())
            made = try ShamirSecretSharing.split(master.secureBytes, threshold: threshold, count: shares).map { $0.signed(by: signer) }
        } catch {
            throw VaultError.invalid("threshold", code: .sealInvalid, "shares and threshold must be 2 ≤ threshold ≤ shares ≤ 10")
        }
        var descriptor = SealDescriptor(
            kind: .shamir, threshold: threshold, shares: shares, shareSet: Hex.encode(made[0].set), custodians: custodians.isEmpty ? nil : custodians)
        descriptor.sharePublicKey = Hex.encode(signer.publicKey)
        return (descriptor, made)
    }
}
