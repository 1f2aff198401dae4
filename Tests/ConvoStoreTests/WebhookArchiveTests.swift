import ConvoStore
import Foundation
import Testing

// Golden fixtures of WhatsApp Cloud API webhook deliveries (Fixtures/webhook, one delivery per line, their
// sources in its README.md), converted by `WebhookArchive.parse`. Found relative to this file, not through a
// resource bundle. The helpers here are shared with the other Webhook*Tests files.

let webhookFixtureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("webhook")

/// The non-blank lines of a fixture file.
func fixtureLines(_ name: String) throws -> [String] {
    let text = try String(contentsOf: webhookFixtureDirectory.appendingPathComponent(name), encoding: .utf8)
    return text.split(separator: "\n").map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
}

/// Each line of a fixture file converted, through the byte-buffer entry point an import uses.
func convert(_ name: String) throws -> [WebhookDelivery] {
    try fixtureLines(name).map { line in
        try Array(line.utf8).withUnsafeBytes { buffer in try WebhookArchive.parse(buffer) }
    }
}

/// The reason `line` is rejected with, or nil if it is not.
func rejection(_ line: String) -> String? {
    do {
        _ = try WebhookArchive.parse(line)
        return nil
    } catch {
        return error.reason
    }
}

/// Expected items, in the fixtures' terms: times in Unix seconds, as the webhooks give them.
enum Expect {
    static let business = "106540352242922"
    static let sheena = "16505551234"
    static let zoe = "447700900123"
    /// 2025-07-01T10:00:00Z, in seconds.
    static let t: Int64 = 1_751_364_000

    static func inbound(_ id: String, from customer: String, at seconds: Int64, kind: String, body: String? = nil,
                        entryPoint: EntryPoint? = nil, business: String = business) -> WebhookItem {
        .event(.message(Message(id: id, business: business, customer: customer, direction: .inbound, at: seconds * 1000,
                                kind: kind, body: body.map { Array($0.utf8) }, bodyIsText: true, entryPoint: entryPoint)))
    }

    static func status(_ id: String, _ status: MessageStatus, to customer: String, at seconds: Int64,
                       template category: TemplateCategory? = nil, pricing: PlatformPricing? = nil) -> WebhookItem {
        .outboundStatus(StatusUpdate(business: business, messageID: id, status: status, at: seconds * 1000, pricing: pricing),
                        impliedMessage: Message(id: id, business: business, customer: customer, direction: .outbound,
                                                at: seconds * 1000, kind: category == nil ? "text" : "template", category: category))
    }

    /// A per-message pricing (`PMP`) the way the fixtures' statuses carry it.
    static func pmp(_ category: String, _ type: String, billable: Bool) -> PlatformPricing {
        PlatformPricing(model: "PMP", category: category, type: type, billable: billable)
    }

    static func preference(_ action: ControlAction, by customer: String, at seconds: Int64) -> WebhookItem {
        .event(.control(Control(business: business, customer: customer, actor: .customer, action: action, at: seconds * 1000)))
    }
}

