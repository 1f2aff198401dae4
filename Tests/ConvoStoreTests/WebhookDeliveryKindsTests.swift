import ConvoStore
import Foundation
import Testing

// The 2026 delivery kinds (issue 18), parser level: each fixture file converted into the items it must give.
// The fixtures' sources are in Fixtures/webhook/README.md, the mapping in docs/webhooks.md.

/// The fixture files of the 2026 delivery kinds, one per kind.
let webhookFixtures2026 = ["user_ids.jsonl", "failed.jsonl", "pricing.jsonl", "echoes.jsonl", "calls.jsonl", "unclear_kinds.jsonl"]

/// The 2026 fixtures' parties, ids and times.
private enum Kinds {
    /// 2026-04-15T10:00:00Z, in seconds.
    static let t: Int64 = 1_776_247_200
    static let sheenaUser = "US.13491208655302741918"
    static let zoeUser = "GB.40281937465019283746"
    /// A customer who has a username and never showed a phone number.
    static let ravi = "IN.73920184756103928475"

    /// The fixtures' message ids: `wamid.` and the base64 of a readable tag.
    static func wamid(_ tag: String) -> String { "wamid." + Data(tag.utf8).base64EncodedString() }
    /// The fixtures' call ids: `wacid.` and the unpadded base64 of a tag.
    static func wacid(_ tag: String) -> String {
        "wacid." + Data(tag.utf8).base64EncodedString().filter { $0 != "=" }
    }

    static func link(_ userID: String, _ phone: String) -> WebhookItem {
        .event(.link(IdentityLink(business: Expect.business, userID: userID, phone: phone)))
    }

    static func outbound(_ id: String, to customer: String, at seconds: Int64, kind: String,
                         category: TemplateCategory? = nil, body: String? = nil) -> WebhookItem {
        .event(.message(Message(id: id, business: Expect.business, customer: customer, direction: .outbound, at: seconds * 1000,
                                kind: kind, category: category, body: body.map { Array($0.utf8) }, bodyIsText: true)))
    }
}

