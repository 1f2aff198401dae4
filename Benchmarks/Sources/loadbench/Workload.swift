import Foundation

/// What a workload event is. The raw values order events that share a millisecond (see ``Workload``).
enum EventKind: UInt8, Sendable {
    case control = 0
    case inbound = 1
    case reply = 2
    case template = 3
    case status = 4
}

/// One event of the stream, compact (24 bytes) so that tens of millions fit in memory. Ids are
/// derived from the numbers: see ``Workload/businessID(_:)`` and friends.
struct WorkloadEvent: Sendable {
    /// Epoch milliseconds.
    var at: Int64
    /// Index into ``Workload/conversations``.
    var conversation: UInt32
    /// The message number (its id is `wamid.<number>`); for a status, the message it is about.
    var message: UInt32
    var kind: EventKind
    /// inbound: 1 if it came through an entry point; template: category raw value;
    /// status: status raw value; control: ``ControlChoice`` raw value.
    var detail: UInt8
    /// Body length in bytes (messages only); bodies are slices of ``Workload/bodyBytes``.
    var bodyLength: UInt8
}

/// A (business, customer) pair.
struct WorkloadConversation: Sendable {
    var business: UInt32
    var customer: UInt32
}

/// The controls the generator issues, with who issues them.
enum ControlChoice: UInt8, CaseIterable, Sendable {
    case customerOptIn, customerMarketingOptOut, customerRestrict, customerUnrestrict
    case customerBlock, customerUnblock, customerReportSpam, businessBlock, businessUnblock
}

/// The event stream every engine replays: deterministic from a seed.
///
/// N customers, each talking to 1 to 3 of 10,000 businesses chosen with a Zipf distribution; about 3
/// events per customer over 3 simulated days: 50% inbound, 35% outbound replies, 8% templates,
/// 5% statuses, 2% controls. Events are in time order, and within one millisecond controls come
/// first, then inbound, then outbound, then statuses: the SQLite engine applies the rules in
/// arrival order and relies on this (ConvoStore does not need it).
///
/// The three days run from 2026-09-29 to 2026-10-02 (UTC), so they cross a UTC month boundary (volume
/// tiers start again) and the service-charge date 2026-10-01 (R7): the live phase, at the end, prices
/// service messages. Customers have phone numbers of several markets (``customerID(_:)``).
struct Workload: Sendable {
    static let businessCount = 10_000
    static let start: Int64 = 1_790_640_000_000  // 2026-09-29T00:00:00Z
    static let duration: Int64 = 3 * 86_400_000
    static let end = start + duration
    static let hour: Int64 = 3_600_000

    let users: Int
    let seed: UInt64
    let conversations: [WorkloadConversation]
    let events: [WorkloadEvent]
    /// Conversations with at least one event, and message events (inbound, replies, templates).
    let activeConversations: Int
    let messageCount: Int
    /// Random bytes that bodies are cut from (opaque ciphertext-like content).
    let bodyBytes: [UInt8]

