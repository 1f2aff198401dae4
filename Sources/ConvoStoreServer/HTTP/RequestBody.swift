import Hummingbird
import NIOCore

/// Reads a request's body whole, at most `limit` bytes: past it, 413 (what was read is dropped;
/// nothing more is buffered). A body not received whole within `timeout` closes the connection:
/// a client that trickles its body holds a connection for that long at most.
func readBody(_ request: Request, context: ServerRequestContext, limit: Int, timeout: Duration) async throws -> ByteBuffer {
    let channel = context.channel
    let (seconds, attoseconds) = timeout.components
    let deadline = channel.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
        channel.close(promise: nil)
    }
    defer { deadline.cancel() }
    do {
        return try await request.body.collect(upTo: limit)
    } catch is NIOTooManyBytesError {
        throw APIError(.contentTooLarge, "body over the limit of \(limit) bytes")
    } catch {
        if !channel.isActive {
            throw APIError(.requestTimeout, "body not received within \(timeout); connection closed")
        }
        throw error
    }
}
