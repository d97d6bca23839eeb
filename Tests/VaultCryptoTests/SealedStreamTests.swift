import Testing
import VaultCrypto

/// The sealed stream of card and mapping files: what goes in comes out, across chunk
/// boundaries; a stream altered, cut, reordered, extended or opened with another key is
/// refused.
@Suite("Sealed streams")
struct SealedStreamTests {
    static func seal(_ plaintext: [UInt8], to key: SealedBoxKeyPair, pieces: Int = 7) throws -> [UInt8] {
        var out: [UInt8] = []
        let writer = try SealedStreamWriter(recipient: key.publicKey) { out += $0 }
        // Written in uneven pieces, so chunk boundaries fall inside writes.
        var offset = 0
        let step = max(1, plaintext.count / pieces + 13)
        while offset < plaintext.count {
            try writer.write(Array(plaintext[offset..<min(offset + step, plaintext.count)]))
            offset += step
        }
        try writer.finish()
        return out
    }

    static func open(_ sealed: [UInt8], with key: SealedBoxKeyPair) throws -> [UInt8] {
        var offset = 0
        let reader = try SealedStreamReader(keyPair: key) { n in
            let end = min(offset + n, sealed.count)
            defer { offset = end }
            return Array(sealed[offset..<end])
        }
        var out: [UInt8] = []
        while try reader.next({ out += $0 }) {}
        return out
    }

    @Test(arguments: [0, 1, SealedStreamWriter.chunkSize - 1, SealedStreamWriter.chunkSize, SealedStreamWriter.chunkSize * 3 + 5])
    func roundTrips(size: Int) throws {
        let key = try SealedBoxKeyPair()
        let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
        let sealed = try Self.seal(plaintext, to: key)
        #expect(try Self.open(sealed, with: key) == plaintext)
        // Not a byte of the plaintext in the clear (a long run of it would show).
        if size >= 64 { #expect(sealed.firstRange(of: plaintext[0..<64]) == nil) }
    }

    @Test func anyChangeIsRefused() throws {
        let key = try SealedBoxKeyPair()
        let plaintext = (0..<(SealedStreamWriter.chunkSize * 2 + 100)).map { UInt8(truncatingIfNeeded: $0) }
        let sealed = try Self.seal(plaintext, to: key)
        let header = 8 + 80 + 24
        let chunk = 4 + SealedStreamWriter.chunkSize + 17
        var flipped = sealed
        flipped[header + 4 + 100] ^= 1
        // The second and first chunks swapped.
        let reordered = Array(
            sealed[..<header] + sealed[(header + chunk)..<(header + 2 * chunk)] + sealed[header..<(header + chunk)] + sealed[(header + 2 * chunk)...])
        let cases: [(String, [UInt8])] = [
            ("a flipped bit", flipped),
            ("cut after a whole chunk", Array(sealed.prefix(header + chunk))),
            ("cut inside a chunk", Array(sealed.dropLast(10))),
            ("chunks reordered", reordered),
            ("a chunk dropped", Array(sealed[..<header] + sealed[(header + chunk)...])),
            ("bytes after the final chunk", sealed + [0]),
            ("no header", Array(sealed.dropFirst(8))),
        ]
        for (name, bytes) in cases {
            #expect(throws: CryptoError.self, "\(name)") { _ = try Self.open(bytes, with: key) }
        }
        #expect(throws: CryptoError.self, "another key") { _ = try Self.open(sealed, with: try SealedBoxKeyPair()) }
    }

    @Test func aSeededPairIsTheSameEveryTime() throws {
        let seed = try SymmetricKey.generate()
        #expect(try SealedBoxKeyPair(seed: seed).publicKey == SealedBoxKeyPair(seed: seed).publicKey)
        #expect(try SealedBoxKeyPair(seed: seed).publicKey != SealedBoxKeyPair(seed: try SymmetricKey.generate()).publicKey)
        let sealed = try Self.seal(Array("ok".utf8), to: try SealedBoxKeyPair(seed: seed))
        #expect(try Self.open(sealed, with: try SealedBoxKeyPair(seed: seed)) == Array("ok".utf8))
    }

    @Test func base64URLDecodesWhatItEncodes() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 97 + n) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        for bad in ["A", "AB=", "A+B/", "AB C", "AF"] { #expect(Base64URL.decode(bad) == nil, "\(bad)") }
    }
}