    init(users: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let zipf = Zipf(count: Self.businessCount, exponent: 1.0)
        var conversations: [WorkloadConversation] = []
        conversations.reserveCapacity(users * 2)
        for customer in 0..<users {
            var chosen: [UInt32] = []
            for _ in 0..<(1 + rng.next(below: 3)) {
                let business = UInt32(zipf.sample(&rng))
                if !chosen.contains(business) { chosen.append(business) }
            }
            for business in chosen { conversations.append(WorkloadConversation(business: business, customer: UInt32(customer))) }
        }

        let total = users * 3
        var events: [WorkloadEvent] = []
        events.reserveCapacity(total)
        func message(_ kind: EventKind, _ conversation: UInt32, _ at: Int64, detail: UInt8, rng: inout SplitMix64) -> WorkloadEvent {
            WorkloadEvent(
                at: at, conversation: conversation, message: UInt32(events.count), kind: kind, detail: detail,
                bodyLength: UInt8(20 + rng.next(below: 100)))
        }
        func randomTime(_ rng: inout SplitMix64) -> Int64 { Self.start + Int64(rng.next(below: UInt64(Self.duration))) }

        let inboundCount = total * 50 / 100
        for _ in 0..<inboundCount {
            let conversation = UInt32(rng.next(below: UInt64(conversations.count)))
            let entryPoint: UInt8 = rng.next(below: 10) == 0 ? 1 : 0
            events.append(message(.inbound, conversation, randomTime(&rng), detail: entryPoint, rng: &rng))
        }
        // An event some time after a random inbound, inside the three days (drawn again if not).
        func after(_ delay: (inout SplitMix64) -> Int64, _ rng: inout SplitMix64) -> (UInt32, Int64) {
            while true {
                let inbound = events[Int(rng.next(below: UInt64(inboundCount)))]
                let at = inbound.at + delay(&rng)
                if at < Self.end { return (inbound.conversation, at) }
            }
        }
        // Most replies come within the hour; one in ten anywhere in two days (late, or outside the window).
        let replyDelay: (inout SplitMix64) -> Int64 = { rng in
            rng.next(below: 10) == 0
                ? 1 + Int64(rng.next(below: UInt64(48 * Self.hour)))
                : 1 + Int64(-log(rng.unit()) * Double(Self.hour) / 2)
        }
        for _ in 0..<(total * 35 / 100) {
            let (conversation, at) = after(replyDelay, &rng)
            events.append(message(.reply, conversation, at, detail: 0, rng: &rng))
        }
        // Templates: 60% follow a customer's message (inside or after the window), 40% are business-initiated.
        for _ in 0..<(total * 8 / 100) {
            let category = UInt8([0, 0, 0, 0, 0, 1, 1, 1, 2, 2][Int(rng.next(below: 10))])  // marketing, utility, authentication
            let (conversation, at) = rng.next(below: 10) < 6
                ? after({ rng in Int64(rng.next(below: UInt64(48 * Self.hour))) }, &rng)
                : (UInt32(rng.next(below: UInt64(conversations.count))), randomTime(&rng))
            events.append(message(.template, conversation, at, detail: category, rng: &rng))
        }
        let outbound = inboundCount..<events.count
        for _ in 0..<(total * 5 / 100) {
            while true {
                let target = events[Int(rng.next(below: UInt64(outbound.count))) + outbound.lowerBound]
                let at = target.at + 1 + Int64(rng.next(below: 60_000))
                guard at < Self.end else { continue }
                let status = UInt8([1, 2, 2, 2, 3, 3, 3, 3, 1, 4][Int(rng.next(below: 10))])  // sent, delivered, read, failed
                events.append(WorkloadEvent(at: at, conversation: target.conversation, message: target.message, kind: .status, detail: status, bodyLength: 0))
                break
            }
        }
        let controlWeights: [(ControlChoice, UInt64)] = [
            (.customerOptIn, 35), (.customerMarketingOptOut, 15), (.customerRestrict, 10), (.customerUnrestrict, 5),
            (.customerBlock, 10), (.customerUnblock, 10), (.customerReportSpam, 5), (.businessBlock, 5), (.businessUnblock, 5),
        ]
        for _ in 0..<(total - events.count) {
            var pick = rng.next(below: 100)
            var choice = ControlChoice.customerOptIn
            for (candidate, weight) in controlWeights {
                if pick < weight { choice = candidate; break }
                pick -= weight
            }
            events.append(WorkloadEvent(
                at: randomTime(&rng), conversation: UInt32(rng.next(below: UInt64(conversations.count))), message: 0,
                kind: .control, detail: choice.rawValue, bodyLength: 0))
        }
        // Message numbers are generation indexes, so the sort below keeps them unique.
        events.sort { ($0.at, $0.kind.rawValue, $0.message) < ($1.at, $1.kind.rawValue, $1.message) }

        var touched = [Bool](repeating: false, count: conversations.count)
        var messages = 0
        for event in events {
            touched[Int(event.conversation)] = true
            if event.kind != .status && event.kind != .control { messages += 1 }
        }
        self.users = users
        self.seed = seed
        self.conversations = conversations
        self.events = events
        self.activeConversations = touched.lazy.filter { $0 }.count
        self.messageCount = messages
        self.bodyBytes = (0..<256).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// A workload as loaded from its file (WorkloadFile.swift).
    init(
        users: Int, seed: UInt64, conversations: [WorkloadConversation], events: [WorkloadEvent], activeConversations: Int,
        messageCount: Int, bodyBytes: [UInt8]
    ) {
        self.users = users
        self.seed = seed
        self.conversations = conversations
        self.events = events
        self.activeConversations = activeConversations
        self.messageCount = messageCount
        self.bodyBytes = bodyBytes
    }

    // Business and customer ids of at most 15 bytes, so Swift keeps them inline without allocating.

    /// `1555` and 7 digits, as a phone number.
    static func businessID(_ index: UInt32) -> String { "1555" + Self.padded(index, digits: 7) }
    /// A phone number of 12 to 15 digits in one of several markets, chosen from the index: IN 30%,
    /// BR 15%, US (north_america) 12%, ID 10%, GB 9%, DE 8%, MX 6%, and 10% of no listed market
    /// (South Korea +82, DR Congo +243: market `other`). The index is its last 9 digits.
    static func customerID(_ index: UInt32) -> String { Self.marketPrefixes[Int(Self.marketSlot(index))] + Self.padded(index, digits: 9) }

    /// The calling-code prefixes of ``customerID(_:)``, 100 slots by weight.
    private static let marketPrefixes: [String] = {
        let weights: [(String, Int)] = [
            ("9198", 30), ("5511", 15), ("1202", 12), ("6281", 10), ("447700", 9), ("4915", 8), ("5255", 6), ("8210", 6), ("24381", 4),
        ]
        return weights.flatMap { prefix, weight in Array(repeating: prefix, count: weight) }
    }()

    /// A slot in `0..<100` from the customer's index, scrambled so that markets do not follow the index.
    private static func marketSlot(_ index: UInt32) -> UInt64 {
        var z = UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return (z ^ (z >> 29)) % 100
    }
    /// The generator's version, recorded with a kept import (`--imports`), which another refuses.
    /// 2: message ids as long as the platform's.
    static let version = 2

    /// A message id shaped like the platform's: `wamid.` and 52 characters of the base64 alphabet
    /// (58 bytes; the platform's are a base64 protobuf of about that length). The first 11 characters
    /// spell a bijective scramble of the number, so ids are unique and their order is not the
    /// messages'; the other 41 follow from it. Ids of this length, rather than short ones, are what
    /// an id index's keys cost in practice (docs/performance.md, "Where a live event's pages go").
    static func messageID(_ number: UInt32) -> String {
        var z = UInt64(number) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        var bytes = Array("wamid.".utf8)
        bytes.reserveCapacity(58)
        var value = z
        for _ in 0..<11 {
            bytes.append(Self.base64[Int(value & 63)])
            value >>= 6
        }
        var state = z
        for _ in 0..<41 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes.append(Self.base64[Int(state >> 58)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let base64 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static func padded(_ value: UInt32, digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    func body(_ event: WorkloadEvent) -> ArraySlice<UInt8> { self.bodyBytes[0..<Int(event.bodyLength)] }
}

/// SplitMix64: small, fast and deterministic across platforms.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (the modulo bias is negligible for the bounds used here).
    mutating func next(below bound: UInt64) -> UInt64 { self.next() % bound }

    /// Uniform in (0, 1].
    mutating func unit() -> Double { Double((self.next() >> 11) + 1) / Double(1 << 53) }
}

/// Zipf over `0..<count`: rank r is drawn with probability proportional to 1 / (r + 1)^exponent.
struct Zipf: Sendable {
    private let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var sum = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(count)
        for rank in 1...count {
            sum += 1 / pow(Double(rank), exponent)
            cumulative.append(sum)
        }
        self.cumulative = cumulative.map { $0 / sum }
    }

    func sample(_ rng: inout SplitMix64) -> Int {
        let u = rng.unit()
        var low = 0
        var high = self.cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if self.cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
