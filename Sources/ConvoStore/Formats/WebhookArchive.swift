// The webhook archive format (docs/contract.md, "Webhook archive format"): JSON Lines, each line the
// body of one webhook delivery of the WhatsApp Cloud API, converted to the store's events. The mapping,
// field by field, with the platform pages it follows, is in docs/webhooks.md.
//
// A delivery is `{"object":"whatsapp_business_account","entry":[{"id":…,"changes":[{"field":…,"value":{…}}]}]}`.
// Four fields carry events:
// - `messages`: `value.messages[]` are inbound messages, `value.statuses[]` statuses of outbound ones;
// - `user_preferences`: `value.user_preferences[]` are marketing opt-outs (`stop`) and opt-ins (`resume`);
// - `smb_message_echoes`: `value.message_echoes[]` are outbound messages sent from the business app;
// - `calls`: a user-initiated call's `connect` in `value.calls[]` is an inbound event of kind `call`.
// In each, `value.contacts[]` entries and the parts themselves may name one customer by both a phone number
// and a business-scoped user id: such pairs become identity links, listed before the delivery's events.
// Everything else a delivery may hold (other fields, system notices, group messages, edits and revokes,
// `value.errors[]`, statuses such as `deleted` or `played`, call statuses, business-initiated calls) is
// skipped and counted. Keys the converter does not read (`context`, `conversation`, `errors` of a failed
// status, parent user ids, ...) are ignored.

/// One webhook delivery line, converted.
package struct WebhookDelivery: Sendable, Hashable {
    /// What the delivery records: first its identity links (each once, in the order the delivery names
    /// them), then its events in the order the delivery lists them: entries, then changes, then within a
    /// change its messages, statuses, user preferences, echoes or calls.
    package var items: [WebhookItem]
    /// Parts of the delivery that record nothing (other `field`s, system notices, group messages, edits...): skipped and counted, not errors.
    package var skipped: Int

    /// Makes a converted delivery.
    package init(items: [WebhookItem] = [], skipped: Int = 0) {
        self.items = items
        self.skipped = skipped
    }
}

/// One thing a webhook delivery records.
package enum WebhookItem: Sendable, Hashable {
    /// An inbound or echoed outbound message, a marketing preference control, or an identity link.
    case event(Event)
    /// A status of an outbound message, with the platform's pricing when the status carried it;
    /// `impliedMessage` is the outbound message it implies (recorded at the status's time, if the id is
    /// unknown to the store: pricing.category "service" -> kind "text" non-template;
    /// marketing/utility/authentication -> kind "template" with that category; no pricing -> kind "text").
    case outboundStatus(StatusUpdate, impliedMessage: Message)
}

