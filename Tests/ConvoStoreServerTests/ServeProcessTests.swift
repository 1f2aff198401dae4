import AsyncHTTPClient
import ConvoStore
import Foundation
import TestSupport
import Testing

/// `convostore serve` as a real child process: startup errors, metrics of a fresh process, and
/// SIGTERM with deliveries under way.
@Suite struct ServeProcessTests {
    /// A free loopback port: bound, read, released (the child binds it right after; a clash only fails a test).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts `convostore serve` on a free port and waits until `/health` answers (or the child exits).
    static func startServer(dir: String, db: String, extra: [String] = []) async throws -> (RunningProcess, TestClient) {
        let port = Self.freePort()
        let secrets = try TestSecrets.writeFiles(in: dir)
        let child = try startConvostore(["serve", "--db", db, "--port", "\(port)"] + secrets + extra, in: dir)
        let client = TestClient(port: port)
        // Bounded by the child, not by a clock: it either comes up or exits.
        while child.isRunning {
            if let health = try? await client.get("/health", token: nil), health.status == 200 { return (child, client) }
            try await Task.sleep(for: .milliseconds(50))
        }
        let result = await child.wait()
        throw CLIFailure(description: "convostore serve exited \(result.status) before listening: \(result.stderr)")
    }

    @Test func sigtermWithDeliveriesInFlightKeepsEveryDeliveryThatGot200() async throws {
        try await withTemporaryDirectory { dir in
            let db = dir + "/db"
            let (child, started) = try await Self.startServer(dir: dir, db: db)
            // Up to 64 connections at once (the shared client keeps 8 a host), so that many are in flight.
            let http = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
            let client = TestClient(port: started.port, http: http)
            let count = 300
            let stopAfter = 60
            let answered = Counter()
            // Every delivery is its own request, its own message id, all at once; SIGTERM goes out once
            // `stopAfter` of them were answered, so the rest are in flight or not yet sent.
            let accepted = await withTaskGroup(of: String?.self) { group -> [String] in
                for i in 0..<count {
                    group.addTask {
                        let id = "wamid.inflight.\(i)"
                        let delivery = inboundDelivery(business: "15550001111", customer: "4477009\(String(format: "%05d", i))", id: id, seconds: 1_751_364_000 + Int64(i))
                        let answer = try? await client.deliver(delivery)
                        if answered.increment() == stopAfter { child.send(SIGTERM) }
                        return answer?.status == 200 ? id : nil
                    }
                }
                var ids: [String] = []
                for await id in group { if let id { ids.append(id) } }
                return ids
            }
            try await http.shutdown()
            let result = await child.wait()
            #expect(result.reason == .exit && result.status == 0, "\(result.stderr)")
            #expect(accepted.count >= stopAfter / 2)
            #expect(result.stderr.contains("store closed"))
            // Every delivery answered 200 is in the store the server closed.
            let exported = try cli(["export", "--db", db])
            let stored = Set(exported.split(separator: "\n").compactMap { line -> String? in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return object?["id"] as? String
            })
            let missing = accepted.filter { !stored.contains($0) }
            #expect(missing.isEmpty, "answered 200 but not stored: \(missing.prefix(5))")
            let check = try convostore(["check", "--db", db])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        }
    }

    @Test func sigintStopsCleanlyToo() async throws {
        try await withTemporaryDirectory { dir in
            let (child, client) = try await Self.startServer(dir: dir, db: dir + "/db")
            #expect(try await client.deliver(inboundDelivery(business: "1", customer: "2", id: "wamid.x", seconds: 1_751_364_000)).status == 200)
            child.send(SIGINT)
            let result = await child.wait()
            #expect(result.reason == .exit && result.status == 0, "\(result.stderr)")
        }
    }

    @Test func aFreshProcessExportsTheStoresMetrics() async throws {
        try await withTemporaryDirectory { dir in
            let (child, client) = try await Self.startServer(dir: dir, db: dir + "/db")
            defer { child.send(SIGTERM); _ = child.waitUntilExit() }
            for i in 0..<5 {
                let delivery = inboundDelivery(business: "15550001111", customer: "447700900123", id: "wamid.m\(i)", seconds: 1_751_364_000 + Int64(i))
                #expect(try await client.deliver(delivery).status == 200)
            }
            #expect(try await client.get("/v1/overdue?as_of=2025-07-05T00:00:00Z").status == 200)
            #expect(try await client.get("/v1/windows?from=2025-07-01T00:00:00Z&to=2025-07-05T00:00:00Z").status == 200)
            let metrics = try await client.get("/metrics", token: nil).body
            for name in [
                "convostore_commit_duration_seconds_bucket", "convostore_commit_events_bucket", "convostore_group_commit_batch_requests_bucket",
                "convostore_group_commit_queue_depth", "convostore_map_size_bytes", "convostore_reader_slots_used",
                "convostore_scan_duration_seconds_bucket{scan=\"overdue\"", "convostore_scan_duration_seconds_bucket{scan=\"windows\"",
            ] {
                #expect(metrics.contains(name), "\(name)")
            }
            // No business or customer id is a label.
            #expect(!metrics.contains("15550001111") && !metrics.contains("447700900123"))
        }
    }

    @Test func startupErrorsExit2WithAClearMessage() async throws {
        try await withTemporaryDirectory { dir in
            let secrets = try TestSecrets.writeFiles(in: dir)
            // A secret file others can read.
            let open = dir + "/open"
            try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
            let readable = try TestSecrets.writeFiles(in: open, mode: 0o644)
            let loose = try convostore(["serve", "--db", dir + "/db", "--port", "0"] + readable, in: dir)
            #expect(loose.status == 2)
            #expect(loose.stderr.contains("--app-secret-file") && loose.stderr.contains("chmod 600"), "\(loose.stderr)")
            // A missing secret file.
            let missing = try convostore(["serve", "--db", dir + "/db", "--port", "0", "--app-secret-file", dir + "/none"] + secrets.dropFirst(2), in: dir)
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("--app-secret-file") && missing.stderr.contains("No such file"), "\(missing.stderr)")
            // A store that cannot be opened: --db is a file.
            let file = dir + "/not-a-store"
            try "x".write(toFile: file, atomically: true, encoding: .utf8)
            let notStore = try convostore(["serve", "--db", file, "--port", "0"] + secrets, in: dir)
            #expect(notStore.status == 2)
            #expect(notStore.stderr.contains("cannot open the store"), "\(notStore.stderr)")
            // A rejects file that is a link.
            symlink(dir + "/elsewhere", dir + "/link.jsonl")
            let link = try convostore(["serve", "--db", dir + "/db", "--port", "0", "--rejects", dir + "/link.jsonl"] + secrets, in: dir)
            #expect(link.status == 2)
            #expect(link.stderr.contains("symbolic link"), "\(link.stderr)")
            // An address already in use.
            let (first, running) = try await Self.startServer(dir: dir, db: dir + "/db")
            defer { first.send(SIGTERM); _ = first.waitUntilExit() }
            let port = running.port
            let clash = try convostore(["serve", "--db", dir + "/db2", "--port", "\(port)"] + secrets, in: dir)
            #expect(clash.status == 2)
            #expect(clash.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(clash.stderr)")
        }
    }
}

/// A counter shared by concurrent tasks.
final class Counter: @unchecked Sendable {
    // @unchecked: `value` is only touched while `lock` is held.
    private let lock = NSLock()
    private var value = 0

    /// Adds one and returns the new value.
    func increment() -> Int {
        self.lock.withLock {
            self.value += 1
            return self.value
        }
    }
}
