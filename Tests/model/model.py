#!/usr/bin/env python3
"""Reference model of ConvoStore's domain rules (shared/domain.md R1..R9).

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

What the model knows beyond R1..R5, read from docs/pricing.md and docs/lifecycle.md:
  * R6 `failed` statuses: a failed outbound message is no answer, not charged, no violation,
    opens no free entry point window and reaches nobody;
  * R7 markets (pricing.MarketTable), dated rate cards (pricing.RateCard), service charges
    from `serviceChargesFrom`, monthly volume tiers; billing's whole JSON;
  * R8 reached(B, T) and per-business limits;
  * R9 purge before H (a summary per conversation, charges kept per business, horizons),
    erasure of a customer, and `summary` lines in dumps (export and import).

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
import copy
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

sys.dont_write_bytecode = True        # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pricing import PRICED_CATEGORIES, CardError, MarketTable, RateCard, TableError  # noqa: E402

# ---------------------------------------------------------------------------
# Defaults (domain.md: "Every number below is a default ... can be configured")
# ---------------------------------------------------------------------------
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WINDOW_MS = DAY_MS            # R1: customer service window
REPLY_SLA_MS = DAY_MS         # R2: reply_sla
FEP_REPLY_MS = DAY_MS         # R3: the business must answer within 24 h of the entry point
FEP_FREE_MS = 3 * DAY_MS      # R3: ... which opens a 72 h free window
SERVICE_CHARGES_FROM = 1_790_812_800_000   # R7: 2026-10-01T00:00:00Z, the default serviceChargesFrom

# Limits (domain.md "Parties and ids"; contract "Rejected input")
MAX_PARTY_BYTES = 64
MAX_MESSAGE_ID_BYTES = 128
MAX_BODY_BYTES = 65_536
MAX_AT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last time RFC 3339 can write

CATEGORIES = ("marketing", "utility", "authentication")        # template categories (R4)
STATUSES = ("sent", "delivered", "read", "failed")
VIOLATIONS = ("blocked", "outside_window", "no_opt_in", "opted_out", "restricted", "limit_reached")
# docs/lifecycle.md: the class of a kept charge; "platform": what the platform's pricing said.
CHARGE_CLASSES = PRICED_CATEGORIES + ("free", "failed") + VIOLATIONS
PLATFORM_CLASSES = PRICED_CATEGORIES + ("free", "unpriced")

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
class Summary:
    """What a conversation keeps of its purged history (docs/lifecycle.md, "Purge before H").
    Every time is one of the purged part, or None."""
    horizon: int
    messages_in: int = 0
    messages_out: int = 0
    first_in: Optional[int] = None            # R4 consent: the customer wrote
    last_in: Optional[int] = None             # R1 window
    last_out: Optional[int] = None            # R2: the latest non-failed outbound
    waiting_since: Optional[int] = None       # R2: the earliest inbound after last_out
    entry_point_at: Optional[int] = None      # R3: the earliest inbound with an entry point
    free_window_start: Optional[int] = None   # R3: t1 of the free window, if it started before H
    last_reach: Optional[int] = None          # R8
    controls: dict = field(default_factory=dict)   # R5: group -> its latest purged Control


@dataclass(frozen=True)
class KeptCharge:
    """A charge kept without its message (purged or erased): docs/lifecycle.md."""
    business: str
    at: int
    klass: str          # a priced category, "free", "failed" or a violation
    market: str
    platform: str       # a priced category, "free" or "unpriced"
    count: int = 1


@dataclass
class Conversation:
    """All events of one (business, customer) pair, and its summary if it was purged."""
    business: str
    customer: str
    inbound: list = field(default_factory=list)    # [Message]
    outbound: list = field(default_factory=list)   # [Message]
    controls: list = field(default_factory=list)   # [Control]
    summary: Optional[Summary] = None


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
#  - A key given twice in one object, at any depth, is rejected (contract: "with any key
#    twice"), even with the same value.
#  - `summary` lines (docs/lifecycle.md): `horizon` is required (an integer or RFC 3339; null
#    only on a business's charges line, for charges kept by an erasure alone); the other times
#    may be absent or null, the counts absent (0). A conversation's summary line for a
#    conversation that has one already: identical -> a duplicate, different -> rejected.
#    Charges lines add their charges. Summary lines are never checked against a horizon.
#  - After a purge, a message, control or status with `at` before the horizon of its business
#    (the later of the store's and the business's) is rejected with the reason
#    `before the retention horizon <H>`, H in RFC 3339; validation comes first. A status of a
#    kept message is taken whatever its time (a status belongs to its message), and a purge
#    keeps the statuses waiting for their message (export writes them first, before any horizon).
# ---------------------------------------------------------------------------
def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _no_duplicate_keys(pairs: list) -> dict:
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"key {k!r} is given twice")
        obj[k] = v
    return obj


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


def _optional_time(obj: dict, key: str) -> Optional[int]:
    return None if obj.get(key) is None else parse_at(obj[key])


def _count(obj: dict, key: str, minimum: int = 0) -> int:
    v = obj.get(key, minimum)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise Invalid(f"`{key}` must be an integer of at least {minimum}")
    return v


def parse_summary_conversation(obj: dict, seq: int) -> tuple[str, str, Summary]:
    """{"type":"summary","business","customer","horizon",...} (docs/lifecycle.md)."""
    business, customer = _party(obj, "business"), _party(obj, "customer")
    if obj.get("horizon") is None:
        raise Invalid("missing required field `horizon`")
    s = Summary(horizon=parse_at(obj["horizon"]),
                messages_in=_count(obj, "messages_in"), messages_out=_count(obj, "messages_out"))
    for key in ("first_in", "last_in", "last_out", "waiting_since", "entry_point_at",
                "free_window_start", "last_reach"):
        setattr(s, key, _optional_time(obj, key))
    controls = obj.get("controls") or []
    if not isinstance(controls, list):
        raise Invalid("`controls` must be a list")
    for c in controls:
        if not isinstance(c, dict):
            raise Invalid("`controls` must hold objects")
        ctl = parse_control(dict(c, business=business, customer=customer), seq)
        old = s.controls.get(ctl.group)
        if old is not None and old.at > ctl.at:
            continue
        s.controls[ctl.group] = ctl
    return business, customer, s


def parse_summary_charges(obj: dict) -> tuple[str, Optional[int], list[KeptCharge]]:
    """{"type":"summary","business","horizon","charges":[[at,class,market,platform,count],...]}."""
    business = _party(obj, "business")
    horizon = _optional_time(obj, "horizon")
    charges = obj.get("charges")
    if not isinstance(charges, list):
        raise Invalid("`charges` must be a list")
    kept = []
    for e in charges:
        if not (isinstance(e, list) and len(e) == 5):
            raise Invalid("a charge is [at, class, market, platform, count]")
        at, klass, market, platform, count = e
        if klass not in CHARGE_CLASSES:
            raise Invalid(f"unknown charge class {klass!r}")
        if not isinstance(market, str) or not market:
            raise Invalid("a charge's market must be a string")
        if platform not in PLATFORM_CLASSES:
            raise Invalid(f"unknown platform class {platform!r}")
        kept.append(KeptCharge(business, parse_at(at), klass, market, platform,
                               _count({"count": count}, "count", 1)))
    return business, horizon, kept


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------
def _month(ms: int) -> tuple[int, int]:
    """The calendar month in UTC of a time (R7 volume tiers)."""
    return time.gmtime(ms // 1000)[:2]


def _summary_key(s: Summary) -> tuple:
    """A summary's content, without the file positions of its controls."""
    ctl = sorted((g, c.by, c.action, c.at) for g, c in s.controls.items())
    return (s.horizon, s.messages_in, s.messages_out, s.first_in, s.last_in, s.last_out, s.waiting_since,
            s.entry_point_at, s.free_window_start, s.last_reach, tuple(ctl))


