import ConvoStore
import Foundation

/// One publish a line becomes: the bytes to a partition's stream, under a message id that is the same
/// every time the same line of the same input is published.
public struct RoutedPublish: Sendable, Hashable {
    /// The partition.
    public var partition: Int
    /// The message id (`Nats-Msg-Id`).
    public var msgID: String
    /// Headers beside the id (``ClusterLayout/formatHeader``, ``ClusterLayout/itemsHeader``).
    public var headers: [String: String]
}

/// What to do with one input line.
public enum RouteDecision: Sendable, Hashable {
    /// Publish the line, whole, to each of these.
    case publish([RoutedPublish])
    /// Nothing to publish (blank line, dump header, a delivery that records nothing).
    case skip
    /// Keep it aside with this reason (the line cannot be parsed, or cannot be routed).
    case reject(String)
}

/// The input formats a publisher reads (the same as `import --format`).
public enum LineFormat: String, Sendable, CaseIterable {
    /// Native dump lines.
    case native
    /// Webhook deliveries, one per line.
    case webhook
}

/// Decides the partition(s) of each input line, so that everything about one conversation lands in
/// one partition, in input order.
///
/// - A message, control or conversation summary goes to its (business, customer).
/// - A native `status` names no customer. It goes where its `customer` field says (an optional field the
///   store ignores); without one, where this run published the message it is about; a status this run
///   cannot place is rejected (`status of message ...: ...`), never guessed.
/// - A business-scoped user id linked to a phone number (a `link` line, or a delivery that names both) is
///   routed as that phone number from then on, where the store merges them. A link that comes after this
///   run already published events of the user id to another partition is rejected: a partitioned
///   cluster cannot merge two partitions' conversations.
/// - A webhook delivery is parsed as `import --format webhook` parses it; it is published whole to each
///   partition it touches, with the indexes of that partition's items (``ClusterLayout/itemsHeader``),
///   so each node records its part of the delivery, all or nothing.
/// - The store-wide horizon summary goes to every partition; charges kept without a customer to the
///   partition of (business, "").
public struct LineRouter {
    public let partitioner: Partitioner
    /// Partition of each outbound message published in this run, by a hash of (business, id).
    private var messagePartitions: [UInt64: Int32] = [:]
    /// Phone number of each linked user id, by "business 0xFF user id".
    private var linkedPhones: [String: String] = [:]
    /// Partition of each user-id-like customer routed as itself, by "business 0xFF customer".
    private var unlinkedUserIDs: [String: Int] = [:]

    /// A router over the cluster's partitions.
    public init(partitioner: Partitioner) {
        self.partitioner = partitioner
    }

