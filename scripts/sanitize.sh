#!/usr/bin/env bash
# The whole Swift test suite under ThreadSanitizer and AddressSanitizer (`make sanitize`).
#
#   scripts/sanitize.sh [thread|address ...]     (default both)
#
# Each sanitizer builds in its own scratch path (.build-tsan, .build-asan), so neither disturbs the
# normal build. The command line the tests spawn is built with the same sanitizer; every process
# writes its reports to $SANITIZE_WORK/<sanitizer>.<pid> (log_path), so reports of child processes
# are counted too. Prints a summary; exits 1 if a test failed or any report was written.
# Environment: SWIFT, SANITIZE_WORK (default a temporary directory), SANITIZE_FILTER (a --filter),
# SANITIZE_SKIP (a --skip: CI skips the network suites, whose async tests the sanitizers slow past
# their clients' timeouts on a 2-core machine).
# Nothing is suppressed: the store's locks are pthread mutexes (LMDB/Locked.swift), which
# ThreadSanitizer sees (it cannot see Synchronization.Mutex's futex calls).
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SANITIZERS=("$@")
[ ${#SANITIZERS[@]} -gt 0 ] || SANITIZERS=(thread address)
WORK=${SANITIZE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/convostore-sanitize-XXXXXX")}
mkdir -p "$WORK"
FILTER=()
[ -n "${SANITIZE_FILTER:-}" ] && FILTER=(--filter "$SANITIZE_FILTER")
[ -n "${SANITIZE_SKIP:-}" ] && FILTER+=(--skip "$SANITIZE_SKIP")

failed=0
summary=()
for sanitizer in "${SANITIZERS[@]}"; do
  case $sanitizer in
    thread) scratch=.build-tsan; short=tsan ;;
    address) scratch=.build-asan; short=asan ;;
    *) echo "sanitize: unknown sanitizer $sanitizer (thread or address)" >&2; exit 2 ;;
  esac
  rm -f "$WORK/$short".*
  echo "sanitize: building the tests with --sanitize=$sanitizer ($scratch)"
  if ! "$SWIFT" build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" >"$WORK/$short-build.log" 2>&1; then
    tail -30 "$WORK/$short-build.log"
    summary+=("$sanitizer: BUILD FAILED (log $WORK/$short-build.log)")
    failed=1
    continue
  fi
  echo "sanitize: running the tests with --sanitize=$sanitizer"
  TSAN_OPTIONS="log_path=$WORK/tsan halt_on_error=0 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  ASAN_OPTIONS="log_path=$WORK/asan detect_leaks=0 ${ASAN_OPTIONS:-}" \
    "$SWIFT" test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "${FILTER[@]}" >"$WORK/$short-test.log" 2>&1
  status=$?
  reports=$(cat "$WORK/$short".* 2>/dev/null | grep -cE '^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: AddressSanitizer)')
  result=$(grep -E '^(✔|✘) Test run with' "$WORK/$short-test.log" | tail -1)
  if [ $status -ne 0 ] || [ "$reports" -gt 0 ]; then
    failed=1
    summary+=("$sanitizer: FAILED (exit $status, $reports sanitizer reports): $result")
    for f in "$WORK/$short".*; do
      [ -f "$f" ] && summary+=("  report: $f: $(grep -m1 -E 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer' "$f")")
    done
    grep -E '^✘ Test .*(failed|recorded an issue)' "$WORK/$short-test.log" | head -10 | sed 's/^/  /' | while read -r line; do echo "$line"; done >"$WORK/$short-failures"
    while read -r line; do summary+=("$line"); done <"$WORK/$short-failures"
  else
    summary+=("$sanitizer: ok, no reports: $result")
  fi
done
echo "sanitize: summary (logs in $WORK)"
printf '  %s\n' "${summary[@]}"
exit $failed
