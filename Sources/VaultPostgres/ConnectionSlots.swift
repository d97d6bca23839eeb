import Synchronization

/// The pool's connection slots, waited for without a thread: a request holds a worker thread
/// only once it has a slot, so at most `count` threads per store ever wait on PostgreSQL, and a
/// request that gets no slot within the database timeout is answered instead of queueing on.
final class ConnectionSlots: Sendable {
    private struct State {
        var free: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var next: UInt64 = 0
    }

    private let state: Mutex<State>

    init(_ count: Int) { state = Mutex(State(free: count)) }

    /// Takes a slot; false when none came free within `timeout`.
    func take(within timeout: Duration) async -> Bool {
        if state.withLock({ state in
            guard state.free > 0 else { return false }
            state.free -= 1
            return true
        }) {
            return true
        }
        return await withCheckedContinuation { continuation in
            let id = state.withLock { state -> UInt64? in
                if state.free > 0 {
                    state.free -= 1
                    return nil
                }
                state.next += 1
                state.waiters.append((state.next, continuation))
                return state.next
            }
            guard let id else { return continuation.resume(returning: true) }
            Task {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
        }
    }

    /// Gives a slot back: to the longest waiter, if any.
    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard !state.waiters.isEmpty else {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: true)
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLock { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0).continuation }
        }
        waiter?.resume(returning: false)
    }
}
