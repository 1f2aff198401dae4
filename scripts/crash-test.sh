#!/usr/bin/env bash
# Crash consistency: kill -9 at random moments, then reopen and verify.
#
#   scripts/crash-test.sh [TRIALS]        (default 20; `make crash-test TRIALS=N`)
#
# Each trial
#  1. runs Tools' `crash-writer` (8 tasks submitting inbound+reply pairs through the async group
#     commit, logging each acknowledged pair to a side log it fsyncs) on a store, kills it with
#     SIGKILL after a random 0.02-1 s, and runs `crash-verify`: every logged pair present, no pair
#     half there (messagesIn == messagesOut everywhere), `check` clean; then `convostore check`.
#     The store and log carry over between trials (a restarted writer continues where its log
#     ends), and start afresh every 25 trials so that `check` stays quick;
#  2. runs `convostore import` of a generated dump into a fresh store, kills it with SIGKILL after
#     a random 0.02-1 s, runs the import again (it resumes from its checkpoint), and compares the
#     store's `export` with that of an uninterrupted import; `convostore check` must pass.
# Prints "N passed, M failed"; exits 1 if any trial failed. Failed trials' stores are kept.
#
# Environment: SWIFT (swift), SCRATCH (the root package's build dir, default .build),
# CRASH_WORK (work directory, default a fresh temporary one), SEED (random seed).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TRIALS=${1:-${TRIALS:-20}}
SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build}
SEED=${SEED:-$$}
RANDOM=$SEED

echo "crash-test: building (release)"
"$SWIFT" build -c release --scratch-path "$SCRATCH" --product convostore >/dev/null || { echo "crash-test: build of convostore failed" >&2; exit 2; }
"$SWIFT" build -c release --package-path Tools >/dev/null || { echo "crash-test: build of Tools failed" >&2; exit 2; }
CLI=$("$SWIFT" build -c release --scratch-path "$SCRATCH" --show-bin-path)/convostore
TOOLS=$("$SWIFT" build -c release --package-path Tools --show-bin-path)

WORK=${CRASH_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/convostore-crash-XXXXXX")}
mkdir -p "$WORK"
echo "crash-test: $TRIALS trials in $WORK (seed $SEED)"

# A dump for the import trials: 60,000 lines (reply, inbound, status: out of order) over 4,000
# conversations of 7 businesses, with bodies; an uninterrupted import takes about a second.
DUMP=$WORK/dump.jsonl
awk 'BEGIN {
  t0 = 1751364000000
  for (i = 0; i < 20000; i++) {
    b = "1555000" (i % 7); c = "4477009" (i % 4000); at = t0 + int(i / 4000) * 3600000
    printf "{\"type\":\"message\",\"id\":\"r.%d\",\"business\":\"%s\",\"customer\":\"%s\",\"direction\":\"out\",\"at\":%.0f,\"kind\":\"text\",\"body\":\"reply %d\"}\n", i, b, c, at + 60000, i
    printf "{\"type\":\"message\",\"id\":\"q.%d\",\"business\":\"%s\",\"customer\":\"%s\",\"direction\":\"in\",\"at\":%.0f,\"kind\":\"text\",\"body\":\"question %d\"}\n", i, b, c, at, i
    printf "{\"type\":\"status\",\"business\":\"%s\",\"id\":\"r.%d\",\"status\":\"read\",\"at\":%.0f}\n", b, i, at + 120000
  }
}' >"$DUMP"
"$CLI" import --quiet --db "$WORK/reference" "$DUMP" >/dev/null 2>&1 || { echo "crash-test: reference import failed" >&2; exit 2; }
"$CLI" export --db "$WORK/reference" --output "$WORK/reference.export" || exit 2

# A random delay of 0.02-1.0 s.
delay() { local ms=$(( RANDOM % 980 + 20 )); printf '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 )); }

passed=0
failed=0
importKills=0
for ((trial = 1; trial <= TRIALS; trial++)); do
  ok=1
  why=""
  # 1. The async writer.
  generation=$(( (trial - 1) / 25 ))
  store=$WORK/writer-$generation
  log=$WORK/writer-$generation.acks
  "$TOOLS/crash-writer" "$store" "$log" 8 2>>"$WORK/writer.stderr" &
  pid=$!
  sleep "$(delay)"
  if ! kill -0 "$pid" 2>/dev/null; then ok=0; why="writer exited before the kill (see $WORK/writer.stderr)"; fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ $ok = 1 ]; then
    if ! out=$("$TOOLS/crash-verify" "$store" "$log" 8 2>&1); then ok=0; why="writer: $out"; fi
  fi
  if [ $ok = 1 ] && ! out=$("$CLI" check --db "$store" 2>&1); then ok=0; why="writer: convostore check: $out"; fi

  # 2. The importer, killed, then run again.
  if [ $ok = 1 ]; then
    istore=$WORK/import-$trial
    rm -rf "$istore" "$DUMP.rejects"
    "$CLI" import --quiet --db "$istore" "$DUMP" >/dev/null 2>&1 &
    pid=$!
    sleep "$(delay)"
    if kill -9 "$pid" 2>/dev/null; then importKills=$((importKills + 1)); fi
    wait "$pid" 2>/dev/null
    if ! out=$("$CLI" import --quiet --db "$istore" "$DUMP" 2>&1 >/dev/null); then
      ok=0; why="import re-run: $out"
    elif ! out=$("$CLI" check --db "$istore" 2>&1); then
      ok=0; why="import: convostore check: $out"
    else
      "$CLI" export --db "$istore" --output "$istore.export"
      if ! cmp -s "$istore.export" "$WORK/reference.export"; then
        ok=0; why="import: export differs from an uninterrupted import's ($istore.export)"
      else
        rm -rf "$istore" "$istore.export"
      fi
    fi
  fi

  if [ $ok = 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "trial $trial: FAILED: $why"
  fi
  if (( trial % 50 == 0 )); then echo "crash-test: $trial trials, $failed failed"; fi
done
acks=$(cat "$WORK"/writer-*.acks 2>/dev/null | wc -l)
echo "crash-test: $acks acknowledged pairs verified across $(( (TRIALS + 24) / 25 )) writer stores"
echo "crash-test: $importKills of $TRIALS imports were killed mid-run (the others had finished)"
echo "$passed passed, $failed failed"
if [ $failed = 0 ] && [ -z "${CRASH_WORK:-}" ]; then rm -rf "$WORK"; fi
[ $failed = 0 ]
