// The native dump format (docs/contract.md, "Native dump format"): one JSON object per line.

/// A line that cannot be imported, and why (a field and what is wrong with it).
package struct DumpLineError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reason, naming the field.
    package var reason: String
    /// Makes an error.
    package init(_ reason: String) { self.reason = reason }
    /// The reason.
    package var description: String { self.reason }
}

/// What one dump line holds.
package enum DumpLine: Sendable, Hashable {
    /// An event to record.
    case event(Event)
    /// The `{"convostore_dump":1}` header.
    case header
    /// What a purge kept of history before the horizon (docs/lifecycle.md).
    case summary(SummaryLine)
}

/// Runs a line parser on the bytes of `line` (the parsers read bytes; tests hand them strings).
func parseText<T>(_ line: String, _ parse: (UnsafeRawBufferPointer) throws(DumpLineError) -> T) throws(DumpLineError) -> T {
    let bytes = Array(line.utf8)
    return try bytes.withUnsafeBytes { buffer in Result { () throws(DumpLineError) -> T in try parse(buffer) } }.get()
}

/// Reads and writes native dump lines.
package enum NativeDump {
    /// The header line `export` writes first.
    package static let header = #"{"convostore_dump":1}"#

    /// Parses one non-blank line.
    package static func parse(_ line: UnsafeRawBufferPointer) throws(DumpLineError) -> DumpLine {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw DumpLineError("invalid JSON at column \(error.column): \(error.reason)")
        }
        guard case .object = value else { throw DumpLineError("line is \(value.typeName), not a JSON object") }
        if let version = value["convostore_dump"], value["type"] == nil {
            guard version == .integer(1) else { throw DumpLineError("convostore_dump: unsupported version (this build reads version 1)") }
            return .header
        }
        let type = try value.string("type", at: nil)
        switch type {
        case "message": return .event(.message(try message(value)))
        case "status": return .event(.status(try status(value)))
        case "control": return .event(.control(try control(value)))
        case "link": return .event(.link(try link(value)))
        case "summary": return .summary(try SummaryLine(value))
        default: throw DumpLineError("type: unknown type \(Display.quoted(type)) (message, status, control, link or summary)")
        }
    }

    /// Parses one non-blank line given as a string.
    package static func parse(_ line: String) throws(DumpLineError) -> DumpLine {
        try parseText(line, parse)
    }

    static func message(_ v: JSONValue) throws(DumpLineError) -> Message {
        let directionName = try v.string("direction", at: nil)
        guard let direction = Direction(name: directionName) else {
            throw DumpLineError("direction: \(Display.quoted(directionName)) is not in or out")
        }
        let kind = try v.optionalString("kind", at: nil) ?? "text"
        var category: TemplateCategory?
        if let name = try v.optionalString("category", at: nil) {
            guard let parsed = TemplateCategory(name: name) else {
                throw DumpLineError("category: \(Display.quoted(name)) is not marketing, utility or authentication")
            }
            category = parsed
        }
        if kind == "template", category == nil { throw DumpLineError("category: required when kind is template") }
        var body: [UInt8]?
        var bodyIsText = true
        let text = try v.optionalString("body", at: nil)
        let encoded = try v.optionalString("body_b64", at: nil)
        if text != nil && encoded != nil { throw DumpLineError("body_b64: a message has body or body_b64, not both") }
        if let text { body = Array(text.utf8) }
        if let encoded {
            guard let bytes = Base64.decode(encoded) else { throw DumpLineError("body_b64: not valid base64") }
            body = bytes
            bodyIsText = false
        }
        var entryPoint: EntryPoint?
        if let entry = v["entry_point"], entry != .null {
            guard case .object = entry else { throw DumpLineError("entry_point: must be an object, got \(entry.typeName)") }
            entryPoint = EntryPoint(source: try entry.optionalScalar("source", at: "entry_point") ?? "",
                                    id: try entry.optionalScalar("id", at: "entry_point") ?? "")
        }
        let message = Message(
            id: try v.string("id", at: nil), business: try v.string("business", at: nil), customer: try v.string("customer", at: nil),
            direction: direction, at: try time(v), kind: kind, category: kind == "template" ? category : nil,
            body: body, bodyIsText: bodyIsText, entryPoint: direction == .inbound ? entryPoint : nil)
        do { try Limits.validate(message) } catch { throw DumpLineError(error.description) }
        return message
    }

    static func status(_ v: JSONValue) throws(DumpLineError) -> StatusUpdate {
        let name = try v.string("status", at: nil)
        guard let status = MessageStatus(name: name) else {
            throw DumpLineError("status: \(Display.quoted(name)) is not sent, delivered, read or failed")
        }
        let update = StatusUpdate(business: try v.string("business", at: nil), messageID: try v.string("id", at: nil), status: status,
                                  at: try time(v), pricing: try pricing(v))
        do { try Limits.validate(update) } catch { throw DumpLineError(error.description) }
        return update
    }

    /// A status line's optional `pricing`, the platform's own pricing of the message as a webhook status
    /// carried it: `pricing_model` and `category` required, `type` and `billable` optional.
    private static func pricing(_ v: JSONValue) throws(DumpLineError) -> PlatformPricing? {
        guard let pricing = try v.optionalObject("pricing", at: nil) else { return nil }
        let billable: Bool?
        switch pricing["billable"] {
        case nil, .null?: billable = nil
        case .bool(let b)?: billable = b
        case let other?: throw DumpLineError("pricing.billable: must be a boolean, got \(other.typeName)")
        }
        return PlatformPricing(model: try pricing.string("pricing_model", at: "pricing"), category: try pricing.string("category", at: "pricing"),
                               type: try pricing.optionalString("type", at: "pricing"), billable: billable)
    }

    static func control(_ v: JSONValue) throws(DumpLineError) -> Control {
        let by = try v.string("by", at: nil)
        guard let actor = Actor(name: by) else { throw DumpLineError("by: \(Display.quoted(by)) is not customer or business") }
        let name = try v.string("action", at: nil)
        guard let action = ControlAction(name: name) else { throw DumpLineError("action: unknown action \(Display.quoted(name))") }
        let control = Control(business: try v.string("business", at: nil), customer: try v.string("customer", at: nil), actor: actor, action: action, at: try time(v))
        do { try Limits.validate(control) } catch { throw DumpLineError(error.description) }
        return control
    }

    /// A `link` line: the business-scoped user id `user_id` is the customer `customer` (a phone number) of `business`.
    static func link(_ v: JSONValue) throws(DumpLineError) -> IdentityLink {
        let link = IdentityLink(business: try v.string("business", at: nil), userID: try v.string("user_id", at: nil),
                                phone: try v.string("customer", at: nil))
        do { try Limits.validate(link) } catch { throw DumpLineError(error.description) }
        return link
    }

    private static func time(_ v: JSONValue) throws(DumpLineError) -> Int64 {
        let value = try v.required("at", at: nil)
        switch value {
        case .integer(let ms):
            guard ms >= 0 else { throw DumpLineError("at: \(ms) is negative (epoch milliseconds)") }
            return ms
        case .string(let text):
            guard let ms = Timestamp.parseRFC3339(text) else { throw DumpLineError("at: \(Display.quoted(text)) is not an RFC 3339 time or epoch milliseconds") }
            return ms
        default:
            throw DumpLineError("at: must be integer epoch milliseconds or an RFC 3339 string, got \(value.typeName)")
        }
    }

    // MARK: Writing

    /// The dump line of a message (without newline).
    package static func line(_ m: Message) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "message")
        w.field("id", m.id)
        w.field("business", m.business)
        w.field("customer", m.customer)
        w.field("direction", m.direction.name)
        w.field("at", m.at)
        w.field("kind", m.kind)
        if let category = m.category { w.field("category", category.name) }
        if let body = m.body {
            if m.bodyIsText, let text = String(validating: body, as: UTF8.self) {
                w.field("body", text)
            } else {
                w.field("body_b64", Base64.encode(body))
            }
        }
        if let entry = m.entryPoint {
            w.objectField("entry_point") { w in
                w.field("source", entry.source)
                w.field("id", entry.id)
            }
        }
        w.endObject()
        return w.string
    }

    /// The dump line of a status (without newline).
    package static func line(_ s: StatusUpdate) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "status")
        w.field("business", s.business)
        w.field("id", s.messageID)
        w.field("status", s.status.name)
        w.field("at", s.at)
        if let pricing = s.pricing {
            w.objectField("pricing") { w in
                w.field("pricing_model", pricing.model)
                w.field("category", pricing.category)
                if let type = pricing.type { w.field("type", type) }
                if let billable = pricing.billable { w.field("billable", billable) }
            }
        }
        w.endObject()
        return w.string
    }

    /// The dump line of an identity link (without newline).
    package static func line(_ link: IdentityLink) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "link")
        w.field("business", link.business)
        w.field("user_id", link.userID)
        w.field("customer", link.phone)
        w.endObject()
        return w.string
    }

    /// The dump line of a control (without newline).
    package static func line(_ c: Control) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "control")
        w.field("business", c.business)
        w.field("customer", c.customer)
        w.field("by", c.actor.name)
        w.field("action", c.action.name)
        w.field("at", c.at)
        w.endObject()
        return w.string
    }
}

/// Standard base64 (RFC 4648) for `body_b64`.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            var n: UInt32 = 0
            var pad = 0
            for k in 0..<4 {
                let c = chars[i + k]
                if c == 61 {
                    guard i + 4 == chars.count, k >= 2 else { return nil }
                    pad += 1
                    n <<= 6
                } else {
                    guard pad == 0 else { return nil }
                    let v = reverse[Int(c)]
                    guard v != 0xFF else { return nil }
                    n = n << 6 | UInt32(v)
                }
            }
            out.append(UInt8(n >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }
}
