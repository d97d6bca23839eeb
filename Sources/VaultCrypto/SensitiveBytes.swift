internal import CSodium

/// Card data of one request (a card number, a security code, a provider card token) in one heap
/// allocation of fixed size that is zeroed when the last reference goes away. Unlike a Swift
/// `String` or `Array`, it never grows (no reallocation leaves a copy behind) and is never freed
/// with its bytes in it.
///
/// Cheaper than `SecureBytes` (plain `malloc`, no guard pages), for data that lives for a request
/// rather than for the process; `serve` keeps all memory out of swap. Immutable after `init`.
/// Its `description` never shows the bytes.
public final class SensitiveBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // @unchecked Sendable: the bytes are written only inside `init`.
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// The number of bytes held (at most the capacity asked for).
    public let count: Int

    /// Allocates `capacity` bytes and lets `fill` write them; `fill` returns how many it wrote,
    /// or nil to give up (the allocation is wiped and the initializer returns nil).
    public init?(capacity: Int, fill: (UnsafeMutableBufferPointer<UInt8>) throws -> Int?) rethrows {
        let capacity = max(capacity, 1)
        let base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        base.initialize(repeating: 0, count: capacity)
        let written: Int?
        do {
            written = try fill(UnsafeMutableBufferPointer(start: base, count: capacity))
        } catch {
            sodium_memzero(base, capacity)
            base.deallocate()
            throw error
        }
        guard let written, written >= 0, written <= capacity else {
            sodium_memzero(base, capacity)
            base.deallocate()
            return nil
        }
        self.base = base
        self.capacity = capacity
        self.count = written
    }

    /// Copies `bytes`. The caller wipes its own copy.
    public init<Bytes: Collection>(copying bytes: Bytes) where Bytes.Element == UInt8 {
        capacity = max(bytes.count, 1)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        base.initialize(repeating: 0, count: capacity)
        _ = UnsafeMutableBufferPointer(start: base, count: bytes.count).initialize(fromContentsOf: bytes)
        count = bytes.count
    }

    deinit {
        sodium_memzero(base, capacity)
        base.deallocate()
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Constant-time comparison with other bytes (libsodium `sodium_memcmp`).
    public func equals<Bytes: Collection>(_ other: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard other.count == count else { return false }
        guard count > 0 else { return true }
        var copy = Array(other)
        defer { wipe(&copy) }
        return copy.withUnsafeBytes { sodium_memcmp(base, $0.baseAddress!, count) == 0 }
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
