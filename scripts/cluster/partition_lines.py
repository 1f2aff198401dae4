#!/usr/bin/env python3
"""Writes the lines of one partition of a native dump: those `convostore publish` sends to CONVO_<p>.

The partition of (business, customer) as Sources/ConvoStoreCluster/Cluster/Partitioner.swift computes it:
FNV-1a 64 of the business's UTF-8 bytes, one 0xFF byte and the customer's bytes, modulo P. Messages and
controls go by their (business, customer), statuses by their "customer" field (the benchmark workload's
statuses carry it). Any other line (a summary, a link, a status without customer) is an error here: this
is for the benchmark workload, whose partition files are compared with the streams (same line counts).

usage: partition_lines.py --partitions P --partition p [--from-line N] IN OUT
  --from-line N: only lines N and after (1-based), e.g. what was published after a backup.
"""
import argparse, json, sys

MASK = (1 << 64) - 1


def partition_of(business, customer, partitions):
    h = 0xCBF29CE484222325
    for b in business.encode() + b"\xff" + customer.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h % partitions


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, required=True)
    ap.add_argument("--partition", type=int, required=True)
    ap.add_argument("--from-line", type=int, default=1)
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    written = 0
    with open(a.input, "rb") as src, open(a.output, "wb") as dst:
        for number, line in enumerate(src, 1):
            if number < a.from_line or not line.strip():
                continue
            event = json.loads(line)
            if event.get("type") not in ("message", "status", "control") or "customer" not in event:
                sys.exit(f"{a.input}:{number}: not a line of the benchmark workload (type {event.get('type')})")
            if partition_of(event["business"], event["customer"], a.partitions) == a.partition:
                dst.write(line)
                written += 1
    print(written)


if __name__ == "__main__":
    main()
