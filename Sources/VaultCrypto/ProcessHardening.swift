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
}
