internal import CSodium
import Synchronization

/// Many small secrets in one guarded region: a single `sodium_malloc` (guard pages, canary,
/// locked into RAM) cut into fixed-size slots. One allocation per secret would cost several
/// memory mappings and locked pages each, and the process would hit `vm.max_map_count` or
/// `RLIMIT_MEMLOCK` after some ten thousand secrets; the slab costs one region, sized once, and
/// answers "full" with an error instead.
///
/// A slot is handed out as a `GuardedSlot`; releasing the last reference zeroes the slot and
/// returns it to the free list.
public final class GuardedSlab: @unchecked Sendable {
    // @unchecked Sendable: `base` is immutable; a slot's bytes are written only by its one owner
    // (`store`, `GuardedSlot.wipe`, `release`) while the free list, under the mutex, keeps slots
    // apart.
    private let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Bytes a slot holds (one more is used for the length).
    public let slotSize: Int
    private let stride: Int
    private let free: Mutex<[Int32]>

    /// Reserves `capacity` slots of `slotSize` bytes each.
    public init(capacity: Int, slotSize: Int) throws(CryptoError) {
        Sodium.ready()
        guard capacity > 0, capacity <= Int(Int32.max), (1...255).contains(slotSize) else {
            throw CryptoError(.invalidInput, "slab capacity or slot size out of range")
        }
        stride = slotSize + 1
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: stride)
        guard !overflow, let raw = sodium_malloc(bytes) else {
            throw CryptoError(.outOfSecureMemory, "sodium_malloc failed for the slab")
        }
        sodium_memzero(raw, bytes)
        base = raw
        self.capacity = capacity
        self.slotSize = slotSize
        // Lowest slots first, so a lightly used slab touches few pages.
        free = Mutex((0..<Int32(capacity)).reversed())
    }

    deinit {
        // sodium_free zeroes the whole region before unmapping it.
        sodium_free(base)
    }

    /// Slots handed out and not yet released.
    public var inUse: Int { capacity - free.withLock { $0.count } }

    /// Copies `bytes` into a free slot; `.slabFull` when every slot is taken.
    public func store(_ bytes: some Collection<UInt8>) throws(CryptoError) -> GuardedSlot {
        guard !bytes.isEmpty, bytes.count <= slotSize else { throw CryptoError(.invalidInput, "secret does not fit a slot") }
        guard let index = free.withLock({ $0.popLast() }) else { throw CryptoError(.slabFull, "every slot is in use") }
        let slot = pointer(Int(index))
        slot.storeBytes(of: UInt8(bytes.count), as: UInt8.self)
        _ = UnsafeMutableRawBufferPointer(start: slot + 1, count: slotSize).initializeMemory(as: UInt8.self, from: bytes)
        return GuardedSlot(slab: self, index: index)
    }

    func pointer(_ index: Int) -> UnsafeMutableRawPointer { base + index * stride }

    func wipe(_ index: Int32) {
        sodium_memzero(pointer(Int(index)), stride)
    }

    func release(_ index: Int32) {
        wipe(index)
        free.withLock { $0.append(index) }
    }
}

/// One secret in a `GuardedSlab`. Its bytes never leave guarded memory except through
/// `withUnsafeBytes`; `description` never shows them.
public final class GuardedSlot: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // @unchecked Sendable: as SecureBytes, `wipe()` must not race with a reader of the same slot.
    private let slab: GuardedSlab
    private let index: Int32

    init(slab: GuardedSlab, index: Int32) {
        self.slab = slab
        self.index = index
    }

    deinit { slab.release(index) }

    /// The stored bytes (empty after `wipe()`).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let slot = slab.pointer(Int(index))
        let count = Int(slot.load(as: UInt8.self))
        return try body(UnsafeRawBufferPointer(start: slot + 1, count: count))
    }

    /// Zeroes the secret now; the slot itself returns to the slab when released.
    public func wipe() { slab.wipe(index) }

    /// Whether the secret was wiped.
    public var isZeroed: Bool {
        let slot = slab.pointer(Int(index))
        return UnsafeRawBufferPointer(start: slot, count: slab.slotSize + 1).allSatisfy { $0 == 0 }
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
