#!/usr/bin/env python3
"""The reference model behind the `convostore` command line, to test crosscheck.py itself.

    python3 crosscheck.py --cli Tests/model/model_cli.py --seeds 1 --events 300 --all

must end with "0 failed": every answer the cross-check expects is then reachable through the
contract's commands, arguments, exit statuses, rejects files and stderr formats, so a failure
against the real CLI is a difference of the store, not of the script. The store is the model
pickled in DIR/model.pickle (`--db DIR`); times are epoch ms or RFC 3339. Only what the
cross-check uses is here: import, export, overdue, newly-overdue, windows, show, billing,
check, rates import/show, limits, purge, erase. Not a store: no locking, no durability.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Invalid, Store, parse_cli_time  # noqa: E402
from pricing import CardError, MarketTable  # noqa: E402


def _open(db: str, create: bool = False) -> Store:
    path = Path(db) / "model.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    if not create:
        print(f"error: no store at {db}", file=sys.stderr)
        sys.exit(2)
    return Store(markets=MarketTable.load(strict=False))


def _save(db: str, store: Store) -> None:
    Path(db).mkdir(parents=True, exist_ok=True)
    store._changed()
    (Path(db) / "model.pickle").write_bytes(pickle.dumps(store))


def _lines(rows: list) -> None:
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="convostore (model)")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = parse_cli_time
    q = sub.add_parser("import"); q.add_argument("files", nargs="+")
    q = sub.add_parser("export"); q.add_argument("--output")
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
    sub.add_parser("check")
    q = sub.add_parser("rates"); q.add_argument("action", choices=("import", "show")); q.add_argument("file", nargs="?")
    q = sub.add_parser("limits"); q.add_argument("--business", required=True)
    q.add_argument("--at", type=t); q.add_argument("--set")
    q = sub.add_parser("purge"); q.add_argument("--before", type=t, required=True); q.add_argument("--business")
    q = sub.add_parser("erase"); q.add_argument("--customer", required=True); q.add_argument("--business")
    for q in sub.choices.values():
        q.add_argument("--db", required=True)
        q.add_argument("--json", action="store_true")
    a = p.parse_args(argv)

    if a.cmd == "import":
        s = _open(a.db, create=True)
        for f in a.files:
            n = len(s.rejections)
            s.load([f])
            new = s.rejections[n:]
            if new:
                Path(f + ".rejects").write_bytes(b"".join(x.raw + b"\n" for x in new))
            for x in new:
                print(f"{x.file}:{x.line}: {x.reason}", file=sys.stderr)
        _save(a.db, s)
        return 1 if any(x.file in a.files for x in s.rejections) else 0
    s = _open(a.db)
    if a.cmd == "export":
        data = s.export()
        if a.output:
            Path(a.output).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
    elif a.cmd == "overdue":
        _lines(s.overdue(a.as_of, a.business, a.limit))
    elif a.cmd == "newly-overdue":
        _lines(s.newly_overdue(a.after, a.until))
    elif a.cmd == "windows":
        _lines(s.windows(a.frm, a.to, a.business))
    elif a.cmd == "show":
        v = s.show(a.business, a.customer, a.at)
        if v is None:
            print("error: unknown conversation", file=sys.stderr)
            return 1
        print(json.dumps(v, ensure_ascii=False))
    elif a.cmd == "billing":
        print(json.dumps(s.billing(a.business, a.frm, a.to), ensure_ascii=False))
    elif a.cmd == "rates":
        if a.action == "show":
            _lines(s.rates_show())
        else:
            try:
                s.load_rates(a.file)
            except CardError as e:
                print(f"{a.file}:{e.line}: {e.reason}", file=sys.stderr)
                return 1
            _save(a.db, s)
    elif a.cmd == "limits":
        if a.set is not None:
            try:
                n = None if a.set == "unlimited" else int(a.set)
                if n is not None and n < 1:
                    raise ValueError
            except ValueError:
                print("error: --set takes a positive integer or `unlimited`", file=sys.stderr)
                return 2
            s.set_limit(a.business, n)
            _save(a.db, s)
        if a.at is not None:
            print(json.dumps(s.limits_answer(a.business, a.at), ensure_ascii=False))
    elif a.cmd == "purge":
        print(json.dumps(s.purge(a.before, a.business)))
        _save(a.db, s)
    elif a.cmd == "erase":
        print(json.dumps({"conversations": s.erase(a.customer, a.business)}))
        _save(a.db, s)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Invalid as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
