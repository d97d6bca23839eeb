internal import CSodium

/// Shamir's secret sharing over GF(2^8) (the AES field, x^8 + x^4 + x^3 + x + 1), byte by byte:
/// any `threshold` of the shares rebuild the secret, fewer tell nothing about it. The groundwork
/// of the shamir seal (issue 14): the master key split among custodians.
///
/// Field arithmetic is branch-free and table-free (no secret-dependent memory access), so a
/// share's bytes do not leak through timing while a secret is rebuilt.
///
/// A share's text form is `cvshare1-K-X-SET-HEX-CHECK`: the threshold, the share's x
/// coordinate, the set's random id (shares of two splits are never combined), the y bytes, and a
/// BLAKE2b check over the rest, so a mistyped or corrupt share is named as such. A share from
/// another set is refused by its set id; a wrong secret from the right set is caught by the
/// caller's key check value.
public enum ShamirSecretSharing {
    public struct Share: Sendable, Equatable, CustomStringConvertible {
        public let threshold: Int
        public let x: UInt8
        public let set: [UInt8]
        let y: [UInt8]
        /// The share set's Ed25519 signature over this share (`cvshare2`), made at split time
        /// with a key whose private half is destroyed once every share is signed; nil on a
        /// share of a set made before shares were signed (`cvshare1`).
        public let signature: [UInt8]?

        /// The text a custodian keeps. (`description` is redacted: a share is a secret.)
        public var text: String {
            let body =
                signature.map { "cvshare2-\(threshold)-\(x)-\(Hex.encode(set))-\(Hex.encode(y))-\(Hex.encode($0))" }
                ?? "cvshare1-\(threshold)-\(x)-\(Hex.encode(set))-\(Hex.encode(y))"
            return body + "-" + Hex.encode(Self.check(body))
        }

        public var description: String { "<share \(x) of set \(Hex.encode(set))>" }

        /// A typing check (unkeyed, 4 bytes): it tells a mistyped share from a forged one, and
        /// authenticates nothing.
        static func check(_ body: String) -> [UInt8] {
            Sodium.ready()
            var out = [UInt8](repeating: 0, count: 4)
            let bytes = Array(body.utf8)
            _ = crypto_generichash(&out, out.count, bytes, UInt64(bytes.count), nil, 0)
            return out
        }

        /// What the set's key signs: the share whole, under a fixed label.
        public var signedMessage: [UInt8] {
            Array("cardvault.share.v2|\(threshold)|\(x)|\(Hex.encode(set))|".utf8) + y
        }

        /// Whether this share carries a valid signature by `publicKey`.
        public func isSigned(by publicKey: [UInt8]) -> Bool {
            guard let signature else { return false }
            return Ed25519SigningKey.verify(signature, of: signedMessage, publicKey: publicKey)
        }

        /// Reads a share's text; refuses a malformed one and one whose check does not match.
        public init(text: String) throws(CryptoError) {
            let trimmed = String(text.filter { !$0.isWhitespace })
            let parts = trimmed.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            let signed = parts.first == "cvshare2"
            guard parts.count == (signed ? 7 : 6), signed || parts[0] == "cvshare1", let k = Int(parts[1]), (2...10).contains(k),
                let x = UInt8(parts[2]), x >= 1, let set = Hex.decode(parts[3]), set.count == 8,
                let y = Hex.decode(parts[4]), !y.isEmpty, let check = Hex.decode(parts[parts.count - 1])
            else { throw CryptoError(.invalidInput, "not a cardvault key share") }
            let signature = signed ? Hex.decode(parts[5]) : nil
            guard !signed || signature?.count == 64 else { throw CryptoError(.invalidInput, "not a cardvault key share") }
            let body = parts[0...(parts.count - 2)].joined(separator: "-")
            guard check == Self.check(body) else { throw CryptoError(.invalidInput, "the share's check does not match: it is mistyped or corrupt") }
            self.init(threshold: k, x: x, set: set, y: y, signature: signature)
        }

        init(threshold: Int, x: UInt8, set: [UInt8], y: [UInt8], signature: [UInt8]? = nil) {
            self.threshold = threshold
            self.x = x
            self.set = set
            self.y = y
            self.signature = signature
        }

