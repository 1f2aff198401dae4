import ConvoStore
import Hummingbird

/// An answer other than success: its status and a reason, sent as `{"error":"<reason>"}`. Reasons
/// echo input only through `Display.safe`, and never a message body.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let reason: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ reason: String, headers: HTTPFields = [:]) {
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        self.response
    }

    /// The response this error is answered with.
    var response: Response {
        let body = JSONWriter.object { $0.field("error", self.reason) } + "\n"
        var response = Response.json(body, status: self.status)
        response.headers.append(contentsOf: self.headers)
        return response
    }
}

extension Response {
    /// One JSON object (or JSON Lines already joined) as the body.
    static func json(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: buffer))
    }

    /// Bytes already written as JSON (an object followed by a newline, or JSON Lines).
    static func json(bytes: [UInt8], status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The content type of JSON Lines bodies (the list routes).
let jsonLinesContentType = "application/x-ndjson"
