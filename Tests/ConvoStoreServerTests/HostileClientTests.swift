import Foundation
import TestSupport
import Testing

/// Clients that do not play by the rules, on raw sockets: slow heads, trickled bodies, bodies
/// without a declared length over the limit.
@Suite struct HostileClientTests {
    /// Connects to the server on loopback; reads wait at most `timeout` seconds each.
    static func connect(_ port: Int, timeout: Int = 120) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(connected == 0, "connect: \(errno)")
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the server closes the connection (or the read times out); returns what came
    /// and whether the connection was closed by the server.
    static func readToEnd(_ fd: Int32) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread {
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65_536)
                var closed = false
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n > 0 { received += buffer[0..<n]; continue }
                    closed = n == 0 || errno == ECONNRESET
                    break
                }
                continuation.resume(returning: (String(decoding: received, as: UTF8.self), closed))
            }.start()
        }
    }

    @Test func aConnectionThatSendsNothingOrHalfAHeadIsClosed() async throws {
        try await withServer(configure: { $0.idleTimeout = .seconds(1) }, setUp: { _ in }) { client, _ in
            let silent = Self.connect(client.port)
            defer { close(silent) }
            let halfHead = Self.connect(client.port)
            defer { close(halfHead) }
            Self.write(halfHead, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            let (silentText, silentClosed) = await Self.readToEnd(silent)
            #expect(silentClosed && silentText.isEmpty)
            let (_, halfClosed) = await Self.readToEnd(halfHead)
            #expect(halfClosed)
            let health = try await client.get("/health", token: nil)
            #expect(health.status == 200)
        }
    }

    @Test func aBodyTrickledPastTheTimeoutClosesTheConnection() async throws {
        try await withServer(configure: { $0.bodyTimeout = .seconds(1) }, setUp: { _ in }) { client, files in
            let fd = Self.connect(client.port)
            defer { close(fd) }
            let delivery = inboundDelivery(business: "1", customer: "2", id: "wamid.slow", seconds: 1_751_364_000)
            Self.write(fd, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Hub-Signature-256: \(TestSecrets.signature(delivery))\r\n"
                + "Content-Length: \(delivery.utf8.count)\r\n\r\n" + String(delivery.prefix(10)))
            // The rest never comes: the server gives up on the body and closes.
            let (_, closed) = await Self.readToEnd(fd)
            #expect(closed)
            let exported = try cli(["export", "--db", files.db])
            #expect(!exported.contains("wamid.slow"))
            let health = try await client.get("/health", token: nil)
            #expect(health.status == 200)
        }
    }

    @Test func aChunkedBodyOverTheLimitIs413() async throws {
        try await withServer { client, _ in
            let fd = Self.connect(client.port)
            defer { close(fd) }
            Self.write(fd, "POST /v1/messages/send HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(TestSecrets.apiToken)\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            let chunk = String(repeating: "a", count: 65_536)
            for _ in 0..<17 {  // 1 MiB + 64 KiB, no length declared
                Self.write(fd, String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n")
            }
            Self.write(fd, "0\r\n\r\n")
            let (text, _) = await Self.readToEnd(fd)
            #expect(text.hasPrefix("HTTP/1.1 413"), "\(text.prefix(200))")
        }
    }
}
