// The webhook archive format (docs/contract.md, "Webhook archive format"): JSON Lines, each line the
// body of one webhook delivery of the WhatsApp Cloud API, converted to the store's events.
//
// A delivery is `{"object":"whatsapp_business_account","entry":[{"id":…,"changes":[{"field":…,"value":{…}}]}]}`.
// Only two fields carry events:
// - `messages`: `value.messages[]` are inbound messages, `value.statuses[]` statuses of outbound ones;
// - `user_preferences`: `value.user_preferences[]` are marketing opt-outs (`stop`) and opt-ins (`resume`).
// Everything else a delivery may hold (other fields, system notices, `value.errors[]`, statuses such as
// `deleted` or `warning`) is skipped and counted. Keys the converter does not read (`contacts`, `context`,
// `conversation`, `errors` of a failed status, ...) are ignored.

/// One webhook delivery line, converted.
package struct WebhookDelivery: Sendable, Hashable {
    /// What the delivery records, in the order the delivery lists it: entries, then changes, then within a
    /// change its messages, statuses and user preferences.
    package var items: [WebhookItem]
    /// Parts of the delivery that are not messages, statuses or user preferences (other `field`s, unknown message shapes...): skipped and counted, not errors.
    package var skipped: Int

    /// Makes a converted delivery.
    package init(items: [WebhookItem] = [], skipped: Int = 0) {
        self.items = items
        self.skipped = skipped
    }
}

/// One thing a webhook delivery records.
package enum WebhookItem: Sendable, Hashable {
    /// An inbound message, or a marketing preference control.
    case event(Event)
    /// A status of an outbound message; `impliedMessage` is the outbound message it implies (recorded at the status's time, if the id is unknown to the store: pricing.category "service" -> kind "text" non-template; marketing/utility/authentication -> kind "template" with that category; no pricing -> kind "text").
    case outboundStatus(StatusUpdate, impliedMessage: Message)
}

/// Reads webhook archive lines (WhatsApp Cloud API webhook deliveries).
package enum WebhookArchive {
    /// The `object` of WhatsApp Business Account deliveries; deliveries of other objects are skipped whole.
    package static let object = "whatsapp_business_account"

    /// Converts one non-blank line, the JSON body of one delivery.
    ///
    /// Throws if the line is not JSON, is not an object with `object` and `entry`, or holds a message,
    /// status or user preference that lacks a required field, has a field of the wrong type or an
    /// out-of-range value, or breaks a limit (``Limits``). The reason starts with the field's path, such
    /// as `entry[0].changes[0].value.messages[1].from: required field missing`.
    package static func parse(_ line: UnsafeRawBufferPointer) throws(DumpLineError) -> WebhookDelivery {
        let root: JSONValue
        do {
            root = try JSONParser.parse(line)
        } catch {
            throw DumpLineError("invalid JSON at column \(error.column): \(error.reason)")
        }
        guard case .object = root else { throw DumpLineError("line is \(root.typeName), not a JSON object") }
        var converter = Converter()
        try converter.convert(root)
        return converter.delivery
    }

    /// Converts one non-blank line given as a string.
    package static func parse(_ line: String) throws(DumpLineError) -> WebhookDelivery {
        try parseText(line, parse)
    }
}

// MARK: - Conversion

/// Walks one delivery, appending items and counting skipped parts. Paths in errors follow the JSON:
/// `entry[0].changes[1].value.statuses[2].timestamp`.
private struct Converter {
    var delivery = WebhookDelivery()

    mutating func convert(_ root: JSONValue) throws(DumpLineError) {
        let object = try root.string("object", at: nil)
        let entries = try root.array("entry", at: nil)
        guard object == WebhookArchive.object else {
            // Another product's delivery (Messenger, Instagram...) archived alongside: not ours to convert.
            self.delivery.skipped += 1
            return
        }
        for (e, entry) in entries.enumerated() {
            let entryPath = "entry[\(e)]"
            try entry.requireObject(at: entryPath)
            for (c, change) in try entry.array("changes", at: entryPath).enumerated() {
                try self.change(change, at: "\(entryPath).changes[\(c)]")
            }
        }
    }

