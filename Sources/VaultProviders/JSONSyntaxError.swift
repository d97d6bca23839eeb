/// Where a document stopped being JSON, for a 400 a caller can act on: the position (byte,
/// line and column) and the kind of fault, never the bytes themselves (a body may hold card data).
public struct JSONSyntaxError: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        case syntax, duplicateKey, tooDeep, trailingData
    }

    /// Bytes before the fault.
    public let offset: Int
    public let line: Int
    public let column: Int
    public let reason: Reason

    init(offset: Int, reason: Reason, in bytes: UnsafeBufferPointer<UInt8>) {
        self.offset = offset
        self.reason = reason
        var (line, column) = (1, 1)
        for byte in bytes[..<offset] {
            if byte == 0x0A { (line, column) = (line + 1, 1) } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        (self.line, self.column) = (line, column)
    }

    /// "…at line 1, column 17 (byte 16)", with what went wrong there.
    public var description: String {
        let place = "line \(line), column \(column) (byte \(offset))"
        switch reason {
        case .syntax: return offset == 0 ? "the body is not JSON" : "the body stops being valid JSON (RFC 8259) at \(place)"
        case .duplicateKey: return "the body repeats an object key at \(place); each key may appear once"
        case .tooDeep: return "the body nests deeper than 64 levels at \(place)"
        case .trailingData: return "the body has data after its JSON value, at \(place)"
        }
    }
}
