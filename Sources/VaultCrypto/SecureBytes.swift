internal import CSodium

/// Zeroes a Swift array's storage in place (for transient plaintext copies).
public func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } }
}

/// Zeroes `count` bytes at `pointer` in a way the compiler cannot drop (`sodium_memzero`).
public func zeroize(_ pointer: UnsafeMutableRawPointer, count: Int) {
    sodium_memzero(pointer, count)
}

/// Secret bytes held in libsodium guarded memory: `sodium_malloc` places them between guard
/// pages with a canary, locks them into RAM (no swap) and `sodium_free` wipes them when the
/// last reference goes away. After initialisation the region is read-only.
///
/// Its `description` never shows the bytes.
public final class SecureBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // @unchecked Sendable: the pointer is immutable and the memory is read-only after init,
    // except in `wipe()`, which callers must not race with readers (documented there).
    private let pointer: UnsafeMutableRawPointer
    public let count: Int

    /// Allocates `count` bytes and lets `initialize` fill them while they are writable. Fails
    /// (never traps) when the process is out of lockable memory or mappings.
    public init(count: Int, initialize: (UnsafeMutableRawBufferPointer) -> Void) throws(CryptoError) {
        Sodium.ready()
        guard count > 0 else { throw CryptoError(.invalidInput, "SecureBytes must not be empty") }
        guard let raw = sodium_malloc(count) else {
            throw CryptoError(.outOfSecureMemory, "sodium_malloc failed: out of lockable memory")
        }
        pointer = raw
        self.count = count
        initialize(UnsafeMutableRawBufferPointer(start: raw, count: count))
        _ = sodium_mprotect_readonly(raw)
    }

    /// Copies `bytes` into guarded memory. The caller should wipe its own copy.
    public convenience init<Bytes: Collection>(copying bytes: Bytes) throws(CryptoError) where Bytes.Element == UInt8 {
        try self.init(count: bytes.count) { buffer in
            _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        }
    }

    /// `count` random bytes from libsodium's CSPRNG.
    public static func random(count: Int) throws(CryptoError) -> SecureBytes {
        try SecureBytes(count: count) { buffer in
            randombytes_buf(buffer.baseAddress!, buffer.count)
        }
    }

    deinit {
        // sodium_free zeroes the region before unmapping it.
        sodium_free(pointer)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Zeroes the bytes now, before the object is released. Used for values with a
    /// time-to-live (security codes) so that expiry does not wait for the last reference.
    public func wipe() {
        _ = sodium_mprotect_readwrite(pointer)
        sodium_memzero(pointer, count)
        _ = sodium_mprotect_readonly(pointer)
    }

    /// Whether every byte is zero (after `wipe()`).
    public var isZeroed: Bool {
        withUnsafeBytes { sodium_is_zero($0.bindMemory(to: UInt8.self).baseAddress!, $0.count) == 1 }
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
