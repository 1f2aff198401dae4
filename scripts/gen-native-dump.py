#!/usr/bin/env python3
"""Writes a native dump of N events for import benchmarks, deterministic from --seed.

Linear in N and constant in memory (per customer state only). The mix follows the load harness:
50% inbound, 35% outbound replies, 8% templates, 5% statuses, 2% controls, over 3 simulated days.
--shuffle-window K shuffles the lines within windows of K lines (late and out-of-order events).
"""
import argparse, json, random, sys

CONTROLS = ["block", "unblock", "report_spam", "restrict", "unrestrict", "marketing_opt_out",
            "marketing_opt_in", "opt_in", "opt_out"]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--customers", type=int, default=None, help="default: events / 3")
    p.add_argument("--businesses", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shuffle-window", type=int, default=0)
    p.add_argument("--start-ms", type=int, default=1_751_328_000_000, help="first event time (default 2025-07-01T00:00:00Z)")
    p.add_argument("--days", type=float, default=3, help="the span of the events in days (default 3)")
    p.add_argument("--id-prefix", default="wamid.", help="message id prefix, for dumps meant to be imported together")
    p.add_argument("-o", "--output", default="-")
    a = p.parse_args()
    rng = random.Random(a.seed)
    customers = a.customers or max(1, a.events // 3)
    start = a.start_ms
    span = int(a.days * 86_400_000)
    out = sys.stdout if a.output == "-" else open(a.output, "w")
    window = []
    sent = []
    for n in range(a.events):
        at = start + n * span // a.events + rng.randrange(1000)
        c = rng.randrange(customers)
        b = (c * 7919 + rng.randrange(3)) % a.businesses  # each customer talks to up to 3 businesses
        business, customer = f"1555{b:07d}", f"44770{c:08d}"
        r = rng.random()
        if r < 0.50:
            e = {"type": "message", "id": f"{a.id_prefix}{n}", "business": business, "customer": customer,
                 "direction": "in", "at": at, "kind": "text", "body": "hello there " * rng.randrange(1, 6)}
            if rng.random() < 0.02:
                e["entry_point"] = {"source": "ad", "id": str(rng.randrange(10**9))}
        elif r < 0.85:
            e = {"type": "message", "id": f"{a.id_prefix}{n}", "business": business, "customer": customer,
                 "direction": "out", "at": at, "kind": "text", "body": "thanks, on it"}
            sent.append((business, f"{a.id_prefix}{n}"))
        elif r < 0.93:
            e = {"type": "message", "id": f"{a.id_prefix}{n}", "business": business, "customer": customer,
                 "direction": "out", "at": at, "kind": "template",
                 "category": rng.choice(["marketing", "utility", "authentication"])}
            sent.append((business, f"{a.id_prefix}{n}"))
        elif r < 0.98 and sent:
            b2, mid = sent[rng.randrange(len(sent))]
            if len(sent) > 10_000:
                sent = sent[-5_000:]
            e = {"type": "status", "business": b2, "id": mid, "status": rng.choice(["sent", "delivered", "read"]), "at": at}
        else:
            e = {"type": "control", "business": business, "customer": customer, "by": "customer",
                 "action": rng.choice(CONTROLS), "at": at}
        line = json.dumps(e, separators=(",", ":"))
        if a.shuffle_window > 1:
            window.append(line)
            if len(window) >= a.shuffle_window:
                rng.shuffle(window)
                out.write("\n".join(window) + "\n")
                window = []
        else:
            out.write(line + "\n")
    if window:
        rng.shuffle(window)
        out.write("\n".join(window) + "\n")
    out.close()


if __name__ == "__main__":
    main()
