#!/usr/bin/env bash
# The partitioned cluster check (docs/contract.md, "Partitioned cluster check"; docs/cluster.md):
# 3 nats-server processes with JetStream and 3 store nodes on loopback, the benchmark workload of USERS
# users published, one node killed with SIGKILL mid-stream, takeover and catch-up, then every answer of
# the cluster compared with a single store's import of the same published.jsonl (timed, on the same
# machine: single_store_import_seconds in the report). Exit 1 if anything was lost or differs.
#
# usage: scripts/cluster-check.sh USERS OUT
# environment: SWIFT (swift), CONVOSTORE (a built convostore binary; default: `swift build` one),
#   SWIFT_BUILD_FLAGS (e.g. "-c release --scratch-path .build-cluster"), PARTITIONS (12),
#   LEASE_SECONDS (5), KILL_AT (0.3: the share of the stream published when the node is killed),
#   KEEP=1 (keep the servers' and nodes' work directory).
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${1:?usage: scripts/cluster-check.sh USERS OUT}
OUT=${2:?usage: scripts/cluster-check.sh USERS OUT}
SWIFT=${SWIFT:-swift}
PARTITIONS=${PARTITIONS:-12}
LEASE_SECONDS=${LEASE_SECONDS:-5}
KILL_AT=${KILL_AT:-0.3}

if [ -z "${CONVOSTORE:-}" ]; then
  # shellcheck disable=SC2086
  $SWIFT build ${SWIFT_BUILD_FLAGS:-} --product convostore
  # shellcheck disable=SC2086
  CONVOSTORE="$($SWIFT build ${SWIFT_BUILD_FLAGS:-} --show-bin-path)/convostore"
fi
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
if [ -e "$OUT/partitions" ] || [ -e "$OUT/published.jsonl" ]; then
  echo "error: $OUT already holds a check's output: give an empty directory" >&2; exit 2
fi
NAME=cluster-check
# shellcheck source=scripts/cluster/lib.sh
. scripts/cluster/lib.sh

# 1. Three JetStream servers and the cluster, then the workload.
start_cluster "$PARTITIONS" "$LEASE_SECONDS"
python3 scripts/cluster/workload.py --users "$USERS" -o "$OUT/published.jsonl"
EVENTS=$(wc -l <"$OUT/published.jsonl" | tr -d ' ')
say "workload: $USERS users, $EVENTS events"

# 2. Three nodes; wait until every partition has an owner.
declare -A NODE_PID
for n in node1 node2 node3; do
  "$CONVOSTORE" node --nats "$URLS" --data "$WORK/nodes/$n" --name "$n" >"$OUT/logs/$n.log" 2>&1 &
  NODE_PID[$n]=$!
  PIDS+=($!)
done
status() { "$CONVOSTORE" cluster status --nats "$URLS" --json 2>>"$OUT/logs/status-errors.log"; }
for attempt in $(seq 1 120); do
  status >/dev/null && break
  [ "$attempt" = 120 ] && { echo "error: the partitions never all had an owner" >&2; exit 1; }
  sleep 1
done
say "every partition owned"

# 3. Publish; kill node2 with SIGKILL once KILL_AT of the stream is published.
T0=$(now)
"$CONVOSTORE" publish --nats "$URLS" "$OUT/published.jsonl" >"$OUT/logs/publish.log" 2>&1 &
PUBLISH_PID=$!
PIDS+=($PUBLISH_PID)
THRESHOLD=$(python3 -c "print(int($EVENTS * $KILL_AT))")
progress() { python3 scripts/cluster/status.py "$1" "$2"; }
while true; do
  S=$(status || true)
  if [ -n "$S" ] && [ "$(echo "$S" | progress published -)" -ge "$THRESHOLD" ]; then break; fi
  if ! kill -0 $PUBLISH_PID 2>/dev/null; then break; fi
  sleep 0.2
done
RECORDED_AT_KILL=$(echo "$S" | progress recorded -)
kill -9 "${NODE_PID[node2]}"
TK=$(now)
say "SIGKILL node2 with $(echo "$S" | progress published -) of $EVENTS events published, $RECORDED_AT_KILL recorded"

# 4. Takeover: every partition answers again (node1 and node3 took node2's leases after they expired).
DEADLINE=$(( $(date +%s) + 300 ))
until status >/dev/null; do
  [ "$(date +%s)" -lt "$DEADLINE" ] || { tail -3 "$OUT/logs/status-errors.log" >&2; echo "error: no takeover within 300 s" >&2; exit 1; }
  sleep 0.2
done
TAKEOVER=$(elapsed "$TK" "$(now)")
say "takeover after ${TAKEOVER} s"
wait $PUBLISH_PID || { cat "$OUT/logs/publish.log" >&2; echo "error: publish failed" >&2; exit 1; }
PUBLISH_SECONDS=$(elapsed "$T0" "$(now)")
say "$(cat "$OUT/logs/publish.log")"

# 5. Catch-up: every partition's store applied its whole stream, and the streams hold every event.
DEADLINE=$(( $(date +%s) + 900 ))
while true; do
  S=$(status || true)
  if [ -n "$S" ] && [ "$(echo "$S" | progress caught-up "$EVENTS")" = yes ]; then break; fi
  [ "$(date +%s)" -lt "$DEADLINE" ] || { echo "$S" >&2; echo "error: the partitions did not catch up within 900 s" >&2; exit 1; }
  sleep 0.5