@Suite struct WebhookArchiveGoldenFixtures {
    @Test func textMessages() throws {
        #expect(try convert("text.jsonl") == [
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", from: Expect.sheena, at: Expect.t,
                               kind: "text", body: "Does it come in another color?"),
            ], skipped: 0),
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0E3RjA0QTlDNUI2MTk2QkU1NDgA", from: Expect.zoe, at: Expect.t + 60,
                               kind: "text", body: "Merci ! \"Bleu\", s'il vous plaît \u{2764}\u{FE0F}\nLine 2"),
            ], skipped: 0),
        ])
    }

    @Test func mediaMessagesKeepTheirTypeAndNoBody() throws {
        // A caption is not `text.body`: the contract takes only `text.body` as the body.
        #expect(try convert("media.jsonl") == [
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUJDNEU2OTk2QjEyMzQ1Njc4OQA=", from: Expect.sheena,
                               at: Expect.t + 120, kind: "image"),
            ], skipped: 0),
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ1NkE3QjhDOUQwRTFGMjM0NQA=", from: Expect.sheena,
                               at: Expect.t + 125, kind: "sticker"),
            ], skipped: 0),
        ])
    }

    @Test func interactiveAndButtonReplies() throws {
        #expect(try convert("interactive.jsonl") == [
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQjAxRkNGNUYxQTE0RTVFN0NCRAA=", from: Expect.sheena,
                               at: Expect.t + 300, kind: "interactive"),
            ], skipped: 0),
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQjAyQTlCMkQ0RTVGNjA3MTgyOQA=", from: Expect.sheena,
                               at: Expect.t + 310, kind: "interactive"),
            ], skipped: 0),
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0IwM0M0RDVFNkY3QTg5QjBDMUQA", from: Expect.zoe,
                               at: Expect.t + 320, kind: "button"),
            ], skipped: 0),
        ])
    }

    @Test func referralsBecomeEntryPoints() throws {
        #expect(try convert("referral.jsonl") == [
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0EwMEFEMDAxMjM0NTY3ODlBQkMA", from: Expect.zoe, at: Expect.t + 3600,
                               kind: "text", body: "Hello! Can I get more info on this?",
                               entryPoint: EntryPoint(source: "ad", id: "120226305854810726")),
            ], skipped: 0),
            WebhookDelivery(items: [
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTAwUE9TVDAwOTg3NjU0MzIxMAA=", from: Expect.sheena,
                               at: Expect.t + 3700, kind: "image", entryPoint: EntryPoint(source: "post", id: "987654321")),
            ], skipped: 0),
        ])
    }

    @Test func statusesInEveryOrderWithAndWithoutPricing() throws {
        let marketing = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA"
        let utility = "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSNkQxRjBBM0I1QzdFOUQ4RjIxAA=="
        let service = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI1QjNGOEE4RDJFMUM0QTk2NzcA"
        let authentication = "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQTFCMkMzRDRFNUY2QTdCOEM5AA=="
        let failed = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGQUlMRUQwMDAwMDAwMDAwMDEA"
        let legacy = "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSTEVHQUNZQ0JQMDAwMDAwMDEyAA=="
        let t = Expect.t
        #expect(try convert("statuses.jsonl") == [
            // read first, before anything else of the message exists, and without pricing: implies a non-template
            WebhookDelivery(items: [Expect.status(marketing, .read, to: Expect.sheena, at: t + 7260)], skipped: 0),
            // every status carrying pricing keeps it, as the platform wrote it
            WebhookDelivery(items: [Expect.status(marketing, .delivered, to: Expect.sheena, at: t + 7205, template: .marketing,
                                                  pricing: Expect.pmp("marketing", "regular", billable: true))], skipped: 0),
            WebhookDelivery(items: [Expect.status(marketing, .sent, to: Expect.sheena, at: t + 7200, template: .marketing,
                                                  pricing: Expect.pmp("marketing", "regular", billable: true))], skipped: 0),
            WebhookDelivery(items: [
                Expect.status(utility, .sent, to: Expect.zoe, at: t + 7300, template: .utility,
                              pricing: Expect.pmp("utility", "free_customer_service", billable: false)),
                Expect.status(utility, .delivered, to: Expect.zoe, at: t + 7302, template: .utility,
                              pricing: Expect.pmp("utility", "free_customer_service", billable: false)),
            ], skipped: 0),
            WebhookDelivery(items: [Expect.status(service, .delivered, to: Expect.sheena, at: t + 7400,
                                                  pricing: Expect.pmp("service", "free_customer_service", billable: false))], skipped: 0),
            WebhookDelivery(items: [Expect.status(service, .read, to: Expect.sheena, at: t + 7460)], skipped: 0),
            WebhookDelivery(items: [Expect.status(authentication, .sent, to: Expect.zoe, at: t + 7500, template: .authentication,
                                                  pricing: Expect.pmp("authentication", "regular", billable: true))], skipped: 0),
            WebhookDelivery(items: [Expect.status(failed, .failed, to: Expect.sheena, at: t + 7600)], skipped: 0),
            WebhookDelivery(items: [Expect.status(legacy, .sent, to: Expect.zoe, at: 1_750_857_384, template: .marketing,
                                                  pricing: PlatformPricing(model: "CBP", category: "marketing", billable: true))], skipped: 0),
            // deleted and warning are skipped and counted; the read beside them is kept
            WebhookDelivery(items: [Expect.status(service, .read, to: Expect.sheena, at: t + 7702)], skipped: 2),
        ])
    }

    @Test func userPreferencesBecomeMarketingControls() throws {
        #expect(try convert("user_preferences.jsonl") == [
            WebhookDelivery(items: [Expect.preference(.marketingOptOut, by: Expect.sheena, at: Expect.t + 86_400)], skipped: 0),
            WebhookDelivery(items: [Expect.preference(.marketingOptIn, by: Expect.sheena, at: Expect.t + 172_800)], skipped: 0),
        ])
    }

    @Test func severalEntriesAndChangesInOneDelivery() throws {
        let t = Expect.t
        #expect(try convert("multi.jsonl") == [
            WebhookDelivery(items: [
                // the contact and the first message name Sheena by phone number and user id: one link, first
                .event(.link(IdentityLink(business: Expect.business, userID: "US.13491208655302741918", phone: Expect.sheena))),
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQU1VTFRJMDAwMDAwMDAwMDEA", from: Expect.sheena, at: t + 9000,
                               kind: "text", body: "first"),
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQU1VTFRJMDAwMDAwMDAwMDIA", from: Expect.sheena, at: t + 9001,
                               kind: "reaction"),
                // the system notice (number change) in between is skipped
                Expect.inbound("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQU1VTFRJMDAwMDAwMDAwMDQA", from: Expect.sheena, at: t + 9003,
                               kind: "unsupported"),
                Expect.status("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI1QjNGOEE4RDJFMUM0QTk2NzcA", .read, to: Expect.sheena, at: t + 9004),
                Expect.preference(.marketingOptOut, by: Expect.zoe, at: t + 9005),
                // the second entry, another business phone number
                Expect.inbound("wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0FNVUxUSTJfMDAwMDAwMDAwMDEA", from: Expect.zoe, at: t + 9100,
                               kind: "location", business: "110200345501442"),
            ], skipped: 3),  // the system notice, the template status update, the value-level error
        ])
    }

    @Test func deliveriesWithNothingToRecordAreSkippedAndCounted() throws {
        #expect(try convert("unknown_fields.jsonl") == [
            WebhookDelivery(items: [], skipped: 1),  // message_template_status_update
            WebhookDelivery(items: [], skipped: 1),  // phone_number_quality_update
            WebhookDelivery(items: [], skipped: 2),  // message_template_quality_update and account_update
            WebhookDelivery(items: [], skipped: 1),  // a messages change holding only value.errors[]
            WebhookDelivery(items: [], skipped: 1),  // a Messenger ("page") delivery
            WebhookDelivery(items: [], skipped: 0),  // no changes at all
        ])
    }

    @Test func everyMalformedLineIsRejectedWithItsReason() throws {
        let lines = try fixtureLines("malformed.jsonl")
        let reasons = try fixtureLines("malformed.reasons")
        try #require(lines.count == reasons.count, "one expected reason per malformed line")
        #expect(lines.count >= 30)
        for (number, (line, expected)) in zip(lines, reasons).enumerated() {
            let reason = rejection(line)
            #expect(reason?.contains(expected) == true, "malformed.jsonl:\(number + 1): expected \"\(expected)\", got \(reason.map { "\"\($0)\"" } ?? "no error")")
        }
    }

    @Test func goldenFixturesConvertTheSameFromStringsAndBytes() throws {
        for name in ["text.jsonl", "media.jsonl", "interactive.jsonl", "referral.jsonl", "statuses.jsonl",
                     "user_preferences.jsonl", "multi.jsonl", "unknown_fields.jsonl"] + webhookFixtures2026 {
            let fromStrings = try fixtureLines(name).map { try WebhookArchive.parse($0) }
            #expect(try convert(name) == fromStrings, "\(name)")
        }
    }
}

