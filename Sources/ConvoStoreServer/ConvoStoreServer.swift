import ConvoStore
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `convostore serve`: the webhook endpoint and query API in front of one store, on Hummingbird 2,
/// run as services of a swift-service-lifecycle `ServiceGroup`.
///
/// | route | |
/// |---|---|
/// | `GET /webhook`, `POST /webhook` | the subscription handshake; signed deliveries, 200 once durable ([WebhookRoutes]) |
/// | `GET /v1/conversations/…`, `/v1/overdue`, `/v1/newly-overdue`, `/v1/windows`, `/v1/billing/…`, `/v1/limits/…` | the command line's queries ([QueryRoutes]) |
/// | `POST /v1/messages/send` | a live send ([SendRoute]) |
/// | `GET /health`, `GET /metrics` | for operators ([OperationsRoutes]) |
///
/// Every `/v1/` route needs the bearer token. Bodies are limited (413 before being read whole),
/// slow bodies and idle connections time out, and every answer carries its request id.
///
/// Stopping (SIGTERM, SIGINT or `triggerGracefulShutdown`): the server stops accepting, answers
/// the requests under way, and only then is the store closed (the store's service is shut down
/// after the HTTP server's).
public struct ConvoStoreServer: Sendable {
    /// The store the server embeds.
    public let store: ConvoStore
    /// How it listens and what it limits.
    public let configuration: ServerConfiguration
    let secrets: ServerSecrets
    let registry: PrometheusCollectorRegistry
    let rejects: RejectedDeliveries
    let logger: Logger

    /// Prepares a server over an open store. Opens the rejects file (``ServerConfiguration/rejectsPath``).
    public init(
        store: ConvoStore, secrets: ServerSecrets, configuration: ServerConfiguration, registry: PrometheusCollectorRegistry,
        logger: Logger = Logger(label: "convostore.server")
    ) throws(ServerStartupError) {
        self.store = store
        self.secrets = secrets
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        self.rejects = try RejectedDeliveries(path: configuration.rejectsPath ?? store.path + "/rejected-deliveries.jsonl")
    }

    /// Where rejected deliveries are kept.
    public var rejectsPath: String { self.rejects.path }

    /// The routes, grouped by concern, behind the middleware every route shares.
    func router() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: BodyLimitMiddleware(maxBytes: self.configuration.maxBodyBytes))
        OperationsRoutes(store: self.store, registry: self.registry).add(to: router)
        WebhookRoutes(
            store: self.store, signature: WebhookSignature(appSecret: self.secrets.appSecret),
            verifyToken: SecretToken(self.secrets.verifyToken), rejects: self.rejects,
            maxBodyBytes: self.configuration.maxBodyBytes, bodyTimeout: self.configuration.bodyTimeout,
            publisher: self.configuration.publisher
        ).add(to: router)
        // Publishing mode: the local store is not fed, so it answers no queries and takes no sends.
        guard self.configuration.publisher == nil else { return router }
        let api = router.group("/v1").add(middleware: BearerTokenMiddleware(token: SecretToken(self.secrets.apiToken)))
        QueryRoutes(store: self.store).add(to: api)
        SendRoute(store: self.store, maxBodyBytes: self.configuration.maxBodyBytes, bodyTimeout: self.configuration.bodyTimeout).add(to: api)
        return router
    }

    /// The HTTP server as a service; `onListening` receives the port once it listens.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some Service {
        let (seconds, attoseconds) = self.configuration.idleTimeout.components
        let idle = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        let logger = self.logger
        return Application(
            router: self.router(),
            server: .http1(configuration: .init(idleTimeout: idle)),
            configuration: .init(address: .hostname(self.configuration.host, port: self.configuration.port), serverName: "convostore"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                await onListening(port)
            },
            logger: logger)
    }

    /// The HTTP server and the store as a group: on shutdown the server stops first (answering
    /// what is under way), then the store closes. `signals` trigger that shutdown.
    public func serviceGroup(signals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: StoreService(store: self.store, logger: self.logger)),
                    .init(service: self.application(onListening: onListening), successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: signals,
                logger: self.logger))
    }
}

/// Holds the store open while the server runs and closes it when the group shuts down, which is
/// after the HTTP server has finished (services stop in reverse order).
struct StoreService: Service {
    let store: ConvoStore
    let logger: Logger

    func run() async throws {
        // Returns when the group shuts down; throws if it is cancelled instead: close either way.
        try? await gracefulShutdown()
        self.store.close()
        self.logger.info("store closed", metadata: ["db": "\(Display.safe(self.store.path, limit: 200))"])
    }
}
