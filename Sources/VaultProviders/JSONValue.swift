import Foundation
import NIOCore
import VaultCrypto
import VaultDomain

/// A JSON document kept as it came, so that fields the vault does not touch pass through to
/// the provider and back unchanged. Integers stay integers; object key order is kept.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    /// A string holding card data (a card number or a security code), kept out of Swift strings:
    /// written as a JSON string, wiped when the document is released.
    case sensitive(SensitiveBytes)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.int(x), .int(y)): x == y
        case let (.double(x), .double(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.sensitive(x), .sensitive(y)): y.withUnsafeBytes { x.equals($0) }
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// Parses a JSON document strictly (RFC 8259); nil when it is not valid JSON. The one reading
    /// of every body the vault takes in (API requests, provider answers, notifications, events),
    /// so that a document means one thing only: no trailing commas, comments, single quotes,
    /// `NaN`/`Infinity`, leading zeros, unescaped control characters, invalid UTF-8 or lone
    /// surrogates, and no duplicate object keys at any depth (readers disagree on which of two
    /// keys wins, so a second `recipient_card` could reach a provider unseen). At most 64 levels.
    /// Hand-written: provider answers are parsed on every forward, and JSONDecoder through
    /// Codable cost more than the rest of the forwarding work; a differential test holds it
    /// against Foundation's reader.
    ///
    /// String values of the `sensitive` keys (at any depth) are read straight into
    /// `SensitiveBytes`, never into a Swift string.
    public static func parse(_ bytes: [UInt8], sensitive: Set<String> = []) -> JSONValue? {
        bytes.withUnsafeBufferPointer { parse($0, sensitive: sensitive) }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, sensitive: Set<String> = []) -> JSONValue? {
        var parser = JSONParser(bytes: bytes, sensitive: sensitive)
        guard let value = parser.value(depth: 0, key: nil) else { return nil }
        parser.skipSpace()
        return parser.index == bytes.count ? value : nil
    }

    /// Where and why `bytes` is not one JSON document; nil when it is one. Parses again, so it
    /// costs nothing on the path of valid documents; `sensitive` as for `parse`, so card data
    /// read on the way never becomes a Swift string here either.
    public static func syntaxError(in bytes: [UInt8], sensitive: Set<String> = []) -> JSONSyntaxError? {
        bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, sensitive: sensitive)
            if parser.value(depth: 0, key: nil) == nil {
                return JSONSyntaxError(offset: min(parser.index, buffer.count), reason: parser.stop, in: buffer)
            }
            parser.skipSpace()
            return parser.index == buffer.count ? nil : JSONSyntaxError(offset: parser.index, reason: .trailingData, in: buffer)
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }

    /// A number that is a card number (12 to 19 digits, Luhn-valid, sent as a JSON number)
    /// becomes its masked form, as a string; every other value is returned as it is.
    /// Card data carried as `.sensitive` (only ever built for a provider body) is never echoed:
    /// should such a value reach an answer, it becomes `<redacted>`.
    public var maskingCardNumber: JSONValue {
        switch self {
        case .sensitive: return .string("<redacted>")
        case .int(let i): return PANScrubber.masked(i).map(JSONValue.string) ?? self
        // `Int64(exactly:)`, never `Int64(_:)`: a double past Int64.max (a caller can send one)
        // must not trap.
        case .double(let d) where d >= 1e11 && d < 1e19: return Int64(exactly: d).flatMap(PANScrubber.masked).map(JSONValue.string) ?? self
        default: return self
        }
    }
    public var isObject: Bool { if case .object = self { true } else { false } }

    /// Sets (or adds) `key` in an object; no-op on other values.
    public mutating func set(_ key: String, _ value: JSONValue?) {
        guard case .object(var fields) = self else { return }
        if let i = fields.firstIndex(where: { $0.0 == key }) {
            if let value { fields[i].1 = value } else { fields.remove(at: i) }
        } else if let value {
            fields.append((key, value))
        }
        self = .object(fields)
    }

    /// Serialises compactly, into an array allocated once at its final size (a growing array
    /// would leave copies of card data behind in the blocks it outgrew).
    public var bytes: [UInt8] {
        var out = JSONSink(array: [])
        out.array.reserveCapacity(serializedCount)
        write(into: &out)
        return out.array
    }

    /// Serialises into a buffer from `allocator`, sized once (see `bytes`). Given the wiping
    /// allocator, the card data in it is zeroed whenever the last holder releases it.
    public func byteBuffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = JSONSink(buffer: allocator.buffer(capacity: serializedCount))
        write(into: &out)
        return out.buffer
    }

    /// The exact length of the serialised form.
    var serializedCount: Int {
        var counter = JSONSink(counting: ())
        write(into: &counter)
        return counter.count
    }

    private func write(into out: inout JSONSink) {
        switch self {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .double(let d):
            out.append(d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)") : "null")
        case .string(let s): Self.writeString(s.utf8, into: &out)
        case .sensitive(let bytes): bytes.withUnsafeBytes { Self.writeString($0, into: &out) }
        case .array(let items):
            out.append(0x5B)
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(0x2C) }
                item.write(into: &out)
            }
            out.append(0x5D)
        case .object(let fields):
            out.append(0x7B)
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out.append(0x2C) }
                Self.writeString(key.utf8, into: &out)
                out.append(0x3A)
                value.write(into: &out)
            }
            out.append(0x7D)
        }
    }

    private static func writeString<S: Sequence<UInt8>>(_ s: S, into out: inout JSONSink) {
        out.append(0x22)
        for c in s {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0x00..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out.append(0x5C); out.append(0x75); out.append(0x30); out.append(0x30)
                out.append(hex.utf8Start[Int(c >> 4)]); out.append(hex.utf8Start[Int(c & 15)])
            default: out.append(c)
            }
        }
        out.append(0x22)
    }
}

