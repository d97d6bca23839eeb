internal import CSodium

/// Writes a sealed stream: a file only the holder of one X25519 key can read, written in
/// chunks so that no plaintext larger than one chunk is ever in memory (card files of millions
/// of rows, the mapping file an import writes back).
///
/// Format (`SealedStreamReader` reads it): the magic `cvseal1\n`; a random stream key sealed
/// to the recipient (`crypto_box_seal`, 80 bytes); the secretstream header (24 bytes); then
/// chunks, each a 4-byte big-endian length and a `crypto_secretstream_xchacha20poly1305`
/// message of at most `chunkSize` bytes, the last one tagged final. Chunks cannot be reordered,
/// dropped, repeated or cut off without the reader noticing.
public final class SealedStreamWriter {
    public static let magic = Array("cvseal1\n".utf8)
    public static let chunkSize = 64 * 1024

    private let state: UnsafeMutableRawPointer
    private let buffer: UnsafeMutableRawPointer
    private var filled = 0
    private var finished = false
    private let sink: (UnsafeRawBufferPointer) throws -> Void

    /// Starts a stream to `recipient` (an X25519 public key); `sink` receives the encrypted
    /// bytes in order.
    public init(recipient: [UInt8], sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        Sodium.ready()
        guard let state = sodium_malloc(crypto_secretstream_xchacha20poly1305_statebytes()) else {
            throw CryptoError(.outOfSecureMemory, "sodium_malloc failed: out of lockable memory")
        }
        guard let buffer = sodium_malloc(Self.chunkSize) else {
            sodium_free(state)
            throw CryptoError(.outOfSecureMemory, "sodium_malloc failed: out of lockable memory")
        }
        self.state = state
        self.buffer = buffer
        self.sink = sink
        let key = try SecureBytes(count: Int(crypto_secretstream_xchacha20poly1305_keybytes())) { out in
            crypto_secretstream_xchacha20poly1305_keygen(out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        let sealedKey = try key.withUnsafeBytes { try SealedBoxKeyPair.seal($0, to: recipient) }
        var header = [UInt8](repeating: 0, count: Int(crypto_secretstream_xchacha20poly1305_headerbytes()))
        _ = key.withUnsafeBytes { k in
            crypto_secretstream_xchacha20poly1305_init_push(
                state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), &header,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        try (Self.magic + sealedKey + header).withUnsafeBytes { try sink($0) }
    }

    deinit {
        sodium_free(state)
        sodium_free(buffer)
    }

    /// Appends plaintext; full chunks are encrypted and handed to the sink at once.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(Self.chunkSize - filled, bytes.count - offset)
            (buffer + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
            if filled == Self.chunkSize { try flush(final: false) }
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Writes the last chunk (tagged final). The stream is unreadable without it.
    public func finish() throws {
        guard !finished else { return }
        try flush(final: true)
        finished = true
    }

    private func flush(final: Bool) throws {
        let tag = final ? crypto_secretstream_xchacha20poly1305_tag_final() : crypto_secretstream_xchacha20poly1305_tag_message()
        var out = [UInt8](repeating: 0, count: 4 + filled + Int(crypto_secretstream_xchacha20poly1305_abytes()))
        var length: UInt64 = 0
        out.withUnsafeMutableBufferPointer { o in
            _ = crypto_secretstream_xchacha20poly1305_push(
                state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), o.baseAddress! + 4, &length,
                buffer.assumingMemoryBound(to: UInt8.self), UInt64(filled), nil, 0, tag)
        }
        let size = UInt32(length)
        out[0] = UInt8(size >> 24)
        out[1] = UInt8((size >> 16) & 0xFF)
        out[2] = UInt8((size >> 8) & 0xFF)
        out[3] = UInt8(size & 0xFF)
        sodium_memzero(buffer, filled)
        filled = 0
        try out.withUnsafeBytes { try sink($0) }
    }
}
