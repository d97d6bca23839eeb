import Foundation
import Synchronization

/// The queue behind group commit, shared by both backends' writers: jobs that arrive while a
/// batch runs wait and form the next batch (at most `maxBatch`), and one serial dispatch queue
/// runs the batches one after another with `runBatch`. Draining starts when the first job of
/// an idle queue arrives and stops when the queue is empty, so an idle writer holds no thread.
public final class CommitQueue<Job: Sendable>: Sendable {
    private let queue: DispatchQueue
    private let state = Mutex<State>(State())
    private let maxBatch: Int
    private let runBatch: @Sendable ([Job]) -> Void

    private struct State: ~Copyable {
        var pending: [Job] = []
        var draining = false
    }

    public init(label: String, maxBatch: Int, runBatch: @escaping @Sendable ([Job]) -> Void) {
        queue = DispatchQueue(label: label)
        self.maxBatch = maxBatch
        self.runBatch = runBatch
    }

    /// Queues `job`; it runs in the next batch.
    public func enqueue(_ job: Job) {
        let start = state.withLock { state -> Bool in
            state.pending.append(job)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if start { queue.async { self.drain() } }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [Job] in
                if state.pending.isEmpty {
                    state.draining = false
                    return []
                }
                let take = min(state.pending.count, maxBatch)
                let batch = Array(state.pending.prefix(take))
                state.pending.removeFirst(take)
                return batch
            }
            if batch.isEmpty { return }
            runBatch(batch)
        }
    }
}
