internal import CSodium
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process-level protections applied at start by every cardvault command that touches keys.
public enum ProcessHardening {
    /// Sets RLIMIT_CORE to zero and marks the process non-dumpable, so a crash never writes
    /// key bytes or card data to a core file. Returns whether both steps succeeded.
    @discardableResult
    public static func disableCoreDumps() -> Bool {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        #if canImport(Glibc)
            let rc = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        #else
            let rc = setrlimit(RLIMIT_CORE, &limit)
        #endif
        let dumpable = cardvault_disable_dumpable()
        return rc == 0 && dumpable == 0
    }

    /// What `lockAllMemory` did.
    public enum MemoryLock: Sendable, Equatable {
        /// Every page of the process, now and later, is locked in RAM: nothing reaches swap.
        case locked
        /// `RLIMIT_MEMLOCK` (bytes, nil for unlimited) does not allow it, or `mlockall` failed.
        case notAllowed(limit: UInt64?)
    }

    /// `mlockall(MCL_CURRENT | MCL_FUTURE)` when `RLIMIT_MEMLOCK` is unlimited or the process may
    /// lock memory regardless (root, or CAP_IPC_LOCK): request bodies, provider bodies and the
    /// buffers the frameworks copy them into then never reach swap. Under a finite limit nothing
    /// is tried, since every later allocation past the limit would fail.
    public static func lockAllMemory() -> MemoryLock {
        var limit = rlimit()
        #if canImport(Glibc)
            let rc = getrlimit(Int32(__RLIMIT_MEMLOCK.rawValue), &limit)
        #else
            let rc = getrlimit(RLIMIT_MEMLOCK, &limit)
        #endif
        let unlimited = rc == 0 && limit.rlim_cur == rlim_t.max  // RLIM_INFINITY
        guard unlimited || geteuid() == 0 else { return .notAllowed(limit: rc == 0 ? UInt64(limit.rlim_cur) : nil) }
        return mlockall(Int32(MCL_CURRENT | MCL_FUTURE)) == 0 ? .locked : .notAllowed(limit: unlimited ? nil : UInt64(limit.rlim_cur))
    }
}
