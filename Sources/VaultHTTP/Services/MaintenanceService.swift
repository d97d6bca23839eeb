import Foundation
import Logging
import ServiceLifecycle
import VaultDomain
import VaultStorage

/// Housekeeping inside the server: wipes expired security codes every second; once a minute
/// deletes cards past their `retain_until` (audited, then a WAL checkpoint) and drops
/// answered idempotency records, provider-call records and enumeration-guard rows older than
/// their retention. A failed purge is logged and counted, and tried again a minute later.
struct MaintenanceService: Service {
    let runtime: VaultRuntime
    let idempotencyRetention: TimeInterval
    let logger: Logger
    let metrics: HTTPMetrics
    /// How long a provider object (an ioka order, a Horizonpay transaction or job) is remembered
    /// as its tenant's, with the cards it was started with: long enough for its results,
    /// notifications and a month's reconciliation reads.
    static let providerCallRetention: TimeInterval = 30 * 24 * 3600
    /// The enumeration guard looks back 24 hours; older rows are dropped.
    static let enumerationGuardRetention: TimeInterval = 24 * 3600

    func run() async throws {
        var ticks = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            runtime.codes.sweep(now: Date())
            if let shared = runtime.codes.shared {
                do { try await shared.tick(now: Date()) } catch {
                    metrics.maintenanceFailed("shared_codes")
                    logger.error("shared security codes: tick failed", metadata: ["error_code": "\((error as? VaultError)?.code.rawValue ?? "storage")"])
                }
            }
            // Sealed: no keys; retention and purges wait for the unseal. With several instances
            // on one database, one at a time runs each (the others skip that minute's turn).
            if ticks % 60 == 0 && !runtime.keys.isSealed {
                let cutoff = Date().addingTimeInterval(-idempotencyRetention)
                let retention = runtime.retention
                let logger = logger
                do {
                    _ = try await runtime.store.runAlone("retention_sweep") {
                        let expired = try await retention.sweepExpired(now: Date())
                        if expired > 0 { logger.info("retention sweep", metadata: ["deleted_cards": "\(expired)"]) }
                    }
                } catch {
                    metrics.maintenanceFailed("retention_sweep")
                    logger.error("retention sweep failed", metadata: ["error_code": "\((error as? VaultError)?.code.rawValue ?? "storage")"])
                }
                let calls = Date().addingTimeInterval(-Self.providerCallRetention)
                let guardRows = Date().addingTimeInterval(-Self.enumerationGuardRetention)
                let store = runtime.store
                do {
                    _ = try await store.runAlone("purge") {
                        try await store.write { tx in
                            _ = try tx.purgeIdempotency(before: cutoff)
                            _ = try tx.purgeProviderCalls(before: calls)
                            _ = try tx.purgeEnumerationGuard(before: guardRows)
                        }
                    }
                } catch {
                    metrics.maintenanceFailed("purge")
                    logger.error("purge failed", metadata: ["error_code": "\((error as? VaultError)?.code.rawValue ?? "storage")"])
                }
            }
            ticks += 1
            try? await Task.sleep(for: .seconds(1))
        }
        // Shutting down: no security code outlives the process, not even in freed pages.
        runtime.codes.sweep(now: .distantFuture)
        await runtime.codes.shared?.shutDown()
    }
}
