#!/usr/bin/env python3
"""Reference model of ConvoStore's domain rules (shared/domain.md R1..R6).

An independent, deliberately naive implementation used to cross-check the
`convostore` command line. It reads native dumps (shared/contract.md, "Native
dump format"), validates every line the way the contract says, and answers the
same questions as the CLI straight from the definitions: every query scans all
recorded events (O(n^2) is fine here; clarity is the point, not speed).

Everything is a function of the SET of accepted events. File order matters only
where the rules say so:
  * a message id seen first is the one kept; a later line with the same
    (business, id) is a duplicate (identical content) or rejected (different);
  * controls of the same group with the same timestamp: the one recorded last
    (later in file order) wins (domain.md "Time and order").

Library use:  store = Store(); store.load([path, ...]); store.overdue(as_of)
Command line: python3 model.py overdue --as-of T FILE...   (see --help)
Self-test:    python3 model.py --selftest
Stdlib only, Python 3.11.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import calendar
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

# ---------------------------------------------------------------------------
# Defaults (domain.md: "Every number below is a default ... can be configured")
# ---------------------------------------------------------------------------
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WINDOW_MS = DAY_MS            # R1: customer service window
REPLY_SLA_MS = DAY_MS         # R2: reply_sla
FEP_REPLY_MS = DAY_MS         # R3: the business must answer within 24 h of the entry point
FEP_FREE_MS = 3 * DAY_MS      # R3: ... which opens a 72 h free window
RATES = {"marketing": 25_000, "utility": 4_000, "authentication": 4_000}  # R4, micros

# Limits (domain.md "Parties and ids"; contract "Rejected input")
MAX_PARTY_BYTES = 64
MAX_MESSAGE_ID_BYTES = 128
MAX_BODY_BYTES = 65_536
MAX_AT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last time RFC 3339 can write

CATEGORIES = ("marketing", "utility", "authentication")
STATUSES = ("sent", "delivered", "read", "failed")

# R5: control groups. Key: (by, action) -> group name.
CONTROL_GROUP = {
    ("customer", "block"): "customer_block",
    ("customer", "unblock"): "customer_block",
    ("customer", "report_spam"): "customer_block",   # a spam report counts as a block
    ("customer", "restrict"): "restrict",
    ("customer", "unrestrict"): "restrict",
    ("customer", "marketing_opt_out"): "marketing",
    ("customer", "marketing_opt_in"): "marketing",
    ("customer", "opt_in"): "consent",
    ("customer", "opt_out"): "consent",
    ("business", "block"): "business_block",
    ("business", "unblock"): "business_block",
}
CUSTOMER_ACTIONS = tuple(a for (by, a) in CONTROL_GROUP if by == "customer")
BUSINESS_ACTIONS = tuple(a for (by, a) in CONTROL_GROUP if by == "business")


# ---------------------------------------------------------------------------
# Time parsing: integer epoch ms or RFC 3339 (contract: "Times (`at`) ...")
# ---------------------------------------------------------------------------
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)


class Invalid(Exception):
    """A dump line (or a CLI time) that the contract says must be rejected."""


def parse_rfc3339(text: str) -> int:
    """RFC 3339 date-time -> epoch ms. Fractions beyond the millisecond are
    truncated (floor); a leap second (:60) is rejected."""
    m = _RFC3339.fullmatch(text)
    if not m:
        raise Invalid(f"not an RFC 3339 date-time: {text!r}")
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    frac, zulu, sign, oh, om = m.group(7), m.group(8), m.group(9), m.group(10), m.group(11)
    if not 1 <= mo <= 12 or not 1 <= d <= calendar.monthrange(y, mo)[1]:
        raise Invalid(f"invalid date in {text!r}")
    if hh > 23 or mi > 59 or ss > 59:
        raise Invalid(f"invalid time in {text!r}")
    ms = calendar.timegm((y, mo, d, hh, mi, ss, 0, 0, 0)) * 1000
    if frac:
        ms += int((frac + "00")[:3])
    if not zulu:
        oh, om = int(oh), int(om)
        if oh > 23 or om > 59:
            raise Invalid(f"invalid offset in {text!r}")
        offset = (oh * 60 + om) * 60_000
        # local = utc + offset  =>  utc = local - offset
        ms = ms - offset if sign == "+" else ms + offset
    return ms


def parse_at(value: Any) -> int:
    """A dump line's `at`: non-negative integer epoch ms or RFC 3339 string."""
    if isinstance(value, bool):          # JSON true/false is not a number
        raise Invalid("`at` must be an integer or an RFC 3339 string")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str):
        ms = parse_rfc3339(value)
    else:
        raise Invalid("`at` must be an integer or an RFC 3339 string")
    if ms < 0:
        raise Invalid("`at` is before the epoch")
    if ms > MAX_AT_MS:
        raise Invalid("`at` is out of range")
    return ms


def parse_cli_time(text: str) -> int:
    """A time given on the command line: epoch ms or RFC 3339."""
    if re.fullmatch(r"-?[0-9]+", text, re.ASCII):
        return int(text)
    return parse_rfc3339(text)


