import ConvoStoreCluster
import Foundation
import TestSupport

/// Runs `convostore` (the binary built beside the tests) to its end.
@discardableResult
func convostore(_ arguments: [String], environment: [String: String]? = nil, in directory: String? = nil) throws -> ProcessResult {
    try RunningProcess(builtProduct("convostore"), arguments, environment: environment, in: directory).waitUntilExit()
}

/// A dump of `lines` valid native lines over 23 businesses and 400 customers, out of time order: inbound
/// and outbound messages, templates of each category, statuses (every other one naming its customer,
/// the others routed by their message, published earlier in the same file, unless
/// `everyStatusNamesItsCustomer`: a dump published in several runs needs that), and controls.
func clusterDump(lines: Int, seed: UInt64 = 7, everyStatusNamesItsCustomer: Bool = false) -> String {
    var rng = seed
    func next(_ bound: Int) -> Int {
        rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((rng >> 33) % UInt64(bound))
    }
    let start: Int64 = 1_751_364_000_000
    var sent: [(business: String, customer: String, id: String)] = []
    var text = ""
    let actions = ["opt_in", "marketing_opt_out", "block", "unblock", "restrict", "unrestrict", "report_spam"]
    for n in 0..<lines {
        let business = "1555000\(String(format: "%04d", next(23)))"
        let customer = "4477009\(String(format: "%05d", next(400)))"
        let at = start + Int64(next(3 * 86_400)) * 1_000
        switch next(20) {
        case 0..<9:
            text += #"{"type":"message","id":"in.\#(n)","business":"\#(business)","customer":"\#(customer)","direction":"in","at":\#(at),"body":"hello \#(n)"}"#
        case 9..<14:
            text += #"{"type":"message","id":"out.\#(n)","business":"\#(business)","customer":"\#(customer)","direction":"out","at":\#(at),"body":"reply \#(n)"}"#
            sent.append((business, customer, "out.\(n)"))
        case 14..<16:
            let category = ["marketing", "utility", "authentication"][next(3)]
            text += #"{"type":"message","id":"tpl.\#(n)","business":"\#(business)","customer":"\#(customer)","direction":"out","at":\#(at),"kind":"template","category":"\#(category)"}"#
            sent.append((business, customer, "tpl.\(n)"))
        case 16..<18 where !sent.isEmpty:
            let target = sent[next(sent.count)]
            let status = ["sent", "delivered", "read", "failed"][next(4)]
            let customerField = n % 2 == 0 || everyStatusNamesItsCustomer ? #","customer":"\#(target.customer)""# : ""
            text += #"{"type":"status","business":"\#(target.business)","id":"\#(target.id)","status":"\#(status)","at":\#(at + 60_000)\#(customerField)}"#
        default:
            text += #"{"type":"control","business":"\#(business)","customer":"\#(customer)","by":"customer","action":"\#(actions[next(actions.count)])","at":\#(at)}"#
        }
        text += "\n"
    }
    return text
}

/// A running cluster of store nodes over a ``NATSTestCluster``, with what a test needs to drive it.
final class StoreCluster: @unchecked Sendable {
    // @unchecked: driven by one test at a time.
    let nats: NATSTestCluster
    let directory: String
    private(set) var nodes: [String: RunningProcess] = [:]

    /// Creates a cluster of `partitions` partitions with leases of `leaseSeconds`.
    init(partitions: Int, leaseSeconds: Int = 3) throws {
        self.nats = try NATSTestCluster()
        self.directory = makeTemporaryDirectory()
        let created = try convostore(["cluster", "create", "--nats", self.nats.urls, "--partitions", String(partitions), "--lease-seconds", String(leaseSeconds)])
        guard created.status == 0 else { throw ClusterTestFailure("cluster create: \(created.stderr)") }
    }

    deinit {
        for node in self.nodes.values { node.send(SIGKILL); _ = node.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// Starts node `name` (its data under the cluster's directory), with `environment` added.
    func startNode(_ name: String, environment: [String: String] = [:], urls: String? = nil) throws {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        self.nodes[name] = try RunningProcess(builtProduct("convostore"), [
            "node", "--nats", urls ?? self.nats.urls, "--data", "\(self.directory)/\(name)", "--name", name, "--batch", "50",
        ], environment: env)
    }

    /// The node process `name`.
    func node(_ name: String) -> RunningProcess? { self.nodes[name] }

    /// Publishes `dump` (written to a file first).
    func publish(_ dump: String, urls: String? = nil) throws {
        let file = "\(self.directory)/dump-\(UUID().uuidString).jsonl"
        try dump.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try convostore(["publish", "--nats", urls ?? self.nats.urls, file])
        guard result.status == 0 else { throw ClusterTestFailure("publish: exit \(result.status): \(result.stderr)") }
    }

    /// Waits until every partition has an owner whose store applied its whole stream, and at least
    /// `messages` stream messages in all; returns the statuses.
    @discardableResult
    func waitUntilCaughtUp(messages: UInt64, urls: String? = nil, timeout: TimeInterval = 240) throws -> [PartitionStatus] {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            let result = try convostore(["cluster", "status", "--nats", urls ?? self.nats.urls, "--json"])
            if result.status == 0 {
                let statuses = result.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(PartitionStatus.self, from: Data($0.utf8)) }
                let total = statuses.reduce(0) { $0 + $1.streamLastSequence }
                if total >= messages && statuses.allSatisfy({ $0.position == $0.streamLastSequence }) { return statuses }
                last = result.stdout
            } else {
                last = result.stderr
            }
            Thread.sleep(forTimeInterval: 1)
        }
        throw self.failure("the cluster did not catch up within \(Int(timeout)) s; last status: \(last)")
    }

    /// A failure whose message ends with what the nodes said last (they are stopped: the test has failed).
    private func failure(_ text: String) -> ClusterTestFailure {
        let logs = self.nodes.sorted { $0.key < $1.key }.map { name, node -> String in
            node.send(SIGKILL)
            return "node \(name):\n" + node.waitUntilExit().stderr.split(separator: "\n").suffix(25).joined(separator: "\n")
        }
        self.nodes = [:]
        return ClusterTestFailure(([text] + logs).joined(separator: "\n"))
    }

    /// A single store with the same events, imported from `dump`.
    func singleStore(_ dump: String) throws -> String {
        let file = "\(self.directory)/single.jsonl"
        try dump.write(toFile: file, atomically: true, encoding: .utf8)
        let db = "\(self.directory)/single"
        let result = try convostore(["import", "--db", db, "--quiet", file])
        guard result.status == 0 else { throw ClusterTestFailure("import: \(result.stderr)") }
        return db
    }

    /// The cluster's answer to a query (`cluster <arguments>`) and the single store's (`<arguments> --db`).
    func answers(_ arguments: [String], single db: String, urls: String? = nil) throws -> (cluster: String, single: String) {
        let cluster = try convostore(["cluster"] + arguments + ["--nats", urls ?? self.nats.urls])
        guard cluster.status == 0 else { throw self.failure("cluster \(arguments): exit \(cluster.status): \(cluster.stderr)") }
        let single = try convostore(arguments + ["--db", db])
        guard single.status == 0 else { throw ClusterTestFailure("\(arguments): \(single.stderr)") }
        return (cluster.stdout, single.stdout)
    }
}
