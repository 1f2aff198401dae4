import CoreMetrics
import Prometheus

/// The Prometheus side of the metrics: the library and Hummingbird record through swift-metrics;
/// the server bootstraps it, once per process, with a Prometheus registry that `GET /metrics`
/// writes out.
public enum ServerMetrics {
    /// Bootstraps swift-metrics with a Prometheus registry (the first call; later calls return the
    /// same registry). Call it before opening the store: the store takes its metric handles from
    /// the backend bootstrapped when it first writes or scans.
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        self.bootstrapped
    }

    private static let bootstrapped: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(ServerMetrics.factory(registry))
        return registry
    }()

    /// A factory with buckets that fit what is measured: commits of tens of microseconds (no sync)
    /// to tens of milliseconds (a sync), scans from microseconds, batches of 1 to thousands.
    static func factory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        let latency: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .microseconds(2_500_000), .seconds(5),
        ]
        factory.defaultDurationHistogramBuckets = latency
        factory.durationHistogramBuckets["convostore_scan_duration_seconds"] =
            [.microseconds(5), .microseconds(10), .microseconds(25)] + latency
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 5000, 10_000]
        // Hummingbird names its metrics the OpenTelemetry way (`http.server.request.duration`):
        // Prometheus names and labels take underscores, and durations say their unit.
        factory.nameAndLabelSanitizer = { name, labels in
            var name = name.replacingDots()
            if name == "http_server_request_duration" { name += "_seconds" }
            return (name, labels.map { ($0.0.replacingDots(), $0.1) })
        }
        return factory
    }
}

extension String {
    fileprivate func replacingDots() -> String {
        String(self.map { $0 == "." ? "_" : $0 })
    }
}
