internal import CSodium

/// One-time libsodium initialisation. Every public entry point of this module calls
/// `Sodium.ready()` first; `sodium_init` is idempotent and thread-safe.
enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    @inline(__always)
    static func ready() {
        precondition(initialised, "libsodium failed to initialise")
    }
}
