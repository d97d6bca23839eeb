import Hummingbird
import Prometheus
import Synchronization
import VaultDomain

/// Request counts and latencies per method, route template and status, in Prometheus text
/// format. Labels are route templates such as `/v1/cards/{token}`, never concrete paths, so no
/// token or card data can become a label. Refusals are counted by their error code (a fixed
/// string from the vault, never input); pending security codes are a gauge.
public final class HTTPMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])
    private let codes: SecurityCodeVault?
    private let pendingCodes: Gauge
    private let codeSlots: Gauge
    private let connections: ConnectionGate?
    private let openConnections: Gauge
    private let refusedConnections: Gauge
    /// Integrity failures already added to the counters (the domain counts them process-wide).
    private let reportedIntegrityFailures = Mutex<[IntegrityFailures.Table: Int]>([:])
    /// Storage failures already added to the counters (counted process-wide by the backends).
    private let reportedStorageFailures = Mutex<[StorageFailures.Cause: Int]>([:])

    /// Error codes counted in `cardvault_refusals_total`: the limits that protect the vault.
    static let countedRefusals: Set<VaultError.Code> = [
        .rateLimited, .enumerationSuspected, .verificationValueCapacity, .idempotencyKeyRequired, .outcomeUnknown,
    ]

    static let buckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), codes: SecurityCodeVault? = nil, connections: ConnectionGate? = nil) {
        self.registry = registry
        self.codes = codes
        self.connections = connections
        openConnections = registry.makeGauge(
            descriptor: .init(namespace: "cardvault", metricName: "http_open", unitName: "connections", helpText: "Open HTTP connections"))
        refusedConnections = registry.makeGauge(
            descriptor: .init(
                namespace: "cardvault", metricName: "http_refused_connections", unitName: "total",
                helpText: "Connections closed at once because the connection cap was reached"))
        pendingCodes = registry.makeGauge(
            descriptor: .init(
                namespace: "cardvault", metricName: "pending_security", unitName: "codes",
                helpText: "Security codes pending in guarded memory"))
        codeSlots = registry.makeGauge(
            descriptor: .init(
                namespace: "cardvault", metricName: "security_code", unitName: "slots",
                helpText: "Slots of the guarded security-code region"))
    }

    /// Counts a refusal by one of the vault's limits.
    func refused(code: VaultError.Code) {
        guard Self.countedRefusals.contains(code) else { return }
        counter(
            key: "refusal \(code)",
            descriptor: .init(
                namespace: "cardvault", metricName: "refusals", unitName: "total",
                helpText: "Requests refused by a limit, by error code"),
            labels: [("code", code.rawValue)]
        ).increment()
    }

    /// Counts a failed housekeeping step (`retention_sweep`, `purge`).
    func maintenanceFailed(_ task: String) {
        counter(
            key: "maintenance \(task)",
            descriptor: .init(
                namespace: "cardvault", metricName: "maintenance_failures", unitName: "total",
                helpText: "Housekeeping steps that failed"),
            labels: [("task", task)]
        ).increment()
    }

    /// Adds the rows that failed their integrity check since the last scrape, per table
    /// (`cardvault_integrity_failures_total{table=…}`; the table is a fixed name, never input),
    /// and the storage failures, per cause (`cardvault_storage_failures_total{cause=…}`).
    private func reportProcessCounts() {
        add(
            IntegrityFailures.snapshot(), since: reportedIntegrityFailures, metric: "integrity_failures", label: "table",
            help: "Stored rows refused because their integrity check failed, by table")
        add(
            StorageFailures.snapshot(), since: reportedStorageFailures, metric: "storage_failures", label: "cause",
            help: "Database connections, statements and commits that failed, by cause")
    }

    /// Adds to `cardvault_<metric>_total` what each fixed key counted since the last scrape.
    private func add<Key: RawRepresentable & Hashable & Sendable>(
        _ now: [Key: Int], since reported: borrowing Mutex<[Key: Int]>, metric: String, label: String, help: String
    ) where Key.RawValue == String {
        let added = reported.withLock { reported in
            let added = now.compactMap { key, count in count > reported[key, default: 0] ? (key, count - reported[key, default: 0]) : nil }
            reported = now
            return added
        }
        for (key, count) in added {
            counter(
                key: "\(metric) \(key.rawValue)",
                descriptor: .init(namespace: "cardvault", metricName: metric, unitName: "total", helpText: help),
                labels: [(label, key.rawValue)]
            ).increment(by: Int64(count))
        }
    }

    private func counter(key: String, descriptor: MetricNameDescriptor, labels: [(String, String)]) -> Counter {
        counters.withLock { cache in
            if let c = cache[key] { return c }
            let c = registry.makeCounter(descriptor: descriptor, labels: labels)
            cache[key] = c
            return c
        }
    }

    func record(method: String, route: String, status: Int, duration: Duration) {
        let counterKey = "\(method) \(route) \(status)"
        let counter = counters.withLock { cache in
            if let c = cache[counterKey] { return c }
            let c = registry.makeCounter(
                descriptor: .init(namespace: "cardvault", metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered"),
                labels: [("method", method), ("route", route), ("status", String(status))])
            cache[counterKey] = c
            return c
        }
        counter.increment()
        let histogramKey = "\(method) \(route)"
        let histogram = histograms.withLock { cache in
            if let h = cache[histogramKey] { return h }
            let h = registry.makeDurationHistogram(
                descriptor: .init(namespace: "cardvault", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
                labels: [("method", method), ("route", route)], buckets: Self.buckets)
            cache[histogramKey] = h
            return h
        }
        histogram.record(duration)
    }

    func render() -> [UInt8] {
        if let codes {
            // Shared (PostgreSQL): the codes this instance's key holds, as of the last tick.
            pendingCodes.set(Double(codes.shared?.count ?? codes.count))
            codeSlots.set(Double(codes.capacity))
        }
        if let connections {
            openConnections.set(Double(connections.openConnections))
            refusedConnections.set(Double(connections.refused))
        }
        reportProcessCounts()
        return registry.emitToBuffer()
    }
}
