// The JSON shapes of docs/contract.md's outputs (`--json` of the command line, the server's bodies):
// written in one place so that both say the same thing.

/// The contract's JSON objects, one per kind of answer.
package enum OutputJSON {
    /// An `overdue` / `newly-overdue` line.
    package static func waiting(_ w: WaitingConversation) -> String {
        JSONWriter.object { o in
            o.field("business", w.business)
            o.field("customer", w.customer)
            o.field("waiting_since", w.waitingSince)
            o.field("reply_due_at", w.replyDueAt)
        }
    }

    /// A `windows` line.
    package static func window(_ w: ClosingWindow) -> String {
        JSONWriter.object { o in
            o.field("business", w.business)
            o.field("customer", w.customer)
            o.field("window_expires_at", w.windowExpiresAt)
        }
    }

    /// `show`.
    package static func state(_ s: ConversationState) -> String {
        JSONWriter.object { o in
            o.field("business", s.business)
            o.field("customer", s.customer)
            o.field("window_expires_at", s.windowExpiresAt)
            o.field("waiting_since", s.waitingSince)
            o.field("reply_due_at", s.replyDueAt)
            o.field("window_open", s.windowOpen)
            o.field("can_send_freeform", s.canSendFreeform)
            o.field("blocked", s.blocked)
            o.field("restricted", s.restricted)
            o.field("marketing_opt_out", s.marketingOptOut)
            o.field("messages_in", s.messagesIn)
            o.field("messages_out", s.messagesOut)
        }
    }

    /// `billing`.
    package static func billing(_ b: BillingSummary) -> String {
        JSONWriter.object { o in
            o.field("business", b.business)
            o.field("from", b.from)
            o.field("to", b.to)
            o.objectField("charged") { c in
                for category in ChargeCategory.allCases { c.field(category.name, b.charged[category] ?? 0) }
            }
            o.field("free", b.free)
            o.objectField("violations") { v in
                for violation in Violation.allCases { v.field(violation.name, b.violations[violation] ?? 0) }
            }
            o.field("amount_micros", b.amountMicros)
            o.objectField("markets") { m in
                for name in b.markets.keys.sorted() {
                    let market = b.markets[name]!
                    m.objectField(name) { e in
                        e.objectField("charged") { c in
                            for category in ChargeCategory.allCases { c.field(category.name, market.charged[category] ?? 0) }
                        }
                        e.field("amount_micros", market.amountMicros)
                    }
                }
            }
            o.field("failed", b.failed)
            o.objectField("platform") { p in
                p.objectField("charged") { c in
                    for category in ChargeCategory.allCases { c.field(category.name, b.platform.charged[category] ?? 0) }
                }
                p.field("free", b.platform.free)
                p.field("unpriced", b.platform.unpriced)
            }
        }
    }

    /// `limits`.
    package static func limits(_ l: MessagingLimitStatus) -> String {
        JSONWriter.object { o in
            o.field("business", l.business)
            o.field("at", l.at)
            o.field("limit", l.limit)
            o.field("reached_24h", l.reached24h)
        }
    }

    /// One line of `rates show --json`: a version and its rows.
    package static func rateCardVersion(_ v: RateCardVersion) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("effective_from", v.effectiveFrom)
        w.arrayField("rows", v.rows) { o, row in
            o.field("market", row.market)
            o.field("category", row.category.name)
            o.field("tier_from", row.tierFrom)
            o.field("rate_micros", row.rateMicros)
        }
        w.endObject()
        return w.string
    }

    /// `stats`.
    package static func statistics(_ s: StoreStatistics) -> String {
        JSONWriter.object { o in
            o.field("conversations", s.conversations)
            o.field("messages", s.messages)
            o.field("used_bytes", s.usedBytes)
            o.field("free_bytes", s.freeBytes)
            o.field("free_list_bytes", s.freeListBytes)
            o.field("map_size", s.mapSize)
            o.objectField("entries") { e in
                for name in s.entries.keys.sorted() { e.field(name, s.entries[name]!) }
            }
            o.objectField("settings") { c in
                c.field("window_ms", s.settings.windowMillis)
                c.field("reply_sla_ms", s.settings.replySLAMillis)
                c.field("free_entry_reply_ms", s.settings.freeEntryReplyMillis)
                c.field("free_entry_window_ms", s.settings.freeEntryWindowMillis)
                c.field("rate_marketing", s.settings.rates.marketing)
                c.field("rate_utility", s.settings.rates.utility)
                c.field("rate_authentication", s.settings.rates.authentication)
                c.field("durability", s.settings.durability.rawValue)
                c.field("service_charges_from", s.settings.serviceChargesFromMillis)
                c.field("retention_ms", s.retentionMillis)
            }
        }
    }
}
