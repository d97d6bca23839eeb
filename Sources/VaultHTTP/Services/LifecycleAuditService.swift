import Foundation
import ServiceLifecycle
import VaultDomain
import VaultStorage

/// Audits the server's own life: `server.start` when its services start (a failed write stops
/// the start, as every audit failure fails its operation) and `server.stop` on a graceful
/// shutdown. A process killed without one leaves a start with no stop, which `audit` shows.
struct LifecycleAuditService: Service {
    let runtime: VaultRuntime
    let listen: String

    static let actor = AuditActor(client: "system:server", requestID: nil, source: "server")

    func run() async throws {
        try await record("server.start")
        try? await gracefulShutdown()
        try await record("server.stop")
    }

    private func record(_ action: String) async throws {
        let chain = AuditChain(key: try runtime.keys.derivedKeys().audit)
        let (now, subject) = (Date(), "pid=\(getpid())|listen=\(listen)")
        try await runtime.store.write { tx in
            try tx.appendAudit(AuditEvent(action: action, subject: subject, outcome: .success, actor: Self.actor), chain: chain, at: now)
        }
    }
}