/// Reads webhook archive lines (WhatsApp Cloud API webhook deliveries).
package enum WebhookArchive {
    /// The `object` of WhatsApp Business Account deliveries; deliveries of other objects are skipped whole.
    package static let object = "whatsapp_business_account"

    /// Converts one non-blank line, the JSON body of one delivery.
    ///
    /// Throws if the line is not JSON, is not an object with `object` and `entry`, or holds a message,
    /// status, user preference, echo or call that lacks a required field, has a field of the wrong type or
    /// an out-of-range value, or breaks a limit (``Limits``). The reason starts with the field's path, such
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

/// Walks one delivery, collecting identity links and events and counting skipped parts. Paths in errors
/// follow the JSON: `entry[0].changes[1].value.statuses[2].timestamp`.
private struct Converter {
    var delivery = WebhookDelivery()
    /// The delivery's identity links, each once, in the order first named.
    private var links: [WebhookItem] = []
    private var linked: Set<IdentityLink> = []
    private var events: [WebhookItem] = []

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
        // Links first: an event naming only a user id must find its link however the store applies the items.
        self.delivery.items = self.links + self.events
    }

    private mutating func change(_ change: JSONValue, at path: String) throws(DumpLineError) {
        try change.requireObject(at: path)
        let field = try change.string("field", at: path)
        guard Self.fields.contains(field) else {
            // message_template_status_update, account_update, history, smb_app_state_sync, ...
            self.delivery.skipped += 1
            return
        }
        let value = try change.object("value", at: path)
        var business = Business(value: value, at: path + ".value")
        try self.contacts(value, business: &business)
        let valuePath = business.valuePath
        switch field {
        case "messages":
            for (i, message) in try value.optionalArray("messages", at: valuePath).enumerated() {
                try self.message(message, at: "\(valuePath).messages[\(i)]", business: &business)
            }
            for (i, status) in try value.optionalArray("statuses", at: valuePath).enumerated() {
                try self.status(status, at: "\(valuePath).statuses[\(i)]", business: &business)
            }
        case "user_preferences":
            for (i, preference) in try value.optionalArray("user_preferences", at: valuePath).enumerated() {
                try self.userPreference(preference, at: "\(valuePath).user_preferences[\(i)]", business: &business)
            }
        case "smb_message_echoes":
            for (i, echo) in try value.optionalArray("message_echoes", at: valuePath).enumerated() {
                try self.echo(echo, at: "\(valuePath).message_echoes[\(i)]", business: &business)
            }
        default:  // "calls"
            for (i, call) in try value.optionalArray("calls", at: valuePath).enumerated() {
                try self.call(call, at: "\(valuePath).calls[\(i)]", business: &business)
            }
            // RINGING / ACCEPTED / REJECTED of the business's own calls: no customer activity.
            self.delivery.skipped += try value.optionalArray("statuses", at: valuePath).count
        }
        // System-, app- and account-level errors: reports, not events.
        self.delivery.skipped += try value.optionalArray("errors", at: valuePath).count
    }

    /// The `field`s whose changes carry events.
    private static let fields: Set<String> = ["messages", "user_preferences", "smb_message_echoes", "calls"]

    /// `value.messages[i]`: an inbound message, of kind `type`. Skipped: `system` notices (a customer changed
    /// number or user id: from the platform, not the customer), group messages (`group_id`: the platform opens
    /// a window with the whole group, not with the sender, see docs/webhooks.md), and edits and revokes of an
    /// earlier message (`edit`, `revoke`, or an `unsupported` message standing for one): not new messages.
    private mutating func message(_ v: JSONValue, at path: String, business: inout Business) throws(DumpLineError) {
        try v.requireObject(at: path)
        let type = try v.string("type", at: path)
        if type == "system" || v.isGiven("group_id") || Self.changesEarlierMessage(v, type: type) {
            self.delivery.skipped += 1
            return
        }
        let customer = try self.customer(of: v, phone: "from", userID: "from_user_id", at: path, business: &business)
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
        let message = Message(id: id, business: try business.id(), customer: customer.id, direction: .inbound, at: at,
                              kind: type, body: body, bodyIsText: true, entryPoint: entryPoint)
        do {
            try Limits.validate(message)
        } catch {
            throw reason(error, paths: [
                "id": path + ".id", "business": business.path, "customer": customer.path, "at": path + ".timestamp",
                "kind": path + ".type", "category": path + ".type", "body": path + ".text.body", "entry_point": path + ".referral",
            ])
        }
        self.events.append(.event(.message(message)))
    }

    /// Whether a message or echo of `type` edits or revokes (deletes) an earlier one rather than saying
    /// something new. Since June 2026 the platform delivers edits as `unsupported` messages for a while
    /// (docs/webhooks.md): those naming an edit or revoke count too.
    private static func changesEarlierMessage(_ v: JSONValue, type: String) -> Bool {
        switch type {
        case "edit", "revoke": true
        case "unsupported": v["unsupported"]?["type"] == .string("edit") || v["unsupported"]?["type"] == .string("revoke")
        default: false
        }
    }

    /// `value.statuses[i]`: the status of an outbound message, with the platform's pricing and the message it
    /// implies. Statuses other than sent, delivered, read and failed (`deleted`, `warning`, `played`, ...) are
    /// skipped, as are statuses of messages sent to a group (`recipient_type` `group`).
    private mutating func status(_ v: JSONValue, at path: String, business: inout Business) throws(DumpLineError) {
        try v.requireObject(at: path)
        let name = try v.string("status", at: path)
        guard let status = MessageStatus(name: name), v["recipient_type"] != .string("group") else {
            self.delivery.skipped += 1
            return
        }
        let id = try v.string("id", at: path)
        let customer = try self.customer(of: v, phone: "recipient_id", userID: "recipient_user_id", at: path, business: &business)
        let at = try v.unixTime(at: path)
        var category: TemplateCategory?
        var platformPricing: PlatformPricing?
        if let pricing = try v.optionalObject("pricing", at: path) {
            let pricingPath = path + ".pricing"
            let categoryName = try pricing.optionalString("category", at: pricingPath)
            if let categoryName { category = templateCategory(pricing: categoryName) }
            // The platform's own words, kept whole; without a model and a category there is nothing to compare.
            if let model = try pricing.optionalString("pricing_model", at: pricingPath), let categoryName {
                platformPricing = PlatformPricing(model: model, category: categoryName,
                                                  type: try pricing.optionalString("type", at: pricingPath),
                                                  billable: try pricing.optionalBool("billable", at: pricingPath))
            }
        }
        let businessID = try business.id()
        let update = StatusUpdate(business: businessID, messageID: id, status: status, at: at, pricing: platformPricing)
        let implied = Message(id: id, business: businessID, customer: customer.id, direction: .outbound, at: at,
                              kind: category == nil ? "text" : "template", category: category)
        do {
            try Limits.validate(update)
            try Limits.validate(implied)
        } catch {
            throw reason(error, paths: [
                "id": path + ".id", "business": business.path, "customer": customer.path, "at": path + ".timestamp",
                "pricing.pricing_model": path + ".pricing.pricing_model", "pricing.category": path + ".pricing.category",
                "pricing.type": path + ".pricing.type",
            ])
        }
        self.events.append(.outboundStatus(update, impliedMessage: implied))
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
        let customer = try self.customer(of: v, phone: "wa_id", userID: "user_id", at: path, business: &business)
        let control = Control(business: try business.id(), customer: customer.id, actor: .customer,
                              action: action, at: try v.unixTime(at: path))
        do {
            try Limits.validate(control)
        } catch {
            throw reason(error, paths: ["business": business.path, "customer": customer.path, "at": path + ".timestamp"])
        }
        self.events.append(.event(.control(control)))
    }

    /// `value.message_echoes[i]`: a message the business sent from the WhatsApp Business app or a linked
    /// device, an outbound message like any other (domain.md, "Other customer activity"), of kind `type`.
    /// A template echo is a template of the category its `template.category` names; without one it is kept
    /// as kind `uncategorized_template`, since a template must have a category (contract). Echoes of edits
    /// and revokes, and echoes to a group, are skipped.
    private mutating func echo(_ v: JSONValue, at path: String, business: inout Business) throws(DumpLineError) {
        try v.requireObject(at: path)
        let type = try v.string("type", at: path)
        if v.isGiven("group_id") || Self.changesEarlierMessage(v, type: type) {
            self.delivery.skipped += 1
            return
        }
        let customer = try self.customer(of: v, phone: "to", userID: "to_user_id", at: path, business: &business)
        let id = try v.string("id", at: path)
        let at = try v.unixTime(at: path)
        var kind = type
        var category: TemplateCategory?
        if type == "template" {
            let name = try v.optionalObject("template", at: path)?.optionalString("category", at: path + ".template")
            category = name.flatMap(templateCategory(pricing:))
            if category == nil { kind = "uncategorized_template" }
        }
        var body: [UInt8]?
        if let text = try v.optionalObject("text", at: path), let textBody = try text.optionalString("body", at: path + ".text") {
            body = Array(textBody.utf8)
        }
        let message = Message(id: id, business: try business.id(), customer: customer.id, direction: .outbound, at: at,
                              kind: kind, category: category, body: body, bodyIsText: true)
        do {
            try Limits.validate(message)
        } catch {
            throw reason(error, paths: [
                "id": path + ".id", "business": business.path, "customer": customer.path, "at": path + ".timestamp",
                "kind": path + ".type", "category": path + ".template.category", "body": path + ".text.body",
            ])
        }
        self.events.append(.event(.message(message)))
    }

    /// `value.calls[i]`: a call. A user-initiated call's `connect` (the call reaching the business, answered
    /// or not) is an inbound event of kind `call` with the call's id: it opens the window as a message does
    /// (domain.md, "Other customer activity"). Its `terminate` is the same call ending, and business-initiated
    /// calls are the business's own activity: both skipped.
    private mutating func call(_ v: JSONValue, at path: String, business: inout Business) throws(DumpLineError) {
        try v.requireObject(at: path)
        guard v["direction"] == .string("USER_INITIATED"), v["event"] == .string("connect") else {
            self.delivery.skipped += 1
            return
        }
        let customer = try self.customer(of: v, phone: "from", userID: "from_user_id", at: path, business: &business)
        let message = Message(id: try v.string("id", at: path), business: try business.id(), customer: customer.id,
                              direction: .inbound, at: try v.unixTime(at: path), kind: "call")
        do {
            try Limits.validate(message)
        } catch {
            throw reason(error, paths: [
                "id": path + ".id", "business": business.path, "customer": customer.path, "at": path + ".timestamp",
            ])
        }
        self.events.append(.event(.message(message)))
    }

    // MARK: Customers and links

    /// The customer a message, status, preference, echo or call names: its phone number (`phone` key) when
    /// there is one, else its business-scoped user id (`userID` key). Naming both links them.
    private mutating func customer(of v: JSONValue, phone phoneKey: String, userID userKey: String, at path: String,
                                   business: inout Business) throws(DumpLineError) -> (id: String, path: String) {
        let phone = try v.optionalString(phoneKey, at: path).map(phoneNumber)
        let userID = try v.optionalString(userKey, at: path)
        if let phone, let userID {
            try self.link(userID: userID, at: "\(path).\(userKey)", phone: phone, at: "\(path).\(phoneKey)", business: &business)
        }
        if let phone { return (phone, "\(path).\(phoneKey)") }
        if let userID { return (userID, "\(path).\(userKey)") }
        throw DumpLineError("\(path).\(phoneKey): required field missing (the customer is \(phoneKey), or \(userKey) when there is no phone number)")
    }

    /// `value.contacts[]`: an entry with both `wa_id` and `user_id` links them. Contacts only describe the
    /// parties the change's parts name, so entries of other shapes are ignored rather than rejected.
    private mutating func contacts(_ value: JSONValue, business: inout Business) throws(DumpLineError) {
        guard case .array(let contacts)? = value["contacts"] else { return }
        for (i, contact) in contacts.enumerated() {
            guard case .string(let phone)? = contact["wa_id"], case .string(let userID)? = contact["user_id"] else { continue }
            let path = "\(business.valuePath).contacts[\(i)]"
            try self.link(userID: userID, at: path + ".user_id", phone: phoneNumber(phone), at: path + ".wa_id", business: &business)
        }
    }

    /// Adds the link of `userID` to `phone` once. Only a business-scoped user id (`CC.digits`) is linked to
    /// a phone number: an id of another form (a parent user id `CC.ENT.digits`, a form the platform adds
    /// later) stays a customer id of its own rather than failing the delivery.
    private mutating func link(userID: String, at userPath: String, phone: String, at phonePath: String,
                               business: inout Business) throws(DumpLineError) {
        guard CustomerID.isUserID(userID), !CustomerID.isUserID(phone) else { return }
        let link = IdentityLink(business: try business.id(), userID: userID, phone: phone)
        guard self.linked.insert(link).inserted else { return }
        do {
            try Limits.validate(link)
        } catch {
            throw reason(error, paths: ["business": business.path, "user_id": userPath, "customer": phonePath])
        }
        self.links.append(.event(.link(link)))
    }
}

/// A phone number as the store keeps it, E.164 without `+`: the platform writes some (an echo's `to`) with
/// a leading `+` and others (`from`, `wa_id`) without, for the same customer.
private func phoneNumber(_ raw: String) -> String {
    guard raw.utf8.first == UInt8(ascii: "+") else { return raw }
    let digits = raw.dropFirst()
    return CustomerID.isPhoneNumber(String(digits)) ? String(digits) : raw
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

/// The template category a status's `pricing.category` (or a template echo's `template.category`) implies,
/// or nil for a non-template message.
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

extension JSONValue {
    /// Whether `key` is present and not null.
    fileprivate func isGiven(_ key: String) -> Bool {
        guard let value = self[key] else { return false }
        return value != .null
    }

    /// An optional boolean (`billable`).
    fileprivate func optionalBool(_ key: String, at path: String) throws(DumpLineError) -> Bool? {
        switch self[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let other?: throw DumpLineError("\(path).\(key): must be a boolean, got \(other.typeName)")
        }
    }
}
