#!/usr/bin/env python3
"""Markets and rate cards for the reference model (shared/domain.md R7, docs/pricing.md).

Two pieces of data, read independently of the Swift code:
  * MarketTable: calling code -> (ISO country, market), read from the Swift source that the
    store compiles in (Sources/ConvoStore/Rules/MarketTable.swift, the rows between the lines
    `// BEGIN MARKET TABLE` and `// END MARKET TABLE`), or a small built-in table for the
    self-test when that file does not exist yet;
  * RateCard: versions of rows (market, category, tier_from, rate_micros) loaded from the
    contract's CSV, with the lookups and fallbacks of docs/pricing.md.
Stdlib only, Python 3.11.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# docs/pricing.md: the four categories and the store's default card (R4's defaults; service =
# the utility default), in micro-units.
PRICED_CATEGORIES = ("marketing", "utility", "authentication", "service")
DEFAULT_RATES = {"marketing": 25_000, "utility": 4_000, "authentication": 4_000, "service": 4_000}
TIERED = ("utility", "authentication")          # only these may have rows with tier_from > 1
OTHER = "other"

REPO = Path(__file__).resolve().parents[2]
MARKET_TABLE_SWIFT = REPO / "Sources" / "ConvoStore" / "Rules" / "MarketTable.swift"
BEGIN_MARKER = "// BEGIN MARKET TABLE"
END_MARKER = "// END MARKET TABLE"

# A small table for the self-test only (the cross-check reads the real file). Codes follow the
# ITU list; markets follow the platform's pricing markets as the real table reads them (single
# countries by ISO code, groups by name; +1 is north_america, except the NANP countries the
# platform prices in rest_of_latin_america and those it lists nowhere, which are `other`).
FALLBACK_ROWS = """\
1\tUS\tnorth_america
1\tCA\tnorth_america
1242\tBS\tother
1787\tPR\trest_of_latin_america
1809\tDO\trest_of_latin_america
1876\tJM\trest_of_latin_america
1868\tTT\tother
7\tRU\tRU
20\tEG\tEG
27\tZA\tZA
33\tFR\tFR
34\tES\tES
44\tGB\tGB
48\tPL\tPL
49\tDE\tDE
52\tMX\tMX
55\tBR\tBR
62\tID\tID
65\tSG\tSG
91\tIN\tIN
234\tNG\tNG
254\tKE\trest_of_africa
351\tPT\trest_of_western_europe
380\tUA\tUA
880\tBD\trest_of_asia_pacific
971\tAE\tAE
974\tQA\tQA
"""


class TableError(Exception):
    """The market table cannot be read or is ambiguous."""


class CardError(Exception):
    """A rate card file that must be rejected whole: `line` is 1-based."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"{line}: {reason}")
        self.line = line
        self.reason = reason


# ---------------------------------------------------------------------------
# Markets
# ---------------------------------------------------------------------------
_USER_ID = re.compile(r"([A-Z]{2})\.([0-9]+)", re.ASCII)
_PHONE = re.compile(r"[0-9]+", re.ASCII)


