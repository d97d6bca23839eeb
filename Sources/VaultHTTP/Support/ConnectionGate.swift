import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The cap on open HTTP connections of one process, shared by every listener: a connection
/// over the cap is closed at once (existing ones keep working), and counted. When the last
/// of a burst of connections closes, the memory malloc kept for them is handed back to the
/// system (`malloc_trim`), so a flood of idle connections does not leave the process larger.
public final class ConnectionGate: Sendable {
    public let limit: Int
    private let open = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)

    public init(limit: Int) { self.limit = limit }

    /// Takes a slot; false (counted) when every slot is taken.
    func admit() -> Bool {
        let now = open.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        guard now <= limit else {
            open.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            refusals.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        _ = peak.max(now, ordering: .relaxed)
        return true
    }

    func release() {
        let now = open.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue
        // Back to a quarter of the busiest moment since the last trim: give memory back.
        let high = peak.load(ordering: .relaxed)
        if high >= 64, now <= high / 4, peak.compareExchange(expected: high, desired: now, ordering: .relaxed).exchanged {
            _ = Self.trimHeap?(0)
        }
    }

    #if canImport(Glibc)
        private static let nofile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let nofile = RLIMIT_NOFILE
    #endif

    /// glibc's `malloc_trim` (not in the Glibc module), when the C library has it.
    private static let trimHeap: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()

    public var openConnections: Int { open.load(ordering: .relaxed) }
    public var refused: Int { refusals.load(ordering: .relaxed) }

    /// The descriptors this process may open (the soft `RLIMIT_NOFILE`), after raising the soft
    /// limit to the hard one (capped at 65,536).
    public static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Self.nofile, &limit) == 0 else { return 1024 }
        let wanted = min(limit.rlim_max, 65_536)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Self.nofile, &raised) == 0 { limit = raised }
        }
        return Int(limit.rlim_cur)
    }

    /// Descriptors kept for everything but callers' connections: the database, the provider
    /// clients, logs, the admin socket.
    public static let reservedDescriptors = 256

    /// The default cap: what the descriptor limit leaves after the reserve, at most 10,000.
    public static func defaultLimit(descriptors: Int = descriptorLimit()) -> Int {
        max(16, min(10_000, descriptors - reservedDescriptors))
    }
}
