import Foundation
import Logging
import ServiceLifecycle
import VaultDomain
import VaultStorage

/// Audits the server's own life and anchors the audit chain outside the database.
/// - `server.start` when the services start (a failed write stops the start, as every audit
///   failure fails its operation) and `server.stop` on a graceful shutdown; a process killed
///   without one leaves a start with no stop.
/// - A signed checkpoint of the chain's (sequenced) head (`AuditCheckpoint`) after the start row, every
///   `auditCheckpointRows` rows or `auditCheckpointSeconds` seconds, and after the stop row:
///   one JSON line appended to the anchor file (when set) and written to the log, so journald
///   or a log shipper carries it off the host. `cardvault audit verify --anchor FILE` holds the
///   database to them.
struct LifecycleAuditService: Service {
    let runtime: VaultRuntime
    let listen: String
    let anchorFile: String?
    let checkpointRows: Int
    let checkpointSeconds: Int
    let logger: Logger

    static let actor = AuditActor(client: "system:server", requestID: nil, source: "server")

    func run() async throws {
        // A shamir vault starts sealed: its start is recorded once the keys are back.
        while runtime.keys.isSealed || !runtime.keys.isLoaded {
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
        try await record("server.start")
        var last = try await anchor()
        var since = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if runtime.keys.isSealed { continue }
            do {
                let newest = try await runtime.store.read { try $0.latestAuditEntries(limit: 1) }.first?.seq ?? 0
                let due = newest - last >= Int64(checkpointRows) || (newest > last && ContinuousClock.now - since >= .seconds(checkpointSeconds))
                if due {
                    last = try await anchor()
                    since = ContinuousClock.now
                }
            } catch {
                logger.error("audit checkpoint failed", metadata: ["error_code": "\((error as? VaultError)?.code.rawValue ?? "storage")"])
            }
        }
        guard !runtime.keys.isSealed else {
            logger.notice("stopping sealed: server.stop is not recorded (no audit key in memory)")
            return
        }
        try await record("server.stop")
        _ = try await anchor()
    }

    private func record(_ action: String) async throws {
        let chain = AuditChain(key: try runtime.keys.derivedKeys().audit)
        let (now, subject) = (Date(), "pid=\(getpid())|listen=\(listen)")
        _ = try await runtime.store.write { tx in
            try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: .success, actor: Self.actor), chain: chain, at: now)
        }
    }

    /// Signs the newest row, writes the checkpoint out, and answers its sequence number. Where
    /// rows are sequenced after commit, what is committed is sequenced first (bounded), so the
    /// checkpoint covers it.
    private func anchor() async throws -> Int64 {
        try await runtime.audit.settle(timeout: .seconds(2))
        guard let checkpoint = try await runtime.audit.checkpoint(at: Date()) else { return 0 }
        let line = checkpoint.line
        logger.notice("audit checkpoint", metadata: ["checkpoint": "\(line)"])
        if let anchorFile { try AuditAnchorFile.append(line + "\n", to: anchorFile) }
        return checkpoint.seq
    }
}