class Store:
    def __init__(self, window_ms: int = WINDOW_MS, reply_sla_ms: int = REPLY_SLA_MS,
                 reply_sla_by_business: Optional[dict] = None, markets: Optional[MarketTable] = None,
                 service_charges_from: int = SERVICE_CHARGES_FROM):
        self.window_ms = window_ms
        self.reply_sla_ms = reply_sla_ms
        self.reply_sla_by_business = dict(reply_sla_by_business or {})
        self.markets = markets if markets is not None else MarketTable.fallback()
        self.rates = RateCard()                        # R7; empty: the default card everywhere
        self.service_from = service_charges_from       # R7 serviceChargesFrom
        self.limits: dict[str, int] = {}               # R8: business -> limit; absent = unlimited
        self.messages: dict[tuple[str, str], Message] = {}   # (business, id) -> first kept
        self.controls: list[Control] = []
        self.statuses: list[Status] = []
        self.summaries: dict[tuple[str, str], Summary] = {}  # R9: (business, customer) -> purged part
        self.kept: list[KeptCharge] = []               # R9: charges kept without their message
        self.horizon: Optional[int] = None             # R9: the store's horizon
        self.business_horizon: dict[str, int] = {}     # R9: horizons of `purge --business`
        self.rejections: list[Rejection] = []
        self.lines_read = 0       # non-blank lines
        self.imported = 0
        self.duplicates = 0       # skipped: same id, identical content
        self.headers = 0          # skipped: {"convostore_dump":1}
        self._seq = 0
        self._convs: Optional[dict] = None
        self._cache: dict = {}

    def copy(self) -> "Store":
        return copy.deepcopy(self)

    def _changed(self) -> None:
        self._convs = None
        self._cache = {}

    # -- input -------------------------------------------------------------
    def load(self, paths: Iterable[str]) -> "Store":
        """Read files in the given order (each path is one import argument)."""
        for path in paths:
            if path == "-":
                self.ingest_bytes(sys.stdin.buffer.read(), "-")
            else:
                with open(path, "rb") as f:
                    self.ingest_bytes(f.read(), str(path))
        return self

    def load_rates(self, path: str) -> None:
        """`rates import FILE`: raises CardError (and changes nothing) for a bad file."""
        with open(path, "rb") as f:
            self.rates.load(f.read(), self.markets.markets)
        self._changed()

    def set_limit(self, business: str, limit: Optional[int]) -> None:
        """`limits --set N|unlimited` (None = unlimited)."""
        if limit is None:
            self.limits.pop(business, None)
        else:
            assert limit >= 1
            self.limits[business] = limit

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
        self._changed()
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

    def horizon_of(self, business: str) -> Optional[int]:
        """R9: the later of the store's horizon and the business's."""
        hs = [h for h in (self.horizon, self.business_horizon.get(business)) if h is not None]
        return max(hs, default=None)

    def _raise_horizon(self, business: Optional[str], h: Optional[int]) -> None:
        if h is None:
            return
        if business is None:
            self.horizon = h if self.horizon is None else max(self.horizon, h)
        else:
            self.business_horizon[business] = max(self.business_horizon.get(business, h), h)

    def _check_horizon(self, business: str, at: int) -> None:
        h = self.horizon_of(business)
        if h is not None and at < h:
            raise Invalid(f"before the retention horizon {format_rfc3339(h)}")

    def _apply(self, raw: bytes, seq: int) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("line is not UTF-8") from None
        try:
            obj = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
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
            self._check_horizon(m.business, m.at)
            key = (m.business, m.id)
            old = self.messages.get(key)
            if old is not None:
                if old.content() == m.content():
                    return "duplicate"          # imports are idempotent
                raise Invalid("message id already recorded with different content")
            self.messages[key] = m
        elif kind == "control":
            c = parse_control(obj, seq)
            self._check_horizon(c.business, c.at)
            self.controls.append(c)
        elif kind == "status":
            # R6: a status for an unknown id is kept (it may precede its message).
            st = parse_status(obj, seq)
            # A status belongs to its message: one of a kept message is taken whatever its time;
            # one whose message is unknown is held to the horizon (docs/lifecycle.md).
            if (st.business, st.id) not in self.messages:
                self._check_horizon(st.business, st.at)
            self.statuses.append(st)
        elif kind == "summary":
            return self._apply_summary(obj, seq)
        else:
            raise Invalid(f"unknown type {kind!r}")
        return "imported"

    def _apply_summary(self, obj: dict, seq: int) -> str:
        """The three `summary` lines of docs/lifecycle.md; each raises a horizon."""
        if obj.get("customer") is not None:
            b, c, s = parse_summary_conversation(obj, seq)
            old = self.summaries.get((b, c))
            if old is not None:
                if _summary_key(old) == _summary_key(s):
                    return "duplicate"
                raise Invalid("a different summary of this conversation is already recorded")
            self.summaries[(b, c)] = s
            self._raise_horizon(b, s.horizon)
        elif obj.get("business") is not None:
            b, h, kept = parse_summary_charges(obj)
            self.kept += kept
            self._raise_horizon(b, h)
        else:
            if obj.get("horizon") is None:
                raise Invalid("missing required field `horizon`")
            self._raise_horizon(None, parse_at(obj["horizon"]))
        return "imported"

    # -- conversations -----------------------------------------------------
    def conversations(self) -> dict:
        """(business, customer) -> Conversation. A conversation exists from its
        first message or control (statuses create none), or from its summary."""
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
            for (b, c), s in self.summaries.items():
                conv(b, c).summary = s
            self._convs = convs
        return self._convs

    def reply_sla(self, business: str) -> int:
        return self.reply_sla_by_business.get(business, self.reply_sla_ms)

    def market(self, customer: str) -> str:
        return self.markets.market(customer)

    # -- R6 failed ---------------------------------------------------------------
    def is_failed(self, m: Message) -> bool:
        """An outbound message with a `failed` status, whenever it came and whatever other
        statuses it has: `failed` is final (R6)."""
        if "failed" not in self._cache:
            self._cache["failed"] = {(s.business, s.id) for s in self.statuses if s.status == "failed"}
        return m.direction == "out" and (m.business, m.id) in self._cache["failed"]

    # -- R5 controls ---------------------------------------------------------
    @staticmethod
    def in_effect(conv: Conversation, group: str, t: Optional[int] = None) -> Optional[str]:
        """The action of the group's latest control at or before t (None = after
        all controls). Equal timestamps: the one recorded last wins. A purged
        conversation's summary holds the latest purged control of each group."""
        candidates = [c for c in conv.controls if c.group == group]
        if conv.summary is not None and group in conv.summary.controls:
            candidates.append(conv.summary.controls[group])
        best = None
        for c in candidates:
            if t is None or c.at <= t:
                if best is None or (c.at, c.seq) > (best.at, best.seq):
                    best = c
        return best.action if best else None

    def blocked(self, conv: Conversation, t: Optional[int] = None) -> bool:
        """R5: blocked if either side's block group is in effect; report_spam
        counts as a block until a later unblock."""
        return (self.in_effect(conv, "customer_block", t) in ("block", "report_spam")
                or self.in_effect(conv, "business_block", t) == "block")

    # -- R1 window -----------------------------------------------------------
    @staticmethod
    def _inbound_times(conv: Conversation) -> list[int]:
        """Inbound times, with the summary's latest purged one (the only one R1 needs at >= H)."""
        times = [m.at for m in conv.inbound]
        if conv.summary is not None and conv.summary.last_in is not None:
            times.append(conv.summary.last_in)
        return times

    def window_expires_at(self, conv: Conversation) -> Optional[int]:
        times = self._inbound_times(conv)
        return max(times) + self.window_ms if times else None

    def window_open(self, conv: Conversation, t: int) -> bool:
        # Open iff some inbound t_in <= t < t_in + window: the window closes
        # exactly at t_in + window, and a future inbound opens nothing now.
        return any(x <= t < x + self.window_ms for x in self._inbound_times(conv))

    # -- R2 waiting / reply due ---------------------------------------------
    def last_out(self, conv: Conversation) -> Optional[int]:
        """The latest answer: a non-failed outbound (R6)."""
        times = [m.at for m in conv.outbound if not self.is_failed(m)]
        if conv.summary is not None and conv.summary.last_out is not None:
            times.append(conv.summary.last_out)
        return max(times, default=None)

    def waiting_since(self, conv: Conversation) -> Optional[int]:
        last_out = self.last_out(conv)
        # An outbound at the same ms as an inbound answers it: pending is t > last_out.
        pending = [m.at for m in conv.inbound if last_out is None or m.at > last_out]
        s = conv.summary
        if s is not None and s.waiting_since is not None and (last_out is None or s.waiting_since > last_out):
            pending.append(s.waiting_since)
        return min(pending, default=None)

    def reply_due_at(self, conv: Conversation) -> Optional[int]:
        ws = self.waiting_since(conv)
        return None if ws is None else ws + self.reply_sla(conv.business)

    # -- R3 free entry point -------------------------------------------------
    def fep_window(self, conv: Conversation) -> Optional[tuple[int, int]]:
        """[t1, t1 + 72h) or None. Only the FIRST entry point (by timestamp)
        counts; if no non-failed outbound follows it within 24 h, there is no FEP
        window at all (a later entry point does not get a second chance)."""
        s = conv.summary
        if s is not None and s.free_window_start is not None:
            return (s.free_window_start, s.free_window_start + FEP_FREE_MS)
        eps = [m.at for m in conv.inbound if m.entry_point is not None]
        if s is not None and s.entry_point_at is not None:
            eps.append(s.entry_point_at)
        if not eps:
            return None
        t0 = min(eps)
        answers = [m.at for m in conv.outbound if not self.is_failed(m) and t0 <= m.at < t0 + FEP_REPLY_MS]
        if not answers:
            return None
        t1 = min(answers)
        return (t1, t1 + FEP_FREE_MS)

    # -- R4 + R6 + R7 classification -------------------------------------------
    def wrote_by(self, conv: Conversation, t: int) -> bool:
        """R4 consent: the customer wrote at or before t."""
        s = conv.summary
        return (any(i.at <= t for i in conv.inbound)
                or (s is not None and s.first_in is not None and s.first_in <= t))

    def classify(self, conv: Conversation, m: Message) -> tuple[str, Optional[str]]:
        """('failed', None) | ('violation', name) | ('free', None) | ('charged', category),
        in the order of docs/pricing.md, "What a message is charged"."""
        cache = self._cache.setdefault("classify", {})
        key = (m.business, m.id)
        if key not in cache:
            cache[key] = self._classify(conv, m)
        return cache[key]

    def _classify(self, conv: Conversation, m: Message) -> tuple[str, Optional[str]]:
        t = m.at
        if self.is_failed(m):                                       # R6
            return ("failed", None)
        if self.blocked(conv, t):                                   # R4.1
            return ("violation", "blocked")
        template = m.kind == "template"
        if not template and not self.window_open(conv, t):          # R4.2
            return ("violation", "outside_window")
        if template:                                                # R4.3
            if not self.wrote_by(conv, t) and self.in_effect(conv, "consent", t) != "opt_in":
                return ("violation", "no_opt_in")
            if m.category == "marketing":
                if self.in_effect(conv, "marketing", t) == "marketing_opt_out":
                    return ("violation", "opted_out")              # checked before restrict
                if self.in_effect(conv, "restrict", t) == "restrict":
                    return ("violation", "restricted")
        fep = self.fep_window(conv)
        if fep is not None and fep[0] <= t < fep[1]:                # R3: free, whatever it is
            return ("free", None)
        if template:
            # R4: utility is free inside the CSW; R7: charged there too from serviceChargesFrom.
            if m.category == "utility" and self.window_open(conv, t) and t < self.service_from:
                return ("free", None)
            return ("charged", m.category)
        # A free-form message inside the CSW: free before serviceChargesFrom, `service` from it.
        return ("free", None) if t < self.service_from else ("charged", "service")

    @staticmethod
    def charge_class(verdict: tuple[str, Optional[str]]) -> str:
        """The class kept with a charge: a category, a violation, "free" or "failed"."""
        return verdict[1] if verdict[0] in ("charged", "violation") else verdict[0]

    # -- R8 reach ------------------------------------------------------------------
    def is_reach(self, conv: Conversation, m: Message) -> bool:
        """An outbound template, neither a violation nor failed, sent while the CSW was
        closed (docs/pricing.md, "Messaging limits"); one in a free entry point window counts."""
        return (m.direction == "out" and m.kind == "template"
                and self.classify(conv, m)[0] in ("free", "charged") and not self.window_open(conv, m.at))

    def reached(self, business: str, at: int) -> int:
        """reached(B, T): distinct customers with a reach from B at a time in (T - 24 h, T]."""
        n = 0
        for conv in self.conversations().values():
            if conv.business != business:
                continue
            times = [m.at for m in conv.outbound if self.is_reach(conv, m)]
            if conv.summary is not None and conv.summary.last_reach is not None:
                times.append(conv.summary.last_reach)
            if any(at - DAY_MS < x <= at for x in times):
                n += 1
        return n

    # -- R7 prices -------------------------------------------------------------------
    def priced(self, business: str) -> list[tuple]:
        """Every outbound message of the business, live or kept without its message:
        (at, class, market, platform, amount_micros). Charged ones are ranked per (market,
        category, UTC month) by (time, message id bytewise), over the whole history; a kept
        charge has no id and sorts first among equal times (the totals do not depend on it:
        entries of one millisecond and one group share one set of ranks)."""
        cache = self._cache.setdefault("priced", {})
        if business in cache:
            return cache[business]
        entries = []                                   # (at, id bytes, class, market, platform)
        for conv in self.conversations().values():
            if conv.business != business:
                continue
            market = self.market(conv.customer)
            for m in conv.outbound:
                # Native dumps carry no platform pricing: every message is "unpriced".
                entries.append((m.at, m.id.encode("utf-8"), self.charge_class(self.classify(conv, m)),
                                market, "unpriced"))
        for k in self.kept:
            if k.business == business:
                entries += [(k.at, b"", k.klass, k.market, k.platform)] * k.count
        entries.sort(key=lambda e: (e[0], e[1]))
        ranks: dict[tuple, int] = {}
        out = []
        for at, _, klass, market, platform in entries:
            amount = 0
            if klass in PRICED_CATEGORIES:
                group = (market, klass, _month(at))
                ranks[group] = ranks.get(group, 0) + 1
                amount = self.rates.rate(at, market, klass, ranks[group])
            out.append((at, klass, market, platform, amount))
        cache[business] = out
        return out

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
        s = conv.summary
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
            # Every recorded message counts, failed ones too; purged ones through the summary.
            "messages_in": len(conv.inbound) + (s.messages_in if s else 0),
            "messages_out": len(conv.outbound) + (s.messages_out if s else 0),
        }

    def billing(self, business: str, frm: Optional[int] = None, to: Optional[int] = None) -> dict:
        """The contract's billing object for the outbound messages with t in [from, to)."""
        def four() -> dict:
            return {c: 0 for c in PRICED_CATEGORIES}
        charged, violations = four(), {v: 0 for v in VIOLATIONS}
        free = failed = amount = 0
        markets: dict[str, dict] = {}
        platform = {"charged": four(), "free": 0, "unpriced": 0}
        for at, klass, market, plat, price in self.priced(business):
            if (frm is not None and at < frm) or (to is not None and at >= to):
                continue                                  # [from, to)
            if klass in PRICED_CATEGORIES:
                charged[klass] += 1
                amount += price
                mk = markets.setdefault(market, {"charged": four(), "amount_micros": 0})
                mk["charged"][klass] += 1
                mk["amount_micros"] += price
            elif klass == "free":
                free += 1
            elif klass == "failed":
                failed += 1                               # R6: neither charged nor a violation
            else:
                violations[klass] += 1                    # a violation is never charged
            if plat in PRICED_CATEGORIES:
                platform["charged"][plat] += 1
            else:
                platform[plat] += 1
        return {
            "business": business, "from": frm, "to": to,
            "charged": charged, "free": free, "violations": violations, "amount_micros": amount,
            "markets": markets, "failed": failed, "platform": platform,
        }

    def limits_answer(self, business: str, at: int) -> dict:
        """`limits --business B --at T --json`."""
        return {"business": business, "at": at, "limit": self.limits.get(business),
                "reached_24h": self.reached(business, at)}

    def rates_show(self) -> list[dict]:
        return self.rates.show()

    # -- R9 purge and erasure --------------------------------------------------------
    def purge(self, before: int, business: Optional[str] = None) -> dict:
        """`purge --before H [--business B]` (docs/lifecycle.md): removes the messages (with
        their statuses) and controls with time < H, keeps each conversation's summary and
        every charge, and raises the horizon. Statuses of kept messages stay whatever their
        time, and so do statuses waiting for a message that may still come."""
        removed = {"messages": 0, "controls": 0, "statuses": 0}
        plan = []
        for conv in self.conversations().values():
            if business is not None and conv.business != business:
                continue
            p_in = [m for m in conv.inbound if m.at < before]
            p_out = [m for m in conv.outbound if m.at < before]
            p_ctl = [c for c in conv.controls if c.at < before]
            if not (p_in or p_out or p_ctl):
                continue
            old = conv.summary or Summary(horizon=before)
            s = Summary(horizon=max(old.horizon, before),
                        messages_in=old.messages_in + len(p_in), messages_out=old.messages_out + len(p_out))
            ins = [m.at for m in p_in]
            s.first_in = min(ins + ([old.first_in] if old.first_in is not None else []), default=None)
            s.last_in = max(ins + ([old.last_in] if old.last_in is not None else []), default=None)
            outs = [m.at for m in p_out if not self.is_failed(m)]
            s.last_out = max(outs + ([old.last_out] if old.last_out is not None else []), default=None)
            pending = [t for t in ins + [old.waiting_since] if t is not None and (s.last_out is None or t > s.last_out)]
            s.waiting_since = min(pending, default=None)
            eps = [m.at for m in p_in if m.entry_point is not None]
            s.entry_point_at = min(eps + ([old.entry_point_at] if old.entry_point_at is not None else []), default=None)
            fep = self.fep_window(conv)
            s.free_window_start = fep[0] if fep is not None and fep[0] < before else None
            reaches = [m.at for m in p_out if self.is_reach(conv, m)]
            s.last_reach = max(reaches + ([old.last_reach] if old.last_reach is not None else []), default=None)
            s.controls = dict(old.controls)
            for c in p_ctl:
                kept = s.controls.get(c.group)
                if kept is None or (c.at, c.seq) > (kept.at, kept.seq):
                    s.controls[c.group] = c
            charges = [KeptCharge(conv.business, m.at, self.charge_class(self.classify(conv, m)),
                                  self.market(conv.customer), "unpriced") for m in p_out]
            plan.append((conv, p_in + p_out, p_ctl, s, charges))
        for conv, msgs, ctls, s, charges in plan:
            ids = {(m.business, m.id) for m in msgs}
            n = len(self.statuses)
            self.statuses = [st for st in self.statuses if (st.business, st.id) not in ids]
            removed["statuses"] += n - len(self.statuses)
            for key in ids:
                del self.messages[key]
            drop = {id(c) for c in ctls}
            self.controls = [c for c in self.controls if id(c) not in drop]
            removed["messages"] += len(msgs)
            removed["controls"] += len(ctls)
            self.summaries[(conv.business, conv.customer)] = s
            self.kept += charges
        # Statuses waiting for their message stay: it may still come at or after the horizon.
        self._raise_horizon(business, before)
        self._changed()
        return removed

    def erase(self, customer: str, business: Optional[str] = None) -> int:
        """`erase --customer C [--business B]`: removes C's conversations (all, or the one with B)
        with every message, status, control and summary; their charges stay, without C."""
        erased = 0
        for conv in list(self.conversations().values()):
            if conv.customer != customer or (business is not None and conv.business != business):
                continue
            market = self.market(customer)
            self.kept += [KeptCharge(conv.business, m.at, self.charge_class(self.classify(conv, m)),
                                     market, "unpriced") for m in conv.outbound]
            ids = {(m.business, m.id) for m in conv.inbound + conv.outbound}
            for key in ids:
                del self.messages[key]
            self.statuses = [st for st in self.statuses if (st.business, st.id) not in ids]
            self.controls = [c for c in self.controls
                             if not (c.business == conv.business and c.customer == customer)]
            self.summaries.pop((conv.business, customer), None)
            erased += 1
            self._changed()
        return erased

    # -- export (native dump with summary lines) -----------------------------------
    def export(self) -> bytes:
        """The whole store as a native dump, with the `summary` lines of docs/lifecycle.md."""
        out: list[dict] = [{"convostore_dump": 1}]
        # Statuses waiting for their message first: before any horizon, which a purge lets them keep.
        out += [self._status_line(st) for st in self.statuses if (st.business, st.id) not in self.messages]
        if self.horizon is not None:
            out.append({"type": "summary", "horizon": self.horizon})
        convs = self.conversations()
        key = lambda s: s.encode("utf-8")                                    # noqa: E731
        businesses = sorted({b for b, _ in convs} | {k.business for k in self.kept}
                            | set(self.business_horizon), key=key)
        for b in businesses:
            h = self.horizon_of(b)
            counts: dict[tuple, int] = {}
            for k in self.kept:
                if k.business == b:
                    g = (k.at, k.klass, k.market, k.platform)
                    counts[g] = counts.get(g, 0) + k.count
            entries = [[*g, n] for g, n in sorted(counts.items())]
            for i in range(0, len(entries), 1000):
                out.append({"type": "summary", "business": b, "horizon": h, "charges": entries[i:i + 1000]})
            if not entries and b in self.business_horizon:
                out.append({"type": "summary", "business": b, "horizon": h, "charges": []})
            for conv in sorted((c for (cb, _), c in convs.items() if cb == b), key=lambda c: key(c.customer)):
                s = conv.summary
                if s is not None:
                    line = {"type": "summary", "business": b, "customer": conv.customer}
                    for f in ("horizon", "messages_in", "messages_out", "first_in", "last_in", "last_out",
                              "waiting_since", "entry_point_at", "free_window_start", "last_reach"):
                        line[f] = getattr(s, f)
                    line["controls"] = [{"by": c.by, "action": c.action, "at": c.at}
                                        for c in sorted(s.controls.values(), key=lambda c: (c.at, c.seq))]
                    out.append(line)
                for m in sorted(conv.inbound + conv.outbound, key=lambda m: (m.at, key(m.id))):
                    out.append(self._message_line(m))
                    out += [self._status_line(st) for st in self.statuses if (st.business, st.id) == (m.business, m.id)]
                out += [{"type": "control", "business": c.business, "customer": c.customer, "by": c.by,
                         "action": c.action, "at": c.at} for c in sorted(conv.controls, key=lambda c: c.seq)]
        return b"".join(json.dumps(o, ensure_ascii=False).encode("utf-8") + b"\n" for o in out)

    @staticmethod
    def _message_line(m: Message) -> dict:
        o = {"type": "message", "id": m.id, "business": m.business, "customer": m.customer,
             "direction": m.direction, "at": m.at, "kind": m.kind}
        if m.category is not None:
            o["category"] = m.category
        if m.body:
            o["body_b64"] = base64.b64encode(m.body).decode("ascii")
        if m.entry_point is not None:
            o["entry_point"] = json.loads(m.entry_point)
        return o

    @staticmethod
    def _status_line(st: Status) -> dict:
        return {"type": "status", "business": st.business, "id": st.id, "status": st.status, "at": st.at}

    def summary(self) -> dict:
        return {"lines_read": self.lines_read, "imported": self.imported,
                "skipped": self.duplicates + self.headers, "duplicates": self.duplicates,
                "rejected": len(self.rejections), "messages": len(self.messages),
                "controls": len(self.controls), "statuses": len(self.statuses),
                "conversations": len(self.conversations()), "summaries": len(self.summaries),
                "kept_charges": sum(k.count for k in self.kept)}


