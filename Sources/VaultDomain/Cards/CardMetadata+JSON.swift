import Foundation

extension CardMetadata {
    /// The metadata as JSON, written by hand: the same bytes `VaultJSON.encode` produces (sorted
    /// keys, unescaped slashes, millisecond timestamps), at a fraction of JSONEncoder's cost on
    /// the hottest answer the vault gives. A test keeps the two identical.
    public var jsonBytes: [UInt8] {
        var out = JSONWriter()
        out.object {
            $0.field("bin", string: bin)
            $0.field("brand", string: brand.rawValue)
            $0.field("created_at", string: Timestamp.format(createdAt))
            $0.field("exp_month", string: expMonth)
            $0.field("exp_year", string: expYear)
            $0.field("fingerprint", string: fingerprint.rawValue)
            $0.field("has_card", bool: hasCard)
            $0.field("has_verification_value", bool: hasVerificationValue)
            if let holder { $0.field("holder", string: holder) }
            if let ioka { $0.field("ioka", json: VaultJSON.encode(ioka)) }
            $0.field("ioka_card", bool: iokaCard)
            $0.field("ioka_sender", bool: iokaSender)
            $0.field("last_4", string: last4)
            $0.field("masked", string: masked)
            if let retainUntil { $0.field("retain_until", string: Timestamp.format(retainUntil)) }
            $0.field("token", string: token.rawValue)
            $0.field("updated_at", string: Timestamp.format(updatedAt))
            if let expires = verificationValueExpiresAt { $0.field("verification_value_expires_at", string: Timestamp.format(expires)) }
        }
        return out.bytes
    }
}

/// A minimal JSON object writer with Foundation-compatible string escaping.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var first = true

    init() { bytes.reserveCapacity(512) }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(0x7B)
        first = true
        body(&self)
        bytes.append(0x7D)
    }

    mutating func field(_ key: String, string value: String) {
        writeKey(key)
        string(value)
    }

    mutating func field(_ key: String, bool value: Bool) {
        writeKey(key)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    /// A value that is already JSON.
    mutating func field(_ key: String, json value: [UInt8]) {
        writeKey(key)
        bytes.append(contentsOf: value)
    }

    private mutating func writeKey(_ name: String) {
        if !first { bytes.append(0x2C) }
        first = false
        string(name)
        bytes.append(0x3A)
    }

    private mutating func string(_ value: String) {
        bytes.append(0x22)
        let utf8 = value.utf8
        if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            bytes.append(contentsOf: utf8)
            bytes.append(0x22)
            return
        }
        for c in utf8 {
            switch c {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0x08: bytes.append(contentsOf: [0x5C, 0x62])
            case 0x0C: bytes.append(contentsOf: [0x5C, 0x66])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: bytes.append(c)
            }
        }
        bytes.append(0x22)
    }
}