done
TDONE=$(now)
CATCH_UP=$(elapsed "$TK" "$TDONE")
TOTAL=$(elapsed "$T0" "$TDONE")
echo "$S" >"$OUT/partition-status.jsonl"
say "caught up ${CATCH_UP} s after the kill; ${TOTAL} s from the first publish"

# 6. The same answers as one store of the same events, byte for byte; nothing lost.
# (timed: the single store's import of the same file on the same machine, for the report's comparison)
TI=$(now)
"$CONVOSTORE" import --db "$WORK/single" --quiet "$OUT/published.jsonl" >"$OUT/logs/single-import.log" 2>&1
SINGLE_IMPORT=$(elapsed "$TI" "$(now)")
say "single store: imported the $EVENTS events in ${SINGLE_IMPORT} s"
FAILED=0
compare() {
  local name=$1; shift
  "$CONVOSTORE" cluster "$@" --nats "$URLS" >"$WORK/cluster.out" 2>"$WORK/cluster.err" || { echo "cluster $*: $(cat "$WORK/cluster.err")" >&2; FAILED=1; return; }
  "$CONVOSTORE" "$@" --db "$WORK/single" >"$WORK/single.out"
  if cmp -s "$WORK/cluster.out" "$WORK/single.out"; then
    say "same answer: $name ($(wc -l <"$WORK/single.out" | tr -d ' ') lines)"
  else
    echo "DIFFERENT: $name" >&2; { diff "$WORK/cluster.out" "$WORK/single.out" | head -5 >&2; } || true; FAILED=1
  fi
}
compare "overdue as of 2026-01-06T12:00Z" overdue --as-of 2026-01-06T12:00:00Z --json
compare "overdue as of 2026-01-09" overdue --as-of 2026-01-09T00:00:00Z --json
compare "overdue of 15550000000, limit 100" overdue --as-of 2026-01-09T00:00:00Z --business 15550000000 --limit 100 --json
compare "newly-overdue in (01-06, 01-07]" newly-overdue --after 2026-01-06T00:00:00Z --until 2026-01-07T00:00:00Z --json
compare "windows closing in [01-06, 01-07)" windows --from 2026-01-06T00:00:00Z --to 2026-01-07T00:00:00Z --json
for b in 15550000000 15550000001 15550000017; do compare "billing of $b" billing --business "$b" --json; done
SINGLE_MESSAGES=$("$CONVOSTORE" stats --db "$WORK/single" --json | python3 -c "import json,sys; e=json.load(sys.stdin)['entries']; print(e['messages'] - e['conversations'])" 2>/dev/null || echo "?")
CLUSTER_MESSAGES=$(echo "$S" | progress messages -)
if [ "$SINGLE_MESSAGES" != "$CLUSTER_MESSAGES" ]; then
  echo "LOST: the partitions hold $CLUSTER_MESSAGES messages, the single store $SINGLE_MESSAGES" >&2; FAILED=1
else
  say "messages: $CLUSTER_MESSAGES in the partitions, $SINGLE_MESSAGES in the single store"
fi

# 7. The partitions' stores, copied from their final owners once the nodes stopped.
# A node that is gone already died on its own (a crash): nothing lost is the check's test, so it goes on,
# and the report names it.
DIED=()
for n in node1 node3; do kill -TERM "${NODE_PID[$n]}" 2>/dev/null || { DIED+=("$n"); say "$n had died on its own: see logs/$n.log"; }; done
for n in node1 node3; do wait "${NODE_PID[$n]}" || true; done
mkdir -p "$OUT/partitions"
echo "$S" | python3 -c "
import json, sys
for line in sys.stdin:
    if line.strip():
        s = json.loads(line); print(s['partition'], s['node'])" | while read -r p owner; do
  "$CONVOSTORE" backup --db "$WORK/nodes/$owner/partitions/$p" --to "$OUT/partitions/$p" >/dev/null
  "$CONVOSTORE" check --db "$OUT/partitions/$p" >/dev/null || { echo "check failed: partitions/$p" >&2; exit 1; }
done || FAILED=1

python3 - "$OUT/cluster-report.json" <<EOF
import json, sys
report = {"partitions": $PARTITIONS, "nodes": 3, "events_published": $EVENTS, "killed_node": "node2",
          "takeover_seconds": $TAKEOVER, "catch_up_seconds": $CATCH_UP,
          "events_per_s": round($EVENTS / $TOTAL, 1), "users": $USERS, "seconds_publish_to_recorded": $TOTAL,
          "recorded_when_killed": $RECORDED_AT_KILL, "lease_seconds": $LEASE_SECONDS,
          "publish_seconds": $PUBLISH_SECONDS, "single_store_import_seconds": $SINGLE_IMPORT,
          "single_store_events_per_s": round($EVENTS / max($SINGLE_IMPORT, 0.01), 1),
          "same_answers_as_single_store": $([ $FAILED = 0 ] && echo True || echo False),
          "nodes_died_on_their_own": [$(for n in "${DIED[@]}"; do printf '"%s",' "$n"; done)],
          "leases_lost_or_given_back": $(cat "$OUT"/logs/node*.log | grep -c -e "lease lost" -e "released (" || true)}
json.dump(report, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
EOF
cat "$OUT/cluster-report.json"
if [ $FAILED != 0 ]; then echo "cluster-check: FAILED (see above)" >&2; exit 1; fi
say "OK: nothing lost; the outputs are in $OUT"
