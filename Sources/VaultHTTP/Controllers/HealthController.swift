import Hummingbird
import NIOCore
import VaultDomain
import VaultStorage

/// `/healthz` (process up), `/readyz` (keys usable and the database takes writes: a probe
/// write commits, see `WriteProbe`), `/metrics` (Prometheus).
struct HealthController: Sendable {
    let runtime: VaultRuntime
    let metrics: HTTPMetrics
    let probe: WriteProbe

    init(runtime: VaultRuntime, metrics: HTTPMetrics) {
        self.runtime = runtime
        self.metrics = metrics
        self.probe = WriteProbe(store: runtime.store)
    }

    var endpoints: RouteCollection<VaultRequestContext> {
        let routes = RouteCollection(context: VaultRequestContext.self)
        routes.get("healthz", use: healthz)
        routes.get("readyz", use: readyz)
        routes.get("metrics", use: prometheus)
        return routes
    }

    private static let ok: [UInt8] = Array(#"{"status":"ok"}"#.utf8)

    @Sendable func healthz(_ request: Request, context: VaultRequestContext) async throws -> Response {
        .json(.ok, Self.ok)
    }

    @Sendable func readyz(_ request: Request, context: VaultRequestContext) async throws -> Response {
        do {
            let snapshot = try await runtime.store.read { try $0.keySnapshot() }
            if runtime.keys.isSealed || (snapshot.seal.kind == .shamir && !runtime.keys.isLoaded) {
                // Sealed is a state, not a failure: say how far the unseal is.
                let progress = snapshot.seal.kind == .shamir ? ",\"progress\":\(runtime.unsealer.received),\"threshold\":\(snapshot.seal.threshold ?? 0)" : ""
                return .json(.serviceUnavailable, Array("{\"seal\":\"\(snapshot.seal.kind.rawValue)\",\"status\":\"sealed\"\(progress)}".utf8))
            }
            try runtime.keys.refresh(from: snapshot)
            _ = try runtime.keys.activeKey()
            _ = try runtime.keys.derivedKeys()
            // Reads work; can writes commit? (Disk full, no primary, a synchronous standby gone.)
            if let failure = await probe.check() {
                throw VaultError(.unavailable, code: failure, message: "writes do not commit")
            }
            return .json(.ok, Array(#"{"database":"ok","keys":"ok","status":"ready"}"#.utf8))
        } catch {
            let code = (error as? VaultError)?.code.rawValue ?? "unavailable"
            throw APIError(status: .serviceUnavailable, code: .notReady, message: "not ready: \(code)")
        }
    }

    @Sendable func prometheus(_ request: Request, context: VaultRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
    }
}
