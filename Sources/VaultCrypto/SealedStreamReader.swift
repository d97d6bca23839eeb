internal import CSodium

/// Reads a sealed stream (`SealedStreamWriter`) with the recipient's key pair, one chunk at a
/// time into one guarded buffer that is zeroed before it is reused or freed.
public final class SealedStreamReader {
    private let state: UnsafeMutableRawPointer
    private let buffer: UnsafeMutableRawPointer
    private let source: (Int) throws -> [UInt8]
    private var ended = false

    /// `source(n)` answers the next `n` bytes of the file, fewer only at its end.
    public init(keyPair: SealedBoxKeyPair, source: @escaping (Int) throws -> [UInt8]) throws {
        Sodium.ready()
        self.source = source
        guard let state = sodium_malloc(crypto_secretstream_xchacha20poly1305_statebytes()) else {
            throw CryptoError(.outOfSecureMemory, "sodium_malloc failed: out of lockable memory")
        }
        guard let buffer = sodium_malloc(SealedStreamWriter.chunkSize) else {
            sodium_free(state)
            throw CryptoError(.outOfSecureMemory, "sodium_malloc failed: out of lockable memory")
        }
        self.state = state
        self.buffer = buffer
        let magic = try source(SealedStreamWriter.magic.count)
        guard magic == SealedStreamWriter.magic else { throw Self.notSealed }
        let sealedKey = try source(Int(crypto_secretstream_xchacha20poly1305_keybytes()) + SealedBoxKeyPair.overhead)
        let header = try source(Int(crypto_secretstream_xchacha20poly1305_headerbytes()))
        guard header.count == Int(crypto_secretstream_xchacha20poly1305_headerbytes()), let key = keyPair.open(sealedKey) else {
            throw Self.wrongKey
        }
        let started = key.withUnsafeBytes { k in
            crypto_secretstream_xchacha20poly1305_init_pull(
                state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), header,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard started == 0 else { throw Self.wrongKey }
    }

    deinit {
        sodium_free(state)
        sodium_free(buffer)
    }

    static let notSealed = CryptoError(.invalidInput, "not a sealed stream (no cvseal1 header)")
    static let wrongKey = CryptoError(.authenticationFailed, "the stream is not sealed to this key")
    static let damaged = CryptoError(.authenticationFailed, "the stream is damaged, reordered or cut short")

    /// Hands the next chunk's plaintext to `body` (the buffer is zeroed afterwards) and
    /// answers true, or answers false once the final chunk was read. Throws when a chunk fails
    /// its check, or the stream ends before its final chunk or goes on after it.
    public func next(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard !ended else { return false }
        let overhead = Int(crypto_secretstream_xchacha20poly1305_abytes())
        let head = try source(4)
        guard head.count == 4 else { throw Self.damaged }
        let length = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
        guard length >= overhead, length <= SealedStreamWriter.chunkSize + overhead else { throw Self.damaged }
        let box = try source(length)
        guard box.count == length else { throw Self.damaged }
        var plain: UInt64 = 0
        var tag: UInt8 = 0
        let opened = crypto_secretstream_xchacha20poly1305_pull(
            state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), buffer.assumingMemoryBound(to: UInt8.self),
            &plain, &tag, box, UInt64(length), nil, 0)
        guard opened == 0 else { throw Self.damaged }
        defer { sodium_memzero(buffer, Int(plain)) }
        if tag == crypto_secretstream_xchacha20poly1305_tag_final() {
            ended = true
            // Nothing may follow the final chunk.
            guard try source(1).isEmpty else { throw Self.damaged }
        }
        try body(UnsafeRawBufferPointer(start: buffer, count: Int(plain)))
        return true
    }
}
