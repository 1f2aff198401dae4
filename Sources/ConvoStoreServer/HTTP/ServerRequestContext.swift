import Hummingbird
import NIOCore

/// What every request carries through the routes: Hummingbird's core context (its logger holds
/// the request id) and the connection, so that a request whose body stalls can close it.
public struct ServerRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The request's connection.
    let channel: any Channel

    /// Made by Hummingbird for each request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