def format_rfc3339(ms: int, offset_minutes: int = 0, millis: Optional[bool] = None) -> str:
    """epoch ms -> RFC 3339 (used by the generator and the cross-check).
    millis=None writes a fraction only when ms % 1000 != 0."""
    local = ms + offset_minutes * 60_000
    secs, frac = divmod(local, 1000)
    t = time.gmtime(secs)
    s = "%04d-%02d-%02dT%02d:%02d:%02d" % t[:6]
    if millis or (millis is None and frac):
        s += ".%03d" % frac
    if offset_minutes == 0:
        return s + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    oh, om = divmod(abs(offset_minutes), 60)
    return s + "%s%02d:%02d" % (sign, oh, om)


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    business: str
    id: str
    customer: str
    direction: str               # "in" | "out"
    at: int
    kind: str
    category: Optional[str]      # only for templates; None otherwise
    body: bytes                  # absent body == empty body
    entry_point: Optional[str]   # canonical JSON of the object, or None
    seq: int                     # global file order (0-based over all files)

    def content(self) -> tuple:
        """What "identical content" compares (contract: a re-sent id with
        identical content is skipped, with different content rejected)."""
        return (self.business, self.customer, self.direction, self.at, self.kind,
                self.category, self.body, self.entry_point)


@dataclass(frozen=True)
class Control:
    business: str
    customer: str
    by: str
    action: str
    at: int
    seq: int

    @property
    def group(self) -> str:
        return CONTROL_GROUP[(self.by, self.action)]


@dataclass(frozen=True)
class Status:
    business: str
    id: str
    status: str
    at: int
    seq: int


@dataclass
class Rejection:
    file: str
    line: int            # 1-based physical line number in its file
    raw: bytes           # the line exactly as read (without the newline)
    reason: str


@dataclass
class Conversation:
    """All events of one (business, customer) pair."""
    business: str
    customer: str
    inbound: list = field(default_factory=list)    # [Message]
    outbound: list = field(default_factory=list)   # [Message]
    controls: list = field(default_factory=list)   # [Control]


# ---------------------------------------------------------------------------
# Line validation (contract: "Native dump format", "Rejected input")
#
# Where the docs are silent, this model decides (gen_dump.py only generates
# cases marked [gen], so the others cannot fail a cross-check):
#  - `at`: a JSON integer in 0..MAX_AT_MS (year 9999) or an RFC 3339 date-time with `T` and
#    `Z`/offset; true/false, 1.5 [gen], "1751328000000" [gen] and a space
#    instead of `T` [gen] are rejected; digits past the millisecond are
#    truncated; a leap second (:60) is rejected. A float such as 1.0 is rejected.
#  - Optional fields (kind, category, body, body_b64, entry_point) given as
#    JSON null mean absent. `kind` must be a non-empty string.
#  - `body` and `body_b64` on one line: rejected (which one is the body?).
#    No body equals an empty body when comparing content.
#  - `category` on a non-template is ignored: not validated, not content.
#  - `entry_point` on an outbound message is accepted and is part of the
#    content, but R3 only looks at inbound ones. Entry points are compared as
#    JSON with sorted keys.
#  - The header {"convostore_dump":1} is accepted on any line and counted as
#    skipped; {"convostore_dump":2} [gen] is rejected. An unknown `type` [gen] is
#    rejected. Lines holding only whitespace are blank (ignored, not counted).
#  - A status needs no `customer`. A status may name an inbound message id.
#  - Controls have no id, so a repeated control line is imported again
#    (harmless: same group, same time, same action).
#  - Line numbers (`file:line:`) count physical lines from 1, blank ones included.
# ---------------------------------------------------------------------------
def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _require_str(obj: dict, key: str) -> str:
    if key not in obj or obj[key] is None:
        raise Invalid(f"missing required field `{key}`")
    v = obj[key]
    if not isinstance(v, str):
        raise Invalid(f"`{key}` must be a string")
    return v


def _utf8_len(s: str, key: str) -> int:
    try:
        return len(s.encode("utf-8"))
    except UnicodeEncodeError:          # lone surrogate from a "\ud800" escape
        raise Invalid(f"`{key}` is not valid Unicode") from None


def _party(obj: dict, key: str) -> str:
    s = _require_str(obj, key)
    if not 1 <= _utf8_len(s, key) <= MAX_PARTY_BYTES:
        raise Invalid(f"`{key}` must be 1 to {MAX_PARTY_BYTES} UTF-8 bytes")
    return s


def _message_id(obj: dict) -> str:
    s = _require_str(obj, "id")
    if not 1 <= _utf8_len(s, "id") <= MAX_MESSAGE_ID_BYTES:
        raise Invalid(f"`id` must be 1 to {MAX_MESSAGE_ID_BYTES} UTF-8 bytes")
    return s


def _enum(obj: dict, key: str, allowed: Iterable[str]) -> str:
    s = _require_str(obj, key)
    if s not in allowed:
        raise Invalid(f"`{key}` must be one of {', '.join(allowed)}")
    return s


def _at(obj: dict) -> int:
    if "at" not in obj or obj["at"] is None:
        raise Invalid("missing required field `at`")
    return parse_at(obj["at"])


def _optional(obj: dict, key: str) -> Any:
    """Optional fields: absent and JSON null mean the same thing."""
    return obj.get(key)


