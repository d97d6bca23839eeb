import Testing

@testable import VaultCrypto

@Suite("Shamir secret sharing")
struct ShamirSecretSharingTests {
    /// FIPS 197 (the AES field): {57} · {83} = {c1}, and {53} is the inverse of {ca}.
    @Test func fieldArithmeticKnownAnswers() {
        #expect(ShamirSecretSharing.mul(0x57, 0x83) == 0xC1)
        #expect(ShamirSecretSharing.mul(0x53, 0xCA) == 0x01)
        #expect(ShamirSecretSharing.inverse(0x53) == 0xCA)
        for a in 1...255 { #expect(ShamirSecretSharing.mul(UInt8(a), ShamirSecretSharing.inverse(UInt8(a))) == 1) }
    }

    /// Every 3-of-5 subset rebuilds the key; two shares rebuild something else.
    @Test func anyThresholdSubsetRebuildsTheSecret() throws {
        let secret = try SecureBytes.random(count: 32)
        let original = secret.withUnsafeBytes { Array($0) }
        let shares = try ShamirSecretSharing.split(secret, threshold: 3, count: 5)
        #expect(Set(shares.map(\.x)) == [1, 2, 3, 4, 5])
        for a in 0..<5 {
            for b in (a + 1)..<5 {
                for c in (b + 1)..<5 {
                    let rebuilt = try ShamirSecretSharing.combine([shares[c], shares[a], shares[b]])
                    #expect(rebuilt.withUnsafeBytes { Array($0) } == original)
                }
            }
        }
        #expect(throws: CryptoError.self) { try ShamirSecretSharing.combine(Array(shares.prefix(2))) }
        // Below the threshold the shares say nothing: pretending two are enough gives noise.
        let two = shares.prefix(2).map { ShamirSecretSharing.Share(threshold: 2, x: $0.x, set: $0.set, y: $0.y) }
        #expect(try ShamirSecretSharing.combine(two).withUnsafeBytes { Array($0) } != original)
    }

    @Test func sharesSurviveTheirTextAndNameEveryFault() throws {
        let secret = try SecureBytes.random(count: 32)
        let shares = try ShamirSecretSharing.split(secret, threshold: 2, count: 3)
        for share in shares { #expect(try ShamirSecretSharing.Share(text: share.text) == share) }
        #expect(!"\(shares[0])".contains(Hex.encode(shares[0].y)))
        // One character changed anywhere: refused by the check, never silently accepted.
        var text = Array(shares[0].text)
        let at = text.count - 12
        text[at] = text[at] == "0" ? "1" : "0"
        #expect(throws: CryptoError.self) { try ShamirSecretSharing.Share(text: String(text)) }
        // A share of another split: refused by its set.
        let other = try ShamirSecretSharing.split(secret, threshold: 2, count: 3)
        #expect(throws: CryptoError.self) { try ShamirSecretSharing.combine([shares[0], other[1]]) }
        #expect(throws: CryptoError.self) { try ShamirSecretSharing.combine([shares[0], shares[0]]) }
        #expect(throws: CryptoError.self) { try ShamirSecretSharing.split(secret, threshold: 1, count: 3) }
        #expect(throws: CryptoError.self) { try ShamirSecretSharing.split(secret, threshold: 4, count: 3) }
        #expect(throws: CryptoError.self) { try ShamirSecretSharing.split(secret, threshold: 3, count: 11) }
    }
}
