import ConvoStoreCluster

/// How `convostore serve` listens and what it limits. The defaults are the command line's.
public struct ServerConfiguration: Sendable {
    /// The address to listen on; loopback unless asked otherwise.
    public var host = "127.0.0.1"
    /// The port; 0 picks a free one (``ConvoStoreServer/listening`` reports which).
    public var port = 8080
    /// Where deliveries the store rejects are kept, one per line (a webhook archive);
    /// `nil`: `rejected-deliveries.jsonl` inside the store's directory.
    public var rejectsPath: String?
    /// The largest request body read; a larger one is answered 413 before it is read whole.
    public var maxBodyBytes = 1 << 20
    /// A connection that sends nothing for this long (no request, or a request's head not finished)
    /// is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// A request body not received whole within this long is abandoned and its connection closed
    /// (a client trickling bytes to hold a connection).
    public var bodyTimeout: Duration = .seconds(30)
    /// Publishing mode (`--publish-nats`): each delivery is published to the cluster's log and answered
    /// 200 once JetStream acknowledged it, instead of being recorded in the store; the `/v1/` routes,
    /// which read the local store, are not served then (query the cluster with `convostore cluster`).
    public var publisher: DeliveryPublisher?

    /// The defaults.
    public init() {}
}

/// The three secrets of the server: the platform app's secret (signs webhook deliveries), the
/// verify token of the subscription handshake, and the bearer token of the `/v1/` API.
public struct ServerSecrets: Sendable {
    /// The key of `X-Hub-Signature-256` (HMAC-SHA256 of each delivery's raw body).
    public var appSecret: [UInt8]
    /// What `hub.verify_token` must be in the subscription handshake.
    public var verifyToken: [UInt8]
    /// What `Authorization: Bearer` must carry on every `/v1/` route.
    public var apiToken: [UInt8]

    /// Secrets given directly (tests, embedding); ``load(appSecretFile:verifyTokenFile:apiTokenFile:)`` reads them from files.
    public init(appSecret: String, verifyToken: String, apiToken: String) {
        self.appSecret = Array(appSecret.utf8)
        self.verifyToken = Array(verifyToken.utf8)
        self.apiToken = Array(apiToken.utf8)
    }
}
