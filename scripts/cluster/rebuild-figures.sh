#!/usr/bin/env bash
# The figures of rebuilding a partition (docs/cluster.md, "Figures"): how fast a node that takes a partition
# without its store catches up, by replaying the partition's stream from sequence 1, or from a backup of the
# store plus the replay of what was published after it; each against `convostore import` of the same events
# on the same machine. And a whole node rebuilt (every partition from an empty data directory at once)
# against an import of the whole file.
#
# 3 nats-server processes on free loopback ports (as scripts/cluster-check.sh starts them), P partitions, one
# node A that owns them all. The first SPLIT of PUBLISHED is published and recorded, partition PARTITION is
# backed up from A (`convostore backup`, while A runs), the rest is published and recorded, A stops (SIGTERM).
# Then, one after the other, each time a node with no other node alive:
#   replay:  A's data directory without partitions/PARTITION    -> that partition replays its stream from 1
#   backup:  A's data directory with partitions/PARTITION = the backup -> it replays only the rest
#   all:     an empty data directory                           -> every partition replays its stream
# A replay's time runs from the node's log line "partition p: consuming from sequence ..." (its worker opened
# the store and is about to create the consumer) until the partition's store holds what node A's held
# (`convostore stats --json` entries equal, polled every 0.1 s: exact to within the last batch, at most 1,000
# events), then `convostore cluster status` must show it at its stream's last sequence (that time is kept
# too: it also waits for the node to own every partition, as status answers only then). The whole node's
# time runs from its first "consuming" line until status shows every partition at its stream's end.
#
# usage: scripts/cluster/rebuild-figures.sh PUBLISHED OUT
# environment: CONVOSTORE (a built convostore binary, required), PARTITIONS (12), PARTITION (0), SPLIT (0.5),
#   LEASE_SECONDS (30: one node takes all P leases in one round of its loop, each opening a store and creating
#   a consumer; on a loaded 2-core machine 12 of them took longer than a 5 s lease), KEEP=1 (keep the work directory).
# Leaves in OUT: rebuild-report.json, logs/, the partition's lines (partition-<p>.jsonl, rest-<p>.jsonl).
set -euo pipefail
cd "$(dirname "$0")/../.."

PUBLISHED=${1:?usage: scripts/cluster/rebuild-figures.sh PUBLISHED OUT}
OUT=${2:?usage: scripts/cluster/rebuild-figures.sh PUBLISHED OUT}
: "${CONVOSTORE:?set CONVOSTORE to a built convostore binary}"
PARTITIONS=${PARTITIONS:-12}
PARTITION=${PARTITION:-0}
SPLIT=${SPLIT:-0.5}
LEASE_SECONDS=${LEASE_SECONDS:-30}

mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
PUBLISHED=$(cd "$(dirname "$PUBLISHED")" && pwd)/$(basename "$PUBLISHED")
[ -e "$OUT/rebuild-report.json" ] && { echo "error: $OUT already holds a report: give an empty directory" >&2; exit 2; }
NAME=rebuild-figures
# shellcheck source=scripts/cluster/lib.sh
. scripts/cluster/lib.sh

# 1. Three JetStream servers, the cluster.
start_cluster "$PARTITIONS" "$LEASE_SECONDS"

EVENTS=$(wc -l <"$PUBLISHED" | tr -d ' ')
FIRST=$(python3 -c "print(int($EVENTS * $SPLIT))")
head -n "$FIRST" "$PUBLISHED" >"$WORK/first.jsonl"
tail -n +"$((FIRST + 1))" "$PUBLISHED" >"$WORK/rest.jsonl"
say "$EVENTS events: $FIRST published before the backup, $((EVENTS - FIRST)) after"

