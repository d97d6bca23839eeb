/// A crypto failure. Callers see only the stable `code`; the precise `reason` stays inside
/// the process for debugging and is never part of `description`, so it cannot end up in an
/// HTTP answer or a log line by accident.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public static let invalidKey = Code(raw: "invalid_key")
        public static let authenticationFailed = Code(raw: "authentication_failed")
        public static let invalidInput = Code(raw: "invalid_input")
        /// Guarded (locked) memory could not be had: the process is at its mlock or mapping limit.
        public static let outOfSecureMemory = Code(raw: "out_of_secure_memory")
        /// Every slot of a `GuardedSlab` is taken.
        public static let slabFull = Code(raw: "slab_full")
        public var description: String { raw }
    }

    public let code: Code
    /// Internal detail; not printed by `description`.
    let reason: String

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.code == rhs.code }

    public var description: String { "crypto error: \(code)" }
}