@Suite struct WebhookArchiveConversionRules {
    /// A delivery of one `messages` change with `value` (metadata added).
    private func messagesDelivery(_ value: String) -> String {
        #"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"#
            + value + "}}]}]}"
    }

    private func status(category: String?) -> String {
        let pricing = category.map { #","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"\#($0)"}"# } ?? ""
        return messagesDelivery(#""statuses":[{"id":"wamid.X","status":"sent","timestamp":"1751364000","recipient_id":"16505551234"\#(pricing)}]"#)
    }

    @Test func pricingCategoriesImplyTheOutboundMessage() throws {
        let cases: [(String?, TemplateCategory?)] = [
            ("service", nil), ("marketing", .marketing), ("utility", .utility), ("authentication", .authentication),
            ("authentication-international", .authentication), ("marketing_lite", .marketing),
            ("referral_conversion", nil), ("some_future_category", nil), (nil, nil),
        ]
        for (category, template) in cases {
            let delivery = try WebhookArchive.parse(status(category: category))
            let pricing = category.map { Expect.pmp($0, "regular", billable: true) }
            #expect(delivery.items == [Expect.status("wamid.X", .sent, to: Expect.sheena, at: Expect.t, template: template, pricing: pricing)],
                    "pricing.category \(category ?? "absent")")
            #expect(delivery.skipped == 0)
        }
    }

    @Test func unknownStatusesAreSkippedEvenWhenIncomplete() throws {
        let delivery = try WebhookArchive.parse(messagesDelivery(#""statuses":[{"id":"wamid.X","status":"pending"},{"status":"deleted"}]"#))
        #expect(delivery == WebhookDelivery(items: [], skipped: 2))
    }

    @Test func otherUserPreferencesAreSkipped() throws {
        let line = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"user_preferences","value":{"metadata":{"phone_number_id":"106540352242922"},"user_preferences":[{"wa_id":"16505551234","category":"marketing_messages","value":"pause","timestamp":1751364000},{"wa_id":"16505551234","category":"utility_messages","value":"stop","timestamp":1751364000}]}}]}]}"#
        #expect(try WebhookArchive.parse(line) == WebhookDelivery(items: [], skipped: 2))
    }

    @Test func nullOptionalFieldsAreAbsent() throws {
        let delivery = try WebhookArchive.parse(messagesDelivery(
            #""contacts":null,"messages":[{"from":"16505551234","id":"wamid.N","timestamp":1751364000,"type":"text","text":{"body":null},"referral":null}],"statuses":null,"errors":null"#))
        #expect(delivery == WebhookDelivery(items: [Expect.inbound("wamid.N", from: Expect.sheena, at: Expect.t, kind: "text")], skipped: 0))
    }

    @Test func numericAdIdsAndMissingReferralPartsAreKept() throws {
        let delivery = try WebhookArchive.parse(messagesDelivery(
            #""messages":[{"from":"16505551234","id":"wamid.R","timestamp":"1751364000","type":"text","text":{"body":"hi"},"referral":{"source_id":120226305854810726}}]"#))
        #expect(delivery.items == [Expect.inbound("wamid.R", from: Expect.sheena, at: Expect.t, kind: "text", body: "hi",
                                                  entryPoint: EntryPoint(source: "", id: "120226305854810726"))])
    }

    @Test func metadataIsOnlyNeededWhenSomethingIsRecorded() throws {
        // A change holding only skipped parts converts without metadata; one with a message needs it.
        let skippedOnly = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"status":"deleted"}]}}]}]}"#
        #expect(try WebhookArchive.parse(skippedOnly) == WebhookDelivery(items: [], skipped: 1))
        let withMessage = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"w","timestamp":"1","type":"text"}]}}]}]}"#
        #expect(rejection(withMessage) == "entry[0].changes[0].value.metadata: required field missing")
    }

    @Test func limitsAreCheckedAtTheirBounds() throws {
        let id128 = "wamid." + String(repeating: "A", count: 122)
        let party64 = String(repeating: "1", count: 64)
        let body64K = String(repeating: "x", count: 64 * 1024)
        let line = messagesDelivery(#""messages":[{"from":"\#(party64)","id":"\#(id128)","timestamp":"253402300799","type":"text","text":{"body":"\#(body64K)"}}]"#)
        let delivery = try WebhookArchive.parse(line)
        #expect(delivery.items == [Expect.inbound(id128, from: party64, at: 253_402_300_799, kind: "text", body: body64K)])
    }

    @Test func errorsNameTheExactElement() throws {
        let line = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{}},{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"1","id":"a","timestamp":"1","type":"text"}],"statuses":[{"id":"b","status":"read","timestamp":"1","recipient_id":"1"},{"id":"c","status":"read","recipient_id":"1","timestamp":"x"}]}}]}]}"#
        #expect(rejection(line) == #"entry[0].changes[1].value.statuses[1].timestamp: "x" is not Unix time in seconds"#)
    }
}
