import Foundation
import Synchronization
import VaultDomain

/// `/readyz`'s proof that the database takes writes: one small durable write (the `readiness`
/// marker row, rewritten), so a full disk, a lost primary or a synchronous standby that does not
/// answer make the vault not ready even while reads still work. However often `/readyz` is
/// asked, at most one probe runs and at most one starts a second; a probe not back within
/// `patience` answers `storage_unconfirmed` (commits are waiting) while it goes on.
final class WriteProbe: Sendable {
    private struct State {
        var last: (at: ContinuousClock.Instant, failure: VaultError.Code?)?
        var running = false
    }

    static let marker = "readiness"
    private let store: any VaultStore
    private let interval: Duration
    private let patience: Duration
    private let state = Mutex(State())

    init(store: any VaultStore, interval: Duration = .seconds(1), patience: Duration = .seconds(3)) {
        self.store = store
        self.interval = interval
        self.patience = patience
    }

    /// nil when a write committed within the last `interval` (or does now); otherwise why not.
    func check() async -> VaultError.Code? {
        let start = ContinuousClock.now
        let fresh = state.withLock { state -> Bool in
            if state.running { return false }
            if let last = state.last, start - last.at < interval { return true }
            state.running = true
            Task { [store] in
                var failure: VaultError.Code?
                do {
                    try await store.write { try $0.touchMarker(Self.marker, at: Date()) }
                } catch {
                    failure = (error as? VaultError)?.code ?? .storageUnavailable
                }
                self.finished(failure)
            }
            return false
        }
        if fresh { return state.withLock { $0.last?.failure } }
        // The probe's answer, or "commits wait" once patience runs out (it goes on meanwhile).
        while ContinuousClock.now - start < patience {
            if let answer = state.withLock({ $0.running ? nil : Optional($0.last?.failure) }) { return answer }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return .storageUnconfirmed
    }

    private func finished(_ failure: VaultError.Code?) {
        state.withLock { $0 = State(last: (ContinuousClock.now, failure), running: false) }
    }
}
