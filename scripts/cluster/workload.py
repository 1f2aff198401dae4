#!/usr/bin/env python3
"""Writes the benchmark workload of N users (Benchmarks/Sources/loadbench/Workload.swift) as a native dump.

The same generator, step for step: SplitMix64 from the seed, a Zipf choice of 1 to 3 of 10,000 businesses
per customer, about 3 events per customer over 3 days (50% inbound, 35% replies, 8% templates, 5% statuses,
2% controls), sorted by (time, kind, message number), bodies cut from the same 256 random bytes and written
as body_b64, ids as the harness names them (businesses 1555+7 digits, customers 447700+9 digits, wamid.N).
Each status line also carries its conversation's "customer" (the store ignores it; `convostore publish`
routes the status by it). Written here rather than built from the Benchmarks package, whose release
build takes minutes that the cluster check in CI does not need to spend.

usage: workload.py --users N [--seed 42] [-o FILE]
"""
import argparse, base64, bisect, json, math, sys

MASK = (1 << 64) - 1
BUSINESSES = 10_000
START = 1_767_571_200_000  # 2026-01-05T00:00:00Z
DURATION = 3 * 86_400_000
END = START + DURATION
HOUR = 3_600_000
CONTROL, INBOUND, REPLY, TEMPLATE, STATUS = 0, 1, 2, 3, 4
CATEGORIES = ["marketing", "utility", "authentication"]
STATUSES = {1: "sent", 2: "delivered", 3: "read", 4: "failed"}
# ControlChoice in order, with (by, action) as ConvoStoreEngine maps them, and the generator's weights.
CONTROLS = [("customer", "opt_in", 35), ("customer", "marketing_opt_out", 15), ("customer", "restrict", 10),
            ("customer", "unrestrict", 5), ("customer", "block", 10), ("customer", "unblock", 10),
            ("customer", "report_spam", 5), ("business", "block", 5), ("business", "unblock", 5)]


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        return self.next() % bound

    def unit(self):
        return float((self.next() >> 11) + 1) / float(1 << 53)


def zipf_table(count, exponent=1.0):
    total, cumulative = 0.0, []
    for rank in range(1, count + 1):
        total += 1 / math.pow(float(rank), exponent)
        cumulative.append(total)
    return [c / total for c in cumulative]


def generate(users, seed):
    rng = SplitMix64(seed)
    zipf = zipf_table(BUSINESSES)
    conversations = []
    for customer in range(users):
        chosen = []
        for _ in range(1 + rng.below(3)):
            business = bisect.bisect_left(zipf, rng.unit())  # the least rank whose cumulative is >= u
            if business not in chosen:
                chosen.append(business)
        conversations.extend((business, customer) for business in chosen)

    total = users * 3
    events = []  # (at, kind, message, conversation, detail, body length)

    def message(kind, conversation, at, detail):
        return (at, kind, len(events), conversation, detail, 20 + rng.below(100))

    def random_time():
        return START + rng.below(DURATION)

    inbound_count = total * 50 // 100
    for _ in range(inbound_count):
        conversation = rng.below(len(conversations))
        entry_point = 1 if rng.below(10) == 0 else 0
        events.append(message(INBOUND, conversation, random_time(), entry_point))

    def after(delay):
        while True:
            inbound = events[rng.below(inbound_count)]
            at = inbound[0] + delay()
            if at < END:
                return inbound[3], at

    def reply_delay():
        if rng.below(10) == 0:
            return 1 + rng.below(48 * HOUR)
        return 1 + int(-math.log(rng.unit()) * float(HOUR) / 2)

    for _ in range(total * 35 // 100):
        conversation, at = after(reply_delay)
        events.append(message(REPLY, conversation, at, 0))
    for _ in range(total * 8 // 100):
        category = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2][rng.below(10)]
        if rng.below(10) < 6:
            conversation, at = after(lambda: rng.below(48 * HOUR))
        else:
            conversation = rng.below(len(conversations))
            at = random_time()
        events.append(message(TEMPLATE, conversation, at, category))
    outbound_start, outbound_count = inbound_count, len(events) - inbound_count
    for _ in range(total * 5 // 100):
        while True:
            target = events[rng.below(outbound_count) + outbound_start]
            at = target[0] + 1 + rng.below(60_000)
            if at >= END:
                continue
            status = [1, 2, 2, 2, 3, 3, 3, 3, 1, 4][rng.below(10)]
            events.append((at, STATUS, target[2], target[3], status, 0))
            break
    for _ in range(total - len(events)):
        pick = rng.below(100)
        choice = 0
        for index, (_, _, weight) in enumerate(CONTROLS):
            if pick < weight:
                choice = index
                break
            pick -= weight
        at = random_time()
        events.append((at, CONTROL, 0, rng.below(len(conversations)), choice, 0))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    body_bytes = bytes(rng.next() & 0xFF for _ in range(256))
    return conversations, events, body_bytes


def lines(users, seed):
    conversations, events, body_bytes = generate(users, seed)
    bodies = {}
    for at, kind, number, conversation, detail, length in events:
        business_index, customer_index = conversations[conversation]
        business = "1555%07d" % business_index
        customer = "447700%09d" % customer_index
        if kind in (INBOUND, REPLY, TEMPLATE):
            if length not in bodies:
                bodies[length] = base64.b64encode(body_bytes[:length]).decode()
            e = {"type": "message", "id": "wamid.%d" % number, "business": business, "customer": customer,
                 "direction": "in" if kind == INBOUND else "out", "at": at,
                 "kind": "template" if kind == TEMPLATE else "text"}
            if kind == TEMPLATE:
                e["category"] = CATEGORIES[detail]
            e["body_b64"] = bodies[length]
            if kind == INBOUND and detail == 1:
                e["entry_point"] = {"source": "ad", "id": "ad-2026"}
        elif kind == STATUS:
            e = {"type": "status", "business": business, "id": "wamid.%d" % number, "status": STATUSES[detail],
                 "at": at, "customer": customer}
        else:
            by, action, _ = CONTROLS[detail]
            e = {"type": "control", "business": business, "customer": customer, "by": by, "action": action, "at": at}
        yield json.dumps(e, separators=(",", ":"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args()
    out = sys.stdout if args.output == "-" else open(args.output, "w")
    for line in lines(args.users, args.seed):
        out.write(line)
        out.write("\n")
    out.close()


if __name__ == "__main__":
    main()
