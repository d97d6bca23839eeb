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

    struct Vector: Sendable, CustomTestStringConvertible {
        let id: Int, key: String, nonce: String, ad: String, message: String, ciphertext: String, tag: String
        var testDescription: String { "tcId \(id)" }
    }

    /// Project Wycheproof, testvectors_v1/xchacha20_poly1305_test.json (valid vectors with a
    /// non-empty message: the vault never seals an empty one, and `SecureBytes` refuses it).
    /// Each one opens to its message, and refuses to with its tag or associated data changed.
    static let wycheproof: [Vector] = [
        Vector(
            id: 4, key: "303ccb2e1567c3d9f629a5c632dbc62a9a82c525674f67988b31bd1dee990538", nonce: "05188738844ab90a8b11beef38eaec3e100d8f4f85ae7a41", ad: "",
            message: "62", ciphertext: "45", tag: "d15734f984d749fa3f0550a70c43dddf"),
        Vector(
            id: 5, key: "697c197c9e0023c8eee42ddf08c12c46718a436561b0c66d998c81879f7cb74c", nonce: "cd78f4533c94648feacd5aef0291b00b454ee3dcdb76dcc8",
            ad: "6384f4714ff18c18", message: "e1", ciphertext: "b0", tag: "e5e35f5332f91bdd2d28e59d68a0b141"),
        Vector(
            id: 7, key: "b0f51b8227013464943370e926b6ed1c9fb45b5994af829ff3a9f998b77d822c", nonce: "4fd76cbf27cb387502a706461564e5a5c14e027d40bc6eef",
            ad: "322f82a87ee82997", message: "ab8c", ciphertext: "b56a", tag: "edcafa2c9032aff695e427fc2a344767"),
        Vector(
            id: 9, key: "b720aea3df85fb3fb00583eddbebc5c545bcdcb7f6f2a94c1087950e16d68278", nonce: "1436f36466fce5db337a73ec18e269e6e985d91035128183",
            ad: "9d53316bd2aa3e3d", message: "4799c4", ciphertext: "d41c02", tag: "8faa889d7f189cd9473e19200ef03920"),
        Vector(
            id: 13, key: "48f1389d9222a80898ca26b5cfef5dc82dfc0af7cf66ea1e01bc5279e7414247", nonce: "88ccb58d435ea760f19e1fa6172139a071c0c5143959a56c",
            ad: "5cbdd482f3429a27", message: "945a1fd040", ciphertext: "fb5daf8c6e", tag: "ec1682b61957493c2eb758d7a2b7a179"),
        Vector(
            id: 19, key: "d447796ed4ceb2e43942700e7759e335f67afa8653748db95f924c94488195db", nonce: "cc4781134455e89c836f7433bd0426776f945d82f6358276",
            ad: "06947c3afa797e99", message: "77c46ada19c81849", ciphertext: "80c8e9ac2cec97ce", tag: "9b62dcc8076098affcb6e7995aaa99a6"),
        Vector(
            id: 21, key: "9f093b6bb75f1609ab1e00a4bf4667961d885f01deb6520c5bb16ec21e033766", nonce: "a613e0b17fafb47c79614d39959b986ba2c97b0215676d41",
            ad: "00fc4f61d9777504", message: "472578ece9fe828dc6", ciphertext: "a55cbb308f81e449e9", tag: "8174bd595da1be72cc226e74c46a4af5"),
        Vector(
            id: 25, key: "70d11ca92903865c6a6d8ba497f5a2d65f23b72198d7fc7fdaeda6c2632f7e46", nonce: "07590877a1e1df3a78fe4d04dd64b6cb79f1df45de17685b",
            ad: "d78dcb5431ef5669", message: "f61bb0dd66e5905f1a7ea1", ciphertext: "5b3193405830b6840a4474", tag: "4b10bef8e8a3c2e6ae87fb8fb2a8bdd5"),
        Vector(
            id: 27, key: "924aafdb5b8a206b3e49aefe8944918cdcc8ccb5bb4b8c4ee81b847aa6fa52a0", nonce: "829cb09e40c2cc5f7648adc177e56ef53a58bfa16a859338",
            ad: "a67a57310055b193", message: "68576b935acaab8b33ab62e3", ciphertext: "2345bfc502f9c62d64ad87f9", tag: "6736f095a28b887238f80dc562eaa25c"),
    ]

    @Test(arguments: wycheproof)
    func wycheproofVector(_ v: Vector) throws {
        let key = try SymmetricKey(SecureBytes(copying: Hex.decode(v.key)!))
        let nonce = Hex.decode(v.nonce)!, ad = Hex.decode(v.ad)!
        let box = SealedBox(nonce: nonce, ciphertext: Hex.decode(v.ciphertext)! + Hex.decode(v.tag)!)
        let opened = try XChaCha20Poly1305.open(box, associatedData: ad, key: key)
        #expect(opened.withUnsafeBytes { Array($0) } == Hex.decode(v.message)!)
        var badTag = box.ciphertext
        badTag[badTag.count - 1] ^= 0x80
        #expect(throws: CryptoError.self) { try XChaCha20Poly1305.open(SealedBox(nonce: nonce, ciphertext: badTag), associatedData: ad, key: key) }
        #expect(throws: CryptoError.self) { try XChaCha20Poly1305.open(box, associatedData: ad + [0], key: key) }
    }
}
