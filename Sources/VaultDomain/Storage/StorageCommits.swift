import Synchronization

/// Counts the write transactions a task asks storage for, each one commit (SQLite may share one
/// durable commit among several callers' transactions; each still counts here). Set
/// `StorageCommits.$tally` around a call to learn what it costs: the test that holds every
/// provider call to two commits does.
public enum StorageCommits {
    /// A running count, shared by the task that set it and every child task.
    public final class Tally: Sendable {
        private let value = Atomic<Int>(0)

        public init() {}

        public var count: Int { value.load(ordering: .relaxed) }

        func add() { value.add(1, ordering: .relaxed) }
    }

    @TaskLocal public static var tally: Tally?

    /// Called by each store once per `write` (not per attempt of a body run again).
    public static func record() { tally?.add() }
}
