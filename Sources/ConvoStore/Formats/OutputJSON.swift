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
                for category in TemplateCategory.allCases { c.field(category.name, b.charged[category] ?? 0) }
            }
            o.field("free", b.free)
            o.objectField("violations") { v in
                for violation in Violation.allCases { v.field(violation.name, b.violations[violation] ?? 0) }
            }
            o.field("amount_micros", b.amountMicros)
        }
    }

    /// `stats`.
    package static func statistics(_ s: StoreStatistics) -> String {
        JSONWriter.object { o in
            o.field("conversations", s.conversations)
            o.field("messages", s.messages)
            o.field("used_bytes", s.usedBytes)
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
            }
        }
    }
}
