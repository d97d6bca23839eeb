import Hummingbird
import Prometheus
import Synchronization

/// Request counts and latencies per method, route template and status, in Prometheus text
/// format. Labels are route templates such as `/v1/cards/{token}`, never concrete paths, so no
/// token or card data can become a label.
public final class HTTPMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    static let buckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
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

    func render() -> [UInt8] { registry.emitToBuffer() }
}
