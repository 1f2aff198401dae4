#!/usr/bin/env python3
"""The data lifecycle's figures (issue 14, docs/lifecycle.md "Figures"), from the command line alone.

  scripts/lifecycle-figures.py --cli .build/release/convostore --out DIR [--events N] [--days D]

1. Purge throughput: a store of N events over D days, purged before its middle day with
   `convostore purge`; then the same keys deleted from a copy of the store taken before the purge by
   raw LMDB (py-lmdb, one write transaction, synced, in key order): every (database, key, value) the
   purge removed, found by comparing the two stores. The raw side does no reads, no summaries and no
   index decisions: it is the floor of removing those bytes. Messages removed per second, each way.
2. Erase latency: one customer with 1,000 messages among the N events, erased with `convostore
   erase` (median of 5 runs, each on a fresh copy; the process's whole run: start, open, erase, sync).
3. Size under retention: a simulated run of --retention-days + 60 days, each day's events imported
   then everything older than the retention purged, as a writer with `retention` set does (in steps;
   here once a day); data.mdb's size after each day, written as size-over-days.svg and .csv.

Writes DIR/lifecycle-figures.json and the chart. Needs `pip install lmdb` (py-lmdb) for part 1.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
DAY = 86_400_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def run(cli, *args, stdin=None):
    t = time.perf_counter()
    r = subprocess.run([cli, *args], input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"convostore {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return elapsed, r


def gen(path, events, customers, start, days, prefix, seed):
    subprocess.run([sys.executable, os.path.join(HERE, "gen-native-dump.py"), "--events", str(events),
                    "--customers", str(customers), "--businesses", "200", "--seed", str(seed),
                    "--start-ms", str(start), "--days", str(days), "--id-prefix", prefix, "-o", path], check=True)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def entries(path):
    """Every (database, key, value) of a store, by py-lmdb (duplicates included)."""
    import lmdb
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=64, subdir=True)
    out = set()
    with env.begin() as txn:
        names = [k for k, _ in txn.cursor()]
    for name in names:
        try:
            db = env.open_db(name, txn=None, create=False, dupsort=True)
        except Exception:
            continue
        with env.begin(db=db) as txn:
            for k, v in txn.cursor(db=db):
                out.add((name, k, v))
    env.close()
    return out


def raw_delete(path, removed):
    """Deletes `removed` from the store at `path` in one synced write transaction; its seconds."""
    import lmdb
    env = lmdb.open(path, max_dbs=64, subdir=True, map_size=1 << 36, sync=True)
    dbs = {}
    t = time.perf_counter()
    with env.begin(write=True) as txn:
        for name, k, v in sorted(removed):  # in key order, as LMDB deletes best
            db = dbs.get(name)
            if db is None:
                db = dbs[name] = env.open_db(name, txn=txn, create=False, dupsort=True)
            txn.delete(k, v, db=db)
    env.sync(True)
    elapsed = time.perf_counter() - t
    env.close()
    return elapsed


def purge_figures(cli, work, events, days):
    dump = os.path.join(work, "history.jsonl")
    gen(dump, events, max(1, events // 6), START, days, "h.", 1)
    db = os.path.join(work, "purge")
    run(cli, "import", "--db", db, "--quiet", dump)
    copy = os.path.join(work, "purge-raw")
    shutil.copytree(db, copy)
    before_stats = json.loads(run(cli, "stats", "--db", db, "--json")[1].stdout)
    horizon = START + int(days * DAY) // 2
    seconds, r = run(cli, "purge", "--db", db, "--before", iso(horizon))
    after_stats = json.loads(run(cli, "stats", "--db", db, "--json")[1].stdout)
    removed_messages = before_stats["entries"]["messages"] - after_stats["entries"]["messages"]
    before, after = entries(copy), entries(db)
    removed = before - after
    raw_seconds = raw_delete(copy, removed)
    return {
        "events": events, "days": days, "horizon": iso(horizon), "purge_output": r.stderr.strip(),
        "messages_removed": removed_messages, "entries_removed": len(removed), "entries_written": len(after - before),
        "purge_seconds": round(seconds, 3), "raw_lmdb_delete_seconds": round(raw_seconds, 3),
        "purge_messages_per_s": round(removed_messages / seconds), "raw_lmdb_messages_per_s": round(removed_messages / raw_seconds),
        "ratio": round(raw_seconds / seconds, 2),
    }


def erase_figures(cli, work, events):
    dump = os.path.join(work, "erase.jsonl")
    gen(dump, events, max(1, events // 6), START, 30, "e.", 2)
    lines = []
    for i in range(1000):
        direction = "in" if i % 2 == 0 else "out"
        lines.append(json.dumps({"type": "message", "id": f"erase.{i}", "business": "15550009999", "customer": "447700999999",
                                 "direction": direction, "at": START + i * 60_000, "kind": "text", "body": "a private message " * 3},
                                separators=(",", ":")))
    with open(dump, "a") as f:
        f.write("\n".join(lines) + "\n")
    db = os.path.join(work, "erase")
    run(cli, "import", "--db", db, "--quiet", dump)
    times = []
    for n in range(5):
        copy = os.path.join(work, f"erase-{n}")
        shutil.copytree(db, copy)
        seconds, r = run(cli, "erase", "--db", copy, "--customer", "447700999999")
        times.append(seconds)
        output = r.stderr.strip()
        shutil.rmtree(copy)
    return {"events": events + 1000, "customer_messages": 1000, "erase_seconds_median": round(statistics.median(times), 4),
            "erase_seconds_min_max": [round(min(times), 4), round(max(times), 4)], "erase_output": output}


def retention_figures(cli, work, out, per_day, retention_days, extra_days):
    db = os.path.join(work, "retention")
    run(cli, "import", "--db", db, "--quiet", "-", stdin="")
    sizes = []
    customers = per_day * 2
    for day in range(retention_days + extra_days):
        dump = os.path.join(work, f"day{day}.jsonl")
        gen(dump, per_day, customers, START + day * DAY, 1, f"d{day}.", 100 + day)
        run(cli, "import", "--db", db, "--quiet", dump)
        os.remove(dump)
        horizon = START + (day + 1 - retention_days) * DAY
        if day + 1 > retention_days:
            run(cli, "purge", "--db", db, "--before", iso(horizon))
        stats = json.loads(run(cli, "stats", "--db", db, "--json")[1].stdout)
        sizes.append((day + 1, os.path.getsize(os.path.join(db, "data.mdb")), stats["entries"]["messages"]))
    with open(os.path.join(out, "size-over-days.csv"), "w") as f:
        f.write("day,data_mdb_bytes,messages\n" + "".join(f"{d},{b},{m}\n" for d, b, m in sizes))
    svg(os.path.join(out, "size-over-days.svg"), sizes, retention_days, per_day)
    return {"events_per_day": per_day, "retention_days": retention_days, "days": len(sizes),
            "size_at_retention_mib": round(sizes[retention_days - 1][1] / 2**20, 1),
            "size_at_end_mib": round(sizes[-1][1] / 2**20, 1),
            "max_size_mib": round(max(b for _, b, _ in sizes) / 2**20, 1)}


def svg(path, sizes, retention_days, per_day):
    w, h, left, bottom, top, right = 640, 320, 60, 40, 30, 20
    max_day = sizes[-1][0]
    max_mib = max(b for _, b, _ in sizes) / 2**20 * 1.1
    def x(d): return left + (w - left - right) * d / max_day
    def y(m): return h - bottom - (h - bottom - top) * m / max_mib
    points = " ".join(f"{x(d):.1f},{y(b / 2**20):.1f}" for d, b, _ in sizes)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="18" font-size="13">data.mdb size, {per_day:,} events a day, retention {retention_days} days</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
             f'<line x1="{x(retention_days):.1f}" y1="{top}" x2="{x(retention_days):.1f}" y2="{h - bottom}" stroke="#999" stroke-dasharray="4"/>',
             f'<text x="{x(retention_days) + 4:.1f}" y="{top + 12}" fill="#666">purging starts</text>']
    for d in range(0, max_day + 1, 10):
        parts.append(f'<text x="{x(d):.1f}" y="{h - bottom + 15}" text-anchor="middle">{d}</text>')
    step = max(1, round(max_mib / 5))
    for m in range(0, int(max_mib) + 1, step):
        parts.append(f'<text x="{left - 6}" y="{y(m) + 4:.1f}" text-anchor="end">{m}</text>')
    parts += [f'<text x="{(w + left) / 2}" y="{h - 6}" text-anchor="middle">simulated day</text>',
              f'<text x="14" y="{(h - bottom + top) / 2}" transform="rotate(-90 14 {(h - bottom + top) / 2})" text-anchor="middle">MiB</text>',
              f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/>', "</svg>"]
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cli", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--events", type=int, default=1_000_000, help="events of the purge store (default 1,000,000)")
    p.add_argument("--days", type=float, default=30)
    p.add_argument("--erase-events", type=int, default=200_000)
    p.add_argument("--per-day", type=int, default=20_000, help="events a simulated day (default 20,000)")
    p.add_argument("--retention-days", type=int, default=30)
    p.add_argument("--extra-days", type=int, default=60)
    p.add_argument("--parts", default="purge,erase,retention")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    report = {"cli": a.cli}
    parts = a.parts.split(",")
    if "purge" in parts:
        report["purge"] = purge_figures(a.cli, work, a.events, a.days)
        print(json.dumps(report["purge"]), flush=True)
    if "erase" in parts:
        report["erase"] = erase_figures(a.cli, work, a.erase_events)
        print(json.dumps(report["erase"]), flush=True)
    if "retention" in parts:
        report["retention"] = retention_figures(a.cli, work, a.out, a.per_day, a.retention_days, a.extra_days)
        print(json.dumps(report["retention"]), flush=True)
    with open(os.path.join(a.out, "lifecycle-figures.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
