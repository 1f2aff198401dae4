#!/usr/bin/env bash
# The server figures (docs/server.md): wrk against `convostore serve` or `sqliteserver` on loopback.
#
#   scripts/wrk/run.sh [--engine convostore|sqlite] [--duration 60] [--connections "16 64 256"]
#                      [--read-connections 16] [--users 10000] [--out DIR] [--bin PATH]
#
# For each connection count: signed webhook deliveries alone (deliveries/s, p50/p99). Then deliveries
# at 64 connections with `GET /v1/conversations/...` at --read-connections at the same time. For
# ConvoStore, the group commit's batch sizes over each run, from /metrics. Builds in release first,
# unless --bin names the server's executable (convostore, or sqliteserver).
# Everything it makes goes to --out (default a new directory under /tmp); it stops its server.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

engine=convostore
duration=60
connections="16 64 256"
read_connections=16
users=10000
out=""
bin=""
threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --read-connections) read_connections=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "usage: $0 [--engine convostore|sqlite] [--duration S] [--connections \"16 64 256\"] [--read-connections N] [--users N] [--threads N] [--out DIR] [--bin PATH]" >&2; exit 2 ;;
  esac
done
case "$engine" in convostore|sqlite) ;; *) echo "--engine: convostore or sqlite" >&2; exit 2 ;; esac

command -v wrk >/dev/null 2>&1 || { SUDO=$([ "$(id -u)" = 0 ] || echo sudo); $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null; }
SWIFT=${SWIFT:-swift}
out=${out:-$(mktemp -d /tmp/convostore-wrk-XXXXXX)}
mkdir -p "$out"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
export LUA_PATH="$root/scripts/wrk/?.lua;;"

# Secrets, 0600 as the server requires.
umask 077
printf 'wrk-app-secret\n' > "$out/app-secret"
printf 'wrk-verify-token\n' > "$out/verify-token"
printf 'wrk-api-token\n' > "$out/api-token"

if [ "$engine" = convostore ]; then
  if [ -z "$bin" ]; then
    $SWIFT build -c release --product convostore >&2
    bin="$($SWIFT build -c release --show-bin-path)/convostore"
  fi
  # The conversations deliveries go to: the same ids the SQLite workload uses, one per user.
  python3 - "$users" > "$out/pairs.txt" <<'EOF'
import sys
users = int(sys.argv[1])
for i in range(users):
    print("1555%07d 447700%09d" % (i % 10000, i))
EOF
  "$bin" serve --db "$out/db" --port "$port" --app-secret-file "$out/app-secret" --verify-token-file "$out/verify-token" \
    --api-token-file "$out/api-token" --log-level warning 2> "$out/server.log" &
else
  if [ -z "$bin" ]; then
    $SWIFT build -c release --package-path Benchmarks --product sqliteserver >&2
    bin="$($SWIFT build -c release --package-path Benchmarks --show-bin-path)/sqliteserver"
  fi
  "$bin" --dir "$out/sqlite" --port "$port" --users "$users" --app-secret-file "$out/app-secret" --api-token-file "$out/api-token" \
    --pairs-out "$out/pairs.txt" 2> "$out/server.log" &
fi
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "the server exited:" >&2; cat "$out/server.log" >&2; exit 1; }
  sleep 0.2
done

# Sum and count of the group commit's batch histogram, from /metrics (ConvoStore only).
batch_totals() {
  curl -fsS "$url/metrics" | awk '/^convostore_group_commit_batch_requests_sum/ {s=$2} /^convostore_group_commit_batch_requests_count/ {c=$2} END {printf "%s %s\n", s+0, c+0}'
}
batch_line() {  # before-sum before-count after-sum after-count
  awk -v s0="$1" -v c0="$2" -v s1="$3" -v c1="$4" 'BEGIN { if (c1 > c0) printf "group commit: %d commits, %.1f requests each on average\n", c1 - c0, (s1 - s0) / (c1 - c0) }'
}

run=1
deliver() {  # connections duration [extra wrk output file]
  wrk -t"$threads" -c"$1" -d"$2"s --latency -s scripts/wrk/webhook.lua "$url" -- "$out/app-secret" "$out/pairs.txt" "$run"
  run=$((run + 1))
}

echo "== $engine, $users conversations, wrk -t$threads, ${duration}s a run; output in $out"
echo "-- warm-up: deliveries for 10s (every conversation exists before reads start)"
deliver 16 10 > "$out/warmup.txt"; tail -1 "$out/warmup.txt"
for c in $connections; do
  echo "-- webhook deliveries, $c connections"
  before=$( [ "$engine" = convostore ] && batch_totals || echo "0 0")
  deliver "$c" "$duration" > "$out/webhook-$c.txt"
  after=$( [ "$engine" = convostore ] && batch_totals || echo "0 0")
  tail -1 "$out/webhook-$c.txt"
  [ "$engine" = convostore ] && batch_line $before $after
done
echo "-- deliveries at 64 connections and GET /v1/conversations at $read_connections, at once"
before=$( [ "$engine" = convostore ] && batch_totals || echo "0 0")
deliver 64 "$duration" > "$out/mixed-webhook.txt" &
writer=$!
wrk -t1 -c"$read_connections" -d"$duration"s --latency -s scripts/wrk/conversation.lua "$url" -- "$out/api-token" "$out/pairs.txt" > "$out/mixed-conversation.txt"
wait $writer
after=$( [ "$engine" = convostore ] && batch_totals || echo "0 0")
tail -1 "$out/mixed-webhook.txt"
tail -1 "$out/mixed-conversation.txt"
[ "$engine" = convostore ] && batch_line $before $after
[ "$engine" = convostore ] && curl -fsS "$url/metrics" > "$out/metrics.txt"
kill -TERM $server
wait $server && echo "-- server stopped cleanly" || echo "-- server exit status $?"
trap - EXIT
