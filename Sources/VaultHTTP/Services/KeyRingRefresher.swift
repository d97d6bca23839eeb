import Logging
import ServiceLifecycle
import VaultDomain
import VaultStorage

/// Polls the stored key material every second so that `keys rotate`, `retire` and
/// `rotate-master`, run from the CLI, reach the running server within seconds.
struct KeyRingRefresher: Service {
    let runtime: VaultRuntime
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await PeriodicWork(interval: interval, logger: logger, failure: "key refresh failed").run(when: { !runtime.keys.isSealed }) {
            let snapshot = try await runtime.store.read { try $0.keySnapshot() }
            let before = runtime.keys.activeVersion
            try runtime.keys.refresh(from: snapshot)
            if let after = runtime.keys.activeVersion, after != before, before != nil {
                logger.notice("active data-key version changed", metadata: ["version": "\(after)"])
            }
            return false
        }
    }
}
