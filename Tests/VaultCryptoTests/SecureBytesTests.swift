import Testing
@testable import VaultCrypto

@Suite("Guarded memory and keyed hashes")
struct SecureBytesTests {
    @Test func wipeZeroesTheBytes() throws {
        let bytes = try SecureBytes(copying: Array("4405639704015096".utf8))
        #expect(!bytes.isZeroed)
        bytes.wipe()
        #expect(bytes.isZeroed)
        #expect(bytes.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
    }

    @Test func descriptionsAreRedacted() throws {
        let bytes = try SecureBytes(copying: Array("4405639704015096".utf8))
        let key = (try! SymmetricKey.generate())
        for text in ["\(bytes)", String(reflecting: bytes), "\(key)", String(reflecting: key)] {
            #expect(text == "<redacted>")
        }
    }

    @Test func randomKeysDiffer() {
        let a = (try! SymmetricKey.generate()), b = (try! SymmetricKey.generate())
        #expect(a.withUnsafeBytes { Array($0) } != b.withUnsafeBytes { Array($0) })
        #expect(a.checkValue.count == 16)
        #expect(a.checkValue != b.checkValue)
    }

    @Test func keysMustBe32Bytes() {
        #expect(throws: CryptoError.self) { try SymmetricKey(SecureBytes(copying: [1, 2, 3])) }
    }

    @Test func keyedHashDependsOnKeyAndInput() {
        let k1 = (try! SymmetricKey.generate()), k2 = (try! SymmetricKey.generate())
        let m = Array("4405639704015096".utf8)
        #expect(KeyedHash.hash(m, key: k1) == KeyedHash.hash(m, key: k1))
        #expect(KeyedHash.hash(m, key: k1) != KeyedHash.hash(m, key: k2))
        #expect(KeyedHash.hash(m, key: k1) != KeyedHash.hash(Array("4405639704015097".utf8), key: k1))
        #expect(KeyedHash.equal(KeyedHash.hash(m, key: k1), KeyedHash.hash(m, key: k1)))
        #expect(!KeyedHash.equal([], []))
    }

    @Test func derivedKeysAreDistinctPerContextAndID() throws {
        let root = (try! SymmetricKey.generate())
        let a = try KeyDerivation.derive(from: root, id: 1, context: "cvfinger")
        let b = try KeyDerivation.derive(from: root, id: 2, context: "cvfinger")
        let c = try KeyDerivation.derive(from: root, id: 1, context: "cvauditl")
        let again = try KeyDerivation.derive(from: root, id: 1, context: "cvfinger")
        #expect(a.checkValue == again.checkValue)
        #expect(Set([a.checkValue, b.checkValue, c.checkValue]).count == 3)
    }

    @Test func base64URLAndHex() {
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Hex.encode([0, 255, 16]) == "00ff10")
        #expect(Hex.decode("00ff10") == [0, 255, 16])
        #expect(Hex.decode("0g") == nil)
    }

    @Test func coreDumpsCanBeDisabled() {
        #expect(ProcessHardening.disableCoreDumps())
    }
}
