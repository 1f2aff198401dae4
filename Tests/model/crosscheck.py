#!/usr/bin/env python3
"""Cross-check the `convostore` command line against the reference model.

Parts (each behind a flag; with no flag, only the R1..R6 part runs, as it always did):
  --base       R1..R6. For each seed: generate a shuffled dump (gen_dump.py) with duplicates
               and, for most seeds, malformed lines; import it three ways into three fresh
               stores (shuffled: one run; sorted by `at`, header first: one run; split: the
               shuffled lines cut in two files, two runs); then ask each store the same
               questions (overdue, newly-overdue, windows, show, billing, check) and compare
               the JSON answers, as data, with the model fed the same files in the same order.
               Billing is compared on its R1..R6 keys only.
  --failed     R6 failed statuses: the same three imports and questions for a dump with
               `failed` statuses, some late (hours to days, written last), and billing's
               whole object (contract).
  --pricing    R7: the dump of --failed with customers of several markets and times across
               2026-10-01 and a month boundary; two generated rate cards loaded with
               `rates import` (after the whole dump, and between its two halves); billing
               for every business over ranges that cut days and months; `rates show`; bad
               cards (rejected whole, `FILE:LINE: reason`, card unchanged).
  --limits     R8: `limits --set` for some businesses, then `limits --at T` near every reach.
  --lifecycle  R9: purge (the store, then one business) at a random H, every answer after it;
               late events on both sides of H; export then import into a fresh store; the
               model's own export (summary lines) imported into a fresh store; erasure of a
               customer (billing unchanged, show exit 1, no trace in the export).
  --all        every part.
The parts after R6 read the market table from the Swift source (pricing.MarketTable,
--market-table to name another file).

Checks counted: one per compared command (imports count too: exit status and the rejects it
reported). On a mismatch the command, the expected and the actual answer (first differences)
are printed. Then a summary per part with the most frequent first differences, and the last
line "N passed, M failed"; the exit status is 1 if anything failed.

  python3 crosscheck.py --cli .build/debug/convostore --seeds 5 --events 1500
  python3 crosscheck.py --cli .build/debug/convostore --seeds 2 --events 800 --all
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

sys.dont_write_bytecode = True                       # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_dump                                      # noqa: E402
from model import (CATEGORIES, CONTROL_GROUP, DAY_MS, HOUR_MS, SERVICE_CHARGES_FROM,  # noqa: E402
                   Invalid, Store, format_rfc3339, parse_at, parse_rfc3339)
from pricing import (MARKET_TABLE_SWIFT, CardError, MarketTable, TableError,  # noqa: E402
                     parse_effective_from)

MAX_SHOWN = 5          # differences printed per failed check


# ---------------------------------------------------------------------------
# Comparison as data (strict: JSON true is not 1, 1.0 is not 1)
# ---------------------------------------------------------------------------
def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def canon(x: Any) -> str:
    return json.dumps(x, sort_keys=True, ensure_ascii=False)


def differences(expected: Any, actual: Any) -> list[str]:
    """A few human-readable differences between two answers."""
    out = []
    if isinstance(expected, list) and isinstance(actual, list):
        exp_set, act_set = {canon(x) for x in expected}, {canon(x) for x in actual}
        missing = [x for x in expected if canon(x) not in act_set]
        extra = [x for x in actual if canon(x) not in exp_set]
        out.append(f"expected {len(expected)} lines, got {len(actual)}")
        out += [f"missing: {canon(x)}" for x in missing[:MAX_SHOWN]]
        out += [f"unexpected: {canon(x)}" for x in extra[:MAX_SHOWN]]
        if not missing and not extra:
            for i, (x, y) in enumerate(zip(expected, actual)):
                if not same(x, y):
                    out.append(f"order differs from line {i + 1}: expected {canon(x)}, got {canon(y)}")
                    break
    elif isinstance(expected, dict) and isinstance(actual, dict):
        for k in sorted(expected.keys() | actual.keys()):
            if k not in actual:
                out.append(f"missing key {k!r}")
            elif k not in expected:
                out.append(f"unexpected key {k!r}")
            elif not same(expected[k], actual[k]):
                out.append(f"{k}: expected {canon(expected[k])}, got {canon(actual[k])}")
    else:
        out.append(f"expected {canon(expected)}, got {canon(actual)}")
    return out[: 2 * MAX_SHOWN + 1]


# ---------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------
LEGACY_VIOLATIONS = ("blocked", "outside_window", "no_opt_in", "opted_out", "restricted")


def legacy_billing(b: Any) -> Any:
    """billing's R1..R6 keys (the shape before R7): what the --base part compares, so that it
    keeps passing when the store adds the keys of R6 to R9."""
    if not isinstance(b, dict):
        return b
    out = {k: b[k] for k in ("business", "from", "to", "free", "amount_micros") if k in b}
    for key, names in (("charged", CATEGORIES), ("violations", LEGACY_VIOLATIONS)):
        if key in b:
            v = b[key]
            out[key] = {n: v[n] for n in names if n in v} if isinstance(v, dict) else v
    return out


class Runner:
    def __init__(self, cli: str, timeout: float, verbose: bool):
        self.cli = cli
        self.timeout = timeout
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.part = "base"
        self.tally: dict[str, list[int]] = {}              # part -> [passed, failed]
        self.reasons: dict[str, collections.Counter] = {}  # part -> first differences

    def run(self, args: list[str]) -> subprocess.CompletedProcess:
        cmd = [self.cli] + args
        if self.verbose:
            print("+", shlex.join(cmd), file=sys.stderr)
        try:
            return subprocess.run(cmd, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(cmd, -9, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)")

    def ok(self) -> None:
        self.passed += 1
        self.tally.setdefault(self.part, [0, 0])[0] += 1

    def fail(self, where: str, args: list[str], lines: list[str], proc=None) -> None:
        self.failed += 1
        self.tally.setdefault(self.part, [0, 0])[1] += 1
        cmd = next((a for a in args if not a.startswith("-")), "?")
        why = re.sub(r"(?<!exit )-?\d+", "N", lines[0] if lines else "?")[:90]
        self.reasons.setdefault(self.part, collections.Counter())[f"{cmd}: {why}"] += 1
        print(f"FAIL {where}: {shlex.join([self.cli] + args)}")
        for l in lines:
            print(f"    {l}")
        if proc is not None and proc.stderr:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            for l in err[:MAX_SHOWN]:
                print(f"    stderr: {l}")

    def report(self) -> None:
        """Per part: checks passed and failed, and the most frequent first differences."""
        for part, (ok, bad) in self.tally.items():
            print(f"part {part}: {ok} passed, {bad} failed")
            for why, n in self.reasons.get(part, collections.Counter()).most_common(6):
                print(f"    {n} x {why}")

    def expect_exit(self, where: str, args: list[str], want: str = "0") -> subprocess.CompletedProcess:
        """A command run for its effect; want: "0", "1" or "nonzero"."""
        proc = self.run(args)
        good = proc.returncode != 0 if want == "nonzero" else proc.returncode == int(want)
        if good and proc.returncode >= 0:
            self.ok()
        else:
            self.fail(where, args, [f"expected exit {want}, got {proc.returncode}"], proc)
        return proc

    def query(self, where: str, args: list[str], shape: str, expected: Any) -> None:
        """shape: 'list' (JSON Lines), 'object' (one JSON object), 'billing-r1r6' (billing
        compared on its R1..R6 keys; `expected` is already projected) or 'exit1'."""
        proc = self.run(args)
        if shape == "exit1":
            if proc.returncode == 1:
                self.ok()
            else:
                self.fail(where, args, [f"expected exit 1, got {proc.returncode}"], proc)
            return
        if proc.returncode != 0:
            self.fail(where, args, [f"expected exit 0, got {proc.returncode}"], proc)
            return
        try:
            text = proc.stdout.decode("utf-8")
            if shape == "list":
                actual = [json.loads(l) for l in text.splitlines() if l.strip()]
            else:
                actual = json.loads(text)
            if shape == "billing-r1r6":
                actual = legacy_billing(actual)
        except (UnicodeDecodeError, ValueError) as e:
            self.fail(where, args, [f"output is not {shape} JSON: {e}",
                                    f"output: {proc.stdout[:300]!r}"], proc)
            return
        if same(expected, actual):
            self.ok()
        else:
            self.fail(where, args, differences(expected, actual))


# ---------------------------------------------------------------------------
# Dump variants
# ---------------------------------------------------------------------------
def line_time(raw: bytes) -> Optional[int]:
    """`at` of a line the model can read, else None (such lines sort last)."""
    try:
        obj = json.loads(raw.decode("utf-8"))
        return parse_at(obj["at"])
    except (ValueError, KeyError, TypeError, Invalid, UnicodeDecodeError):
        return None


def variants(lines: list[bytes], header: bool, rng: random.Random) -> dict[str, list[list[bytes]]]:
    """name -> list of files (each a list of lines), imported in that order."""
    body = lines[1:] if header else lines
    head = lines[:1] if header else []
    keyed = sorted(((line_time(l), i, l) for i, l in enumerate(body) if l.strip()),
                   key=lambda x: (x[0] is None, x[0] or 0, x[1]))     # stable: file order breaks ties
    cut = rng.randint(1, max(1, len(lines) - 1))
    return {
        "shuffled": [lines],
        "sorted": [head + [l for _, _, l in keyed]],
        "split": [lines[:cut], lines[cut:]],
    }


# ---------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------
class Questions:
    """Builds the commands to ask, from the model of the dump as generated."""
    full_billing = False             # billing's R1..R6 keys only (the --base part)

    def __init__(self, model: Store, rng: random.Random):
        self.m = model
        self.rng = rng
        convs = model.conversations().values()
        self.businesses = sorted({c.business for c in convs})
        self.due = sorted({d for c in convs if (d := model.reply_due_at(c)) is not None})
        self.expiry = sorted({e for c in convs if (e := model.window_expires_at(c)) is not None})
        self.times = sorted({m.at for m in model.messages.values()} | {c.at for c in model.controls})
        self.first = self.times[0] if self.times else gen_dump.BASE
        self.last = self.times[-1] if self.times else gen_dump.BASE

    def pick(self, pool: list[int], jitter=(0, 0, 1, -1)) -> int:
        if not pool:
            return self.first
        return self.rng.choice(pool) + self.rng.choice(jitter)

    def clamp(self, business: Optional[str], ms: int) -> int:
        """A time for a question about `business` (None: every business): the --lifecycle part
        asks only at or after the horizon; here, any time."""
        return ms

    def t(self, ms: int) -> str:
        """A command-line time: usually epoch ms, sometimes RFC 3339."""
        if self.rng.random() < 0.2:
            return format_rfc3339(ms, self.rng.choice([0, 0, 120, -330]))
        return str(ms)

    def all(self) -> list[tuple[str, list[str], str, Any]]:
        """[(command, args after --db, shape, fn(model) -> expected)]."""
        rng, qs = self.rng, []
        far_past, far_future = self.first - 10 * DAY_MS, self.last + 10 * DAY_MS

        # overdue --as-of T [--business B] [--limit N]
        as_of = [far_past, far_future] + [self.pick(self.due) for _ in range(4)] + [self.pick(self.times)]
        for T in as_of:
            T = self.clamp(None, T)
            qs.append(("overdue", ["--as-of", self.t(T)], "list", lambda m, T=T: m.overdue(T)))
        for _ in range(3):
            T, b = self.pick(self.due), rng.choice(self.businesses)
            T = self.clamp(b, T)
            qs.append(("overdue", ["--as-of", self.t(T), "--business", b], "list",
                       lambda m, T=T, b=b: m.overdue(T, b)))
        for n in (1, 3, 10):
            T = self.clamp(None, self.pick(self.due + [far_future]))
            qs.append(("overdue", ["--as-of", self.t(T), "--limit", str(n)], "list",
                       lambda m, T=T, n=n: m.overdue(T, None, n)))
        T, b = far_future, rng.choice(self.businesses)
        qs.append(("overdue", ["--as-of", self.t(T), "--business", b, "--limit", "2"], "list",
                   lambda m, T=T, b=b: m.overdue(T, b, 2)))

        # newly-overdue --after T1 --until T2: (T1, T2]
        pairs = [(far_past, far_future)]
        for _ in range(3):
            d = self.pick(self.due, (0,))
            pairs += [(d - 1, d), (d, d + 1)]
        d = self.pick(self.due, (0,))
        pairs += [(d - DAY_MS, d + DAY_MS), (d, d)]
        for a, b in pairs:
            qs.append(("newly-overdue", ["--after", self.t(a), "--until", self.t(b)], "list",
                       lambda m, a=a, b=b: m.newly_overdue(a, b)))

        # windows --from T1 --to T2 [--business B]: [T1, T2)
        pairs = [(far_past, far_future)]
        for _ in range(3):
            e = self.pick(self.expiry, (0,))
            pairs += [(e, e + 1), (e - 1, e)]
        e = self.pick(self.expiry, (0,))
        pairs.append((e - 12 * HOUR_MS, e + 12 * HOUR_MS))
        for a, b in pairs:
            qs.append(("windows", ["--from", self.t(a), "--to", self.t(b)], "list",
                       lambda m, a=a, b=b: m.windows(a, b)))
        for _ in range(3):
            e, b = self.pick(self.expiry, (0,)), rng.choice(self.businesses)
            a, z = e - DAY_MS, e + DAY_MS
            qs.append(("windows", ["--from", self.t(a), "--to", self.t(z), "--business", b], "list",
                       lambda m, a=a, z=z, b=b: m.windows(a, z, b)))

        # show --business B --customer C --at T
        convs = sorted(self.m.conversations().values(), key=lambda c: (c.business, c.customer))
        for conv in rng.sample(convs, min(12, len(convs))):
            own = [x.at for x in conv.inbound + conv.outbound + conv.controls]
            exp = self.m.window_expires_at(conv)
            # One time near an event of the conversation (a control flips
            # can_send_freeform there), one on the window's last ms or its end.
            at = {self.pick(own + [far_future]),
                  exp - rng.choice((0, 1)) if exp is not None else self.pick(own)}
            for T in sorted({self.clamp(conv.business, x) for x in at}):
                b, c = conv.business, conv.customer
                qs.append(("show", ["--business", b, "--customer", c, "--at", self.t(T)], "object",
                           lambda m, b=b, c=c, T=T: m.show(b, c, T)))
        # Unknown conversations: exit 1. One differs from a known customer only
        # by Unicode normalisation (ids are bytes, not canonical strings).
        known = set(self.m.conversations())
        b = self.businesses[0] if self.businesses else "15550001111"
        unknown = [(b, "no-such-customer"), ("no-such-business", "447700900123")]
        for (kb, kc) in sorted(known):
            for twin in (kc.replace("\u00e9", "e\u0301"), kc.replace("e\u0301", "\u00e9")):
                if twin != kc and (kb, twin) not in known:
                    unknown.append((kb, twin))
                    break
        for b, c in unknown[:3]:
            qs.append(("show", ["--business", b, "--customer", c, "--at", str(self.clamp(b, self.last))], "exit1", None))

        # billing --business B [--from T1] [--to T2]: [T1, T2)
        outs = sorted({x.at for x in self.m.messages.values() if x.direction == "out"})
        for b in self.businesses[:4]:
            a, z = sorted((self.pick(outs, (0, 1)), self.pick(outs, (0, 1))))
            for frm, to in ((None, None), (a, None), (None, z), (a, z)):
                args = ["--business", b]
                if frm is not None:
                    args += ["--from", self.t(frm)]
                if to is not None:
                    args += ["--to", self.t(to)]
                if self.full_billing:
                    qs.append(("billing", args, "object", lambda m, b=b, f=frm, t=to: m.billing(b, f, t)))
                else:
                    qs.append(("billing", args, "billing-r1r6",
                               lambda m, b=b, f=frm, t=to: legacy_billing(m.billing(b, f, t))))
        return qs


# ---------------------------------------------------------------------------
# One seed
# ---------------------------------------------------------------------------
def check_import(r: Runner, where: str, db: Path, path: Path, model_rejects: list) -> None:
    """Exit status, the rejects file and the `file:line:` reports on stderr."""
    args = ["import", "--db", str(db), str(path)]
    rejects = Path(str(path) + ".rejects")
    rejects.unlink(missing_ok=True)                  # left by an earlier run under --keep
    proc = r.run(args)
    want_exit = 1 if model_rejects else 0
    problems = []
    if proc.returncode != want_exit:
        problems.append(f"expected exit {want_exit} ({len(model_rejects)} rejected lines), got {proc.returncode}")
    want_lines = sorted(x.raw for x in model_rejects)
    got_lines = sorted(l for l in rejects.read_bytes().split(b"\n") if l) if rejects.exists() else []
    if model_rejects and not rejects.exists():
        problems.append(f"no rejects file {rejects}")
    elif got_lines != want_lines:
        miss = [l for l in want_lines if l not in got_lines]
        extra = [l for l in got_lines if l not in want_lines]
        problems.append(f"rejects file: {len(got_lines)} lines, expected {len(want_lines)}")
        problems += [f"not in rejects: {l[:160]!r}" for l in miss[:MAX_SHOWN]]
        problems += [f"wrongly rejected: {l[:160]!r}" for l in extra[:MAX_SHOWN]]
    reported = set()
    for l in proc.stderr.decode("utf-8", "replace").splitlines():
        m = re.match(r"^(.*?):(\d+): ", l)
        if m and m.group(1).endswith(path.name):
            reported.add(int(m.group(2)))
    want_numbers = {x.line for x in model_rejects}
    if reported != want_numbers:
        problems.append(f"stderr reports lines {sorted(reported)[:10]}, expected {sorted(want_numbers)[:10]}")
    # R9: a line before the horizon says so, with the horizon's time (compared as a time).
    said = {}
    for l in proc.stderr.decode("utf-8", "replace").splitlines():
        m = re.match(r"^(.*?):(\d+): (.*)$", l)
        if m and m.group(1).endswith(path.name):
            said[int(m.group(2))] = m.group(3)
    for x in model_rejects:
        want = re.match(r"before the retention horizon (\S+)", x.reason)
        if want and x.line in said:
            got = re.search(r"before the retention horizon (\S+)", said[x.line])
            try:
                good = got is not None and parse_rfc3339(got.group(1)) == parse_rfc3339(want.group(1))
            except Invalid:
                good = False
            if not good:
                problems.append(f"line {x.line}: expected the reason `{x.reason}`, got `{said[x.line]}`")
                break
    if problems:
        r.fail(where, args, problems, proc)
    else:
        r.ok()


class RichQuestions(Questions):
    """The questions of the parts after R6: billing's whole object, for every business and over
    ranges that cut days, months and serviceChargesFrom; `limits`; times at or after a floor
    (the horizon of a purged store)."""
    full_billing = True

    def __init__(self, model: Store, rng: random.Random, floor=None):
        super().__init__(model, rng)
        self.floor = floor                  # business (or None: all) -> earliest time to ask about

    def clamp(self, business: Optional[str], ms: int) -> int:
        if self.floor is None:
            return ms
        f = self.floor(business)
        return ms if f is None or ms >= f else f + self.rng.choice((0, 0, 1, HOUR_MS, DAY_MS))

    def billing_questions(self) -> list:
        qs = []
        outs = sorted({x.at for x in self.m.messages.values() if x.direction == "out"})
        R = parse_rfc3339
        cuts = [(R("2026-09-30T12:00:00Z"), R("2026-10-01T12:00:00Z")),     # a day across S and a month
                (SERVICE_CHARGES_FROM, R("2026-11-01T00:00:00Z")),           # October exactly
                (R("2026-10-31T18:30:00Z"), R("2026-11-01T05:00:00.500Z")),  # a day across a month
                (None, SERVICE_CHARGES_FROM), (SERVICE_CHARGES_FROM - 1, None)]
        for b in self.businesses:
            ranges = [(None, None)] + cuts
            a, z = sorted((self.pick(outs, (0, 1)), self.pick(outs, (0, 1))))
            d = self.pick(outs, (0,))
            ranges += [(a, z), (a, None), (None, z), (d - 12 * HOUR_MS, d + 12 * HOUR_MS), (d, d + 1)]
            for frm, to in ranges:
                args = ["--business", b]
                if frm is not None:
                    args += ["--from", self.t(frm)]
                if to is not None:
                    args += ["--to", self.t(to)]
                qs.append(("billing", args, "object", lambda m, b=b, f=frm, t=to: m.billing(b, f, t)))
        return qs

    def limits_questions(self) -> list:
        qs = []
        convs = self.m.conversations().values()
        for b in self.businesses:
            reaches = sorted({x.at for c in convs if c.business == b for x in c.outbound if self.m.is_reach(c, x)})
            times = {self.first - 10 * DAY_MS, self.last + 10 * DAY_MS}
            for x in self.rng.sample(reaches, min(5, len(reaches))):
                times |= {x, x - 1, x + DAY_MS - 1, x + DAY_MS}
            times.add(self.pick(self.times))
            for T in sorted({self.clamp(b, x) for x in times}):
                qs.append(("limits", ["--business", b, "--at", self.t(T)], "object",
                           lambda m, b=b, T=T: m.limits_answer(b, T)))
        return qs


def ask_all(r: Runner, where: str, db: Path, questions: list, model: Store) -> None:
    for cmd, args, shape, fn in questions:
        r.query(where, cmd.split() + ["--db", str(db)] + args + ["--json"], shape, fn(model) if fn else None)


def model_agrees(r: Runner, where: str, questions: list, model: Store, reference: Store, what: str,
                 label: Optional[list] = None) -> None:
    """Two model stores that must answer alike (a purged one and the full history, two import
    orders, ...). A failure is the model's or the generator's, unless `label` says what else
    was read (the store's export)."""
    for cmd, args, shape, fn in questions:
        if fn is not None and not same(fn(model), fn(reference)):
            r.fail(where, label or ["(model)"], [f"{what}: disagree on {cmd} {shlex.join(args)}"]
                   + differences(fn(reference), fn(model)))
            return
    r.ok()


def write_lines(path: Path, lines: list) -> Path:
    path.write_bytes(b"".join(l + b"\n" for l in lines))
    return path


# ---------------------------------------------------------------------------
# One seed: the R1..R6 part (and --failed, with another dump)
# ---------------------------------------------------------------------------
def run_variants(r: Runner, seed: int, dump, rng: random.Random, work: Path, make_model,
                 questions_class, export: bool, label: str = "") -> None:
    work.mkdir(parents=True, exist_ok=True)
    tag = f"seed {seed}{' ' + label if label else ''}"

    # Write the variants and feed the model the same files in the same order.
    stores: dict[str, tuple[list[Path], Store]] = {}
    for name, files in variants(dump.lines, dump.header, rng).items():
        paths = []
        for i, lines in enumerate(files):
            p = work / (f"{name}.jsonl" if len(files) == 1 else f"{name}-{i + 1}.jsonl")
            p.write_bytes(b"".join(l + b"\n" for l in lines))
            paths.append(p)
        model = make_model().load(str(p) for p in paths)
        stores[name] = (paths, model)

    base_model = stores["shuffled"][1]
    questions = questions_class(base_model, rng).all()
    print(f"{tag}: {base_model.summary()}, {len(questions)} questions per store")

    # The model itself: every variant must give the same answers, and it must
    # reject exactly the injected lines (else the generator or the model is wrong).
    where = f"{tag} model"
    problems = []
    if len(base_model.rejections) != dump.malformed:
        problems.append(f"model rejected {len(base_model.rejections)} lines, generator injected {dump.malformed}")
        problems += [f"{x.file}:{x.line}: {x.reason}" for x in base_model.rejections[:MAX_SHOWN]]
    for name, (_, m) in stores.items():
        for cmd, args, shape, fn in questions:
            if fn is not None and not same(fn(m), fn(base_model)):
                problems.append(f"variant {name} disagrees on {cmd} {shlex.join(args)}")
                break
    if problems:
        r.fail(where, ["(model)"], problems)
    else:
        r.ok()

    for name, (paths, model) in stores.items():
        db = work / f"db-{name}"
        shutil.rmtree(db, ignore_errors=True)
        where = f"{tag} {name}"
        for p in paths:
            check_import(r, where, db, p, [x for x in model.rejections if x.file == str(p)])
        ask_all(r, where, db, questions, model)
        proc = r.run(["check", "--db", str(db)])
        if proc.returncode == 0:
            r.ok()
        else:
            r.fail(where, ["check", "--db", str(db)], [f"expected exit 0, got {proc.returncode}",
                                                       proc.stdout.decode("utf-8", "replace")[:500]], proc)

    if export:
        # Round trip: export the first store, import the export into a fourth.
        db, out = work / "db-shuffled", work / "export.jsonl"
        where = f"{tag} export"
        proc = r.run(["export", "--db", str(db), "--output", str(out)])
        if proc.returncode != 0 or not out.exists():
            r.fail(where, ["export", "--db", str(db), "--output", str(out)], [f"exit {proc.returncode}"], proc)
        else:
            r.ok()
            db4 = work / "db-export"
            shutil.rmtree(db4, ignore_errors=True)
            check_import(r, where, db4, out, [])
            ask_all(r, where, db4, questions, base_model)


def run_seed(r: Runner, seed: int, a: argparse.Namespace, root: Path) -> None:
    r.part = "base"
    rng = random.Random(f"crosscheck-{seed}")
    malformed = 0 if seed % 3 == 0 else rng.randint(3, 20)      # every third seed is clean
    dump = gen_dump.generate(seed, a.events, a.businesses, a.customers, shuffle=True, malformed=malformed)
    run_variants(r, seed, dump, rng, root / f"seed-{seed}", Store, Questions, a.export)


# ---------------------------------------------------------------------------
# The parts after R6
# ---------------------------------------------------------------------------
class Seed:
    """What the parts after R6 share for one seed: the dump (failed statuses, markets, 2026
    times), its shuffled file, and the two rate cards made for its markets."""

    def __init__(self, seed: int, a: argparse.Namespace, root: Path, table: MarketTable):
        self.seed = seed
        self.table = table
        rng = random.Random(f"crosscheck-rich-{seed}")
        malformed = 0 if seed % 3 == 0 else rng.randint(2, 8)
        self.dump = gen_dump.generate(seed, a.events, a.businesses, a.customers, shuffle=True,
                                      malformed=malformed, failed=True, pricing=True)
        self.work = root / f"seed-{seed}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.shuffled = write_lines(self.work / "rich.jsonl", self.dump.lines)
        model = self.model()
        markets = [table.market(c) for (_, c) in model.conversations()]
        self.cards = []
        for i, text in enumerate(gen_dump.rate_cards(seed, markets), start=1):
            path = self.work / f"card-{i}.csv"
            path.write_text(text, encoding="utf-8")
            self.cards.append(path)

    def model(self, files=None, cards: bool = False) -> Store:
        m = Store(markets=self.table)
        if cards:
            for c in self.cards:
                m.load_rates(str(c))
        return m.load(str(p) for p in (files or [self.shuffled]))

    def fresh_db(self, name: str) -> Path:
        db = self.work / name
        shutil.rmtree(db, ignore_errors=True)
        return db

    def load_cards(self, r: Runner, where: str, db: Path) -> None:
        for c in self.cards:
            r.expect_exit(where, ["rates", "import", str(c), "--db", str(db)])


def part_failed(r: Runner, s: Seed, a: argparse.Namespace) -> None:
    r.part = "failed"
    rng = random.Random(f"crosscheck-failed-{s.seed}")
    run_variants(r, s.seed, s.dump, rng, s.work / "failed", lambda: Store(markets=s.table),
                 RichQuestions, a.export, "failed")


def bad_cards(card: str, rng: random.Random) -> dict:
    """name -> (text, the line numbers that may be reported). Each breaks one rule of
    docs/pricing.md and nothing else."""
    lines = card.rstrip("\n").split("\n")
    header, rows = lines[0], [l.split(",") for l in lines[1:]]
    groups = collections.Counter((parse_effective_from(r[0]), r[1], r[2]) for r in rows)

    def safe(i: int) -> bool:          # changing row i leaves no group without its base row
        r = rows[i]
        return r[3] != "1" or groups[(parse_effective_from(r[0]), r[1], r[2])] == 1

    def text(rs: list, head: str = header) -> str:
        return head + "\n" + "".join(",".join(r) + "\n" for r in rs)

    def mutate(field: int, value: str) -> tuple:
        i = rng.choice([i for i in range(len(rows)) if safe(i)])
        rs = [list(r) for r in rows]
        rs[i][field] = value
        return text(rs), {i + 2}

    out = {
        "unknown market": mutate(1, "atlantis"),
        "unknown category": mutate(2, "promotion"),
        "negative rate": mutate(4, "-" + str(rng.randint(1, 5000))),
        "non-integer rate": mutate(4, rng.choice(["12.5", "1e3", "ten", ""])),
        "bad date": mutate(0, rng.choice(["2026-10-32", "2026-13-01", "01/10/2026", "2026-10-01T25:00:00Z"])),
        "bad header": (text(rows, "effective_from,market,category,tier,rate_micros"), {1}),
    }
    marketing = [i for i, r in enumerate(rows) if r[2] == "marketing"]
    if marketing:
        i = rng.choice(marketing)
        rs = [list(r) for r in rows]
        rs.insert(i + 1, [rows[i][0], rows[i][1], "marketing", "3", "100"])
        out["tier row for marketing"] = (text(rs), {i + 3})
    tiered = [g for g, n in groups.items() if n > 1]
    if tiered:
        g = rng.choice(sorted(tiered))
        keep = [r for r in rows if not ((parse_effective_from(r[0]), r[1], r[2]) == g and r[3] == "1")]
        lines_of_group = {i + 2 for i, r in enumerate(keep) if (parse_effective_from(r[0]), r[1], r[2]) == g}
        out["missing base row"] = (text(keep), lines_of_group)
    i = rng.randrange(len(rows))
    out["repeated row"] = (text(rows + [rows[i]]), {i + 2, len(rows) + 2})
    return out


def part_pricing(r: Runner, s: Seed, a: argparse.Namespace) -> None:
    r.part = "pricing"
    rng = random.Random(f"crosscheck-pricing-{s.seed}")
    tag = f"seed {s.seed} pricing"
    work = s.work / "pricing"
    work.mkdir(exist_ok=True)
    try:
        model = s.model(cards=True)
    except CardError as e:
        r.fail(f"{tag} model", ["(model)"], [f"the generated card is bad: line {e.line}: {e.reason}"])
        return
    # Store a: the whole dump, then the cards (re-pricing what is stored).
    db_a = s.fresh_db("db-pricing-a")
    check_import(r, f"{tag} a", db_a, s.shuffled, model.rejections)
    s.load_cards(r, f"{tag} a", db_a)
    # Store b: half the dump, the cards, the other half.
    cut = rng.randint(1, len(s.dump.lines) - 1)
    halves = [write_lines(work / "half-1.jsonl", s.dump.lines[:cut]), write_lines(work / "half-2.jsonl", s.dump.lines[cut:])]
    model_b = s.model(halves, cards=True)
    db_b = s.fresh_db("db-pricing-b")
    check_import(r, f"{tag} b", db_b, halves[0], [x for x in model_b.rejections if x.file == str(halves[0])])
    s.load_cards(r, f"{tag} b", db_b)
    check_import(r, f"{tag} b", db_b, halves[1], [x for x in model_b.rejections if x.file == str(halves[1])])

    q = RichQuestions(model, rng)
    questions = q.billing_questions() + [("rates show", [], "list", lambda m: m.rates_show())]
    print(f"{tag}: {len(model.rates.versions)} card versions, {len(questions)} questions per store")
    model_agrees(r, f"{tag} model", questions, model_b, model, "the two load orders")
    ask_all(r, f"{tag} a", db_a, questions, model)
    ask_all(r, f"{tag} b", db_b, questions, model_b)

    # Bad cards: rejected whole with FILE:LINE: reason, and the card in force stays.
    for name, (text, lines) in bad_cards(s.cards[0].read_text(encoding="utf-8"), rng).items():
        where = f"{tag} bad card ({name})"
        path = work / ("bad-" + name.replace(" ", "-") + ".csv")
        path.write_text(text, encoding="utf-8")
        try:
            model.rates.copy().load(text.encode("utf-8"), s.table.markets)
            r.fail(where, ["(model)"], ["the model accepts the bad card"])
            continue
        except CardError as e:
            if e.line not in lines:
                r.fail(where, ["(model)"], [f"the model reports line {e.line}, expected one of {sorted(lines)}"])
                continue
        args = ["rates", "import", str(path), "--db", str(db_a)]
        proc = r.run(args)
        reported = set()
        for l in proc.stderr.decode("utf-8", "replace").splitlines():
            m = re.match(r"^(.*?):(\d+): \S", l)
            if m and m.group(1).endswith(path.name):
                reported.add(int(m.group(2)))
        if proc.returncode <= 0:
            r.fail(where, args, [f"expected a non-zero exit, got {proc.returncode}"], proc)
        elif not reported & lines:
            r.fail(where, args, [f"stderr reports lines {sorted(reported)}, expected `{path.name}:N: reason` "
                                 f"with N in {sorted(lines)}"], proc)
        else:
            r.ok()
        r.query(where, ["rates", "show", "--db", str(db_a), "--json"], "list", model.rates_show())


def part_limits(r: Runner, s: Seed, a: argparse.Namespace) -> None:
    r.part = "limits"
    rng = random.Random(f"crosscheck-limits-{s.seed}")
    tag = f"seed {s.seed} limits"
    model = s.model()
    db = s.fresh_db("db-limits")
    check_import(r, tag, db, s.shuffled, model.rejections)
    q = RichQuestions(model, rng)
    bs = q.businesses
    if bs:
        n = rng.choice([1, 2, 250, 2000, rng.randint(3, 99)])
        r.expect_exit(tag, ["limits", "--business", bs[0], "--set", str(n), "--db", str(db)])
        model.set_limit(bs[0], n)
        r.expect_exit(tag, ["limits", "--business", bs[0], "--set", "0", "--db", str(db)], "nonzero")
    if len(bs) > 1:
        r.expect_exit(tag, ["limits", "--business", bs[1], "--set", "10000", "--db", str(db)])
        r.expect_exit(tag, ["limits", "--business", bs[1], "--set", "unlimited", "--db", str(db)])
    questions = q.limits_questions()
    print(f"{tag}: limits {model.limits}, {len(questions)} questions")
    ask_all(r, tag, db, questions, model)


def choose_horizon(model: Store, rng: random.Random) -> int:
    """A time inside the history where no status lies before the horizon while its message lies
    after it (docs/lifecycle.md does not say which side such a status goes to)."""
    times = sorted({m.at for m in model.messages.values()} | {c.at for c in model.controls})
    for _ in range(200):
        H = times[int(len(times) * rng.uniform(0.15, 0.85))] + rng.choice([0, 0, 1, -1, rng.randint(0, HOUR_MS)])
        straddles = any(st.at < H <= model.messages[(st.business, st.id)].at
                        for st in model.statuses if (st.business, st.id) in model.messages)
        if not straddles:
            return H
    raise RuntimeError("no horizon without a straddling status")


def late_events(full: Store, purged: Store, rng: random.Random, seed: int) -> list:
    """Lines on both sides of each business's horizon: [(line, tag)], tag "before" (rejected),
    "after" (accepted), or "purged status" (a status at or after H of a purged message: kept,
    changes nothing)."""
    out = []
    n = 0
    convs = sorted(purged.conversations().values(), key=lambda c: (c.business, c.customer))
    control_times = {(c.business, c.customer, c.group, c.at) for c in full.controls}
    for b in sorted({c.business for c in convs}):
        H = purged.horizon_of(b)
        own = [c for c in convs if c.business == b]
        for conv in rng.sample(own, min(6, len(own))):
            for side in ("before", "after", "after"):
                n += 1
                if side == "before":
                    t = H - rng.choice([1, rng.randint(2, 2 * DAY_MS)])
                else:
                    t = H + rng.choice([0, 1, rng.randint(2, 2 * DAY_MS)])
                what = rng.choice(["in", "in", "out", "template", "control"])
                base = {"business": b, "customer": conv.customer, "at": t}
                if what == "control":
                    by = rng.choice(["customer", "customer", "business"])
                    action = rng.choice(["block", "unblock"] if by == "business" else
                                        ["unblock", "restrict", "unrestrict", "marketing_opt_out", "opt_in", "opt_out"])
                    while (b, conv.customer, CONTROL_GROUP[(by, action)], t) in control_times:
                        t += 1 if side == "after" else -1
                    control_times.add((b, conv.customer, CONTROL_GROUP[(by, action)], t))
                    line = dict(base, type="control", by=by, action=action, at=t)
                else:
                    line = dict(base, type="message", id=f"late.{seed}.{n}", direction="in" if what == "in" else "out")
                    if what == "template":
                        line.update(kind="template", category=rng.choice(["marketing", "utility", "authentication"]))
                    if what == "in" and rng.random() < 0.3:
                        line["entry_point"] = {"source": "ad", "id": f"late{n}"}
                out.append((json.dumps(line, ensure_ascii=False).encode("utf-8"), side))
        kept = [m for m in purged.messages.values() if m.business == b and m.direction == "out" and not purged.is_failed(m)]
        for m in rng.sample(kept, min(4, len(kept))):
            t = max(H, m.at) + rng.randint(0, 2 * DAY_MS)
            out.append((json.dumps({"type": "status", "business": b, "id": m.id, "status": "failed", "at": t},
                                   ensure_ascii=False).encode("utf-8"), "after"))
        if kept:
            # A status belongs to its message: one of a kept message is taken before H too.
            m = rng.choice(kept)
            out.append((json.dumps({"type": "status", "business": b, "id": m.id, "status": "failed",
                                    "at": H - rng.randint(1, DAY_MS)}, ensure_ascii=False).encode("utf-8"), "after"))
        gone = [m for k, m in full.messages.items() if k not in purged.messages and m.business == b
                and m.direction == "out" and not full.is_failed(m)]
        for m in rng.sample(gone, min(2, len(gone))):
            out.append((json.dumps({"type": "status", "business": b, "id": m.id, "status": "failed",
                                    "at": H + rng.randint(0, DAY_MS)}, ensure_ascii=False).encode("utf-8"), "purged status"))
    rng.shuffle(out)
    return out


def erasable(model: Store, rng: random.Random) -> tuple:
    """(C1, (C2, B)): C1 to erase everywhere, an ASCII id that nothing else in an export
    contains; C2 to erase from one business B only, preferably a customer of several."""
    customers = sorted({c for (_, c) in model.conversations()})
    for c in rng.sample(customers, len(customers)):
        if not c.isascii() or len(c) < 6:
            continue
        m = model.copy()
        m.erase(c)
        if c.encode() not in m.export():
            break
    else:
        c = None
    others = [k for k in sorted(model.conversations()) if k[1] != c]
    several = [k for k in others if sum(1 for (_, x) in others if x == k[1]) > 1]
    pick = rng.choice(several or others) if others else None
    return c, pick


def part_lifecycle(r: Runner, s: Seed, a: argparse.Namespace) -> None:
    r.part = "lifecycle"
    rng = random.Random(f"crosscheck-lifecycle-{s.seed}")
    tag = f"seed {s.seed} lifecycle"
    work = s.work / "lifecycle"
    work.mkdir(exist_ok=True)
    full = s.model(cards=True)
    db = s.fresh_db("db-life")
    check_import(r, tag, db, s.shuffled, full.rejections)
    s.load_cards(r, tag, db)

    # Purge the store before H, then one business before H2 > H.
    H = choose_horizon(full, rng)
    businesses = sorted({b for (b, _) in full.conversations()})
    B2 = rng.choice(businesses)
    H2 = H + rng.randint(6 * HOUR_MS, 3 * DAY_MS)
    purged = full.copy()
    purged.purge(H)
    purged.purge(H2, B2)
    print(f"{tag}: purge before {format_rfc3339(H)}, and {B2!r} before {format_rfc3339(H2)}; "
          f"{len(purged.summaries)} summaries, {sum(k.count for k in purged.kept)} kept charges")
    r.expect_exit(tag, ["purge", "--before", str(H), "--db", str(db)])
    r.expect_exit(tag, ["purge", "--before", format_rfc3339(H2), "--business", B2, "--db", str(db)])
    r.expect_exit(tag, ["purge", "--before", str(H - HOUR_MS), "--db", str(db)])      # removes nothing

    def floor(b):
        return purged.horizon_of(b) if b is not None else max(purged.horizon_of(x) for x in businesses)

    def questions(m: Store) -> list:
        q = RichQuestions(m, rng, floor)
        return q.all() + q.billing_questions() + q.limits_questions()

    qs = questions(purged)
    model_agrees(r, f"{tag} model", qs, purged, full, "purged and full history")
    ask_all(r, f"{tag} purged", db, qs, purged)

    # Late events on both sides of the horizons.
    late = late_events(full, purged, rng, s.seed)
    late_path = write_lines(work / "late.jsonl", [l for l, _ in late])
    before = len(purged.rejections)
    purged.load([str(late_path)])
    new_rejects = purged.rejections[before:]
    full2 = full.copy()
    for line, side in late:
        if side == "after":
            full2.ingest_line(line)
    want = sorted(i + 1 for i, (_, side) in enumerate(late) if side == "before")
    if sorted(x.line for x in new_rejects) != want or full2.rejections != full.rejections:
        r.fail(f"{tag} model", ["(model)"], [f"late lines rejected {[x.line for x in new_rejects]}, expected {want}"])
    check_import(r, f"{tag} late", db, late_path, new_rejects)
    qs = questions(purged)
    model_agrees(r, f"{tag} model", qs, purged, full2, "purged + late events and the full history")
    ask_all(r, f"{tag} late", db, qs, purged)

    # Export, then import into a fresh store (the card is no part of a dump: load it again).
    exported = work / "export.jsonl"
    proc = r.expect_exit(f"{tag} export", ["export", "--db", str(db), "--output", str(exported)])
    if proc.returncode == 0 and exported.exists():
        dbx = s.fresh_db("db-life-export")
        check_import(r, f"{tag} export", dbx, exported, [])
        s.load_cards(r, f"{tag} export", dbx)
        ask_all(r, f"{tag} export", dbx, qs, purged)
        again = purged.copy()
        n = len(again.rejections)
        again.load([str(late_path)])                       # the horizon came with the export
        check_import(r, f"{tag} export", dbx, late_path, again.rejections[n:])
        # The model reads the store's export: its summary lines must carry what lifecycle.md says.
        reader = Store(markets=s.table)
        for c in s.cards:
            reader.load_rates(str(c))
        reader.load([str(exported)])
        where = f"{tag} export content"
        if reader.rejections:
            r.fail(where, ["export", "(read by the model)"], [f"{x.file}:{x.line}: {x.reason}" for x in reader.rejections[:MAX_SHOWN]])
        else:
            model_agrees(r, where, qs, reader, purged, "the store's export read by the model, and the model",
                         ["export", "(read by the model)"])
    # The model's own export (summary lines as lifecycle.md defines them) into a fresh store.
    mine = write_lines(work / "model-export.jsonl", purged.export().rstrip(b"\n").split(b"\n"))
    dbm = s.fresh_db("db-life-model-export")
    check_import(r, f"{tag} model export", dbm, mine, [])
    s.load_cards(r, f"{tag} model export", dbm)
    ask_all(r, f"{tag} model export", dbm, qs, purged)

    # Erasure: C1 everywhere, C2 from one business.
    c1, pick = erasable(purged, rng)
    bq = RichQuestions(purged, rng, floor).billing_questions()
    kept_before = purged.copy()
    if c1 is not None:
        r.expect_exit(f"{tag} erase", ["erase", "--customer", c1, "--db", str(db)])
        purged.erase(c1)
    if pick is not None:
        r.expect_exit(f"{tag} erase", ["erase", "--customer", pick[1], "--business", pick[0], "--db", str(db)])
        purged.erase(pick[1], pick[0])
    print(f"{tag}: erase {c1!r} everywhere and {pick[1] if pick else None!r} from {pick[0] if pick else None!r}")
    model_agrees(r, f"{tag} model", bq, purged, kept_before, "billing before and after the erasure")
    q = RichQuestions(purged, rng, floor)
    qs = q.all() + bq + q.limits_questions()
    gone = [(b, c1) for (b, c) in kept_before.conversations() if c == c1] + ([pick] if pick else [])
    qs += [("show", ["--business", b, "--customer", c, "--at", str(floor(b))], "exit1", None) for b, c in gone]
    ask_all(r, f"{tag} erased", db, qs, purged)
    if c1 is not None:
        out = work / "export-erased.jsonl"
        proc = r.expect_exit(f"{tag} erase", ["export", "--db", str(db), "--output", str(out)])
        if proc.returncode == 0 and out.exists():
            data = out.read_bytes()
            traces = [f for f in {c1.encode(), json.dumps(c1)[1:-1].encode()} if f in data]
            if traces:
                r.fail(f"{tag} erase", ["export", "--db", str(db)], [f"the export still holds {c1!r} ({data.count(traces[0])} times)"])
            else:
                r.ok()
        # A later event for C1 starts a new conversation.
        b = gone[0][0] if gone else businesses[0]
        t = floor(b) + 5 * DAY_MS
        line = json.dumps({"type": "message", "id": f"after-erase.{s.seed}", "business": b, "customer": c1,
                           "direction": "in", "at": t}).encode()
        path = write_lines(work / "after-erase.jsonl", [line])
        purged.load([str(path)])
        check_import(r, f"{tag} erase", db, path, [])
        r.query(f"{tag} erase", ["show", "--db", str(db), "--business", b, "--customer", c1, "--at", str(t), "--json"],
                "object", purged.show(b, c1, t))


PARTS = ("base", "failed", "pricing", "limits", "lifecycle")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Compare the convostore CLI with the reference model.")
    p.add_argument("--cli", required=True, help="path of the convostore executable")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--events", type=int, default=1500, help="events per dump (default 1500)")
    p.add_argument("--businesses", type=int, default=3)
    p.add_argument("--customers", type=int, default=25)
    p.add_argument("--keep", metavar="DIR", help="keep dumps and stores under DIR (default: a temporary directory, removed)")
    p.add_argument("--export", action="store_true", help="also round-trip each store through export/import")
    p.add_argument("--timeout", type=float, default=300, help="seconds per command")
    p.add_argument("--verbose", "-v", action="store_true", help="print every command")
    for part in PARTS:
        p.add_argument(f"--{part}", action="store_true", help=f"run the {part} part")
    p.add_argument("--all", action="store_true", help="run every part")
    p.add_argument("--market-table", type=Path, default=MARKET_TABLE_SWIFT,
                   help="the Swift file with the market table (default: %(default)s)")
    a = p.parse_args(argv)
    parts = [x for x in PARTS if a.all or getattr(a, x)] or ["base"]

    cli = shutil.which(a.cli) or a.cli
    if not os.access(cli, os.X_OK):
        print(f"crosscheck: {a.cli} is not an executable", file=sys.stderr)
        return 2
    r = Runner(os.path.abspath(cli) if os.path.exists(cli) else cli, a.timeout, a.verbose)
    table = None
    if any(x != "base" for x in parts):
        try:
            table = MarketTable.from_swift(a.market_table, strict=False)
        except TableError as e:
            print(f"crosscheck: {e}; the parts after R6 need it", file=sys.stderr)
            return 2
        r.part = "market table"
        for problem in table.problems:
            r.fail("market table", ["(table)"], [problem])
    root = Path(a.keep).resolve() if a.keep else Path(tempfile.mkdtemp(prefix="convostore-crosscheck-"))
    try:
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            if "base" in parts:
                run_seed(r, seed, a, root)
            if table is not None:
                s = Seed(seed, a, root, table)
                for name in parts[1:] if parts[0] == "base" else parts:
                    globals()[f"part_{name}"](r, s, a)
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
    if parts != ["base"]:
        r.report()
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
