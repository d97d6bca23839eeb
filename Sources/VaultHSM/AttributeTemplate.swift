import CPKCS11

/// A Cryptoki attribute template whose values stay alive for the call that reads them.
struct AttributeTemplate {
    private var entries: [(CK_ATTRIBUTE_TYPE, [UInt8])] = []

    mutating func add(_ type: some BinaryInteger, bytes: [UInt8]) { entries.append((CK_ATTRIBUTE_TYPE(type), bytes)) }
    mutating func add(_ type: some BinaryInteger, bool: Bool) { add(type, bytes: [bool ? UInt8(CK_TRUE) : UInt8(CK_FALSE)]) }
    mutating func add(_ type: some BinaryInteger, ulong: some BinaryInteger) {
        add(type, bytes: withUnsafeBytes(of: CK_ULONG(ulong)) { Array($0) })
    }

    func withAttributes<R>(_ body: (UnsafeMutablePointer<CK_ATTRIBUTE>, CK_ULONG) -> R) -> R {
        let attributes = UnsafeMutablePointer<CK_ATTRIBUTE>.allocate(capacity: max(1, entries.count))
        var buffers: [UnsafeMutableRawBufferPointer] = []
        defer {
            for buffer in buffers { buffer.deallocate() }
            attributes.deallocate()
        }
        for (i, (type, bytes)) in entries.enumerated() {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 8)
            buffer.copyBytes(from: bytes)
            buffers.append(buffer)
            attributes[i] = CK_ATTRIBUTE(type: type, pValue: buffer.baseAddress, ulValueLen: CK_ULONG(bytes.count))
        }
        return body(attributes, CK_ULONG(entries.count))
    }
}
