import ConvoStore
import Hummingbird
import Prometheus

/// What operators poll: `GET /health` (200 while the store answers a read, 503 otherwise) and
/// `GET /metrics` (Prometheus text: the store's own metrics, recorded by the library through
/// swift-metrics, and the HTTP server's). Neither needs the API token, as a scraper expects.
struct OperationsRoutes: Sendable {
    let store: ConvoStore
    let registry: PrometheusCollectorRegistry

    func add(to router: Router<ServerRequestContext>) {
        router.get("/health") { _, _ in try self.health() }
        router.get("/metrics") { _, _ in self.metrics() }
    }

    func health() throws -> Response {
        do {
            try self.store.read { _ in }
        } catch {
            throw APIError(.serviceUnavailable, "the store does not answer: \(Display.safe(String(describing: error), limit: 200))")
        }
        return .json(JSONWriter.object { $0.field("status", "ok") } + "\n")
    }

    func metrics() -> Response {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16_384)
        self.registry.emit(into: &bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