class MarketTable:
    """Calling codes -> markets (docs/pricing.md, "Markets")."""

    def __init__(self, rows: list[tuple[str, str, str]], source: str, strict: bool = True):
        """strict: a table whose rows disagree raises TableError; else `problems` lists them, and
        a lookup that needs a disagreeing code or country raises TableError."""
        self.source = source
        self.rows = rows
        self.by_code: dict[str, str] = {}
        self.by_country: dict[str, str] = {}
        self.problems: list[str] = []
        self.ambiguous: set[tuple[str, str]] = set()
        for code, iso, market in rows:
            # Two rows of one code or one country must agree, else "longest prefix" or "the market
            # of its country" would not name one market.
            for index, key, what in ((self.by_code, code, "calling code"), (self.by_country, iso, "country")):
                if index.get(key, market) != market:
                    problem = f"{source}: {what} {key} is in two markets: {index[key]} and {market}"
                    if strict:
                        raise TableError(problem)
                    self.problems.append(problem)
                    self.ambiguous.add((what, key))
                index.setdefault(key, market)
        self.markets = frozenset(m for _, _, m in rows) | {OTHER}

    @classmethod
    def fallback(cls) -> "MarketTable":
        return cls(_parse_rows(FALLBACK_ROWS.splitlines(), "built-in fallback table", 1), "built-in fallback table")

    @classmethod
    def from_swift(cls, path: Path = MARKET_TABLE_SWIFT, strict: bool = True) -> "MarketTable":
        """The rows between the marker lines of the Swift file (inside a multi-line string
        literal: lines holding `\"\"\"`, comments and blank lines are not rows)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise TableError(f"cannot read the market table {path}: {e.strerror or e}") from None
        lines = text.splitlines()
        begin = [i for i, l in enumerate(lines) if l.strip() == BEGIN_MARKER]
        end = [i for i, l in enumerate(lines) if l.strip() == END_MARKER]
        if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
            raise TableError(f"{path}: expected one `{BEGIN_MARKER}` line followed by one `{END_MARKER}` line")
        rows = _parse_rows(lines[begin[0] + 1:end[0]], str(path), begin[0] + 2)
        if not rows:
            raise TableError(f"{path}: no rows between the markers")
        return cls(rows, str(path), strict)

    @classmethod
    def load(cls, path: Optional[Path] = None, strict: bool = True) -> "MarketTable":
        """The real table; the built-in fallback only when no path is given and the file is absent."""
        if path is not None:
            return cls.from_swift(path, strict)
        return cls.from_swift(strict=strict) if MARKET_TABLE_SWIFT.exists() else cls.fallback()

    def market(self, customer: str) -> str:
        """A phone number (digits): its longest calling code; a user id `CC.digits`: its
        country; anything else, or a code or country in no market: `other`."""
        if _PHONE.fullmatch(customer):
            for n in range(len(customer), 0, -1):
                m = self.by_code.get(customer[:n])
                if m is not None:
                    return self._unambiguous("calling code", customer[:n], m)
            return OTHER
        u = _USER_ID.fullmatch(customer)
        if u:
            m = self.by_country.get(u.group(1))
            return OTHER if m is None else self._unambiguous("country", u.group(1), m)
        return OTHER

    def _unambiguous(self, what: str, key: str, market: str) -> str:
        if (what, key) in self.ambiguous:
            raise TableError(f"{self.source}: the market of {what} {key} is ambiguous")
        return market


def _parse_rows(lines: list[str], source: str, first_line: int) -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate(lines, start=first_line):
        s = line.strip()
        if not s or '"""' in s or s.startswith("//"):
            continue
        # Tab-separated; a Swift literal may spell the tab as the escape `\t`.
        fields = s.split("\t") if "\t" in s else s.split("\\t") if "\\t" in s else s.split()
        fields = [f.strip() for f in fields]
        if len(fields) == 3 and fields[0] == "calling_code":
            continue                                          # a header row
        if (len(fields) != 3 or not re.fullmatch(r"[0-9]{1,4}", fields[0])
                or not re.fullmatch(r"[A-Z]{2}", fields[1]) or not re.fullmatch(r"[A-Za-z_]+", fields[2])):
            raise TableError(f"{source}:{number}: not a row `calling_code<TAB>iso<TAB>market`: {line!r}")
        rows.append((fields[0], fields[1], fields[2]))
    return rows


# ---------------------------------------------------------------------------
# Rate cards
# ---------------------------------------------------------------------------
CARD_HEADER = "effective_from,market,category,tier_from,rate_micros"
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


@dataclass(frozen=True)
class Row:
    market: str
    category: str
    tier_from: int
    rate_micros: int


def parse_effective_from(text: str) -> int:
    """An RFC 3339 full-date (midnight UTC) or date-time -> epoch ms; ValueError if neither."""
    from model import Invalid, parse_rfc3339         # one RFC 3339 reader for the whole model
    m = _DATE.fullmatch(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        if not 1 <= mo <= 12 or not 1 <= d <= calendar.monthrange(y, mo)[1]:
            raise ValueError(f"invalid date {text!r}")
        return calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0)) * 1000
    try:
        return parse_rfc3339(text)
    except Invalid:
        raise ValueError(f"not an RFC 3339 date or date-time: {text!r}") from None


