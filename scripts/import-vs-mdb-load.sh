#!/usr/bin/env bash
# Measures `convostore import` of a generated native dump against LMDB's own mdb_load writing the
# very database that import produced (mdb_dump -a, then mdb_load into an empty directory), side by
# side in one run. Usage: scripts/import-vs-mdb-load.sh [EVENTS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
work=$(mktemp -d /tmp/convostore-import-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
make -s deps
swift build -c release --product convostore >/dev/null
bin="$(swift build -c release --show-bin-path)/convostore"

echo "generating a native dump of $events events" >&2
python3 scripts/gen-native-dump.py --events "$events" --seed 1 -o "$work/dump.jsonl"
bytes=$(stat -c %s "$work/dump.jsonl")

# Peak anonymous memory (heap, not the file-backed map) of a command, sampled every 0.1 s.
peak() {
  "$@" & local pid=$! anon=0 a
  while kill -0 "$pid" 2>/dev/null; do
    a=$(awk '/RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
    sleep 0.1
  done
  wait "$pid"
  echo "$anon" > "$work/peak"
}

start=$(date +%s.%N)
peak "$bin" import --db "$work/store" --quiet "$work/dump.jsonl" 2> "$work/import.log"
import_s=$(echo "$(date +%s.%N) - $start" | bc)
import_anon_kb=$(cat "$work/peak")
tail -1 "$work/import.log" >&2

mdb_dump -a "$work/store" > "$work/store.dump"
mkdir "$work/loaded"
start=$(date +%s.%N)
mdb_load -f "$work/store.dump" "$work/loaded" 2> >(grep -v "unrecognized keyword" >&2)
load_s=$(echo "$(date +%s.%N) - $start" | bc)

store_bytes=$(du -sb "$work/store" | cut -f1)
awk -v e="$events" -v b="$bytes" -v i="$import_s" -v l="$load_s" -v m="$import_anon_kb" -v s="$store_bytes" 'BEGIN {
  printf "events                 %d (%.1f MB of native dump)\n", e, b / 1e6
  printf "convostore import      %.2f s, %.0f lines/s, %.1f MB/s, peak heap %.0f MiB, store %.0f MB\n", i, e / i, b / i / 1e6, m / 1024, s / 1e6
  printf "mdb_load (same data)   %.2f s\n", l
  printf "ratio import/mdb_load  %.2f (goal <= 3)\n", i / l
}'