@Suite struct WebhookDeliveryKindFixtures {
    @Test func businessScopedUserIDs() throws {
        let t = Kinds.t
        #expect(try convert("user_ids.jsonl") == [
            // phone number and user id in the contact and the message: one link, then the message under the phone number
            WebhookDelivery(items: [
                Kinds.link(Kinds.sheenaUser, Expect.sheena),
                Expect.inbound(Kinds.wamid("in:sheena:1"), from: Expect.sheena, at: t, kind: "text", body: "Is my order on its way?"),
            ]),
            // a username user: only the user id, which is the customer
            WebhookDelivery(items: [
                Expect.inbound(Kinds.wamid("in:ravi:1"), from: Kinds.ravi, at: t + 60, kind: "text", body: "Do you ship to Pune?"),
            ]),
            // a status of a message sent to the user id
            WebhookDelivery(items: [
                Expect.status(Kinds.wamid("out:ravi:1"), .delivered, to: Kinds.ravi, at: t + 300,
                              pricing: Expect.pmp("service", "free_customer_service", billable: false)),
            ]),
            // contacts and the status both name Zoë's pair: linked once
            WebhookDelivery(items: [
                Kinds.link(Kinds.zoeUser, Expect.zoe),
                Expect.status(Kinds.wamid("out:zoe:1"), .read, to: Expect.zoe, at: t + 600, template: .utility,
                              pricing: Expect.pmp("utility", "regular", billable: true)),
            ]),
            // later deliveries name Zoë only by user id
            WebhookDelivery(items: [Expect.preference(.marketingOptOut, by: Kinds.zoeUser, at: t + 900)]),
            WebhookDelivery(items: [
                Expect.inbound(Kinds.wamid("in:zoe:1"), from: Kinds.zoeUser, at: t + 1200, kind: "text", body: "When does the sale end?"),
            ]),
            // parent user ids are ignored; the link is given again by this delivery
            WebhookDelivery(items: [
                Kinds.link(Kinds.sheenaUser, Expect.sheena),
                Expect.inbound(Kinds.wamid("in:sheena:2"), from: Expect.sheena, at: t + 1500, kind: "text", body: "Thanks!"),
            ]),
        ])
    }

    @Test func failedSendsAreStatusesAndStillImplyTheirMessage() throws {
        let t = Kinds.t
        #expect(try convert("failed.jsonl") == [
            WebhookDelivery(items: [
                Kinds.link(Kinds.sheenaUser, Expect.sheena),
                Expect.status(Kinds.wamid("out:sheena:mkt"), .sent, to: Expect.sheena, at: t + 3600, template: .marketing,
                              pricing: Expect.pmp("marketing", "regular", billable: true)),
            ]),
            // the same message failing later (error 131049): a status like any other, without pricing
            WebhookDelivery(items: [Expect.status(Kinds.wamid("out:sheena:mkt"), .failed, to: Expect.sheena, at: t + 3605)]),
            // a failure as the first word of a message: it still implies the (non-template) outbound message
            WebhookDelivery(items: [Expect.status(Kinds.wamid("out:zoe:mkt"), .failed, to: Expect.zoe, at: t + 3700)]),
        ])
    }

    @Test func platformPricingIsKeptOnEveryStatusThatCarriesIt() throws {
        let t = Kinds.t
        #expect(try convert("pricing.jsonl") == [
            WebhookDelivery(items: [Expect.status(Kinds.wamid("out:zoe:p1"), .sent, to: Expect.zoe, at: t + 7200, template: .marketing,
                                                  pricing: Expect.pmp("marketing", "regular", billable: true))]),
            WebhookDelivery(items: [Expect.status(Kinds.wamid("out:zoe:p2"), .delivered, to: Expect.zoe, at: t + 7300, template: .utility,
                                                  pricing: Expect.pmp("utility", "free_customer_service", billable: false))]),
            WebhookDelivery(items: [Expect.status(Kinds.wamid("out:sheena:p3"), .sent, to: Expect.sheena, at: t + 7400,
                                                  pricing: Expect.pmp("service", "free_entry_point", billable: false))]),
            // `billable` is deprecated and may be absent; the category is kept as the platform names it
            WebhookDelivery(items: [Expect.status(Kinds.wamid("out:sheena:p4"), .sent, to: Expect.sheena, at: t + 7500, template: .authentication,
                                                  pricing: PlatformPricing(model: "PMP", category: "authentication_international", type: "regular"))]),
            // the older conversation-based pricing has no type
            WebhookDelivery(items: [Expect.status(Kinds.wamid("out:zoe:p5"), .sent, to: Expect.zoe, at: t + 7600,
                                                  pricing: PlatformPricing(model: "CBP", category: "service", billable: true))]),
        ])
    }

    @Test func businessAppEchoesAreOutboundMessages() throws {
        let t = Kinds.t
        #expect(try convert("echoes.jsonl") == [
            WebhookDelivery(items: [Kinds.outbound(Kinds.wamid("echo:sheena:1"), to: Expect.sheena, at: t + 10_800, kind: "text",
                                                   body: "Yes, it ships tomorrow.")]),
            // `to` written `+447700900123`: the customer is the phone number as everywhere else; a caption is no body
            WebhookDelivery(items: [Kinds.outbound(Kinds.wamid("echo:zoe:1"), to: Expect.zoe, at: t + 10_900, kind: "image")]),
            WebhookDelivery(items: [
                Kinds.link(Kinds.zoeUser, Expect.zoe),
                Kinds.outbound(Kinds.wamid("echo:zoe:2"), to: Expect.zoe, at: t + 11_000, kind: "text", body: "The sale ends Sunday."),
            ]),
            WebhookDelivery(items: [], skipped: 1),  // a revoke of an earlier echo
            WebhookDelivery(items: [], skipped: 1),  // an edit of an earlier echo
        ])
    }

    @Test func userInitiatedCallsAreInboundEvents() throws {
        let t = Kinds.t
        #expect(try convert("calls.jsonl") == [
            WebhookDelivery(items: [Expect.inbound(Kinds.wacid("call:zoe:1"), from: Expect.zoe, at: t + 14_400, kind: "call")]),
            WebhookDelivery(items: [], skipped: 1),  // the same call's terminate
            WebhookDelivery(items: [], skipped: 1),  // a business-initiated call
            WebhookDelivery(items: [], skipped: 1),  // its RINGING status
            WebhookDelivery(items: [Expect.inbound(Kinds.wacid("call:ravi:1"), from: Kinds.ravi, at: t + 14_700, kind: "call")]),
        ])
    }

    @Test func editsRevokesAndGroupsAreSkippedAndAWelcomeRequestIsKept() throws {
        #expect(try convert("unclear_kinds.jsonl") == [
            WebhookDelivery(items: [], skipped: 1),  // an edit of an earlier message
            WebhookDelivery(items: [], skipped: 1),  // a revoke of an earlier message
            WebhookDelivery(items: [], skipped: 1),  // an edit delivered as `unsupported`
            // opening the chat for the first time opens the customer service window (the platform's word)
            WebhookDelivery(items: [Expect.inbound(Kinds.wamid("in:mina:welcome"), from: "6281361905133", at: Kinds.t + 18_300,
                                                   kind: "request_welcome")]),
            WebhookDelivery(items: [], skipped: 1),  // a message in a group
            WebhookDelivery(items: [], skipped: 1),  // a status of a message sent to a group
        ])
    }
}