/// Where a serialisation goes: a counter (to size the output once), an array or a ByteBuffer.
struct JSONSink {
    enum Target { case counter, array, buffer }
    let target: Target
    var count = 0
    var array: [UInt8] = []
    var buffer = ByteBuffer()

    init(counting: Void) { target = .counter }
    init(array: [UInt8]) { target = .array; self.array = array }
    init(buffer: ByteBuffer) { target = .buffer; self.buffer = buffer }

    mutating func append(_ byte: UInt8) {
        switch target {
        case .counter: count += 1
        case .array: array.append(byte)
        case .buffer: buffer.writeInteger(byte)
        }
    }

    mutating func append(_ text: String) {
        switch target {
        case .counter: count += text.utf8.count
        case .array: array.append(contentsOf: text.utf8)
        case .buffer: buffer.writeString(text)
        }
    }
}

struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let sensitive: Set<String>
    var index = 0
    /// Why parsing stopped, when it was not at a plain syntax error (for the error message).
    var stop: JSONSyntaxError.Reason = .syntax

    init(bytes: UnsafeBufferPointer<UInt8>, sensitive: Set<String>) {
        self.bytes = bytes
        self.sensitive = sensitive
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func value(depth: Int, key: String?) -> JSONValue? {
        guard depth < 64 else {
            stop = .tooDeep
            return nil
        }
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case 0x7B: return object(depth: depth)
        case 0x5B: return array(depth: depth)
        case 0x22:
            if let key, sensitive.contains(key) { return sensitiveString().map(JSONValue.sensitive) }
            return string().map(JSONValue.string)
        case 0x74: return literal("true", .bool(true))
        case 0x66: return literal("false", .bool(false))
        case 0x6E: return literal("null", .null)
        default: return number()
        }
    }

    private mutating func literal(_ word: String, _ value: JSONValue) -> JSONValue? {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count, bytes[index..<(index + w.count)].elementsEqual(w) else { return nil }
        index += w.count
        return value
    }

    private mutating func object(depth: Int) -> JSONValue? {
        index += 1
        var fields: [(String, JSONValue)] = []
        var keys: Set<String> = []
        skipSpace()
        if index < bytes.count, bytes[index] == 0x7D { index += 1; return .object(fields) }
        while true {
            skipSpace()
            let keyStart = index
            guard index < bytes.count, bytes[index] == 0x22, let key = string() else { return nil }
            // A duplicate key is refused: small objects by a scan, larger ones by a set.
            let duplicate: Bool
            if fields.count < 8 {
                duplicate = fields.contains(where: { $0.0 == key })
            } else {
                if keys.isEmpty { keys = Set(fields.map(\.0)) }
                duplicate = !keys.insert(key).inserted
            }
            guard !duplicate else {
                (stop, index) = (.duplicateKey, keyStart)
                return nil
            }
            skipSpace()
            guard index < bytes.count, bytes[index] == 0x3A else { return nil }
            index += 1
            guard let v = value(depth: depth + 1, key: key) else { return nil }
            fields.append((key, v))
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == 0x2C { index += 1; continue }
            if bytes[index] == 0x7D { index += 1; return .object(fields) }
            return nil
        }
    }

    private mutating func array(depth: Int) -> JSONValue? {
        index += 1
        var items: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == 0x5D { index += 1; return .array(items) }
        while true {
            guard let v = value(depth: depth + 1, key: nil) else { return nil }
            items.append(v)
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == 0x2C { index += 1; continue }
            if bytes[index] == 0x5D { index += 1; return .array(items) }
            return nil
        }
    }

    /// A string. Most have no escapes: those are validated and copied once, straight from the
    /// input; the others are decoded into a buffer sized once.
    private mutating func string() -> String? {
        guard let end = plainStringEnd() else {
            var out: [UInt8] = []
            out.reserveCapacity(escapedStringLength())
            guard decodeString(into: { out.append($0) }) else { return nil }
            return String(validating: out, as: UTF8.self)
        }
        let text = String(validating: UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end]), as: UTF8.self)
        index = end + 1
        return text
    }

    /// A string read into `SensitiveBytes` (UTF-8 checked), never into a Swift string.
    private mutating func sensitiveString() -> SensitiveBytes? {
        var parser = self
        var valid = true
        let value = SensitiveBytes(capacity: escapedStringLength()) { buffer in
            var n = 0
            guard
                parser.decodeString(into: {
                    buffer[n] = $0; n += 1
                })
            else { return nil }
            // UTF-8 validation without a String: decode and count the errors.
            var iterator = UnsafeBufferPointer(rebasing: buffer[0..<n]).makeIterator()
            var decoder = UTF8()
            loop: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue: continue
                case .emptyInput: break loop
                case .error: valid = false; break loop
                }
            }
            return n
        }
        guard let value, valid else { return nil }
        self = parser
        return value
    }

    /// Where the string at `index` ends (its closing quote) when it has no escape and no
    /// control character; nil otherwise (or when it does not end).
    private func plainStringEnd() -> Int? {
        var i = index + 1
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x22 { return i }
            if c == 0x5C || c < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    /// An upper bound on the decoded length of the string at `index`: its raw length (an
    /// escape never decodes longer than it is written).
    private func escapedStringLength() -> Int {
        var i = index + 1
        while i < bytes.count, bytes[i] != 0x22 { i += bytes[i] == 0x5C ? 2 : 1 }
        return min(i, bytes.count) - index
    }

    /// Decodes the string at `index` (escapes resolved), handing each byte to `emit`; false when
    /// it is not a valid JSON string.
    private mutating func decodeString(into emit: (UInt8) -> Void) -> Bool {
        index += 1
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            switch c {
            case 0x22: return true
            case 0x5C:
                guard index < bytes.count else { return false }
                let e = bytes[index]
                index += 1
                switch e {
                case 0x22, 0x5C, 0x2F: emit(e)
                case 0x62: emit(0x08)
                case 0x66: emit(0x0C)
                case 0x6E: emit(0x0A)
                case 0x72: emit(0x0D)
                case 0x74: emit(0x09)
                case 0x75:
                    guard var scalar = hex4() else { return false }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else { return false }
                        index += 2
                        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return false }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { return false }
                    for b in u.utf8 { emit(b) }
                default: return false
                }
            case 0x00..<0x20: return false
            default: emit(c)
            }
        }
        return false
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            index += 1
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x57)
            case 0x41...0x46: d = UInt32(c - 0x37)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`, exactly.
    private mutating func number() -> JSONValue? {
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if index < bytes.count, bytes[index] == 0x2D { index += 1 }
        guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { return nil }
        if bytes[index] == 0x30 {
            index += 1
        } else {
            _ = digits()
        }
        var integral = true
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            guard digits() > 0 else { return nil }
            integral = false
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard digits() > 0 else { return nil }
            integral = false
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let i = Int64(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else { return nil }
        return .double(d)
    }
}
