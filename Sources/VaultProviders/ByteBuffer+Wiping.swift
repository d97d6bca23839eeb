#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
// The custom-allocator entry points are SwiftNIO SPI ("advanced API", NIO 2.90+): the only way
// to have NIO's own buffers zeroed when the last holder lets go of them.
@_spi(CustomByteBufferAllocator) import NIOCore
import VaultCrypto

extension ByteBufferAllocator {
    /// An allocator whose memory is zeroed before it goes back to `malloc`: on `free`, and on
    /// `realloc` for the block that was outgrown. Used for every buffer that may hold card data
    /// (the vault's receive buffers, the bodies sent to providers), so whichever holder is last
    /// (the vault, NIO, the HTTP client, TLS) the bytes never stay behind in freed memory.
    public static let wiping = ByteBufferAllocator(
        allocate: { size in WipingAllocatorBlocks.allocate(size) },
        reallocate: { pointer, oldSize, newSize in
            guard let pointer else { return WipingAllocatorBlocks.allocate(newSize) }
            guard let fresh = WipingAllocatorBlocks.allocate(newSize) else { return nil }
            memcpy(fresh, pointer, min(oldSize, newSize))
            WipingAllocatorBlocks.release(pointer)
            return fresh
        },
        deallocate: { pointer in WipingAllocatorBlocks.release(pointer) },
        copy: { destination, source, count in _ = memcpy(destination, source, count) }
    )
}

/// The wiping allocator's blocks. Each block starts with a 16-byte header holding its size (`free` is not
/// told the size, and `malloc_usable_size` is not portable); the caller's bytes follow it,
/// keeping malloc's 16-byte alignment.
enum WipingAllocatorBlocks {
    static let header = 16

    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let block = malloc(size + header) else { return nil }
        block.storeBytes(of: size, as: Int.self)
        return block + header
    }

    /// Zeroes the caller's bytes, then frees the block.
    static func release(_ pointer: UnsafeMutableRawPointer) {
        let block = pointer - header
        let size = block.load(as: Int.self)
        zeroize(pointer, count: size)
        free(block)
    }
}

extension ByteBuffer {
    /// Zeroes the readable bytes where they are, even when the storage is shared (a slice of a
    /// receive buffer): `withUnsafeMutableReadableBytes` would copy shared storage first and
    /// wipe only the copy. Only for bytes that were already consumed, which no other holder
    /// reads again.
    public func wipeReadableBytesInPlace() {
        withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            zeroize(UnsafeMutableRawPointer(mutating: base), count: raw.count)
        }
    }
}
