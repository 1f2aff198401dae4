#!/usr/bin/env python3
"""Cross-check the `convostore` command line against the reference model.

For each seed: generate a shuffled dump (gen_dump.py) with duplicates and,
for most seeds, malformed lines; import it three ways into three fresh stores
  shuffled  the dump as generated, one import run;
  sorted    the same lines sorted by `at` (header first), one import run;
  split     the shuffled lines cut in two files, imported in two runs;
then ask each store the same questions (overdue, newly-overdue, windows,
show, billing, check) and compare the JSON answers, as data, with the model
(model.py) fed the same files in the same order.

Checks counted: one per compared command (imports count too: exit status and
the rejects it reported). On a mismatch the command, the expected and the
actual answer (first differences) are printed. The last line is
"N passed, M failed"; the exit status is 1 if anything failed.

  python3 crosscheck.py --cli .build/debug/convostore --seeds 5 --events 1500
"""

from __future__ import annotations

import argparse
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
from model import DAY_MS, HOUR_MS, Invalid, Store, format_rfc3339, parse_at  # noqa: E402

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
class Runner:
    def __init__(self, cli: str, timeout: float, verbose: bool):
        self.cli = cli
        self.timeout = timeout
        self.verbose = verbose
        self.passed = 0
        self.failed = 0

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

    def fail(self, where: str, args: list[str], lines: list[str], proc=None) -> None:
        self.failed += 1
        print(f"FAIL {where}: {shlex.join([self.cli] + args)}")
        for l in lines:
            print(f"    {l}")
        if proc is not None and proc.stderr:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            for l in err[:MAX_SHOWN]:
                print(f"    stderr: {l}")

    def query(self, where: str, args: list[str], shape: str, expected: Any) -> None:
        """shape: 'list' (JSON Lines), 'object' (one JSON object) or 'exit1'."""
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
            qs.append(("overdue", ["--as-of", self.t(T)], "list", lambda m, T=T: m.overdue(T)))
        for _ in range(3):
            T, b = self.pick(self.due), rng.choice(self.businesses)
            qs.append(("overdue", ["--as-of", self.t(T), "--business", b], "list",
                       lambda m, T=T, b=b: m.overdue(T, b)))
        for n in (1, 3, 10):
            T = self.pick(self.due + [far_future])
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
            for T in sorted(at):
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
            qs.append(("show", ["--business", b, "--customer", c, "--at", str(self.last)], "exit1", None))

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
                qs.append(("billing", args, "object", lambda m, b=b, f=frm, t=to: m.billing(b, f, t)))
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
    if problems:
        r.fail(where, args, problems, proc)
    else:
        r.ok()


def run_seed(r: Runner, seed: int, a: argparse.Namespace, root: Path) -> None:
    rng = random.Random(f"crosscheck-{seed}")
    malformed = 0 if seed % 3 == 0 else rng.randint(3, 20)      # every third seed is clean
    dump = gen_dump.generate(seed, a.events, a.businesses, a.customers, shuffle=True, malformed=malformed)
    work = root / f"seed-{seed}"
    work.mkdir(parents=True, exist_ok=True)

    # Write the variants and feed the model the same files in the same order.
    stores: dict[str, tuple[list[Path], Store]] = {}
    for name, files in variants(dump.lines, dump.header, rng).items():
        paths = []
        for i, lines in enumerate(files):
            p = work / (f"{name}.jsonl" if len(files) == 1 else f"{name}-{i + 1}.jsonl")
            p.write_bytes(b"".join(l + b"\n" for l in lines))
            paths.append(p)
        model = Store().load(str(p) for p in paths)
        stores[name] = (paths, model)

    base_model = stores["shuffled"][1]
    questions = Questions(base_model, rng).all()
    print(f"seed {seed}: {base_model.summary()}, {len(questions)} questions per store")

    # The model itself: every variant must give the same answers, and it must
    # reject exactly the injected lines (else the generator or the model is wrong).
    where = f"seed {seed} model"
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
        where = f"seed {seed} {name}"
        for p in paths:
            check_import(r, where, db, p, [x for x in model.rejections if x.file == str(p)])
        for cmd, args, shape, fn in questions:
            r.query(where, [cmd, "--db", str(db)] + args + ["--json"], shape, fn(model) if fn else None)
        proc = r.run(["check", "--db", str(db)])
        if proc.returncode == 0:
            r.ok()
        else:
            r.fail(where, ["check", "--db", str(db)], [f"expected exit 0, got {proc.returncode}",
                                                       proc.stdout.decode("utf-8", "replace")[:500]], proc)

    if a.export:
        # Round trip: export the first store, import the export into a fourth.
        db, out = work / "db-shuffled", work / "export.jsonl"
        where = f"seed {seed} export"
        proc = r.run(["export", "--db", str(db), "--output", str(out)])
        if proc.returncode != 0 or not out.exists():
            r.fail(where, ["export", "--db", str(db), "--output", str(out)], [f"exit {proc.returncode}"], proc)
        else:
            r.ok()
            db4 = work / "db-export"
            shutil.rmtree(db4, ignore_errors=True)
            check_import(r, where, db4, out, [])
            for cmd, args, shape, fn in questions:
                r.query(where, [cmd, "--db", str(db4)] + args + ["--json"], shape, fn(base_model) if fn else None)


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
    a = p.parse_args(argv)

    cli = shutil.which(a.cli) or a.cli
    if not os.access(cli, os.X_OK):
        print(f"crosscheck: {a.cli} is not an executable", file=sys.stderr)
        return 2
    r = Runner(os.path.abspath(cli) if os.path.exists(cli) else cli, a.timeout, a.verbose)
    root = Path(a.keep).resolve() if a.keep else Path(tempfile.mkdtemp(prefix="convostore-crosscheck-"))
    try:
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            run_seed(r, seed, a, root)
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
