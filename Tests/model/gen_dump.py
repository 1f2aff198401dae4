#!/usr/bin/env python3
"""Random native dumps for cross-checking ConvoStore (shared/contract.md).

Deterministic from --seed. The dumps are made to hit the rules' edges:
  * timestamps over about a week, in bursts per conversation, many placed
    exactly 0, +-1 ms, 24 h, 24 h +- 1 ms or 72 h from an earlier event of the
    same conversation, so windows open and close (R1), replies go overdue (R2)
    and free entry point windows start and end (R3) right on the boundaries;
  * inbound/outbound pairs at the same millisecond, entry points, templates of
    every category, every control action of both actors (R4, R5);
  * `at` as integers or RFC 3339 strings with offsets; bodies as text (some
    multi-byte, one exactly 64 KiB) or body_b64; ids at their byte limits,
    non-ASCII, prefixes of each other, canonically-equivalent but byte-different
    (precomposed vs decomposed e-acute); one message id used by two businesses;
  * statuses, some for ids whose message comes later or never (R6); `failed` only on
    messages that never come unless --failed is given;
  * duplicate lines, exact or re-encoded with the same content (int vs RFC 3339
    `at`, body vs body_b64, key order, unknown fields, implicit kind);
  * --shuffle writes the events in random order; --malformed K adds K lines the
    contract says must be rejected.

Two options make dumps for the rules after R5 (off by default, so that the R1..R6 part of the
cross-check keeps its dumps; without --failed no `failed` status names a real message):
  * --failed: `failed` statuses (R6) on about one outbound message in six, a third of them
    late (hours to days after the message, written at the end of the dump, after later
    events). A failed message may also have a `sent` status, never `delivered` or `read`
    (whether `failed` may follow `read` is left open by the docs).
  * --pricing: times from 2026-09-28 to 2026-11-05 in two clusters, one before
    serviceChargesFrom (2026-10-01, also a month boundary) and one across the
    October/November boundary; customers whose ids are phone numbers of several markets
    (NANP exceptions included), business-scoped user ids (`US.…`) and ids of no market; more
    templates. rate_cards() writes the matching rate card CSVs (--rates FILE).

It never writes two controls of one group for one conversation at the same ms
(so no answer depends on file order), and never reuses a message id with other
content except in a malformed line, which always comes after the original in
file order (and has an `at` no earlier, so sorting by `at` keeps that).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

sys.dont_write_bytecode = True        # keep __pycache__ out of the source tree
from model import (BUSINESS_ACTIONS, CATEGORIES, CONTROL_GROUP, CUSTOMER_ACTIONS,
                   DAY_MS, HOUR_MS, MAX_BODY_BYTES, STATUSES, format_rfc3339, parse_at,
                   parse_rfc3339)
from pricing import OTHER, TIERED, MarketTable

BASE = 1_751_328_000_000           # 2025-07-01T00:00:00Z
SPAN = 7 * DAY_MS                   # events fall in [BASE, BASE + SPAN)
MINUTE_MS = 60_000

# --pricing: events in [PRICING_BASE, PRICING_BASE + PRICING_SPAN); conversations start in the
# three days after one of PRICING_STARTS, so they run over 2026-10-01 (serviceChargesFrom and a
# month boundary) or over 2026-11-01 (a month boundary).
PRICING_BASE = parse_rfc3339("2026-09-28T00:00:00Z")
PRICING_SPAN = 38 * DAY_MS
PRICING_STARTS = (PRICING_BASE, parse_rfc3339("2026-10-29T00:00:00Z"))
# Phone number prefixes (calling code, sometimes with an area code) of single-country markets and
# groups; NANP area codes that the platform prices outside north_america; user id countries.
MARKET_PREFIXES = ["91", "55", "49", "44", "62", "1212", "1415", "1416", "52", "234", "27", "971",
                   "33", "34", "7", "20", "880", "65", "254", "351", "48", "966", "90"]
NANP_EXCEPTIONS = ["1876", "1809", "1868", "1242", "1787", "1264"]
USER_ID_COUNTRIES = ["US", "US", "US", "IN", "BR", "GB", "JM"]

# Ids that break naive key layouts or string handling. None starts with "-"
# (a command line could not pass it as an option value) or holds NUL.
SPECIAL_BUSINESSES = ["15550001111", "1555000111", "155500011110", "biz é/ü:|",
                      "9" * 64, "é" * 32, "商户🙂"]
SPECIAL_CUSTOMERS = ["447700900123", "44770090012", "4477009001230", "caf\u00e9", "cafe\u0301",
                     "7" * 64, "用户 🙂", "a b/c|d:e", "\u00e9" * 31 + "xy", "0"]


@dataclass
class Conv:
    business: str
    customer: str
    clock: int
    anchors: list = field(default_factory=list)        # times of this conversation's events
    group_times: set = field(default_factory=set)      # (group, at) of its controls


@dataclass
class Line:
    """One output line; `key` is the message (business, id) for messages."""
    data: bytes
    key: Optional[tuple] = None
    malformed: bool = False


@dataclass
class Dump:
    lines: list                      # [bytes], in file order
    malformed: int                   # number of lines the contract must reject
    header: bool


class Generator:
    def __init__(self, seed: int, events: int, businesses: int, customers: int,
                 shuffle: bool = False, malformed: int = 0, dup_rate: float = 0.06,
                 failed: bool = False, pricing: bool = False):
        self.rng = random.Random(seed)
        self.n_events = events
        self.shuffle = shuffle
        self.n_malformed = malformed
        self.dup_rate = dup_rate
        self.failed = failed
        self.pricing = pricing
        self.base, self.span = (PRICING_BASE, PRICING_SPAN) if pricing else (BASE, SPAN)
        self.businesses = self._ids(SPECIAL_BUSINESSES, businesses, 11)
        self.customers = (self._market_ids(customers) if pricing
                          else self._ids(SPECIAL_CUSTOMERS, customers, 12))
        self.lines: list[Line] = []
        self._late: list[dict] = []                 # late failed statuses, written at the end
        self._pending_after: list = []              # statuses to write after the current event
        self.msgs: dict[tuple, dict] = {}          # (business, id) -> message object
        self.out_ids: list[tuple] = []              # (business, id) of outbound messages
        self.used_ids: dict[str, set] = {}          # id -> businesses using it
        self.n_ids = 0
        self.big_bodies = 2 if events >= 300 else 0  # exactly-64-KiB bodies to write

    # -- ids -----------------------------------------------------------------
    def _ids(self, special: list, n: int, digits: int) -> list:
        rng = self.rng
        chosen = []
        # Take specials often but not always, so that digit-only stores exist too.
        for s in special:
            if len(chosen) < n and rng.random() < 0.6:
                chosen.append(s)
        while len(chosen) < n:
            s = "".join(rng.choice("0123456789") for _ in range(rng.randint(digits - 2, digits)))
            if s not in chosen:
                chosen.append(s)
        rng.shuffle(chosen)
        return chosen

    def _market_ids(self, n: int) -> list:
        """Customers of a few markets (--pricing): several per market so that monthly ranks grow."""
        rng = self.rng

        def digits(k: int) -> str:
            return "".join(rng.choice("0123456789") for _ in range(k))

        prefixes = rng.sample(MARKET_PREFIXES, 3)
        exceptions = rng.sample(NANP_EXCEPTIONS, 2)
        chosen = ["US." + digits(20), "US." + digits(19)] + [e + digits(7) for e in exceptions]
        chosen.append(rng.choice(["999" + digits(8), "caf\u00e9", "0", "ZZ." + digits(12)]))   # no market
        while len(chosen) < n:
            r = rng.random()
            if r < 0.75:
                p = rng.choice(prefixes)
                s = p + digits(rng.randint(11, 12) - len(p))
            elif r < 0.85:
                s = rng.choice(exceptions) + digits(7)
            else:
                s = rng.choice(USER_ID_COUNTRIES) + "." + digits(rng.randint(12, 20))
            if s not in chosen:
                chosen.append(s)
        chosen = chosen[:n]
        rng.shuffle(chosen)
        return chosen

    def _message_id(self, business: str) -> str:
        rng = self.rng
        # Sometimes reuse another business's id: ids are unique per business only.
        if rng.random() < 0.04:
            shared = [i for i, bs in self.used_ids.items() if business not in bs]
            if shared:
                i = rng.choice(shared)
                self.used_ids[i].add(business)
                return i
        self.n_ids += 1
        r = rng.random()
        if r < 0.03:
            base = f"wamid.{self.n_ids}."
            i = base + "x" * (128 - len(base))                   # exactly 128 bytes
        elif r < 0.08:
            i = f"msg-ü-{self.n_ids}"
        else:
            i = "wamid.HBgL" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                                       for _ in range(16)) + f"{self.n_ids}"
        self.used_ids.setdefault(i, set()).add(business)
        return i

    # -- time ----------------------------------------------------------------
    def _time(self, conv: Conv) -> int:
        rng = self.rng
        if conv.anchors and rng.random() < 0.35:
            # An edge relative to an earlier event of the conversation.
            a = rng.choice(conv.anchors)
            t = a + rng.choice([0, 0, 1, -1, DAY_MS, DAY_MS, DAY_MS - 1, DAY_MS + 1,
                                3 * DAY_MS, 3 * DAY_MS - 1, 3 * DAY_MS + 1, DAY_MS - 1 + 3 * DAY_MS,
                                2 * DAY_MS, 12 * HOUR_MS, -HOUR_MS, 23 * HOUR_MS])
        else:
            r = rng.random()
            if r < 0.08:
                step = 0
            elif r < 0.35:
                step = rng.randint(1, 120_000)
            elif r < 0.6:
                step = rng.randint(1, 90) * MINUTE_MS + rng.randint(0, 999)
            elif r < 0.85:
                step = rng.randint(1, 30) * HOUR_MS + rng.randint(0, 59) * MINUTE_MS
            elif r < 0.93:
                step = rng.choice([DAY_MS, DAY_MS - 1, DAY_MS + 1])
            else:
                step = -rng.randint(1, 10) * HOUR_MS            # a late event
            t = conv.clock + step
            conv.clock = max(conv.clock, t)
        if not self.base <= t < self.base + self.span:
            t = self.base + rng.randrange(self.span)
        conv.anchors.append(t)
        return t

    def _at(self, t: int):
        """`at` as an integer or as RFC 3339 with some offset."""
        if self.rng.random() < 0.25:
            off = self.rng.choice([0, 0, 120, -300, 330, -570, 840])
            return format_rfc3339(t, off, millis=self.rng.random() < 0.3 or None)
        return t

    # -- bodies ----------------------------------------------------------------
    def _body(self, obj: dict) -> None:
        rng = self.rng
        r = rng.random()
        if self.big_bodies and r < 0.01:
            self.big_bodies -= 1
            if self.big_bodies % 2:
                obj["body"] = "é" * (MAX_BODY_BYTES // 2 - 2) + "🙂"      # 65532 + 4 bytes
            else:
                obj["body_b64"] = base64.b64encode(rng.randbytes(MAX_BODY_BYTES)).decode()
        elif r < 0.6:
            obj["body"] = rng.choice(["hello", "ok 👍", "price?", 'quote " and \\ back', "línea\nnueva",
                                      "", "\u00e9\u0301\t", "order #" + str(rng.randint(1, 99999))])
        elif r < 0.85:
            obj["body_b64"] = base64.b64encode(rng.randbytes(rng.randint(0, 300))).decode()

    # -- lines -----------------------------------------------------------------
    def _encode(self, obj: dict) -> bytes:
        rng = self.rng
        ascii_ = rng.random() < 0.5
        compact = rng.random() < 0.7
        return json.dumps(obj, ensure_ascii=ascii_,
                          separators=(",", ":") if compact else (", ", ": ")).encode("utf-8")

    def _emit(self, obj: dict, key=None) -> int:
        self.lines.append(Line(self._encode(obj), key))
        return len(self.lines) - 1

    def _message(self, conv: Conv, direction: str, t: int, before: list, category: Optional[str] = None) -> None:
        """One message; `category`: a template of that category (a campaign's)."""
        rng = self.rng
        mid = self._message_id(conv.business)
        obj = {"type": "message", "id": mid, "business": conv.business, "customer": conv.customer,
               "direction": direction, "at": self._at(t)}
        if category is not None:
            kind = "template"
        elif direction == "out":
            kind = rng.choices(["text", "template", "media", "interactive"],
                               [30, 55, 8, 7] if self.pricing else [35, 45, 10, 10])[0]
        else:
            kind = rng.choices(["text", "media", "interactive", "location"], [70, 15, 10, 5])[0]
        if kind != "text" or rng.random() < 0.5:
            obj["kind"] = kind                               # text is the default
        if category is not None:
            obj["category"] = category
        elif kind == "template":
            obj["category"] = (rng.choices(CATEGORIES, [20, 42, 38])[0] if self.pricing
                               else rng.choice(CATEGORIES))
        self._body(obj)
        if direction == "in" and rng.random() < 0.2:
            obj["entry_point"] = rng.choice([
                {"source": "ad", "id": str(rng.randint(10**8, 10**9))},
                {"source": "page_button", "ctwa_clid": "Afc" + str(rng.randint(0, 9999)), "n": [1, {"x": None}]},
            ])
        if rng.random() < 0.05:
            obj["x_unknown"] = {"ignored": True}
        keys = list(obj)
        if rng.random() < 0.3:
            rng.shuffle(keys)
            obj = {k: obj[k] for k in keys}
        self.msgs[(conv.business, mid)] = obj
        if direction == "out":
            self.out_ids.append((conv.business, mid))
            # R6 statuses; some written before their message.
            for st in self._statuses():
                s = {"type": "status", "business": conv.business, "id": mid, "status": st,
                     "at": self._at(t + rng.randint(-1000, 5 * MINUTE_MS))}
                if rng.random() < 0.3:
                    before.append(s)
                else:
                    self._pending_after.append(s)          # written after the message
            if self.failed and rng.random() < 0.05:
                # A late failed status: hours to days later, written at the end of the dump.
                self._late.append({"type": "status", "business": conv.business, "id": mid, "status": "failed",
                                   "at": self._at(t + rng.randint(HOUR_MS, 3 * DAY_MS))})
        idx = self._emit(obj, key=(conv.business, mid))
        for s in before:
            # move statuses in front of the message line
            self.lines.insert(idx, Line(self._encode(s)))
            idx += 1
        before.clear()

    def _campaign(self, conv: Conv, convs: list) -> int:
        """--pricing: one business sends a template of one category to several customers within
        minutes, some at the same millisecond, so that monthly ranks cross the tiers (R7) and
        many customers are reached at once (R8)."""
        rng = self.rng
        category = rng.choice(["utility", "utility", "authentication", "authentication", "marketing"])
        t0 = self._time(conv)
        own = [c for c in convs if c.business == conv.business]
        for target in rng.sample(own, min(len(own), rng.randint(3, 8))):
            t = t0 + rng.choice([0, 0, 1, rng.randint(2, 10 * MINUTE_MS)])
            t = t if t < self.base + self.span else t0
            target.anchors.append(t)
            target.clock = max(target.clock, t)
            self._message(target, "out", t, [], category=category)
            for s in self._pending_after:
                self._emit(s)
            self._pending_after.clear()
        return 1

    def _names_failed_message(self, data: bytes) -> bool:
        o = json.loads(data)
        return o.get("type") == "status" and o["status"] == "failed" and (o["business"], o["id"]) in self.msgs

    def _statuses(self) -> list:
        """The statuses of one outbound message (at about its time)."""
        rng = self.rng
        if not self.failed:
            return rng.sample(STATUSES, rng.choice([0, 0, 1, 2]))
        if rng.random() < 0.08:
            return rng.sample(["failed", "sent"], rng.choice([1, 2]))    # failed is final: no delivered/read
        return rng.sample(["sent", "delivered", "read"], rng.choice([0, 0, 1, 2]))

    def _control(self, conv: Conv, t: int) -> None:
        rng = self.rng
        # Unblocks outweigh blocks so that busy conversations are not blocked for good.
        if rng.random() < 0.2:
            by, weights = "business", {"block": 3, "unblock": 7}
        else:
            by, weights = "customer", {"block": 3, "unblock": 10, "report_spam": 2, "restrict": 6,
                                       "unrestrict": 6, "marketing_opt_out": 6, "marketing_opt_in": 5,
                                       "opt_in": 8, "opt_out": 4}
        assert set(weights) == set(BUSINESS_ACTIONS if by == "business" else CUSTOMER_ACTIONS)
        action = rng.choices(list(weights), list(weights.values()))[0]
        group = CONTROL_GROUP[(by, action)]
        while (group, t) in conv.group_times:       # never two controls of a group at one ms
            t += 1
        conv.group_times.add((group, t))
        self._emit({"type": "control", "business": conv.business, "customer": conv.customer,
                    "by": by, "action": action, "at": self._at(t)})

    def generate(self) -> Dump:
        rng = self.rng
        if self.pricing:
            convs = [Conv(b, c, rng.choice(PRICING_STARTS) + rng.randrange(3 * DAY_MS))
                     for b in self.businesses for c in self.customers]
        else:
            convs = [Conv(b, c, BASE + rng.randrange(3 * DAY_MS)) for b in self.businesses for c in self.customers]
        weights = [min(rng.paretovariate(1.2), 20.0) for _ in convs]   # a few busy conversations
        produced = 0
        while produced < self.n_events:
            conv = rng.choices(convs, weights)[0]
            if self.pricing and rng.random() < 0.05:
                produced += self._campaign(conv, convs)
                continue
            r = rng.random()
            t = self._time(conv)
            if r < 0.40:
                self._message(conv, "in", t, [])
                produced += 1
                if rng.random() < 0.15:                        # an answer at the same millisecond
                    self._message(conv, "out", t, [])
                    produced += 1
            elif r < 0.78:
                self._message(conv, "out", t, [])
                produced += 1
            elif r < 0.94:
                self._control(conv, t)
                produced += 1
            else:                                               # a status for an id never seen
                self._emit({"type": "status", "business": conv.business, "id": f"ghost.{produced}",
                            "status": rng.choice(STATUSES), "at": self._at(t)})
                produced += 1
            for s in self._pending_after:
                self._emit(s)
                produced += 1
            self._pending_after.clear()
        for s in self._late:                                    # late failed statuses come last
            self._emit(s)
        if not self.failed:
            # No failed message without --failed: its statuses are left out after the fact, so
            # that the other events are those the R1..R6 dumps always had for the seed.
            self.lines = [l for l in self.lines if not self._names_failed_message(l.data)]

        self._duplicates()
        if self.shuffle:
            rng.shuffle(self.lines)
        self._malformed()                   # after shuffling: a conflict must follow its original
        out = [l.data for l in self.lines]
        for _ in range(rng.randint(0, 2)):                      # blank lines are ignored
            out.insert(rng.randint(0, len(out)), b"")
        header = rng.random() < 0.5
        if header:
            out.insert(0, b'{"convostore_dump":1}')
        return Dump(out, self.n_malformed, header)

    def _duplicates(self) -> None:
        rng = self.rng
        extra = []
        for line in self.lines:
            if rng.random() >= self.dup_rate:
                continue
            if line.key is None or rng.random() < 0.4:
                extra.append(Line(line.data, line.key))         # exact copy
            else:
                extra.append(Line(self._reencode(self.msgs[line.key]), line.key))
        for e in extra:
            # Duplicates have identical content, so where they go does not matter.
            self.lines.insert(rng.randint(0, len(self.lines)), e)

    def _reencode(self, obj: dict) -> bytes:
        """Same content, different bytes (contract: identical content is skipped)."""
        rng = self.rng
        o = dict(obj)
        at = o["at"]
        if isinstance(at, int):
            o["at"] = format_rfc3339(at, rng.choice([0, 60, -420]), millis=True)
        else:
            o["at"] = parse_rfc3339(at)
        if "body" in o and rng.random() < 0.7:
            o["body_b64"] = base64.b64encode(o.pop("body").encode("utf-8")).decode()
        elif "body_b64" in o and rng.random() < 0.5:
            raw = base64.b64decode(o["body_b64"])
            try:
                o["body"] = raw.decode("utf-8")
                del o["body_b64"]
            except UnicodeDecodeError:
                pass
        if o.get("kind", "text") == "text":
            if "kind" in o:
                del o["kind"]
            else:
                o["kind"] = "text"
        o["x_replayed_by"] = "gen_dump"
        keys = list(o)
        rng.shuffle(keys)
        return self._encode({k: o[k] for k in keys})

    # -- malformed lines -------------------------------------------------------
    def _malformed(self) -> None:
        rng = self.rng
        if not self.n_malformed:
            return
        b, c = self.businesses[0], self.customers[0]
        t = self.base + DAY_MS

        def msg(**kw):
            o = {"type": "message", "id": f"bad.{rng.randrange(10**9)}", "business": b, "customer": c,
                 "direction": "in", "at": t}
            o.update(kw)
            return json.dumps({k: v for k, v in o.items() if v is not _DROP}).encode()

        def ctl(**kw):
            o = {"type": "control", "business": b, "customer": c, "by": "customer",
                 "action": "block", "at": t}
            o.update(kw)
            return json.dumps({k: v for k, v in o.items() if v is not _DROP}).encode()

        makers = [
            lambda: b'{"type":"message","id":"trunc","business":"' + b.encode() + b'",',   # bad JSON
            lambda: b"[1,2,3]",
            lambda: b'"just a string"',
            lambda: b"\xff\xfe not utf-8",
            lambda: b"{'single': 'quotes'}",
            lambda: msg(at=float("nan")),                                           # NaN is not JSON
            lambda: msg(**{rng.choice(["id", "business", "customer", "direction", "at"]): _DROP}),
            lambda: msg(type=_DROP),
            lambda: ctl(**{rng.choice(["business", "customer", "by", "action", "at"]): _DROP}),
            lambda: json.dumps({"type": "status", "business": b, "status": "read", "at": t}).encode(),
            lambda: msg(at=True),
            lambda: msg(at=str(t)),                                                 # digits in a string
            lambda: msg(at=t + 0.5),
            lambda: msg(at=-1),
            lambda: msg(at="2025-07-01T25:00:00Z"),
            lambda: msg(at="2025-07-01 10:00:00"),
            lambda: msg(business=15550001111),
            lambda: msg(id=12345),
            lambda: msg(id="x" * 129),
            lambda: msg(id=""),
            lambda: msg(business="é" * 33),                                         # 66 bytes
            lambda: msg(customer="1" * 65),
            lambda: msg(customer=""),
            lambda: msg(direction="inbound"),
            lambda: msg(direction="IN"),
            lambda: msg(direction="out", kind="template"),                          # no category
            lambda: msg(direction="out", kind="template", category="service"),
            lambda: msg(kind=7),
            lambda: msg(body=42),
            lambda: msg(body="a" * (MAX_BODY_BYTES + 1)),
            lambda: msg(body_b64="not base64!"),
            lambda: msg(body_b64=base64.b64encode(bytes(MAX_BODY_BYTES + 1)).decode()),
            lambda: msg(entry_point="ad"),
            lambda: msg(entry_point=[1]),
            lambda: ctl(by="business", action="restrict"),
            lambda: ctl(by="business", action="report_spam"),
            lambda: ctl(action="spam"),
            lambda: ctl(by="admin"),
            lambda: json.dumps({"type": "status", "business": b, "id": "s", "status": "seen", "at": t}).encode(),
            lambda: json.dumps({"type": "reaction", "business": b, "customer": c, "at": t}).encode(),
            lambda: json.dumps({"type": 1}).encode(),
            lambda: b'{"convostore_dump":2}',
            "conflict",
        ]
        for _ in range(self.n_malformed):
            make = rng.choice(makers)
            if make == "conflict":
                originals = [i for i, l in enumerate(self.lines) if l.key is not None and not l.malformed]
                i = rng.choice(originals)
                o = dict(self.msgs[self.lines[i].key])
                if rng.random() < 0.5:
                    o["at"] = parse_at(o["at"]) + 1
                else:
                    o.pop("body_b64", None)
                    o["body"] = (o.get("body") or "") + " (edited)"
                # Reusing an id with other content is rejected only if it comes after the original.
                pos = rng.randint(i + 1, len(self.lines))
                self.lines.insert(pos, Line(json.dumps(o).encode(), None, True))
            else:
                self.lines.insert(rng.randint(0, len(self.lines)), Line(make(), None, True))


_DROP = object()


def generate(seed: int, events: int = 1000, businesses: int = 3, customers: int = 20,
             shuffle: bool = False, malformed: int = 0, dup_rate: float = 0.06,
             failed: bool = False, pricing: bool = False) -> Dump:
    return Generator(seed, events, businesses, customers, shuffle, malformed, dup_rate,
                     failed, pricing).generate()


# ---------------------------------------------------------------------------
# Rate cards (contract "Rate card"; docs/pricing.md)
# ---------------------------------------------------------------------------
CARD_HEADER = "effective_from,market,category,tier_from,rate_micros"


def rate_cards(seed: int, markets: list) -> list:
    """Two valid rate card files (CSV text) for dumps made with --pricing, deterministic from
    the seed and the markets (those of the dump's customers; `other` is always added):
      card 1: a version from 2026-09-29 or 30 (before it, no version is in force: the default
              card), one from 2026-10-01 with `service` rows, and one effective mid-range,
              around the October/November boundary (an RFC 3339 date-time or date);
      card 2: a new version of 2026-10-01 (written as a date-time: the same version, replaced
              whole) and a version of 2027 (after every event).
    Each version leaves out some (market, category) rows, `other` rows included, so that every
    fallback is taken; utility and authentication have tiers from 3 and 6."""
    rng = random.Random(f"rates-{seed}")
    names = sorted(set(markets) - {OTHER}) + [OTHER]

    def version(eff: str, service: bool, alt: str = None) -> list:
        rows = []
        cats = ("marketing", "utility", "authentication") + (("service",) if service else ())
        for market in names:
            for cat in cats:
                if rng.random() < (0.55 if (market, cat) == (OTHER, "service") else 0.3 if market == OTHER else 0.35):
                    continue                                   # missing: a fallback
                if cat in TIERED:
                    tiers = rng.choice([[1], [1, 3], [1, 6], [1, 3, 6], [1, 3, 6]])
                    rate = rng.randint(1500, 9000)
                    for tier in tiers:
                        rows.append((market, cat, tier, rate))
                        rate = max(0, rate - rng.randint(200, 700))
                else:
                    rows.append((market, cat, 1, 0 if rng.random() < 0.05 else rng.randint(500, 30000)))
        # Some rows name the version with another spelling of the same instant.
        return [(alt if alt and rng.random() < 0.3 else eff, *r) for r in rows]

    a = rng.choice(["2026-09-29", "2026-09-29T12:00:00Z", "2026-09-30T06:00:00+02:00"])
    mid = rng.choice(["2026-10-30T18:00:00Z", "2026-10-31", "2026-11-01T09:30:00.250Z"])
    card1 = (version(a, False) + version("2026-10-01", True, "2026-10-01T02:00:00+02:00")
             + version(mid, True))
    card2 = version("2026-10-01T00:00:00Z", True, "2026-10-01") + version("2027-01-01", True)
    out = []
    for rows in (card1, card2):
        rng.shuffle(rows)
        out.append(CARD_HEADER + "\n" + "".join(f"{e},{m},{c},{t},{r}\n" for e, m, c, t, r in rows))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Write a random native dump (deterministic from --seed).")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--events", type=int, default=1000, help="distinct events (duplicates and malformed lines are extra)")
    p.add_argument("--businesses", type=int, default=3)
    p.add_argument("--customers", type=int, default=20)
    p.add_argument("--shuffle", action="store_true", help="write events in random order")
    p.add_argument("--malformed", type=int, default=0, metavar="K", help="add K lines that must be rejected")
    p.add_argument("--dup-rate", type=float, default=0.06, help="share of lines written twice")
    p.add_argument("--failed", action="store_true", help="failed statuses, some late (R6)")
    p.add_argument("--pricing", action="store_true", help="2026 times, customers of several markets (R7)")
    p.add_argument("--rates", metavar="FILE", help="also write the rate cards FILE and FILE.2 (with --pricing)")
    p.add_argument("--market-table", type=Path, help="the Swift market table (for --rates; default the "
                   "project's MarketTable.swift, else a built-in table)")
    p.add_argument("--output", "-o", help="file to write (default: stdout)")
    a = p.parse_args(argv)
    dump = generate(a.seed, a.events, a.businesses, a.customers, a.shuffle, a.malformed, a.dup_rate,
                    a.failed, a.pricing)
    data = b"".join(l + b"\n" for l in dump.lines)
    if a.output:
        with open(a.output, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
    if a.rates:
        table = MarketTable.load(a.market_table, strict=False)
        customers = Generator(a.seed, 0, a.businesses, a.customers, pricing=a.pricing).customers
        for path, text in zip((a.rates, a.rates + ".2"), rate_cards(a.seed, [table.market(c) for c in customers])):
            Path(path).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
