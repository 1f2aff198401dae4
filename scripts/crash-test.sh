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
#  3. the lifecycle trials (LIFECYCLE_TRIALS of each, default TRIALS/4 and at least 2), on copies of
#     one store of 81,000 lines (the dump above plus a customer with 3,000 messages in each of the 7
#     businesses): `convostore purge`, `convostore erase` and `convostore compact`, each killed with
#     SIGKILL at a random moment of its run (0-1.2 times an uninterrupted run's duration, measured on
#     the same machine). Then `convostore check` must pass and the store's `export` must be
#     byte-identical to the export before the command or to the export after an uninterrupted run
#     (computed in advance on copies); never anything between. A compaction never changes content:
#     its export must equal the one before, and `compact` run again must succeed, leave no
#     temporary file, and keep the export. A purge or erasure that ended "before" is run again and
#     must end "after".
# Prints "N passed, M failed"; exits 1 if any trial failed. Failed trials' stores are kept.
#
# Environment: SWIFT (swift), SCRATCH (the root package's build dir, default .build),
# CRASH_WORK (work directory, default a fresh temporary one), SEED (random seed), LIFECYCLE_TRIALS.
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
# 3. Lifecycle commands killed mid-run. One store (the import dump plus a heavy customer, so that an
# erasure has something to chew on), its export, and the export after each uninterrupted command,
# computed on copies; each trial kills the command on a fresh copy at a random moment of its run.
LIFECYCLE_TRIALS=${LIFECYCLE_TRIALS:-$(( TRIALS / 4 ))}
if (( LIFECYCLE_TRIALS < 2 )); then LIFECYCLE_TRIALS=2; fi
HEAVY=447700888888
LDUMP=$WORK/lifecycle.jsonl
{
  cat "$DUMP"
  awk -v heavy=$HEAVY 'BEGIN {
    t0 = 1751364000000
    for (i = 0; i < 10500; i++) {
      b = "1555000" (i % 7); at = t0 + i * 1000
      printf "{\"type\":\"message\",\"id\":\"hq.%d\",\"business\":\"%s\",\"customer\":\"%s\",\"direction\":\"in\",\"at\":%.0f,\"kind\":\"text\",\"body\":\"heavy question %d\"}\n", i, b, heavy, at, i
      printf "{\"type\":\"message\",\"id\":\"hr.%d\",\"business\":\"%s\",\"customer\":\"%s\",\"direction\":\"out\",\"at\":%.0f,\"kind\":\"text\",\"body\":\"heavy reply %d\"}\n", i, b, heavy, at + 500, i
    }
  }'
} >"$LDUMP"
LBASE=$WORK/lifecycle-base
PURGE_BEFORE=1751373000000  # t0 + 2.5 h: about half of each conversation's history
now_ms() { date +%s%3N; }
# The arguments of a lifecycle command on store $2 ($1: purge, erase, compact), in LARGS.
largs() {
  case $1 in
    purge) LARGS=(purge --db "$2" --before "$PURGE_BEFORE") ;;
    erase) LARGS=(erase --db "$2" --customer "$HEAVY") ;;
    compact) LARGS=(compact --db "$2") ;;
  esac
}
# Runs it to the end.
lifecycle() { largs "$1" "$2"; "$CLI" "${LARGS[@]}"; }
declare -A LDURATION
lsetup() {
  "$CLI" import --quiet --db "$LBASE" "$LDUMP" >/dev/null 2>&1 || return 1
  "$CLI" export --db "$LBASE" --output "$WORK/lifecycle-before.export" || return 1
  local op t
  for op in purge erase; do
    cp -a "$LBASE" "$WORK/lifecycle-$op-reference" || return 1
    t=$(now_ms)
    lifecycle $op "$WORK/lifecycle-$op-reference" 2>/dev/null || { echo "crash-test: uninterrupted $op failed" >&2; return 1; }
    LDURATION[$op]=$(( $(now_ms) - t ))
    "$CLI" export --db "$WORK/lifecycle-$op-reference" --output "$WORK/lifecycle-$op-after.export" || return 1
  done
  # Compaction runs on the purged store (half its pages free); its export is that store's.
  cp -a "$WORK/lifecycle-purge-reference" "$WORK/lifecycle-compact-base" || return 1
  cp "$WORK/lifecycle-purge-after.export" "$WORK/lifecycle-compact-before.export"
  cp -a "$WORK/lifecycle-compact-base" "$WORK/lifecycle-compact-reference" || return 1
  t=$(now_ms)
  lifecycle compact "$WORK/lifecycle-compact-reference" 2>/dev/null || { echo "crash-test: uninterrupted compact failed" >&2; return 1; }
  LDURATION[compact]=$(( $(now_ms) - t ))
  "$CLI" export --db "$WORK/lifecycle-compact-reference" --output "$WORK/lifecycle-compact-after.export" || return 1
  cmp -s "$WORK/lifecycle-compact-after.export" "$WORK/lifecycle-compact-before.export" || { echo "crash-test: an uninterrupted compact changed the export" >&2; return 1; }
  cmp -s "$WORK/lifecycle-purge-after.export" "$WORK/lifecycle-before.export" && { echo "crash-test: the purge removed nothing" >&2; return 1; }
  cmp -s "$WORK/lifecycle-erase-after.export" "$WORK/lifecycle-before.export" && { echo "crash-test: the erasure removed nothing" >&2; return 1; }
  return 0
}
echo "crash-test: lifecycle: $LIFECYCLE_TRIALS trials each of purge, erase and compact"
lsetup || { echo "crash-test: lifecycle setup failed" >&2; exit 2; }
echo "crash-test: lifecycle: uninterrupted runs take purge ${LDURATION[purge]} ms, erase ${LDURATION[erase]} ms, compact ${LDURATION[compact]} ms"
LBEFORE=$WORK/lifecycle-before.export
declare -A lkilled lbefore lafter
lcopying=0
for ((trial = 1; trial <= LIFECYCLE_TRIALS; trial++)); do
  for op in purge erase compact; do
    ok=1
    why=""
    base=$LBASE
    before=$LBEFORE
    if [ $op = compact ]; then base=$WORK/lifecycle-compact-base; before=$WORK/lifecycle-compact-before.export; fi
    after=$WORK/lifecycle-$op-after.export
    lstore=$WORK/lifecycle-$op-$trial
    rm -rf "$lstore"
    cp -a "$base" "$lstore"
    # A random moment of the run: 0-1.2 times an uninterrupted run (process start included).
    ms=$(( RANDOM % (LDURATION[$op] * 12 / 10 + 1) ))
    # The command itself in the background (not a function: its subshell would get the kill).
    largs $op "$lstore"
    "$CLI" "${LARGS[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 )))"
    if kill -9 "$pid" 2>/dev/null; then lkilled[$op]=$(( ${lkilled[$op]:-0} + 1 )); fi
    wait "$pid" 2>/dev/null
    if [ -e "$lstore/data.mdb.compacting" ]; then lcopying=$((lcopying + 1)); fi
    if ! out=$("$CLI" check --db "$lstore" 2>&1); then
      ok=0; why="$op killed after $ms ms: convostore check: $out"
    else
      "$CLI" export --db "$lstore" --output "$lstore.export"
      if cmp -s "$lstore.export" "$before"; then
        lbefore[$op]=$(( ${lbefore[$op]:-0} + 1 ))
      elif cmp -s "$lstore.export" "$after"; then
        lafter[$op]=$(( ${lafter[$op]:-0} + 1 ))
      else
        ok=0; why="$op killed after $ms ms: export is neither the one before nor the one after ($lstore.export)"
      fi
    fi
    # Then the command again, to the end: it must finish from whatever the kill left.
    if [ $ok = 1 ]; then
      if ! out=$(lifecycle $op "$lstore" 2>&1 >/dev/null) && ! { [ $op != compact ] && cmp -s "$lstore.export" "$after"; }; then
        ok=0; why="$op killed after $ms ms, run again: $out"
      elif ! out=$("$CLI" check --db "$lstore" 2>&1); then
        ok=0; why="$op killed after $ms ms, run again: convostore check: $out"
      else
        "$CLI" export --db "$lstore" --output "$lstore.export"
        if ! cmp -s "$lstore.export" "$after"; then
          ok=0; why="$op killed after $ms ms, run again: export differs from an uninterrupted $op's ($lstore.export)"
        elif stray=$(ls -A "$lstore" | grep -vxE 'data\.mdb|lock\.mdb') && [ -n "$stray" ]; then
          ok=0; why="$op killed after $ms ms, run again: files left in the store: $stray"
        fi
      fi
    fi
    if [ $ok = 1 ]; then
      passed=$((passed + 1))
      rm -rf "$lstore" "$lstore.export"
    else
      failed=$((failed + 1))
      echo "lifecycle trial $trial: FAILED: $why"
    fi
  done
done
for op in purge erase; do
  echo "crash-test: $op: ${lkilled[$op]:-0} of $LIFECYCLE_TRIALS killed mid-run; the store was then exactly as before it in ${lbefore[$op]:-0} trials and as after it in ${lafter[$op]:-0}"
done
echo "crash-test: compact: ${lkilled[compact]:-0} of $LIFECYCLE_TRIALS killed mid-run, $lcopying of them during the copy (data.mdb.compacting left); the content was unchanged in ${lbefore[compact]:-0}"

acks=$(cat "$WORK"/writer-*.acks 2>/dev/null | wc -l)
echo "crash-test: $acks acknowledged pairs verified across $(( (TRIALS + 24) / 25 )) writer stores"
echo "crash-test: $importKills of $TRIALS imports were killed mid-run (the others had finished)"
echo "$passed passed, $failed failed"
if [ $failed = 0 ] && [ -z "${CRASH_WORK:-}" ]; then rm -rf "$WORK"; fi
[ $failed = 0 ]
