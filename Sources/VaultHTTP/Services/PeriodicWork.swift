import Logging
import ServiceLifecycle
import VaultDomain

/// The loop of a service that works every `interval` until the server shuts down: a step is
/// skipped while the vault cannot do it (sealed), runs again at once when it says more work
/// waits, and a failure is logged when its code changes, not on every tick (a database that is
/// down for a minute is one line, and its recovery is quiet).
struct PeriodicWork: Sendable {
    let interval: Duration
    let logger: Logger
    /// The log line of a failed step ("audit sequencing failed").
    let failure: Logger.Message

    func run(when ready: () -> Bool, _ step: () async throws -> Bool) async {
        var lastFailure: String?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if ready() {
                do {
                    let more = try await step()
                    lastFailure = nil
                    if more { continue }
                } catch {
                    let code = (error as? VaultError)?.code.rawValue ?? "storage_unavailable"
                    if lastFailure != code { logger.error(failure, metadata: ["error_code": "\(code)"]) }
                    lastFailure = code
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
