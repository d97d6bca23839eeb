/// One cell of a row copied between backends (`cardvault migrate-storage`): the SQLite storage
/// classes, which the PostgreSQL schema mirrors (integers, text, bytes; no floats are stored).
public enum StoredValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case bytes([UInt8])

    /// A canonical encoding for digests: a tag, a length, the bytes.
    public var canonical: [UInt8] {
        func framed(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] {
            var out = [tag]
            withUnsafeBytes(of: UInt64(body.count).bigEndian) { out.append(contentsOf: $0) }
            return out + body
        }
        switch self {
        case .null: return [0]
        case .integer(let value): return framed(1, withUnsafeBytes(of: value.bigEndian) { Array($0) })
        case .text(let value): return framed(2, Array(value.utf8))
        case .bytes(let value): return framed(3, value)
        }
    }
}