status() { "$CONVOSTORE" cluster status --nats "$URLS" --json 2>>"$OUT/logs/status-errors.log"; }
progress() { python3 scripts/cluster/status.py "$1" "$2"; }
# field FIELD: partition PARTITION's FIELD in the status on stdin
field() { python3 -c "
import json, sys
for line in sys.stdin:
    if line.strip():
        s = json.loads(line)
        if s['partition'] == $PARTITION: print(s['$1'])"; }
wait_caught_up() {  # N: every partition at its stream's end, the streams holding N events in all
  local deadline=$(( $(date +%s) + 1800 )) s
  while true; do
    s=$(status || true)
    if [ -n "$s" ] && [ "$(echo "$s" | progress caught-up "$1")" = yes ]; then echo "$s"; return; fi
    [ "$(date +%s)" -lt "$deadline" ] || { echo "error: not caught up within 1800 s" >&2; exit 1; }
    sleep 0.2
  done
}
start_node() {  # NAME DATA
  "$CONVOSTORE" node --nats "$URLS" --data "$2" --name "$1" >"$OUT/logs/$1.log" 2>&1 &
  NODE=$!
  PIDS+=($NODE)
}
stop_node() {
  kill -TERM "$NODE"; wait "$NODE" || true
  sleep 2   # it deleted its key in convo_nodes and released its leases: the next node's share is every partition
}

# 2. Node A records the first part; partition PARTITION is backed up; A records the rest; A stops.
start_node node-a "$WORK/a"
for attempt in $(seq 1 120); do status >/dev/null && break; [ "$attempt" = 120 ] && { echo "error: no owner" >&2; exit 1; }; sleep 1; done
"$CONVOSTORE" publish --nats "$URLS" "$WORK/first.jsonl" >"$OUT/logs/publish-first.log" 2>&1
S=$(wait_caught_up "$FIRST")
BACKUP_POSITION=$(echo "$S" | field position)
TB=$(now)
"$CONVOSTORE" backup --db "$WORK/a/partitions/$PARTITION" --to "$WORK/backup" >"$OUT/logs/backup.log" 2>&1
BACKUP_SECONDS=$(elapsed "$TB" "$(now)")
BACKUP_BYTES=$(du -sb "$WORK/backup" | cut -f1)
say "backup of partition $PARTITION at position $BACKUP_POSITION: $BACKUP_BYTES bytes in $BACKUP_SECONDS s (node A running)"
"$CONVOSTORE" publish --nats "$URLS" "$WORK/rest.jsonl" >"$OUT/logs/publish-rest.log" 2>&1
S=$(wait_caught_up "$EVENTS")
echo "$S" >"$OUT/status-after-publish.jsonl"
LAST=$(echo "$S" | field stream_last_sequence)
STORE_BYTES=$(du -sb "$WORK/a/partitions/$PARTITION" | cut -f1)
stop_node
entries() { "$CONVOSTORE" stats --db "$1" --json 2>/dev/null | python3 -c "import json, sys; print(json.dumps(json.load(sys.stdin)['entries'], sort_keys=True))" 2>/dev/null || true; }
FINAL_ENTRIES=$(entries "$WORK/a/partitions/$PARTITION")
[ -n "$FINAL_ENTRIES" ] || { echo "error: no stats of partition $PARTITION" >&2; exit 1; }
say "node A recorded all $EVENTS events; partition $PARTITION holds $LAST (store $STORE_BYTES bytes); A stopped"

# 3. The same events through `convostore import`, for the comparison.
N_PART=$(python3 scripts/cluster/partition_lines.py --partitions "$PARTITIONS" --partition "$PARTITION" "$PUBLISHED" "$OUT/partition-$PARTITION.jsonl")
N_REST=$(python3 scripts/cluster/partition_lines.py --partitions "$PARTITIONS" --partition "$PARTITION" --from-line $((FIRST + 1)) "$PUBLISHED" "$OUT/rest-$PARTITION.jsonl")
[ "$N_PART" = "$LAST" ] || { echo "error: partition $PARTITION has $N_PART lines of the dump but its stream $LAST" >&2; exit 1; }
[ "$N_REST" = "$((LAST - BACKUP_POSITION))" ] || { echo "error: $N_REST lines after the backup, the stream $((LAST - BACKUP_POSITION))" >&2; exit 1; }
timed_import() {  # DB FILE -> seconds
  local t; t=$(now)
  "$CONVOSTORE" import --db "$1" --quiet "$2" >>"$OUT/logs/imports.log" 2>&1
  elapsed "$t" "$(now)"
}
IMPORT_PART=$(timed_import "$WORK/import-part" "$OUT/partition-$PARTITION.jsonl")
cp -a "$WORK/backup" "$WORK/import-rest"
IMPORT_REST=$(timed_import "$WORK/import-rest" "$OUT/rest-$PARTITION.jsonl")
IMPORT_ALL=$(timed_import "$WORK/import-all" "$PUBLISHED")
say "import: partition $PARTITION ($N_PART) in $IMPORT_PART s; its rest onto the backup ($N_REST) in $IMPORT_REST s; all $EVENTS in $IMPORT_ALL s"

# 4. The rebuilds.
# rebuild NAME DATA WHICH(one|all): seconds from the first "consuming" line to caught up
rebuild() {
  local name=$1 data=$2 which=$3 t0="" pattern s
  if [ "$which" = one ]; then pattern="partition $PARTITION: consuming from sequence"; else pattern=": consuming from sequence"; fi
  start_node "$name" "$data"
  local deadline=$(( $(date +%s) + 1800 ))
  until grep -q "$pattern" "$OUT/logs/$name.log" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "error: $name never started" >&2; exit 1; }
    sleep 0.05
  done
  t0=$(now)
  if [ "$which" = one ]; then
    until [ "$(entries "$data/partitions/$PARTITION")" = "$FINAL_ENTRIES" ]; do
      [ "$(date +%s)" -lt "$deadline" ] || { echo "error: $name not caught up" >&2; exit 1; }
      sleep 0.1
    done
    REBUILD_STORE_SECONDS=$(elapsed "$t0" "$(now)")
  fi
  while true; do
    s=$(status || true)
    if [ -n "$s" ]; then
      if [ "$which" = one ] && [ "$(echo "$s" | field position)" = "$LAST" ]; then break; fi
      if [ "$which" = all ] && [ "$(echo "$s" | progress caught-up "$EVENTS")" = yes ]; then break; fi
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { echo "error: $name not caught up" >&2; exit 1; }
    sleep 0.1
  done
  REBUILD_SECONDS=$(elapsed "$t0" "$(now)")
  stop_node
}
rm -rf "$WORK/a/partitions/$PARTITION"
rebuild rebuild-replay "$WORK/a" one
REPLAY=$REBUILD_STORE_SECONDS
REPLAY_STATUS=$REBUILD_SECONDS
say "replay: partition $PARTITION's $LAST events in $REPLAY s (status shows it at $LAST after $REPLAY_STATUS s)"

