#!/usr/bin/env python3
"""Reads `convostore cluster status --json` on stdin and prints one figure of it.

usage: status.py published|recorded|messages -      sums over the partitions
       status.py caught-up EVENTS                   yes when every store applied its whole stream and the
                                                    streams hold EVENTS messages in all, else no
"""
import json, sys

statuses = [json.loads(line) for line in sys.stdin if line.strip()]
what = sys.argv[1]
if what == "published":
    print(sum(s["stream_last_sequence"] for s in statuses))
elif what == "recorded":
    print(sum(s["position"] for s in statuses))
elif what == "messages":
    print(sum(s["messages"] for s in statuses))
elif what == "caught-up":
    done = statuses and all(s["position"] == s["stream_last_sequence"] for s in statuses) \
        and sum(s["stream_last_sequence"] for s in statuses) >= int(sys.argv[2])
    print("yes" if done else "no")
else:
    sys.exit("unknown figure " + what)