    private mutating func change(_ change: JSONValue, at path: String) throws(DumpLineError) {
        try change.requireObject(at: path)
        let field = try change.string("field", at: path)
        switch field {
        case "messages":
            let value = try change.object("value", at: path)
            var business = Business(value: value, at: path + ".value")
            for (i, message) in try value.optionalArray("messages", at: business.valuePath).enumerated() {
                try self.message(message, at: "\(business.valuePath).messages[\(i)]", business: &business)
            }
            for (i, status) in try value.optionalArray("statuses", at: business.valuePath).enumerated() {
                try self.status(status, at: "\(business.valuePath).statuses[\(i)]", business: &business)
            }
            // System-, app- and account-level errors: reports, not events.
            self.delivery.skipped += try value.optionalArray("errors", at: business.valuePath).count
        case "user_preferences":
            let value = try change.object("value", at: path)
            var business = Business(value: value, at: path + ".value")
            for (i, preference) in try value.optionalArray("user_preferences", at: business.valuePath).enumerated() {
                try self.userPreference(preference, at: "\(business.valuePath).user_preferences[\(i)]", business: &business)
            }
        default:
            // message_template_status_update, account_update, history, smb_message_echoes, calls, ...
            self.delivery.skipped += 1
        }
    }

    /// `value.messages[i]`: an inbound message, of kind `type`. `system` notices (a customer changed number
    /// or identity) come from the platform, not the customer, and are skipped.
    private mutating func message(_ v: JSONValue, at path: String, business: inout Business) throws(DumpLineError) {
        try v.requireObject(at: path)
        let type = try v.string("type", at: path)
        if type == "system" {
            self.delivery.skipped += 1
            return
        }
        let customer = try v.string("from", at: path)
        let id = try v.string("id", at: path)
        let at = try v.unixTime(at: path)
        var body: [UInt8]?
        if let text = try v.optionalObject("text", at: path), let textBody = try text.optionalString("body", at: path + ".text") {
            body = Array(textBody.utf8)
        }
        var entryPoint: EntryPoint?
        if let referral = try v.optionalObject("referral", at: path) {
            entryPoint = EntryPoint(source: try referral.optionalScalar("source_type", at: path + ".referral") ?? "",
                                    id: try referral.optionalScalar("source_id", at: path + ".referral") ?? "")
        }
        let message = Message(id: id, business: try business.id(), customer: customer, direction: .inbound, at: at,
                              kind: type, body: body, bodyIsText: true, entryPoint: entryPoint)
        do {
            try Limits.validate(message)
        } catch {
            throw reason(error, paths: [
                "id": path + ".id", "business": business.path, "customer": path + ".from", "at": path + ".timestamp",
                "kind": path + ".type", "category": path + ".type", "body": path + ".text.body", "entry_point": path + ".referral",
            ])
        }
        self.delivery.items.append(.event(.message(message)))
    }

    /// `value.statuses[i]`: the status of an outbound message, with the message it implies. Statuses other
    /// than sent, delivered, read and failed (`deleted`, `warning`, ...) are skipped.
    private mutating func status(_ v: JSONValue, at path: String, business: inout Business) throws(DumpLineError) {
        try v.requireObject(at: path)
        let name = try v.string("status", at: path)
        guard let status = MessageStatus(name: name) else {
            self.delivery.skipped += 1
            return
        }
        let id = try v.string("id", at: path)
        let customer = try v.string("recipient_id", at: path)
        let at = try v.unixTime(at: path)
        var category: TemplateCategory?
        if let pricing = try v.optionalObject("pricing", at: path),
           let name = try pricing.optionalString("category", at: path + ".pricing") {
            category = templateCategory(pricing: name)
        }
        let businessID = try business.id()
        let update = StatusUpdate(business: businessID, messageID: id, status: status, at: at)
        let implied = Message(id: id, business: businessID, customer: customer, direction: .outbound, at: at,
                              kind: category == nil ? "text" : "template", category: category)
        do {
            try Limits.validate(update)
            try Limits.validate(implied)
        } catch {
            throw reason(error, paths: [
                "id": path + ".id", "business": business.path, "customer": path + ".recipient_id", "at": path + ".timestamp",
            ])
        }
        self.delivery.items.append(.outboundStatus(update, impliedMessage: implied))
    }