class RateCard:
    """Versions by effective_from (epoch ms) -> rows. Empty: every price is the default card."""

    def __init__(self) -> None:
        self.versions: dict[int, tuple[Row, ...]] = {}

    def copy(self) -> "RateCard":
        c = RateCard()
        c.versions = dict(self.versions)
        return c

    # -- loading -----------------------------------------------------------
    @staticmethod
    def parse(data: bytes, markets: frozenset) -> dict[int, tuple[Row, ...]]:
        """Check a whole CSV file; return its versions or raise CardError(line, reason)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CardError(1, "the file is not UTF-8") from None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()                                     # the final newline ends a line
        if not lines or lines[0] != CARD_HEADER:
            raise CardError(1, f"the header must be `{CARD_HEADER}`")
        seen: dict[tuple, int] = {}
        groups: dict[tuple, list[int]] = {}                  # (eff, market, category) -> lines
        rows: dict[int, list[Row]] = {}
        for number, line in enumerate(lines[1:], start=2):
            fields = next(csv.reader(io.StringIO(line))) if line else []
            if len(fields) != 5:
                raise CardError(number, f"expected 5 fields, found {len(fields)}")
            eff_text, market, category, tier_text, rate_text = fields
            try:
                eff = parse_effective_from(eff_text)
            except ValueError as e:
                raise CardError(number, f"effective_from: {e}") from None
            if market not in markets:
                raise CardError(number, f"unknown market {market!r}")
            if category not in PRICED_CATEGORIES:
                raise CardError(number, f"unknown category {category!r}")
            if not re.fullmatch(r"[0-9]+", tier_text, re.ASCII) or int(tier_text) < 1:
                raise CardError(number, f"tier_from must be an integer of at least 1: {tier_text!r}")
            tier = int(tier_text)
            if tier > 1 and category not in TIERED:
                raise CardError(number, f"only utility and authentication have tiers ({category} tier_from {tier})")
            if re.fullmatch(r"-[0-9]+", rate_text, re.ASCII):
                raise CardError(number, f"rate_micros must not be negative: {rate_text}")
            if not re.fullmatch(r"[0-9]+", rate_text, re.ASCII):
                raise CardError(number, f"rate_micros must be a non-negative integer: {rate_text!r}")
            key = (eff, market, category, tier)
            if key in seen:
                raise CardError(number, f"repeats line {seen[key]}")
            seen[key] = number
            groups.setdefault((eff, market, category), []).append(number)
            rows.setdefault(eff, []).append(Row(market, category, tier, int(rate_text)))
        for (eff, market, category), numbers in groups.items():
            if (eff, market, category, 1) not in seen:
                raise CardError(numbers[0], f"{market} {category} has no base row (tier_from 1)")
        return {eff: tuple(rs) for eff, rs in rows.items()}

    def load(self, data: bytes, markets: frozenset) -> None:
        """Adds the file's versions; one with the effective_from of a stored one replaces it whole.
        On error nothing changes."""
        self.versions.update(self.parse(data, markets))

    # -- answers -----------------------------------------------------------
    def show(self) -> list[dict]:
        """`rates show --json`: one object per version in time order, rows sorted by market,
        category and tier_from (strings bytewise)."""
        out = []
        for eff in sorted(self.versions):
            rows = sorted(self.versions[eff], key=lambda r: (r.market.encode(), r.category.encode(), r.tier_from))
            out.append({"effective_from": eff,
                        "rows": [{"market": r.market, "category": r.category, "tier_from": r.tier_from,
                                  "rate_micros": r.rate_micros} for r in rows]})
        return out

    def version_at(self, t: int) -> Optional[tuple[Row, ...]]:
        """The latest version with effective_from <= t, or None."""
        effs = [e for e in self.versions if e <= t]
        return self.versions[max(effs)] if effs else None

    def rate(self, t: int, market: str, category: str, rank: int) -> int:
        """The price of a charged message at t of rank `rank` (docs/pricing.md, "Rate cards")."""
        version = self.version_at(t)
        if version is None:
            return DEFAULT_RATES[category]

        def rows_of(cat: str) -> list[Row]:
            own = [r for r in version if r.market == market and r.category == cat]
            return own or [r for r in version if r.market == OTHER and r.category == cat]

        rows = rows_of(category)
        if not rows and category == "service":
            rows = [r for r in rows_of("utility") if r.tier_from == 1]   # the market's utility base rate
        if not rows:
            return DEFAULT_RATES[category]
        if category not in TIERED:
            rank = 1                                  # marketing and service: the base row
        return max((r for r in rows if r.tier_from <= rank), key=lambda r: r.tier_from).rate_micros
