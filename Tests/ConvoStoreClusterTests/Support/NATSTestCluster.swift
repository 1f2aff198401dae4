import ConvoStoreCluster
import Foundation
import TestSupport

/// Three nats-server processes with JetStream, clustered on loopback ports that were free, each with its
/// store in a temporary directory; stopped (SIGKILL) and removed when the test ends.
final class NATSTestCluster: @unchecked Sendable {
    // @unchecked: used by one test at a time; `servers` changes only in kill/restart, from that test.
    let directory: String
    let clientPorts: [Int]
    let routePorts: [Int]
    private var servers: [RunningProcess?]

    /// The nats-server binary, or `nil` when it is not installed (the tests then skip).
    static let binary: String? = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Every server's URL, comma-separated (`--nats`).
    var urls: String { self.clientPorts.map { "nats://127.0.0.1:\($0)" }.joined(separator: ",") }

    /// The URLs of the servers still running.
    func urls(except killed: Int) -> String {
        self.clientPorts.enumerated().filter { $0.offset != killed }.map { "nats://127.0.0.1:\($0.element)" }.joined(separator: ",")
    }

    /// Starts the servers and waits until JetStream has a leader (a replicated stream can be created).
    init() throws {
        guard let binary = Self.binary else { throw ClusterTestFailure("nats-server is not installed") }
        self.directory = makeTemporaryDirectory()
        let ports = try freePorts(6)
        self.clientPorts = Array(ports[0..<3])
        self.routePorts = Array(ports[3..<6])
        self.servers = []
        for i in 0..<3 {
            let config = "\(self.directory)/n\(i).conf"
            let routes = self.routePorts.enumerated().filter { $0.offset != i }.map { "\"nats-route://127.0.0.1:\($0.element)\"" }.joined(separator: ", ")
            try """
            server_name: n\(i)
            listen: 127.0.0.1:\(self.clientPorts[i])
            jetstream { store_dir: "\(self.directory)/js\(i)" }
            cluster { name: convo-test, listen: 127.0.0.1:\(self.routePorts[i]), routes: [\(routes)] }
            """.write(toFile: config, atomically: true, encoding: .utf8)
            self.servers.append(try RunningProcess(URL(fileURLWithPath: binary), ["-c", config]))
        }
        try self.waitForJetStream()
    }

    deinit {
        for server in self.servers { server?.send(SIGKILL); _ = server?.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// Kills server `i` with SIGKILL.
    func kill(_ i: Int) {
        self.servers[i]?.send(SIGKILL)
        _ = self.servers[i]?.waitUntilExit()
        self.servers[i] = nil
    }

    private func waitForJetStream() throws {
        let deadline = Date().addingTimeInterval(90)
        var last = ""
        while Date() < deadline {
            do {
                let connection = try NATSConnection(urls: self.urls.split(separator: ",").map(String.init), name: "test-probe")
                let js = try connection.jetStream(waitMillis: 5_000)
                try js.addStream(StreamSettings(name: "PROBE", subject: "probe", replicas: 3, duplicateWindowMillis: 60_000))
                return
            } catch {
                last = "\(error)"
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        throw ClusterTestFailure("JetStream had no leader after 90 s: \(last)")
    }
}

/// A test's own failure with what it saw.
struct ClusterTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `count` TCP ports on 127.0.0.1 that were free a moment ago (bound to port 0, then closed).
func freePorts(_ count: Int) throws -> [Int] {
    var sockets: [Int32] = []
    defer { sockets.forEach { close($0) } }
    var ports: [Int] = []
    for _ in 0..<count {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ClusterTestFailure("no free port: \(String(cString: strerror(errno)))") }
        sockets.append(fd)
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}