        /// This share signed by `key`.
        public func signed(by key: Ed25519SigningKey) -> Share {
            Share(threshold: threshold, x: x, set: set, y: y, signature: key.sign(signedMessage))
        }
    }

    /// Splits `secret` into `count` shares, any `threshold` of which rebuild it
    /// (2 ≤ threshold ≤ count ≤ 10).
    public static func split(_ secret: SecureBytes, threshold: Int, count: Int) throws(CryptoError) -> [Share] {
        guard (2...10).contains(threshold), (threshold...10).contains(count) else {
            throw CryptoError(.invalidInput, "shares must be 2 ≤ threshold ≤ count ≤ 10")
        }
        let set = SecureRandom.bytes(8)
        var ys = [[UInt8]](repeating: [UInt8](repeating: 0, count: secret.count), count: count)
        secret.withUnsafeBytes { bytes in
            // One random polynomial per byte: a0 = the secret byte, a1...a(k-1) random.
            var coefficients = SecureRandom.bytes((threshold - 1) * bytes.count)
            defer { wipe(&coefficients) }
            for (i, s) in bytes.enumerated() {
                for share in 0..<count {
                    let x = UInt8(share + 1)
                    // Horner, from the highest coefficient down to the secret.
                    var y: UInt8 = 0
                    for degree in stride(from: threshold - 1, through: 1, by: -1) {
                        y = mul(y, x) ^ coefficients[(degree - 1) * bytes.count + i]
                    }
                    ys[share][i] = mul(y, x) ^ s
                }
            }
        }
        return (0..<count).map { Share(threshold: threshold, x: UInt8($0 + 1), set: set, y: ys[$0]) }
    }

    /// Rebuilds the secret from `threshold` shares of one set (more are ignored). Refuses
    /// shares of different sets, repeated shares and too few.
    public static func combine(_ shares: [Share]) throws(CryptoError) -> SecureBytes {
        guard let first = shares.first else { throw CryptoError(.invalidInput, "no shares") }
        guard shares.allSatisfy({ $0.set == first.set && $0.threshold == first.threshold && $0.y.count == first.y.count }) else {
            throw CryptoError(.invalidInput, "the shares belong to different sets")
        }
        guard Set(shares.map(\.x)).count == shares.count else { throw CryptoError(.invalidInput, "a share was given twice") }
        guard shares.count >= first.threshold else { throw CryptoError(.invalidInput, "\(shares.count) of \(first.threshold) shares") }
        let used = Array(shares.prefix(first.threshold))
        // Lagrange basis at 0: l_j = prod_{m != j} x_m / (x_m - x_j); in GF(2^8), minus is xor.
        let basis: [UInt8] = used.indices.map { j in
            var numerator: UInt8 = 1
            var denominator: UInt8 = 1
            for m in used.indices where m != j {
                numerator = mul(numerator, used[m].x)
                denominator = mul(denominator, used[m].x ^ used[j].x)
            }
            return mul(numerator, inverse(denominator))
        }
        return try SecureBytes(count: first.y.count) { out in
            for i in 0..<first.y.count {
                var s: UInt8 = 0
                for j in used.indices { s ^= mul(used[j].y[i], basis[j]) }
                out[i] = s
            }
        }
    }

    /// Multiplication in GF(2^8) without branches on the operands.
    static func mul(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var (a, b, p): (UInt8, UInt8, UInt8) = (a, b, 0)
        for _ in 0..<8 {
            p ^= (0 &- (b & 1)) & a
            let carry = 0 &- (a >> 7)
            a = (a << 1) ^ (carry & 0x1B)
            b >>= 1
        }
        return p
    }

    /// The inverse, a^254 (a^255 = 1), by a fixed square-and-multiply chain; inverse(0) = 0.
    static func inverse(_ a: UInt8) -> UInt8 {
        var result: UInt8 = 1
        var power = a
        for bit in 0..<8 {
            let factor = ((254 >> bit) & 1) == 1 ? power : 1
            result = mul(result, factor)
            power = mul(power, power)
        }
        return result
    }
}
