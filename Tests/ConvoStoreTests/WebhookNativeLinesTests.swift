import ConvoStore
import Testing

// What the webhook deliveries bring into native dumps (contract, "Native dump format"): a status line's optional
// `pricing` (the platform's own pricing of the message) and the `link` line (a user id is a phone number's
// customer). Both must read back as they were written, so that export then import keeps them.

@Suite struct WebhookNativeLines {
    private func event(_ line: String) throws -> Event? {
        guard case .event(let event) = try NativeDump.parse(line) else { return nil }
        return event
    }

    private func rejection(_ line: String) -> String? {
        do {
            _ = try NativeDump.parse(line)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func statusPricingReadsAndWritesBack() throws {
        let pricings: [PlatformPricing?] = [
            PlatformPricing(model: "PMP", category: "marketing", type: "regular", billable: true),
            PlatformPricing(model: "PMP", category: "service", type: "free_customer_service", billable: false),
            PlatformPricing(model: "PMP", category: "authentication_international", type: "regular"),
            PlatformPricing(model: "CBP", category: "service", billable: true),
            nil,
        ]
        for pricing in pricings {
            let status = StatusUpdate(business: "15550001111", messageID: "wamid.2", status: .delivered, at: 1_751_364_400_000, pricing: pricing)
            let line = NativeDump.line(status)
            #expect(try event(line) == .status(status), "\(line)")
            #expect(line.contains(#""pricing""#) == (pricing != nil))
        }
        #expect(NativeDump.line(StatusUpdate(business: "b", messageID: "m", status: .read, at: 1,
                                             pricing: PlatformPricing(model: "PMP", category: "utility", type: "regular", billable: false)))
            == #"{"type":"status","business":"b","id":"m","status":"read","at":1,"pricing":{"pricing_model":"PMP","category":"utility","type":"regular","billable":false}}"#)
        // Without pricing, a status line is what it always was.
        #expect(NativeDump.line(StatusUpdate(business: "b", messageID: "m", status: .read, at: 1))
            == #"{"type":"status","business":"b","id":"m","status":"read","at":1}"#)
    }

    @Test func statusPricingIsCheckedFieldByField() {
        let head = #"{"type":"status","business":"b","id":"m","status":"sent","at":1,"pricing":"#
        #expect(rejection(head + #""PMP"}"#) == "pricing: must be an object, got a string")
        #expect(rejection(head + #"{"category":"utility"}}"#) == "pricing.pricing_model: required field missing")
        #expect(rejection(head + #"{"pricing_model":"PMP"}}"#) == "pricing.category: required field missing")
        #expect(rejection(head + #"{"pricing_model":"PMP","category":"utility","type":3}}"#) == "pricing.type: must be a string, got a number")
        #expect(rejection(head + #"{"pricing_model":"PMP","category":"utility","billable":"no"}}"#) == "pricing.billable: must be a boolean, got a string")
        let long = String(repeating: "c", count: 65)
        #expect(rejection(head + #"{"pricing_model":"PMP","category":"\#(long)"}}"#) == "pricing.category is 65 bytes, over the limit of 64")
        #expect(rejection(head + "null}") == nil)
    }

    @Test func linkLinesReadAndWriteBack() throws {
        let link = IdentityLink(business: "15550001111", userID: "US.13491208655302741918", phone: "16505551234")
        let line = NativeDump.line(link)
        #expect(line == #"{"type":"link","business":"15550001111","user_id":"US.13491208655302741918","customer":"16505551234"}"#)
        #expect(try event(line) == .link(link))
    }

    @Test func linkLinesAreChecked() {
        #expect(rejection(#"{"type":"link","business":"b","customer":"16505551234"}"#) == "user_id: required field missing")
        #expect(rejection(#"{"type":"link","business":"b","user_id":"US.1"}"#) == "customer: required field missing")
        #expect(rejection(#"{"type":"link","business":"b","user_id":"16505551234","customer":"16505551234"}"#)?
            .hasPrefix("user_id: ") == true)
        #expect(rejection(#"{"type":"link","business":"b","user_id":"US.1","customer":"GB.2"}"#)?.hasPrefix("customer: ") == true)
        #expect(rejection(#"{"type":"linked","business":"b"}"#) == #"type: unknown type "linked" (message, status, control, link or summary)"#)
    }
}