@Suite struct WebhookIdentityAndKindRules {
    /// A delivery of one change of `field` for business 106540352242922 with `value` (metadata added).
    private func delivery(_ field: String, _ value: String, business: String = Expect.business) -> String {
        #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"\#(field)","value":{"metadata":{"phone_number_id":"\#(business)"},"#
            + value + "}}]}]}"
    }

    @Test func aPartNamingNoCustomerIsRejectedWithBothFieldsNamed() {
        let cases: [(String, String, String)] = [
            ("messages", #""messages":[{"id":"w","timestamp":"1","type":"text"}]"#, "messages[0].from: required field missing"),
            ("messages", #""statuses":[{"id":"w","status":"sent","timestamp":"1"}]"#, "statuses[0].recipient_id: required field missing"),
            ("user_preferences", #""user_preferences":[{"category":"marketing_messages","value":"stop","timestamp":1}]"#,
             "user_preferences[0].wa_id: required field missing"),
            ("smb_message_echoes", #""message_echoes":[{"id":"w","timestamp":"1","type":"text"}]"#, "message_echoes[0].to: required field missing"),
            ("calls", #""calls":[{"id":"c","timestamp":"1","event":"connect","direction":"USER_INITIATED"}]"#, "calls[0].from: required field missing"),
        ]
        for (field, value, expected) in cases {
            let reason = rejection(delivery(field, value))
            #expect(reason?.contains(expected) == true, "\(field): got \(reason ?? "no error")")
            #expect(reason?.contains("when there is no phone number") == true)
        }
    }

    @Test func linksComeFirstEvenWhenALaterChangeNamesThem() throws {
        let line = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":["#
            + #"{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from_user_id":"US.1","id":"a","timestamp":"1","type":"text"}]}},"#
            + #"{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"contacts":[{"wa_id":"16505551234","user_id":"US.1"}],"statuses":[{"id":"b","status":"read","timestamp":"2","recipient_user_id":"US.1"}]}}]}]}"#
        let items = try WebhookArchive.parse(line).items
        #expect(items == [
            .event(.link(IdentityLink(business: Expect.business, userID: "US.1", phone: Expect.sheena))),
            .event(.message(Message(id: "a", business: Expect.business, customer: "US.1", direction: .inbound, at: 1000))),
            .outboundStatus(StatusUpdate(business: Expect.business, messageID: "b", status: .read, at: 2000),
                            impliedMessage: Message(id: "b", business: Expect.business, customer: "US.1", direction: .outbound, at: 2000)),
        ])
    }

    @Test func linksAreOncePerBusinessAndDelivery() throws {
        let contact = #"{"wa_id":"16505551234","user_id":"US.1"}"#
        let line = #"{"object":"whatsapp_business_account","entry":["#
            + #"{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"A"},"contacts":[\#(contact),\#(contact)],"messages":[{"from":"16505551234","from_user_id":"US.1","id":"a","timestamp":"1","type":"text"}]}}]},"#
            + #"{"id":"2","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"B"},"contacts":[\#(contact)]}}]}]}"#
        let links = try WebhookArchive.parse(line).items.filter { if case .event(.link) = $0 { true } else { false } }
        #expect(links == [
            .event(.link(IdentityLink(business: "A", userID: "US.1", phone: Expect.sheena))),
            .event(.link(IdentityLink(business: "B", userID: "US.1", phone: Expect.sheena))),
        ])
    }

    @Test func onlyBusinessScopedUserIDsAreLinked() throws {
        // A parent user id (CC.ENT.digits) is no business-scoped user id: not linked, and kept as the customer
        // when it is the only id given. Contacts of other shapes are ignored, not rejected.
        let delivery = try WebhookArchive.parse(delivery("messages", #""contacts":[{"wa_id":"16505551234","user_id":"US.ENT.118"},{"wa_id":5},"x"],"#
            + #""statuses":[{"id":"s","status":"sent","timestamp":"1","recipient_user_id":"US.ENT.118"}]"#))
        #expect(delivery.items == [
            .outboundStatus(StatusUpdate(business: Expect.business, messageID: "s", status: .sent, at: 1000),
                            impliedMessage: Message(id: "s", business: Expect.business, customer: "US.ENT.118", direction: .outbound, at: 1000)),
        ])
    }