rm -rf "$WORK/a/partitions/$PARTITION"
TC=$(now)
cp -a "$WORK/backup" "$WORK/a/partitions/$PARTITION"
COPY_SECONDS=$(elapsed "$TC" "$(now)")
rebuild rebuild-backup "$WORK/a" one
FROM_BACKUP=$REBUILD_STORE_SECONDS
FROM_BACKUP_STATUS=$REBUILD_SECONDS
say "backup: copied in $COPY_SECONDS s, then the rest ($N_REST events) replayed in $FROM_BACKUP s (status: $FROM_BACKUP_STATUS s)"

rebuild rebuild-all "$WORK/all" all
ALL=$REBUILD_SECONDS
say "whole node: all $PARTITIONS partitions, $EVENTS events, replayed in $ALL s"

python3 - "$OUT/rebuild-report.json" <<EOF
import json, sys
r = lambda n, s: round(n / max(s, 0.01), 1)
report = {"published": "$PUBLISHED", "events": $EVENTS, "partitions": $PARTITIONS, "partition": $PARTITION,
          "partition_events": $LAST, "partition_store_bytes": $STORE_BYTES,
          "lease_seconds": $LEASE_SECONDS,
          "replay": {"seconds": $REPLAY, "events_per_s": r($LAST, $REPLAY), "status_confirmed_seconds": $REPLAY_STATUS,
                     "import_seconds": $IMPORT_PART, "import_events_per_s": r($LAST, $IMPORT_PART)},
          "from_backup": {"backup_position": $BACKUP_POSITION, "backup_bytes": $BACKUP_BYTES,
                          "backup_seconds": $BACKUP_SECONDS, "copy_seconds": $COPY_SECONDS,
                          "rest_events": $N_REST, "replay_seconds": $FROM_BACKUP,
                          "replay_events_per_s": r($N_REST, $FROM_BACKUP), "status_confirmed_seconds": $FROM_BACKUP_STATUS,
                          "copy_plus_replay_seconds": round($COPY_SECONDS + $FROM_BACKUP, 2),
                          "import_rest_onto_backup_seconds": $IMPORT_REST},
          "whole_node": {"seconds": $ALL, "events_per_s": r($EVENTS, $ALL),
                         "import_seconds": $IMPORT_ALL, "import_events_per_s": r($EVENTS, $IMPORT_ALL)}}
json.dump(report, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
EOF
cat "$OUT/rebuild-report.json"