def parse_message(obj: dict, seq: int) -> Message:
    mid = _message_id(obj)
    business = _party(obj, "business")
    customer = _party(obj, "customer")
    direction = _enum(obj, "direction", ("in", "out"))
    at = _at(obj)

    kind = _optional(obj, "kind")
    if kind is None:
        kind = "text"                               # contract: kind defaults to text
    if not isinstance(kind, str) or kind == "":
        raise Invalid("`kind` must be a non-empty string")

    category = None
    if kind == "template":
        if _optional(obj, "category") is None:
            raise Invalid("a template needs a `category`")
        category = _enum(obj, "category", CATEGORIES)
    # For other kinds `category` means nothing to the rules and is ignored.

    body_s, body_b = _optional(obj, "body"), _optional(obj, "body_b64")
    if body_s is not None and body_b is not None:
        raise Invalid("`body` and `body_b64` are both present")
    if body_s is not None:
        if not isinstance(body_s, str):
            raise Invalid("`body` must be a string")
        try:
            body = body_s.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("`body` is not valid Unicode") from None
    elif body_b is not None:
        if not isinstance(body_b, str):
            raise Invalid("`body_b64` must be a string")
        try:
            body = base64.b64decode(body_b.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise Invalid("`body_b64` is not valid base64") from None
    else:
        body = b""
    if len(body) > MAX_BODY_BYTES:
        raise Invalid(f"body is larger than {MAX_BODY_BYTES} bytes")

    ep = _optional(obj, "entry_point")
    if ep is not None:
        if not isinstance(ep, dict):
            raise Invalid("`entry_point` must be an object")
        ep = json.dumps(ep, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    return Message(business, mid, customer, direction, at, kind, category, body, ep, seq)


def parse_control(obj: dict, seq: int) -> Control:
    business = _party(obj, "business")
    customer = _party(obj, "customer")
    by = _enum(obj, "by", ("customer", "business"))
    action = _require_str(obj, "action")
    if by == "customer" and action not in CUSTOMER_ACTIONS:
        raise Invalid(f"unknown customer action {action!r}")
    if by == "business" and action not in BUSINESS_ACTIONS:
        raise Invalid("a business may only block or unblock")
    at = _at(obj)
    return Control(business, customer, by, action, at, seq)


def parse_status(obj: dict, seq: int) -> Status:
    business = _party(obj, "business")
    mid = _message_id(obj)
    status = _enum(obj, "status", STATUSES)
    at = _at(obj)
    return Status(business, mid, status, at, seq)


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------
class Store:
    def __init__(self, window_ms: int = WINDOW_MS, reply_sla_ms: int = REPLY_SLA_MS,
                 reply_sla_by_business: Optional[dict] = None):
        self.window_ms = window_ms
        self.reply_sla_ms = reply_sla_ms
        self.reply_sla_by_business = dict(reply_sla_by_business or {})
        self.messages: dict[tuple[str, str], Message] = {}   # (business, id) -> first kept
        self.controls: list[Control] = []
        self.statuses: list[Status] = []
        self.rejections: list[Rejection] = []
        self.lines_read = 0       # non-blank lines
        self.imported = 0
        self.duplicates = 0       # skipped: same id, identical content
        self.headers = 0          # skipped: {"convostore_dump":1}
        self._seq = 0
        self._convs: Optional[dict] = None

    # -- input -------------------------------------------------------------
    def load(self, paths: Iterable[str]) -> "Store":
        """Read files in the given order (each path is one import argument)."""
        for path in paths:
            if path == "-":
                self.ingest_bytes(sys.stdin.buffer.read(), "-")
            else:
                with open(path, "rb") as f:
                    self.ingest_bytes(f.read(), path)
        return self

    def ingest_bytes(self, data: bytes, name: str = "<bytes>") -> None:
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()                      # the final newline ends a line, it opens none
        for number, raw in enumerate(lines, start=1):
            self.ingest_line(raw, name, number)

    def ingest_line(self, raw: bytes, name: str = "<line>", number: int = 0) -> str:
        """Apply one physical line. Returns 'blank', 'header', 'imported',
        'duplicate' or 'rejected'."""
        if raw.strip() == b"":
            return "blank"                     # contract: blank lines are ignored
        self.lines_read += 1
        self._convs = None
        seq = self._seq
        self._seq += 1
        try:
            outcome = self._apply(raw, seq)
        except Invalid as e:
            self.rejections.append(Rejection(name, number, raw, str(e)))
            return "rejected"
        if outcome == "imported":
            self.imported += 1
        elif outcome == "duplicate":
            self.duplicates += 1
        else:
            self.headers += 1
        return outcome

    def _apply(self, raw: bytes, seq: int) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("line is not UTF-8") from None
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as e:
            raise Invalid(f"not JSON: {e}") from None
        if not isinstance(obj, dict):
            raise Invalid("line is not a JSON object")
        if "type" not in obj and "convostore_dump" in obj:
            v = obj["convostore_dump"]
            if isinstance(v, int) and not isinstance(v, bool) and v == 1:
                return "header"
            raise Invalid("unsupported dump version")
        kind = _require_str(obj, "type")
        if kind == "message":
            m = parse_message(obj, seq)
            key = (m.business, m.id)
            old = self.messages.get(key)
            if old is not None:
                if old.content() == m.content():
                    return "duplicate"          # imports are idempotent
                raise Invalid("message id already recorded with different content")
            self.messages[key] = m
        elif kind == "control":
            self.controls.append(parse_control(obj, seq))
        elif kind == "status":
            # R6: statuses never change the outputs below; a status for an
            # unknown id is kept (it may precede its message).
            self.statuses.append(parse_status(obj, seq))
        else:
            raise Invalid(f"unknown type {kind!r}")
        return "imported"

    # -- conversations -----------------------------------------------------
    def conversations(self) -> dict:
        """(business, customer) -> Conversation. A conversation exists from its
        first message or control (statuses create none)."""
        if self._convs is None:
            convs: dict = {}

            def conv(b, c):
                if (b, c) not in convs:
                    convs[(b, c)] = Conversation(b, c)
                return convs[(b, c)]

            for m in self.messages.values():
                (conv(m.business, m.customer).inbound if m.direction == "in"
                 else conv(m.business, m.customer).outbound).append(m)
            for c in self.controls:
                conv(c.business, c.customer).controls.append(c)
            self._convs = convs
        return self._convs

    def reply_sla(self, business: str) -> int:
        return self.reply_sla_by_business.get(business, self.reply_sla_ms)

    # -- R5 controls ---------------------------------------------------------
    @staticmethod
    def in_effect(conv: Conversation, group: str, t: Optional[int] = None) -> Optional[str]:
        """The action of the group's latest control at or before t (None = after
        all controls). Equal timestamps: the one recorded last wins."""
        best = None
        for c in conv.controls:
            if c.group == group and (t is None or c.at <= t):
                if best is None or (c.at, c.seq) > (best.at, best.seq):
                    best = c
        return best.action if best else None

    def blocked(self, conv: Conversation, t: Optional[int] = None) -> bool:
        """R5: blocked if either side's block group is in effect; report_spam
        counts as a block until a later unblock."""
        return (self.in_effect(conv, "customer_block", t) in ("block", "report_spam")
                or self.in_effect(conv, "business_block", t) == "block")

    # -- R1 window -----------------------------------------------------------
    def window_expires_at(self, conv: Conversation) -> Optional[int]:
        if not conv.inbound:
            return None
        return max(m.at for m in conv.inbound) + self.window_ms

    def window_open(self, conv: Conversation, t: int) -> bool:
        # Open iff some inbound t_in <= t < t_in + window: the window closes
        # exactly at t_in + window, and a future inbound opens nothing now.
        return any(m.at <= t < m.at + self.window_ms for m in conv.inbound)

    # -- R2 waiting / reply due ---------------------------------------------
    def waiting_since(self, conv: Conversation) -> Optional[int]:
        last_out = max((m.at for m in conv.outbound), default=None)
        # An outbound at the same ms as an inbound answers it: pending is t > last_out.
        pending = [m.at for m in conv.inbound if last_out is None or m.at > last_out]
        return min(pending, default=None)

    def reply_due_at(self, conv: Conversation) -> Optional[int]:
        ws = self.waiting_since(conv)
        return None if ws is None else ws + self.reply_sla(conv.business)

    # -- R3 free entry point -------------------------------------------------
    def fep_window(self, conv: Conversation) -> Optional[tuple[int, int]]:
        """[t1, t1 + 72h) or None. Only the FIRST entry point (by timestamp)
        counts; if no outbound follows it within 24 h, there is no FEP window
        at all (a later entry point does not get a second chance). Any recorded
        outbound counts as the answer, like R2's last_out."""
        eps = [m.at for m in conv.inbound if m.entry_point is not None]
        if not eps:
            return None
        t0 = min(eps)
        answers = [m.at for m in conv.outbound if t0 <= m.at < t0 + FEP_REPLY_MS]
        if not answers:
            return None
        t1 = min(answers)
        return (t1, t1 + FEP_FREE_MS)

    # -- R4 classification ---------------------------------------------------
    def classify(self, conv: Conversation, m: Message) -> tuple[str, Optional[str]]:
        """('violation', name) | ('free', None) | ('charged', category)."""
        t = m.at
        if self.blocked(conv, t):                                   # R4.1
            return ("violation", "blocked")
        if m.kind != "template":                                    # R4.2
            return ("free", None) if self.window_open(conv, t) else ("violation", "outside_window")
        # R4.3 templates
        wrote = any(i.at <= t for i in conv.inbound)               # "at or before t"
        if not wrote and self.in_effect(conv, "consent", t) != "opt_in":
            return ("violation", "no_opt_in")
        if m.category == "marketing":
            if self.in_effect(conv, "marketing", t) == "marketing_opt_out":
                return ("violation", "opted_out")                  # checked before restrict
            if self.in_effect(conv, "restrict", t) == "restrict":
                return ("violation", "restricted")
        fep = self.fep_window(conv)
        if fep is not None and fep[0] <= t < fep[1]:
            return ("free", None)
        if m.category == "utility" and self.window_open(conv, t):
            return ("free", None)
        return ("charged", m.category)

    # -- queries (contract JSON shapes) -------------------------------------
    @staticmethod
    def _order(row: dict, time_key: str) -> tuple:
        return (row[time_key], row["business"].encode("utf-8"), row["customer"].encode("utf-8"))

    def _due_rows(self) -> list[dict]:
        rows = []
        for conv in self.conversations().values():
            due = self.reply_due_at(conv)
            if due is None or self.blocked(conv):        # R2: blocked (current state) is never overdue
                continue
            rows.append({"business": conv.business, "customer": conv.customer,
                         "waiting_since": self.waiting_since(conv), "reply_due_at": due})
        return rows

    def overdue(self, as_of: int, business: Optional[str] = None,
                limit: Optional[int] = None) -> list[dict]:
        rows = [r for r in self._due_rows() if r["reply_due_at"] <= as_of
                and (business is None or r["business"] == business)]
        rows.sort(key=lambda r: self._order(r, "reply_due_at"))
        return rows if limit is None else rows[:limit]

    def newly_overdue(self, after: int, until: int) -> list[dict]:
        rows = [r for r in self._due_rows() if after < r["reply_due_at"] <= until]
        rows.sort(key=lambda r: self._order(r, "reply_due_at"))
        return rows

    def windows(self, frm: int, to: int, business: Optional[str] = None) -> list[dict]:
        rows = []
        for conv in self.conversations().values():
            exp = self.window_expires_at(conv)
            # Blocked conversations are listed too: R2's "not blocked" is for overdue only.
            if exp is not None and frm <= exp < to and (business is None or conv.business == business):
                rows.append({"business": conv.business, "customer": conv.customer,
                             "window_expires_at": exp})
        rows.sort(key=lambda r: self._order(r, "window_expires_at"))
        return rows

    def show(self, business: str, customer: str, at: int) -> Optional[dict]:
        conv = self.conversations().get((business, customer))
        if conv is None:
            return None
        open_ = self.window_open(conv, at)
        return {
            "business": business,
            "customer": customer,
            "window_expires_at": self.window_expires_at(conv),
            "waiting_since": self.waiting_since(conv),
            "reply_due_at": self.reply_due_at(conv),
            "window_open": open_,
            # A non-template outbound at `at` would pass R4.1 and R4.2.
            "can_send_freeform": open_ and not self.blocked(conv, at),
            "blocked": self.blocked(conv),
            "restricted": self.in_effect(conv, "restrict") == "restrict",
            "marketing_opt_out": self.in_effect(conv, "marketing") == "marketing_opt_out",
            "messages_in": len(conv.inbound),
            "messages_out": len(conv.outbound),
        }

    def billing(self, business: str, frm: Optional[int] = None, to: Optional[int] = None) -> dict:
        charged = {c: 0 for c in CATEGORIES}
        violations = {v: 0 for v in ("blocked", "outside_window", "no_opt_in", "opted_out", "restricted")}
        free = 0
        for conv in self.conversations().values():
            if conv.business != business:
                continue
            for m in conv.outbound:
                if (frm is not None and m.at < frm) or (to is not None and m.at >= to):
                    continue                                  # [from, to)
                verdict, what = self.classify(conv, m)
                if verdict == "violation":
                    violations[what] += 1                     # a violation is never charged
                elif verdict == "free":
                    free += 1
                else:
                    charged[what] += 1
        return {
            "business": business, "from": frm, "to": to,
            "charged": charged, "free": free, "violations": violations,
            "amount_micros": sum(RATES[c] * n for c, n in charged.items()),
        }

    def summary(self) -> dict:
        return {"lines_read": self.lines_read, "imported": self.imported,
                "skipped": self.duplicates + self.headers, "duplicates": self.duplicates,
                "rejected": len(self.rejections), "messages": len(self.messages),
                "controls": len(self.controls), "statuses": len(self.statuses),
                "conversations": len(self.conversations())}


# ---------------------------------------------------------------------------
# Self-test: hand-computed cases from domain.md
# ---------------------------------------------------------------------------
def _selftest() -> None:
    T = 1_751_328_000_000          # 2025-07-01T00:00:00Z
    B, C = "15550001111", "447700900123"
    n = [0]

    def msg(direction, at, kind="text", category=None, ep=None, customer=C, business=B, **extra):
        n[0] += 1
        o = {"type": "message", "id": f"m{n[0]}", "business": business, "customer": customer,
             "direction": direction, "at": at, "kind": kind}
        if category:
            o["category"] = category
        if ep:
            o["entry_point"] = ep
        o.update(extra)
        return json.dumps(o)

    def ctl(action, at, by="customer", customer=C, business=B):
        return json.dumps({"type": "control", "business": business, "customer": customer,
                           "by": by, "action": action, "at": at})

    def store(*lines, order=None) -> Store:
        s = Store()
        s.ingest_bytes("\n".join(lines).encode())
        assert not s.rejections, s.rejections
        return s

    def bill(s, **kw):
        b = s.billing(B, **kw)
        return b["charged"], b["free"], {k: v for k, v in b["violations"].items() if v}

    ran = []

    def case(fn):
        fn()
        ran.append(fn.__name__)
        return fn

    @case
    def rfc3339_times():
        assert parse_rfc3339("2025-07-01T10:00:00Z") == 1_751_364_000_000   # contract example
        assert parse_rfc3339("2025-07-01T12:00:00.5+02:00") == 1_751_364_000_500
        assert parse_rfc3339("2025-06-30T23:30:00-10:30") == 1_751_364_000_000
        for bad in ("2025-07-01", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
                    "2025-07-01T00:00:60Z", "2025-07-01T00:00:00", "1969-12-31T23:59:59Z"):
            try:
                parse_at(bad)
            except Invalid:
                continue
            raise AssertionError(f"accepted {bad}")

    @case
    def window_closes_exactly_at_t_plus_24h():                     # R1
        s = store(msg("in", T), msg("out", T + DAY_MS - 1), msg("out", T + DAY_MS))
        conv = s.conversations()[(B, C)]
        assert s.window_expires_at(conv) == T + DAY_MS
        assert s.show(B, C, T + DAY_MS - 1)["window_open"] is True
        assert s.show(B, C, T + DAY_MS)["window_open"] is False
        assert s.show(B, C, T - 1)["window_open"] is False            # a future inbound opens nothing now
        # non-template at T+24h-1 is free, at T+24h it is outside the window (R4.2)
        assert bill(s) == ({"marketing": 0, "utility": 0, "authentication": 0}, 1, {"outside_window": 1})
        assert s.windows(T + DAY_MS, T + DAY_MS + 1) != [] and s.windows(T, T + DAY_MS) == []

    @case
    def outbound_at_same_ms_answers_inbound():                     # R2 + "Time and order"
        s = store(msg("in", T), msg("out", T))
        v = s.show(B, C, T)
        assert v["waiting_since"] is None and v["reply_due_at"] is None
        assert s.overdue(T + 10 * DAY_MS) == []
        s = store(msg("in", T), msg("out", T - 1), msg("in", T + 5), msg("out", T + 5), msg("in", T + 6))
        assert s.show(B, C, T)["waiting_since"] == T + 6               # only t > last_out is pending
        s = store(msg("in", T + 3 * HOUR_MS), msg("out", T), msg("in", T + HOUR_MS), msg("in", T + 2))
        v = s.show(B, C, T)
        assert v["waiting_since"] == T + 2 and v["reply_due_at"] == T + 2 + DAY_MS   # earliest pending

    @case
    def overdue_boundaries_and_order():                            # R2 scans
        s = store(msg("in", T, customer="2"), msg("in", T, customer="10"),
                  msg("in", T, business="1555", customer="9"), msg("in", T - 5, customer="3"),
                  msg("in", T + 1, customer="1"))
        due = T + DAY_MS
        assert [r["customer"] for r in s.overdue(due)] == ["3", "9", "10", "2"]   # byte order: "1555" < B; "10" < "2"
        assert [r["customer"] for r in s.overdue(due, business=B, limit=2)] == ["3", "10"]
        assert [r["customer"] for r in s.overdue(due - 6)] == []
        assert [r["customer"] for r in s.newly_overdue(due - 5, due)] == ["9", "10", "2"]  # (T1, T2]
        assert [r["customer"] for r in s.newly_overdue(due, due + 1)] == ["1"]

    @case
    def blocked_conversation_not_overdue():                        # R2 + R5
        s = store(msg("in", T), ctl("block", T + 1, by="business"))
        assert s.overdue(T + 2 * DAY_MS) == [] and s.newly_overdue(0, T + 2 * DAY_MS) == []
        assert len(s.windows(0, T + 2 * DAY_MS)) == 1                 # windows still lists it
        assert s.show(B, C, T + 2)["blocked"] is True
        s = store(msg("in", T), ctl("block", T + 1, by="business"), ctl("unblock", T + 2, by="business"))
        assert len(s.overdue(T + DAY_MS)) == 1
        # blocked in the past but not now is overdue; blocked now though not at T is not
        s = store(msg("in", T), ctl("report_spam", T + 2 * DAY_MS))
        assert s.overdue(T + DAY_MS) == []

    @case
    def only_first_entry_point():                                  # R3
        ep = {"source": "ad", "id": "1"}
        # first EP at T gets no answer within 24 h; the second EP opens nothing
        s = store(msg("in", T, ep=ep), msg("in", T + 48 * HOUR_MS, ep=ep),
                  msg("out", T + 49 * HOUR_MS, "template", "marketing"))
        assert bill(s)[0]["marketing"] == 1
        # answered at T+24h-1: free window [t1, t1+72h)
        t1 = T + DAY_MS - 1
        s = store(msg("in", T, ep=ep), msg("out", t1, "template", "marketing"),
                  msg("out", t1 + 3 * DAY_MS - 1, "template", "marketing"),
                  msg("out", t1 + 3 * DAY_MS, "template", "marketing"),
                  msg("out", t1 + 2 * DAY_MS, "template", "utility"))   # utility outside CSW, inside FEP
        charged, free, viol = bill(s)
        assert charged["marketing"] == 1 and free == 3 and not viol
        # the answer at exactly T+24h is too late
        s = store(msg("in", T, ep=ep), msg("out", T + DAY_MS, "template", "marketing"))
        assert bill(s)[0]["marketing"] == 1
        # the first EP is by timestamp, not file order
        s = store(msg("in", T + 30 * HOUR_MS, ep=ep), msg("in", T, ep=ep),
                  msg("out", T + 31 * HOUR_MS, "template", "marketing"))
        assert bill(s)[0]["marketing"] == 1

    @case
    def latest_control_wins():                                     # R5
        # file order: restrict@10, unrestrict@20, restrict@15 -> by time: unrestrict last
        s = store(msg("in", T), ctl("restrict", T + 10), ctl("unrestrict", T + 20), ctl("restrict", T + 15),
                  msg("out", T + 17, "template", "marketing"), msg("out", T + 25, "template", "marketing"))
        assert s.show(B, C, T)["restricted"] is False
        charged, free, viol = bill(s)
        assert viol == {"restricted": 1} and charged["marketing"] == 1
        # equal timestamps: the one recorded last wins
        s = store(ctl("marketing_opt_out", T), ctl("marketing_opt_in", T))
        assert s.show(B, C, T)["marketing_opt_out"] is False
        s = store(ctl("marketing_opt_in", T), ctl("marketing_opt_out", T))
        assert s.show(B, C, T)["marketing_opt_out"] is True

    @case
    def report_spam_blocks_until_unblock():                        # R5 + R4.1
        s = store(msg("in", T), ctl("report_spam", T + 10), msg("out", T + 11),
                  ctl("unblock", T + 20), msg("out", T + 21), msg("out", T + 10))
        charged, free, viol = bill(s)
        assert viol == {"blocked": 2} and free == 1
        v = s.show(B, C, T + 15)
        assert v["blocked"] is False and v["window_open"] is True and v["can_send_freeform"] is False
        assert s.show(B, C, T + 20)["can_send_freeform"] is True
        s = store(msg("in", T), ctl("unblock", T + 1, by="business"), ctl("report_spam", T + 2))
        assert s.show(B, C, T)["blocked"] is True                     # a business unblock does not lift the customer's

    @case
    def marketing_template_while_opted_out():                      # R4.3
        s = store(msg("in", T), ctl("marketing_opt_out", T + 1), ctl("restrict", T + 1),
                  msg("out", T + 2, "template", "marketing"),       # opted_out is checked first
                  msg("out", T + 3, "template", "utility"),         # not marketing: allowed, free in CSW
                  msg("out", T + 1, "template", "marketing"))       # same ms as the opt-out: in effect
        charged, free, viol = bill(s)
        assert viol == {"opted_out": 2} and free == 1
        s = store(msg("in", T), ctl("marketing_opt_out", T + 1), ctl("marketing_opt_in", T + 5),
                  ctl("restrict", T + 1), msg("out", T + 6, "template", "marketing"))
        assert bill(s)[2] == {"restricted": 1}

    @case
    def utility_inside_vs_outside_csw():                           # R4.3 charge
        s = store(msg("in", T), msg("out", T + DAY_MS - 1, "template", "utility"),
                  msg("out", T + DAY_MS, "template", "utility"),
                  msg("out", T + 5, "template", "authentication"))   # authentication is charged even in CSW
        b = s.billing(B)
        assert b["charged"] == {"marketing": 0, "utility": 1, "authentication": 1} and b["free"] == 1
        assert b["amount_micros"] == 8_000
        b = s.billing(B, frm=T + 5, to=T + DAY_MS)                       # [from, to)
        assert b["charged"]["authentication"] == 1 and b["free"] == 1 and b["charged"]["utility"] == 0
        assert (b["from"], b["to"]) == (T + 5, T + DAY_MS)

    @case
    def template_without_opt_in():                                 # R4.3 consent
        s = store(msg("out", T, "template", "utility"))
        assert bill(s)[2] == {"no_opt_in": 1}
        s = store(ctl("opt_in", T - 1), msg("out", T, "template", "utility"),
                  ctl("opt_out", T + 1), msg("out", T + 2, "template", "utility"))
        charged, free, viol = bill(s)
        assert charged["utility"] == 1 and viol == {"no_opt_in": 1}
        # the customer wrote at the same ms: consent given (and the window is open)
        s = store(msg("out", T, "template", "utility"), msg("in", T))
        assert bill(s)[1] == 1
        # having written once is enough later, even after an opt_out
        s = store(msg("in", T), ctl("opt_out", T + 1), msg("out", T + 3 * DAY_MS, "template", "marketing"))
        assert bill(s)[0]["marketing"] == 1

    @case
    def validation_limits():                                       # contract "Rejected input"
        s = Store()
        ok = [
            msg("in", T, business="é" * 32), msg("in", T, customer="9" * 64), msg("in", MAX_AT_MS),
            json.dumps({"type": "message", "id": "x" * 128, "business": B, "customer": C,
                        "direction": "in", "at": T, "body": "a" * 65536}),
            json.dumps({"type": "message", "id": "b64", "business": B, "customer": C,
                        "direction": "out", "at": T, "body_b64": base64.b64encode(b"\0" * 65536).decode()}),
            json.dumps({"type": "status", "business": B, "id": "nope", "status": "read", "at": T}),
            '{"convostore_dump":1}',
        ]
        bad = [
            "{", "[1]", '"x"', msg("in", T, business="é" * 33), msg("in", T, customer=""),
            json.dumps({"type": "message", "id": "y" * 129, "business": B, "customer": C, "direction": "in", "at": T}),
            json.dumps({"type": "message", "id": "big", "business": B, "customer": C,
                        "direction": "in", "at": T, "body": "é" * 32769}),
            msg("in", -1), msg("in", MAX_AT_MS + 1), msg("in", True), msg("in", 1.5), msg("in", "yesterday"), msg("inbound", T),
            msg("out", T, "template"), msg("out", T, "template", "service"),
            ctl("restrict", T, by="business"), ctl("spam", T), msg("in", T, entry_point="ad"),
            json.dumps({"type": "message", "business": B, "customer": C, "direction": "in", "at": T}),
            json.dumps({"type": "reaction", "business": B}),
            json.dumps({"type": "status", "business": B, "id": "m", "status": "seen", "at": T}),
        ]
        for line in ok:
            assert s.ingest_line(line.encode()) in ("imported", "header"), line
        for line in bad:
            assert s.ingest_line(line.encode()) == "rejected", line
        assert s.ingest_line(b"\xff{}") == "rejected" and s.ingest_line(b"   ") == "blank"
        assert len(s.rejections) == len(bad) + 1 and s.imported == len(ok) - 1

    @case
    def duplicates_and_conflicts():                                # contract: idempotent import
        s = Store()
        a = {"type": "message", "id": "d1", "business": B, "customer": C, "direction": "in",
             "at": 1_751_364_000_000, "body": "hi", "kind": "text"}
        same = {"kind": None, "body_b64": base64.b64encode(b"hi").decode(), "at": "2025-07-01T12:00:00+02:00",
                "customer": C, "type": "message", "id": "d1", "business": B, "direction": "in", "extra": 1}
        assert s.ingest_line(json.dumps(a).encode()) == "imported"
        assert s.ingest_line(json.dumps(same).encode()) == "duplicate"
        assert s.ingest_line(json.dumps(dict(a, body="ho")).encode()) == "rejected"
        assert s.ingest_line(json.dumps(dict(a, at=a["at"] + 1)).encode()) == "rejected"
        assert s.ingest_line(json.dumps(dict(a, business="other")).encode()) == "imported"  # unique per business
        assert s.show(B, C, 0)["messages_in"] == 1

    @case
    def order_independence():                                      # "Time and order"
        import random
        lines = [msg("in", T, ep={"s": 1}), msg("out", T + HOUR_MS, "template", "marketing"),
                 ctl("restrict", T + 2), ctl("unrestrict", T + 3 * HOUR_MS), msg("in", T + DAY_MS),
                 msg("out", T + 4 * HOUR_MS, "template", "marketing"), ctl("block", T + 5, by="business"),
                 ctl("unblock", T + 6, by="business"), msg("out", T + 30 * HOUR_MS)]
        want = None
        for seed in range(20):
            random.Random(seed).shuffle(lines)
            s = store(*lines)
            got = (s.billing(B), s.show(B, C, T + 7), s.overdue(T + 5 * DAY_MS), s.windows(0, T * 2))
            assert want is None or got == want
            want = got
        assert want[0]["violations"]["restricted"] == 1 and want[0]["free"] == 2

    print(f"selftest: {len(ran)} cases passed: {', '.join(ran)}")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def _emit_lines(rows: list[dict]) -> None:
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))