# ---------------------------------------------------------------------------
# Self-test: hand-computed cases from domain.md, docs/pricing.md and docs/lifecycle.md
# ---------------------------------------------------------------------------
def _selftest() -> None:
    T = 1_751_328_000_000          # 2025-07-01T00:00:00Z
    TABLE = MarketTable.fallback()
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

    def store(*lines, card=None) -> Store:
        s = Store(markets=TABLE)
        if card is not None:
            s.rates.load(card.encode(), TABLE.markets)
        s.ingest_bytes("\n".join(lines).encode())
        assert not s.rejections, s.rejections
        return s

    def status(mid, st, at, business=B):
        return json.dumps({"type": "status", "business": business, "id": mid, "status": st, "at": at})

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
        assert bill(s) == ({"marketing": 0, "utility": 0, "authentication": 0, "service": 0}, 1, {"outside_window": 1})
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
        assert b["charged"] == {"marketing": 0, "utility": 1, "authentication": 1, "service": 0} and b["free"] == 1
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

    # ---- R6 .. R9 (docs/pricing.md, docs/lifecycle.md) -----------------------------------------
    R = parse_rfc3339
    IN1, GB1, GB2 = "919800000001", "447700900123", "447700900124"

    @case
    def duplicate_keys_rejected():                                 # contract: "any key twice"
        s = Store()
        line = '{"type":"message","id":"k","business":"b","customer":"c","direction":"in","at":1,"at":1}'
        assert s.ingest_line(line.encode()) == "rejected" and "twice" in s.rejections[0].reason
        nested = '{"type":"message","id":"k","business":"b","customer":"c","direction":"in","at":1,' \
                 '"entry_point":{"id":"1","id":"2"}}'
        assert s.ingest_line(nested.encode()) == "rejected"

    @case
    def markets_from_customer_ids():                               # R7 markets
        mk = TABLE.market
        assert mk("447700900123") == "GB" and mk("15550001111") == "north_america"
        assert mk("18765551234") == "rest_of_latin_america"        # NANP exception: 1876 beats 1
        assert mk("254700000000") == "rest_of_africa" and mk("7" * 64) == "RU"
        assert mk("US.13491208655302741918") == "north_america" and mk("JM.1") == "rest_of_latin_america"
        assert mk("IN.42") == "IN" and mk("ZZ.123") == "other" and mk("us.123") == "other"
        assert mk("US.") == "other" and mk("US.12a") == "other"
        for other in ("999123456", "0", "caf\u00e9", "+447700900123", "44 7700"):
            assert mk(other) == "other", other
        # The Swift file: rows between the markers, in a multi-line string literal.
        import tempfile
        swift = ("enum MarketTable {\n    // Source: ITU-T E.164 assignments\n    // BEGIN MARKET TABLE\n"
                 '    static let rows = """\n    calling_code\\tiso\\tmarket\n    1\\tUS\\tnorth_america\n'
                 '    1876\\tJM\\trest_of_latin_america\n\n    91\\tIN\\tIN\n    """\n    // END MARKET TABLE\n}\n')
        with tempfile.TemporaryDirectory() as d:
            for text in (swift, swift.replace("\\t", "\t")):
                p = Path(d) / "MarketTable.swift"
                p.write_text(text)
                t = MarketTable.from_swift(p)
                assert t.market("18765550000") == "rest_of_latin_america" and t.market("12125550000") == "north_america"
                assert t.markets == {"north_america", "rest_of_latin_america", "IN", "other"}
            p.write_text(swift.replace("91\\tIN\\tIN", "1\\tCA\\tCA"))
            try:
                MarketTable.from_swift(p)
                raise AssertionError("a code in two markets was accepted")
            except TableError:
                pass

    @case
    def rate_card_files():                                         # contract "Rate card", pricing.md
        good = ("effective_from,market,category,tier_from,rate_micros\n"
                "2026-07-01,IN,utility,1,1400\n2026-07-01,IN,utility,3,980\n"
                "2026-07-01T00:00:00Z,IN,marketing,1,11800\n2026-10-01T02:00:00+02:00,other,service,1,1400\n")
        card = RateCard()
        card.load(good.encode(), TABLE.markets)
        assert [v["effective_from"] for v in card.show()] == [R("2026-07-01T00:00:00Z"), R("2026-10-01T00:00:00Z")]
        assert [(r["category"], r["tier_from"]) for r in card.show()[0]["rows"]] == \
            [("marketing", 1), ("utility", 1), ("utility", 3)]      # one version: same instant
        header = good.split("\n", 1)[0]
        bad = {
            "bad header": ("effective_from,market,category,tier,rate_micros\n2026-07-01,IN,utility,1,1\n", 1),
            "unknown market": (header + "\n2026-07-01,IN,utility,1,1\n2026-07-01,atlantis,utility,1,1\n", 3),
            "unknown category": (header + "\n2026-07-01,IN,promo,1,1\n", 2),
            "negative rate": (header + "\n2026-07-01,IN,utility,1,-5\n", 2),
            "non-integer rate": (header + "\n2026-07-01,IN,utility,1,12.5\n", 2),
            "tier for marketing": (header + "\n2026-07-01,IN,marketing,1,5\n2026-07-01,IN,marketing,3,4\n", 3),
            "missing base row": (header + "\n2026-07-01,IN,utility,3,5\n", 2),
            "bad date": (header + "\n2026-13-01,IN,utility,1,5\n", 2),
            "repeated row": (header + "\n2026-07-01,IN,utility,1,5\n2026-07-01T00:00:00Z,IN,utility,1,6\n", 3),
            "tier 0": (header + "\n2026-07-01,IN,utility,0,5\n", 2),
        }
        for what, (text, line) in bad.items():
            try:
                card.load(text.encode(), TABLE.markets)
                raise AssertionError(f"{what}: accepted")
            except CardError as e:
                assert e.line == line, (what, e.line, e.reason)
        assert card.show()[0]["rows"][0]["rate_micros"] == 11800 and len(card.versions) == 2   # unchanged

    @case
    def worked_month_with_tiers_and_a_late_message():              # R7 volume tiers
        T0 = R("2026-08-03T00:00:00Z")
        card = ("effective_from,market,category,tier_from,rate_micros\n2026-07-01,IN,utility,1,1000\n"
                "2026-07-01,IN,utility,3,800\n2026-07-01,IN,utility,6,500\n2026-07-01,other,marketing,1,9000\n")
        lines = [ctl("opt_in", T0 - 2 * HOUR_MS, customer=IN1)]
        lines += [msg("out", T0 + i * HOUR_MS, "template", "utility", customer=IN1) for i in range(7)]
        lines += [msg("out", T0 + 90 * 60_000, "template", "utility", customer=IN1, id="failed.1"),
                  status("failed.1", "failed", T0 + 3 * DAY_MS),                          # not ranked
                  msg("in", T0 + 20 * HOUR_MS, customer=IN1),
                  msg("out", T0 + 21 * HOUR_MS, "template", "utility", customer=IN1),   # in the CSW, before the service date: free
                  msg("out", T0 + 2 * DAY_MS, "template", "marketing", customer=IN1),   # IN has no marketing row: other's
                  msg("out", R("2026-09-02T00:00:00Z"), "template", "utility", customer=IN1)]  # September: rank 1
        s = store(*lines, card=card)
        b = s.billing(B)
        # August: ranks 1..7 pay 1000, 1000, 800, 800, 800, 500, 500 = 5400; + 9000 + 1000.
        assert b["charged"] == {"marketing": 1, "utility": 8, "authentication": 0, "service": 0}
        assert (b["amount_micros"], b["free"], b["failed"]) == (15_400, 1, 1)
        assert b["markets"] == {"IN": {"charged": {"marketing": 1, "utility": 8, "authentication": 0, "service": 0},
                                       "amount_micros": 15_400}}
        assert b["platform"] == {"charged": {"marketing": 0, "utility": 0, "authentication": 0, "service": 0},
                                 "free": 0, "unpriced": 11}
        assert s.billing(B, T0 + 3 * HOUR_MS, T0 + 5 * HOUR_MS)["amount_micros"] == 1_600          # ranks 4, 5
        cut = s.billing(B, R("2026-08-31T12:00:00Z"), R("2026-09-02T12:00:00Z"))                   # cuts the month
        assert cut["amount_micros"] == 1_000 and cut["markets"]["IN"]["charged"]["utility"] == 1
        # A late message at T0 - 1 h takes rank 1 of August and moves every later one up.
        s.ingest_line(msg("out", T0 - HOUR_MS, "template", "utility", customer=IN1).encode())
        b = s.billing(B)
        assert b["amount_micros"] == 5_900 + 9_000 + 1_000 and b["charged"]["utility"] == 9
        assert s.billing(B, T0 + 3 * HOUR_MS, T0 + 5 * HOUR_MS)["amount_micros"] == 1_300          # now ranks 5, 6
        # Equal times: ties go by message id; the totals do not depend on which comes first.
        tie = [ctl("opt_in", T0 - 1, customer=IN1)] + [msg("out", T0, "template", "utility", customer=IN1, id=i)
                                                     for i in ("b", "a", "c")]
        assert store(*tie, card=card).billing(B)["amount_micros"] == 2_800
        # Changing the card re-prices what it covers.
        s.rates.load(b"effective_from,market,category,tier_from,rate_micros\n2026-07-01,IN,utility,1,10\n", TABLE.markets)
        s._changed()
        assert s.billing(B)["amount_micros"] == 9 * 10 + 25_000                 # marketing: default now

    @case
    def service_charges_from_2026_10_01():                          # R7 service date, R3
        S = SERVICE_CHARGES_FROM
        assert S == R("2026-10-01T00:00:00Z")
        card = ("effective_from,market,category,tier_from,rate_micros\n2026-09-01,GB,utility,1,2000\n"
                "2026-09-01,GB,service,1,1500\n2026-09-01,other,marketing,1,7000\n")
        ep = {"source": "ad", "id": "7"}
        s = store(msg("in", S - 2 * HOUR_MS, customer=GB1),
                  msg("out", S - 1, customer=GB1),                                   # free-form, before: free
                  msg("out", S, customer=GB1),                                       # from S: service
                  msg("out", S - 1, "template", "utility", customer=GB1),            # utility in the CSW, before: free
                  msg("out", S + 1, "template", "utility", customer=GB1),            # from S: utility, charged
                  msg("out", S - 10, "template", "authentication", customer=GB1),    # no row anywhere: default 4000
                  msg("in", S - HOUR_MS, customer=GB2, ep=ep),
                  msg("out", S - 30 * 60_000, customer=GB2),                         # opens the FEP window
                  msg("out", S + HOUR_MS, customer=GB2),                             # FEP: free, whatever it is
                  msg("out", S + 2 * HOUR_MS, "template", "utility", customer=GB2),
                  msg("out", S + 25 * HOUR_MS, customer=GB2),                        # CSW closed: violation first
                  msg("out", S + 30 * HOUR_MS, "template", "authentication", customer=GB2),
                  card=card)
        b = s.billing(B)
        assert b["charged"] == {"marketing": 0, "utility": 1, "authentication": 1, "service": 1}
        assert b["amount_micros"] == 1_500 + 2_000 + 4_000 and b["free"] == 6
        assert b["violations"]["outside_window"] == 1
        assert s.billing(B, S, None)["charged"]["service"] == 1 and s.billing(B, None, S)["charged"]["service"] == 0
        later = Store(markets=TABLE, service_charges_from=S + DAY_MS)          # a store setting
        later.ingest_bytes(msg("in", S, customer=GB1).encode() + b"\n" + msg("out", S + 1, customer=GB1).encode())
        assert later.billing(B)["free"] == 1

    @case
    def rate_card_fallbacks():                                      # R7 rate cards
        card = RateCard()
        card.load(("effective_from,market,category,tier_from,rate_micros\n"
                   "2026-09-01,IN,utility,1,1100\n2026-09-01,IN,utility,3,900\n2026-09-01,other,utility,1,3000\n"
                   "2026-09-01,other,service,1,2500\n2026-10-15T12:00:00Z,BR,marketing,1,6000\n"
                   "2026-10-15T12:00:00Z,other,utility,1,3500\n2026-11-01,DE,utility,1,1234\n"
                   "2026-11-01,DE,utility,3,999\n").encode(), TABLE.markets)
        v1, v2, v3 = R("2026-09-01T00:00:00Z"), R("2026-10-15T12:00:00Z"), R("2026-11-01T00:00:00Z")
        r = card.rate
        assert (r(v1 - 1, "IN", "marketing", 1), r(v1 - 1, "IN", "service", 1)) == (25_000, 4_000)   # no version yet
        assert (r(v1, "IN", "utility", 1), r(v1, "IN", "utility", 2), r(v1, "IN", "utility", 3)) == (1100, 1100, 900)
        assert r(v1, "BR", "utility", 5) == 3000                   # (other, utility)
        assert r(v1, "IN", "service", 1) == 2500                   # (other, service)
        assert (r(v1, "IN", "marketing", 1), r(v1, "IN", "authentication", 9)) == (25_000, 4_000)  # defaults
        assert r(v2 - 1, "IN", "utility", 1) == 1100 and r(v2, "IN", "utility", 1) == 3500        # at effective_from
        assert r(v2, "BR", "marketing", 1) == 6000
        assert r(v2, "IN", "service", 1) == 3500                   # no service rows: the utility base, via other
        assert r(v3, "DE", "service", 1) == 1234 and r(v3, "DE", "utility", 4) == 999
        assert r(v3, "DE", "service", 7) == 1234                   # service is never tiered
        card.load(b"effective_from,market,category,tier_from,rate_micros\n2026-10-15T12:00:00Z,other,utility,1,100\n",
                  TABLE.markets)                                    # replaces that version whole
        assert r(v2, "BR", "marketing", 1) == 25_000 and r(v2, "IN", "utility", 1) == 100
        assert len(card.show()) == 3

    @case
    def reach_counting_and_limits():                                # R8
        C1, C2, C3, C4 = "15550000001", "15550000002", "15550000003", "15550000004"
        ep = {"source": "ad", "id": "9"}
        lines = [ctl("opt_in", T - 1, customer=c) for c in (C1, C2, C3, C4)]
        lines += [msg("out", T, "template", "marketing", customer=C1),                 # reach
                  msg("out", T + 2 * HOUR_MS, "template", "utility", customer=C1),     # the same customer again
                  msg("in", T + HOUR_MS, customer=C2),
                  msg("out", T + 3 * HOUR_MS, "template", "utility", customer=C2),     # CSW open: no reach
                  msg("out", T + 26 * HOUR_MS, "template", "utility", customer=C2),    # CSW closed: reach
                  ctl("marketing_opt_out", T + 3 * HOUR_MS, customer=C3),
                  msg("out", T + 4 * HOUR_MS, "template", "marketing", customer=C3),   # violation: no reach
                  msg("out", T + 5 * HOUR_MS, "template", "authentication", customer=C3, id="c3.auth"),
                  status("c3.auth", "sent", T + 5 * HOUR_MS), status("c3.auth", "failed", T + 5 * HOUR_MS + 9),
                  msg("in", T - 30 * HOUR_MS, customer=C4, ep=ep),
                  msg("out", T - 29 * HOUR_MS, customer=C4),                           # opens the FEP window
                  msg("out", T + 6 * HOUR_MS, "template", "marketing", customer=C4, id="c4.mkt")]  # free, a reach
        s = store(*lines)
        assert s.billing(B)["free"] >= 2 and s.reached(B, T - 1) == 0
        assert [s.reached(B, t) for t in (T, T + 2 * HOUR_MS, T + 6 * HOUR_MS)] == [1, 1, 2]
        assert s.reached(B, T + DAY_MS) == 2                       # C1 at T has left (T, T + 24 h]
        assert s.reached(B, T + 26 * HOUR_MS - 1) == 2             # C1 (T + 2 h), C4; C2 not yet
        assert s.reached(B, T + 26 * HOUR_MS) == 2                 # C1 left; C4, C2
        assert s.reached(B, T + 30 * HOUR_MS) == 1 and s.reached(B, T + 49 * HOUR_MS) == 1   # C2 only
        assert s.reached(B, T + 50 * HOUR_MS) == 0                 # C2 at T + 26 h has left (T + 26 h, T + 50 h]
        assert s.limits_answer(B, T) == {"business": B, "at": T, "limit": None, "reached_24h": 1}
        s.set_limit(B, 250)
        assert s.limits_answer(B, T + 6 * HOUR_MS)["limit"] == 250
        s.set_limit(B, None)
        assert s.limits_answer(B, T)["limit"] is None
        s.ingest_line(status("c4.mkt", "failed", T + 9 * DAY_MS).encode())          # late failed: no reach
        assert s.reached(B, T + 6 * HOUR_MS) == 1

    @case
    def late_failed_status():                                       # R6 with R2, R3, R4
        ep = {"source": "ad", "id": "5"}
        s = store(msg("in", T, ep=ep), msg("out", T + HOUR_MS, id="o1"),
                  msg("out", T + 30 * HOUR_MS, "template", "marketing", id="o2"),
                  msg("out", T + 2 * HOUR_MS, id="o3"), status("o3", "read", T + 2 * HOUR_MS + 5),
                  status("in.x", "failed", T))                      # an orphan status: changes nothing
        assert bill(s) == ({"marketing": 0, "utility": 0, "authentication": 0, "service": 0}, 3, {})
        assert s.show(B, C, T)["waiting_since"] is None
        s.ingest_line(status("o1", "failed", T + 40 * HOUR_MS).encode())   # FEP now opened by o3: o2 still free
        b = s.billing(B)
        assert (b["free"], b["failed"]) == (2, 1) and s.fep_window(s.conversations()[(B, C)])[0] == T + 2 * HOUR_MS
        s.ingest_line(status("o3", "failed", T + 41 * HOUR_MS).encode())   # no answer in 24 h: no FEP
        b = s.billing(B)
        assert (b["free"], b["failed"], b["charged"]["marketing"]) == (0, 2, 1)
        assert s.show(B, C, T)["waiting_since"] is None                    # o2 still answers
        s.ingest_line(status("o2", "sent", T + 42 * HOUR_MS).encode())
        s.ingest_line(status("o2", "failed", T + 43 * HOUR_MS).encode())
        v = s.show(B, C, T)
        assert (v["waiting_since"], v["reply_due_at"], v["messages_out"]) == (T, T + DAY_MS, 3)
        assert [r["customer"] for r in s.overdue(T + DAY_MS)] == [C] and s.billing(B)["failed"] == 3
        # A failed status that came before its message applies when the message comes.
        s = store(status("early", "failed", T - 5), msg("in", T), msg("out", T + 1, id="early"))
        assert s.show(B, C, T)["waiting_since"] == T and s.billing(B)["failed"] == 1

    def answers(s: Store, H: int, businesses=(B, "b2")) -> list:
        """Everything a purge must keep, at times >= H."""
        out = []
        convs = sorted(s.conversations())
        times = sorted({H, H + 1, H + HOUR_MS, H + DAY_MS, H + 3 * DAY_MS, H + 9 * DAY_MS})
        for t in times:
            out += [s.overdue(t), [s.show(b, c, t) for b, c in convs], [s.reached(b, t) for b in businesses]]
        out += [s.newly_overdue(0, H + 30 * DAY_MS), s.windows(0, H + 30 * DAY_MS)]
        for b in businesses:
            for frm, to in ((None, None), (None, H), (H, None), (H - DAY_MS, H + DAY_MS), (H - 3, H + 3)):
                out.append(s.billing(b, frm, to))
        return out

    P0 = R("2026-09-29T00:00:00Z")
    P_CARD = ("effective_from,market,category,tier_from,rate_micros\n2026-09-01,IN,utility,1,1000\n"
              "2026-09-01,IN,utility,3,700\n2026-09-01,GB,authentication,1,3000\n2026-09-01,GB,authentication,3,2000\n"
              "2026-09-01,other,service,1,900\n")

    def purge_story() -> list[str]:
        ep = {"source": "ad", "id": "3"}
        U = "US.1234567"
        return [
            msg("in", P0, customer=IN1, ep=ep), msg("out", P0 + HOUR_MS, customer=IN1, id="in1.o1"),
            ctl("restrict", P0 + 2 * HOUR_MS, customer=IN1), ctl("marketing_opt_out", P0 + 3 * HOUR_MS, customer=IN1),
            ctl("marketing_opt_in", P0 + 3 * HOUR_MS, customer=IN1), msg("in", P0 + 5 * HOUR_MS, customer=IN1),
            msg("out", P0 + 6 * HOUR_MS, "template", "utility", customer=IN1),
            msg("out", P0 + 7 * HOUR_MS, "template", "utility", customer=IN1, id="in1.fail"),
            status("in1.fail", "failed", P0 + 8 * HOUR_MS),
            msg("in", P0 + 20 * HOUR_MS, customer=IN1),                       # pending across H
            ctl("opt_in", P0 - DAY_MS, customer=GB1),
            msg("out", P0, "template", "authentication", customer=GB1),       # a reach before H
            msg("out", P0 + HOUR_MS, "template", "authentication", customer=GB1),
            msg("in", P0 + 10 * HOUR_MS, customer=GB1), msg("in", P0 + 11 * HOUR_MS, customer=GB1),
            msg("in", P0 + 20 * HOUR_MS, customer=U), msg("out", P0 + 21 * HOUR_MS, customer=U),
            ctl("block", P0 + 22 * HOUR_MS, by="business", customer=U),
            msg("out", P0 + 23 * HOUR_MS, customer=U),                         # blocked
            ctl("unblock", P0 + 50 * HOUR_MS, by="business", customer=U),
            msg("in", P0 + 2 * HOUR_MS, customer=GB2, business="b2"),
            # after H = P0 + 24 h
            msg("out", P0 + 26 * HOUR_MS, "template", "utility", customer=IN1),  # FEP [P0+1h, P0+73h): free
            msg("out", P0 + 80 * HOUR_MS, "template", "utility", customer=IN1),  # rank 1 of October, a reach
            msg("out", P0 + 30 * HOUR_MS, "template", "authentication", customer=GB1),  # rank 3: 2000
            msg("out", P0 + 31 * HOUR_MS, "template", "marketing", customer=IN1),       # restricted
            msg("in", P0 + 51 * HOUR_MS, customer=U), msg("out", P0 + 52 * HOUR_MS, customer=U),   # service
        ]

    @case
    def purge_then_late_event():                                    # R9 purge, horizon, summary lines
        H = P0 + DAY_MS
        full = store(*purge_story(), card=P_CARD)
        s = full.copy()
        removed = s.purge(H)
        assert removed == {"messages": 14, "controls": 5, "statuses": 1}
        assert answers(s, H) == answers(full, H)
        sm = s.summaries[(B, IN1)]
        assert (sm.messages_in, sm.messages_out, sm.first_in, sm.last_in) == (3, 3, P0, P0 + 20 * HOUR_MS)
        assert (sm.last_out, sm.waiting_since, sm.entry_point_at, sm.free_window_start) == \
            (P0 + 6 * HOUR_MS, P0 + 20 * HOUR_MS, P0, P0 + HOUR_MS)
        assert s.summaries[(B, GB1)].last_reach == P0 + HOUR_MS and s.reached(B, H) == 1
        assert s.purge(H - 1000) == {"messages": 0, "controls": 0, "statuses": 0}
        # Late events: before H rejected, at or after H exactly as the full history.
        late = [msg("in", H - 1, customer=GB1), ctl("block", H - 5, customer=GB1),
                status("in1.fail", "read", H - 1), msg("out", H, customer=GB1),
                msg("out", H + HOUR_MS, "template", "authentication", customer=GB1),
                ctl("opt_out", H + 2, customer=IN1), msg("in", H + 3, customer=GB2, business="b2")]
        for line in late:
            s.ingest_line(line.encode())
        assert len(s.rejections) == 3
        assert {r.reason for r in s.rejections} == {"before the retention horizon 2026-09-30T00:00:00Z"}
        for line in late[3:]:
            full.ingest_line(line.encode())
        assert answers(s, H) == answers(full, H)
        # By hand: IN utility (Oct, rank 1) 1000; GB authentication ranks 1..4 of September (two
        # purged, the late one at H + 1 h third) 3000 + 3000 + 2000 + 2000; US user id: service
        # from (other, service) 900.
        b = s.billing(B)
        assert (b["amount_micros"], b["free"], b["failed"]) == (11_900, 5, 1)
        assert {m: v["amount_micros"] for m, v in b["markets"].items()} == {"IN": 1000, "GB": 10_000, "north_america": 900}
        assert {k: v for k, v in b["violations"].items() if v} == {"restricted": 1, "blocked": 1}
        # A status at or after H for a purged message is kept and changes nothing.
        before = answers(s, H)
        s.ingest_line(status("in1.o1", "failed", H + 7).encode())
        assert answers(s, H) == before and not s.rejections[3:]
        # Export, then import into a fresh store: the same answers, and the same horizon.
        dump = s.export()
        assert b'"type": "summary", "horizon": ' in dump and b'"charges": [[' in dump
        fresh = store(card=P_CARD)
        fresh.ingest_bytes(dump)
        assert not fresh.rejections and answers(fresh, H) == answers(s, H)
        fresh.ingest_line(late[0].encode())
        assert fresh.rejections[0].reason.startswith("before the retention horizon")
        # A purge of one business raises only its horizon.
        b2 = full.copy()
        b2.purge(H + DAY_MS, business="b2")
        assert b2.horizon_of("b2") == H + DAY_MS and b2.horizon_of(B) is None
        assert answers(b2, H + DAY_MS) == answers(full, H + DAY_MS)

    @case
    def erase_a_customer():                                         # R9 erasure
        full = store(*purge_story(), card=P_CARD)
        full.purge(P0 + 12 * HOUR_MS)
        s = full.copy()
        assert s.erase(IN1) == 1
        for frm, to in ((None, None), (P0, P0 + 30 * HOUR_MS), (P0 + 27 * HOUR_MS, None)):
            assert s.billing(B, frm, to) == full.billing(B, frm, to)
        assert s.show(B, IN1, P0) is None and IN1 not in {r["customer"] for r in s.windows(0, 2 * P0)}
        assert IN1 not in {r["customer"] for r in s.overdue(2 * P0)}
        assert IN1.encode() not in s.export() and b"in1." not in s.export()
        assert IN1.encode() in full.export()
        s.ingest_line(msg("in", P0 + 90 * HOUR_MS, customer=IN1).encode())   # a new conversation
        v = s.show(B, IN1, P0 + 90 * HOUR_MS)
        assert (v["messages_in"], v["messages_out"], v["waiting_since"]) == (1, 0, P0 + 90 * HOUR_MS)
        # Erasure for one business only; reached no longer counts the customer.
        s = full.copy()
        assert s.reached(B, P0 + 80 * HOUR_MS) == 1
        s.ingest_line(msg("in", P0 + 40 * HOUR_MS, customer=IN1, business="b2").encode())
        assert s.erase(IN1, business=B) == 1
        assert s.reached(B, P0 + 80 * HOUR_MS) == 0 and s.show("b2", IN1, P0) is not None
        assert s.billing(B) == full.billing(B)

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
    p.add_argument("--market-table", type=Path, help="the Swift file with the market table "
                   "(default: Sources/ConvoStore/Rules/MarketTable.swift, else a built-in table)")
    p.add_argument("--rates", action="append", default=[], metavar="CSV",
                   help="load a rate card before answering (repeatable, in order)")
    p.add_argument("--service-charges-from", type=parse_cli_time, default=SERVICE_CHARGES_FROM)
    p.add_argument("--purge-before", type=parse_cli_time, metavar="H", help="purge before H after loading")
    p.add_argument("--purge-business", metavar="B", help="... of this business only")
    p.add_argument("--erase", action="append", default=[], metavar="CUSTOMER", help="erase a customer after loading")
    p.add_argument("--set-limit", action="append", default=[], metavar="B=N",
                   help="a business's messaging limit (N or `unlimited`)")
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
    q = sub.add_parser("limits"); q.add_argument("--business", required=True)
    q.add_argument("--at", type=t, required=True)
    sub.add_parser("rates-show", help="the rate card versions (rates show --json)")
    sub.add_parser("export", help="the store as a native dump, with summary lines")
    sub.add_parser("summary", help="counts and rejected lines")
    for name, q in sub.choices.items():
        q.add_argument("files", nargs="*" if name == "rates-show" else "+", metavar="FILE")
    a = p.parse_args(argv)
    if a.selftest:
        _selftest()
        return 0
    if not a.cmd:
        p.error("a command is required")

    try:
        markets = MarketTable.load(a.market_table, strict=False)
    except TableError as e:
        print(f"model: {e}", file=sys.stderr)
        return 2
    for problem in markets.problems:
        print(f"model: warning: {problem}", file=sys.stderr)
    s = Store(window_ms=a.window, reply_sla_ms=a.reply_sla, markets=markets,
              service_charges_from=a.service_charges_from)
    for card in a.rates:
        try:
            s.load_rates(card)
        except CardError as e:
            print(f"{card}:{e.line}: {e.reason}", file=sys.stderr)
            return 1
    s.load(a.files)
    if a.purge_before is not None:
        s.purge(a.purge_before, a.purge_business)
    for c in a.erase:
        s.erase(c)
    for spec in a.set_limit:
        b, _, n = spec.rpartition("=")
        s.set_limit(b, None if n == "unlimited" else int(n))
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
    elif a.cmd == "limits":
        print(json.dumps(s.limits_answer(a.business, a.at), ensure_ascii=False))
    elif a.cmd == "rates-show":
        _emit_lines(s.rates_show())
    elif a.cmd == "export":
        sys.stdout.buffer.write(s.export())
    elif a.cmd == "summary":
        for r in s.rejections:
            print(f"{r.file}:{r.line}: {r.reason}", file=sys.stderr)
        print(json.dumps(s.summary()))
        return 1 if s.rejections else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