    /// `value.user_preferences[i]`: the customer stops (`stop`) or resumes (`resume`) marketing messages.
    /// Other categories or values are skipped.
    private mutating func userPreference(_ v: JSONValue, at path: String, business: inout Business) throws(DumpLineError) {
        try v.requireObject(at: path)
        let category = try v.string("category", at: path)
        let value = try v.string("value", at: path)
        let action: ControlAction
        switch (category, value) {
        case ("marketing_messages", "stop"): action = .marketingOptOut
        case ("marketing_messages", "resume"): action = .marketingOptIn
        default:
            self.delivery.skipped += 1
            return
        }
        let control = Control(business: try business.id(), customer: try v.string("wa_id", at: path), actor: .customer,
                              action: action, at: try v.unixTime(at: path))
        do {
            try Limits.validate(control)
        } catch {
            throw reason(error, paths: ["business": business.path, "customer": path + ".wa_id", "at": path + ".timestamp"])
        }
        self.delivery.items.append(.event(.control(control)))
    }
}

/// The business of a change, `value.metadata.phone_number_id`, read when the first event needs it: a change
/// holding only skipped parts does not need one.
private struct Business {
    let value: JSONValue
    /// The path of the change's `value`.
    let valuePath: String
    private var cached: String?

    init(value: JSONValue, at valuePath: String) {
        self.value = value
        self.valuePath = valuePath
    }

    /// The path of the business id, for errors.
    var path: String { self.valuePath + ".metadata.phone_number_id" }

    mutating func id() throws(DumpLineError) -> String {
        if let cached { return cached }
        let metadata = try self.value.object("metadata", at: self.valuePath)
        let id = try metadata.string("phone_number_id", at: self.valuePath + ".metadata")
        self.cached = id
        return id
    }
}

/// The template category a status's `pricing.category` implies, or nil for a non-template message.
///
/// `service` is a non-template message, as is `referral_conversion` (a free entry point conversation under
/// conversation-based pricing). `marketing_lite` (Marketing Messages Lite API) is a marketing template and
/// `authentication-international` an authentication template. A category the platform adds later reads as
/// non-template, as when there is no pricing at all: a new category is no reason to reject a delivery.
private func templateCategory(pricing category: String) -> TemplateCategory? {
    switch category {
    case "marketing", "marketing_lite": .marketing
    case "utility": .utility
    case "authentication", "authentication-international", "authentication_international": .authentication
    default: nil
    }
}

/// A limit error of `Limits`, its field (named as in native dumps) replaced by the webhook path it came from.
private func reason(_ error: ConvoStoreError, paths: [String: String]) -> DumpLineError {
    switch error {
    case .limitExceeded(let field, let limit, let actual):
        DumpLineError("\(paths[field] ?? field): \(actual) bytes, over the limit of \(limit)")
    case .invalidField(let field, let reason):
        DumpLineError("\(paths[field] ?? field): \(reason)")
    default:
        DumpLineError(error.description)
    }
}

// MARK: - Fields

/// The latest Unix time in seconds the store accepts: 9999-12-31T23:59:59Z (see `Limits`).
private let maxUnixSeconds: Int64 = Limits.times.upperBound / 1000

extension JSONValue {
    /// `timestamp`, Unix time in seconds as a string of digits (messages, statuses) or an integer (user
    /// preferences), in epoch milliseconds.
    fileprivate func unixTime(at path: String) throws(DumpLineError) -> Int64 {
        let fieldPath = path + ".timestamp"
        let value = try self.required("timestamp", at: path)
        let seconds: Int64
        switch value {
        case .string(let text):
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw DumpLineError("\(fieldPath): \(Display.quoted(text)) is not Unix time in seconds")
            }
            guard let parsed = Int64(text), parsed <= maxUnixSeconds else { throw Self.tooLate(Display.safe(text), at: fieldPath) }
            seconds = parsed
        case .integer(let n):
            guard n >= 0 else { throw DumpLineError("\(fieldPath): \(n) is negative (Unix time in seconds)") }
            guard n <= maxUnixSeconds else { throw Self.tooLate(String(n), at: fieldPath) }
            seconds = n
        default:
            throw DumpLineError("\(fieldPath): must be Unix time in seconds (a string of digits or an integer), got \(value.typeName)")
        }
        return seconds * 1000
    }

    private static func tooLate(_ seconds: String, at path: String) -> DumpLineError {
        DumpLineError("\(path): \(seconds) is after 9999-12-31T23:59:59Z (Unix time in seconds)")
    }
}
