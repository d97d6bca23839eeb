import Testing
@testable import VaultCrypto

@Suite("XChaCha20-Poly1305")
struct XChaCha20Poly1305Tests {
    let key = (try! SymmetricKey.generate())
    let ad = Array("cardvault.card.v1|tok_x|1".utf8)

    @Test func roundTrip() throws {
        let plaintext = Array("4405639704015096".utf8)
        let box = XChaCha20Poly1305.seal(plaintext, associatedData: ad, key: key)
        #expect(box.nonce.count == 24)
        #expect(box.ciphertext.count == plaintext.count + 16)
        #expect(!box.ciphertext.starts(with: plaintext))
        let opened = try XChaCha20Poly1305.open(box, associatedData: ad, key: key)
        #expect(opened.withUnsafeBytes { Array($0) } == plaintext)
    }

    @Test func noncesAreFreshForEachSeal() {
        let a = XChaCha20Poly1305.seal([1, 2, 3], associatedData: ad, key: key)
        let b = XChaCha20Poly1305.seal([1, 2, 3], associatedData: ad, key: key)
        #expect(a.nonce != b.nonce)
        #expect(a.ciphertext != b.ciphertext)
    }

    @Test(arguments: ["ciphertext", "tag", "nonce"])
    func flippedByteFails(part: String) {
        var box = XChaCha20Poly1305.seal(Array("secret".utf8), associatedData: ad, key: key)
        switch part {
        case "ciphertext": box.ciphertext[0] ^= 0x01
        case "tag": box.ciphertext[box.ciphertext.count - 1] ^= 0x80
        default: box.nonce[5] ^= 0x10
        }
        #expect(throws: CryptoError(.authenticationFailed, "")) {
            try XChaCha20Poly1305.open(box, associatedData: ad, key: key)
        }
    }

    @Test func otherAssociatedDataFails() {
        let box = XChaCha20Poly1305.seal(Array("secret".utf8), associatedData: ad, key: key)
        #expect(throws: CryptoError.self) {
            try XChaCha20Poly1305.open(box, associatedData: Array("cardvault.card.v1|tok_x|2".utf8), key: key)
        }
    }

    @Test func wrongKeyFails() {
        let box = XChaCha20Poly1305.seal(Array("secret".utf8), associatedData: ad, key: key)
        #expect(throws: CryptoError.self) {
            try XChaCha20Poly1305.open(box, associatedData: ad, key: (try! SymmetricKey.generate()))
        }
    }

    @Test func errorDescriptionIsVague() {
        let error = CryptoError(.authenticationFailed, "precise internal reason")
        #expect(!"\(error)".contains("precise"))
        #expect("\(error)" == "crypto error: authentication_failed")
    }

    /// draft-irtf-cfrg-xchacha-03, appendix A.3.1 (AEAD_XChaCha20_Poly1305).
    @Test func knownAnswerVector() throws {
        let key = try SymmetricKey(SecureBytes(copying: Hex.decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")!))
        let nonce = Hex.decode("404142434445464748494a4b4c4d4e4f5051525354555657")!
        let ad = Hex.decode("50515253c0c1c2c3c4c5c6c7")!
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let expected = Hex.decode(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e"
            + "c0875924c1c7987947deafd8780acf49")!
        let opened = try XChaCha20Poly1305.open(SealedBox(nonce: nonce, ciphertext: expected), associatedData: ad, key: key)
        #expect(opened.withUnsafeBytes { Array($0) } == plaintext)
    }
}