    @Test func aLinkOverTheLimitsRejectsTheDeliveryAtItsField() {
        let long = "US." + String(repeating: "1", count: 62)
        #expect(rejection(delivery("messages", #""contacts":[{"wa_id":"16505551234","user_id":"\#(long)"}]"#))
            == "entry[0].changes[0].value.contacts[0].user_id: 65 bytes, over the limit of 64")
        #expect(rejection(delivery("messages", #""messages":[{"from":"","from_user_id":"US.1","id":"w","timestamp":"1","type":"text"}]"#))
            == "entry[0].changes[0].value.messages[0].from: must not be empty")
    }

    @Test func aPlusBeforeAPhoneNumberIsDropped() throws {
        let echo = #""message_echoes":[{"from":"15550783881","to":"+16505551234","id":"e","timestamp":"1","type":"text"},{"from":"15550783881","to":"+abc","id":"f","timestamp":"1","type":"text"}]"#
        let customers = try WebhookArchive.parse(delivery("smb_message_echoes", echo)).items.map { item -> String? in
            if case .event(.message(let m)) = item { m.customer } else { nil }
        }
        #expect(customers == [Expect.sheena, "+abc"])
    }

    @Test func templateEchoesAreTemplatesOnlyWhenTheyNameACategory() throws {
        // No platform page shows a template echo; a constructed one, to pin what the converter does with it.
        let echoes = #""message_echoes":["#
            + #"{"to":"16505551234","id":"t1","timestamp":"1","type":"template","template":{"name":"order_update","category":"utility"}},"#
            + #"{"to":"16505551234","id":"t2","timestamp":"1","type":"template","template":{"name":"order_update"}}]"#
        #expect(try WebhookArchive.parse(delivery("smb_message_echoes", echoes)).items == [
            Kinds.outbound("t1", to: Expect.sheena, at: 1, kind: "template", category: .utility),
            Kinds.outbound("t2", to: Expect.sheena, at: 1, kind: "uncategorized_template"),
        ])
    }

    @Test func groupEchoesAndEditsDeliveredAsUnsupportedAreSkippedButOtherUnsupportedAreKept() throws {
        let echoes = #""message_echoes":[{"to":"16505551234","group_id":"G","id":"g","timestamp":"1","type":"text"}]"#
        #expect(try WebhookArchive.parse(delivery("smb_message_echoes", echoes)) == WebhookDelivery(items: [], skipped: 1))
        let messages = #""messages":["#
            + #"{"from":"16505551234","id":"r","timestamp":"1","type":"unsupported","unsupported":{"type":"revoke"}},"#
            + #"{"from":"16505551234","id":"p","timestamp":"1","type":"unsupported","unsupported":{"type":"poll_creation"}}]"#
        #expect(try WebhookArchive.parse(delivery("messages", messages))
            == WebhookDelivery(items: [Expect.inbound("p", from: Expect.sheena, at: 1, kind: "unsupported")], skipped: 1))
    }

    @Test func callsChangesCountWhatTheySkip() throws {
        let value = #""calls":[{"id":"c1","from":"16505551234","timestamp":"1","event":"terminate","direction":"USER_INITIATED"},"#
            + #"{"id":"c2","from":"16505551234","timestamp":"1","direction":"USER_INITIATED"}],"#
            + #""statuses":[{"id":"c3","status":"ACCEPTED","type":"call"}],"errors":[{"code":12455}]"#
        #expect(try WebhookArchive.parse(delivery("calls", value)) == WebhookDelivery(items: [], skipped: 4))
    }

    @Test func pricingWithoutAModelIsNotKeptButStillImpliesTheTemplate() throws {
        let status = #""statuses":[{"id":"w","status":"sent","timestamp":"1","recipient_id":"16505551234","pricing":{"category":"utility"}}]"#
        #expect(try WebhookArchive.parse(delivery("messages", status)).items == [
            .outboundStatus(StatusUpdate(business: Expect.business, messageID: "w", status: .sent, at: 1000),
                            impliedMessage: Message(id: "w", business: Expect.business, customer: Expect.sheena, direction: .outbound,
                                                    at: 1000, kind: "template", category: .utility)),
        ])
        let badBillable = #""statuses":[{"id":"w","status":"sent","timestamp":"1","recipient_id":"1","pricing":{"pricing_model":"PMP","category":"utility","billable":"yes"}}]"#
        #expect(rejection(delivery("messages", badBillable)) == "entry[0].changes[0].value.statuses[0].pricing.billable: must be a boolean, got a string")
        let longType = String(repeating: "t", count: 65)
        let overLimit = #""statuses":[{"id":"w","status":"sent","timestamp":"1","recipient_id":"1","pricing":{"pricing_model":"PMP","category":"utility","type":"\#(longType)"}}]"#
        #expect(rejection(delivery("messages", overLimit)) == "entry[0].changes[0].value.statuses[0].pricing.type: 65 bytes, over the limit of 64")
    }
}