    /// Routes one line (without its newline): `lineID` is what makes its message id (the line's number
    /// and a hash of its bytes).
    public mutating func route(_ line: [UInt8], format: LineFormat, lineNumber: Int) -> RouteDecision {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .skip }
        let id = String(FNV1a64.hash(line), radix: 16) + "." + String(lineNumber)
        switch format {
        case .native: return self.routeNative(line, id: id)
        case .webhook: return self.routeWebhook(line, id: id)
        }
    }

    // MARK: Native lines

    private mutating func routeNative(_ line: [UInt8], id: String) -> RouteDecision {
        let parsed: DumpLine
        switch LineParsing.native(line) {
        case .success(let value): parsed = value
        case .failure(let error): return .reject(error.reason)
        }
        let native = [ClusterLayout.formatHeader: LineFormat.native.rawValue]
        switch parsed {
        case .header:
            return .skip
        case .summary(.store):
            return .publish((0..<self.partitioner.partitions).map { RoutedPublish(partition: $0, msgID: "\(id).\($0)", headers: native) })
        case .summary(.conversation(let business, let customer, _, _)):
            return .publish([RoutedPublish(partition: self.conversationPartition(business, customer), msgID: id, headers: native)])
        case .summary(.charges(let business, _, _)):
            return .publish([RoutedPublish(partition: self.partitioner.partition(business: business, customer: ""), msgID: id, headers: native)])
        case .event(let event):
            switch self.partition(of: event, line: line) {
            case .success(let p): return .publish([RoutedPublish(partition: p, msgID: id, headers: native)])
            case .failure(let reason): return .reject(reason.text)
            }
        }
    }

    private struct Unroutable: Error { var text: String }

    private mutating func partition(of event: Event, line: [UInt8]) -> Result<Int, Unroutable> {
        switch event {
        case .message(let m):
            let p = self.conversationPartition(m.business, m.customer)
            if m.direction == .outbound { self.messagePartitions[Self.messageKey(m.business, m.id)] = Int32(p) }
            return .success(p)
        case .control(let c):
            return .success(self.conversationPartition(c.business, c.customer))
        case .link(let link):
            return self.link(link).map { self.partitioner.partition(business: link.business, customer: link.phone) }
        case .status(let s):
            if let customer = Self.statusCustomer(line) { return .success(self.conversationPartition(s.business, customer)) }
            if let p = self.messagePartitions[Self.messageKey(s.business, s.messageID)] { return .success(Int(p)) }
            return .failure(Unroutable(text: "status of message \(Display.quoted(s.messageID)): the line has no customer field and its message was not published earlier in this run, so its partition is unknown (add \"customer\" to the status line)"))
        }
    }

    /// The partition of (business, customer), with a linked user id routed as its phone number.
    private mutating func conversationPartition(_ business: String, _ customer: String) -> Int {
        let key = business + "\u{FF}" + customer
        if let phone = self.linkedPhones[key] { return self.partitioner.partition(business: business, customer: phone) }
        let p = self.partitioner.partition(business: business, customer: customer)
        if CustomerIDShape.isUserID(customer) { self.unlinkedUserIDs[key] = p }
        return p
    }

    /// Learns a link; fails if the user id's events already went to another partition than the phone's.
    private mutating func link(_ link: IdentityLink) -> Result<Void, Unroutable> {
        let key = link.business + "\u{FF}" + link.userID
        let phonePartition = self.partitioner.partition(business: link.business, customer: link.phone)
        if let earlier = self.unlinkedUserIDs[key], earlier != phonePartition {
            return .failure(Unroutable(text: "link of user id \(Display.quoted(link.userID)) to \(Display.quoted(link.phone)): events of the user id were published to partition \(earlier) before it, and the phone number's conversation is in partition \(phonePartition); a partitioned cluster cannot merge them (publish links before the user id's events)"))
        }
        self.unlinkedUserIDs[key] = nil
        self.linkedPhones[key] = link.phone
        return .success(())
    }

    private static func messageKey(_ business: String, _ id: String) -> UInt64 {
        var h = FNV1a64()
        h.add(business.utf8)
        h.add(0xFF)
        h.add(id.utf8)
        return h.value
    }

    /// The optional `customer` of a native status line (the store's parser ignores it).
    private static func statusCustomer(_ line: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return nil }
        return object["customer"] as? String
    }

    // MARK: Webhook deliveries

    private mutating func routeWebhook(_ line: [UInt8], id: String) -> RouteDecision {
        let delivery: WebhookDelivery
        switch LineParsing.webhook(line) {
        case .success(let value): delivery = value
        case .failure(let error): return .reject(error.reason)
        }
        var itemsByPartition: [Int: [Int]] = [:]
        for (index, item) in delivery.items.enumerated() {
            let p: Int
            switch item {
            case .event(.link(let link)):
                switch self.link(link) {
                case .success: p = self.partitioner.partition(business: link.business, customer: link.phone)
                case .failure(let reason): return .reject(reason.text)
                }
            case .event(let event):
                switch self.partition(of: event, line: line) {
                case .success(let partition): p = partition
                case .failure(let reason): return .reject(reason.text)
                }
            case .outboundStatus(_, let implied):
                p = self.conversationPartition(implied.business, implied.customer)
                self.messagePartitions[Self.messageKey(implied.business, implied.id)] = Int32(p)
            }
            itemsByPartition[p, default: []].append(index)
        }
        guard !itemsByPartition.isEmpty else { return .skip }
        return .publish(itemsByPartition.keys.sorted().map { p in
            RoutedPublish(partition: p, msgID: "\(id).\(p)", headers: [
                ClusterLayout.formatHeader: LineFormat.webhook.rawValue,
                ClusterLayout.itemsHeader: itemsByPartition[p]!.map(String.init).joined(separator: ","),
            ])
        })
    }
}

/// How a customer id looks: a phone number is digits; anything else may be a business-scoped user id.
enum CustomerIDShape {
    static func isUserID(_ customer: String) -> Bool {
        !customer.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