def main(argv: Optional[list[str]] = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv == ["--selftest"]:
        _selftest()
        return 0
    p = argparse.ArgumentParser(description="Reference model of the ConvoStore rules; "
                                "reads native dumps and prints the CLI's JSON answers.")
    p.add_argument("--selftest", action="store_true", help="run the hand-computed cases and exit")
    p.add_argument("--reply-sla", type=int, default=REPLY_SLA_MS, help="R2 reply SLA in ms")
    p.add_argument("--window", type=int, default=WINDOW_MS, help="R1 window in ms")
    sub = p.add_subparsers(dest="cmd")
    t = parse_cli_time

    q = sub.add_parser("overdue"); q.add_argument("--as-of", type=t, required=True)
    q.add_argument("--business"); q.add_argument("--limit", type=int)
    q = sub.add_parser("newly-overdue"); q.add_argument("--after", type=t, required=True)
    q.add_argument("--until", type=t, required=True)
    q = sub.add_parser("windows"); q.add_argument("--from", dest="frm", type=t, required=True)
    q.add_argument("--to", type=t, required=True); q.add_argument("--business")
    q = sub.add_parser("show"); q.add_argument("--business", required=True)
    q.add_argument("--customer", required=True); q.add_argument("--at", type=t, required=True)
    q = sub.add_parser("billing"); q.add_argument("--business", required=True)
    q.add_argument("--from", dest="frm", type=t); q.add_argument("--to", type=t)
    sub.add_parser("summary", help="counts and rejected lines")
    for name, q in sub.choices.items():
        q.add_argument("files", nargs="+", metavar="FILE")
    a = p.parse_args(argv)
    if a.selftest:
        _selftest()
        return 0
    if not a.cmd:
        p.error("a command is required")

    s = Store(window_ms=a.window, reply_sla_ms=a.reply_sla).load(a.files)
    if a.cmd == "overdue":
        _emit_lines(s.overdue(a.as_of, a.business, a.limit))
    elif a.cmd == "newly-overdue":
        _emit_lines(s.newly_overdue(a.after, a.until))
    elif a.cmd == "windows":
        _emit_lines(s.windows(a.frm, a.to, a.business))
    elif a.cmd == "show":
        v = s.show(a.business, a.customer, a.at)
        if v is None:
            print(f"no conversation between {a.business} and {a.customer}", file=sys.stderr)
            return 1
        print(json.dumps(v, ensure_ascii=False))
    elif a.cmd == "billing":
        print(json.dumps(s.billing(a.business, a.frm, a.to), ensure_ascii=False))
    elif a.cmd == "summary":
        for r in s.rejections:
            print(f"{r.file}:{r.line}: {r.reason}", file=sys.stderr)
        print(json.dumps(s.summary()))
        return 1 if s.rejections else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
