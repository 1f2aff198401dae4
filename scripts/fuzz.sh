#!/usr/bin/env bash
# libFuzzer targets of Fuzz/ (native line parser, webhook parser, every record decoder, the command
# line's time and id arguments), built with `-sanitize=fuzzer,address`, each run for SECONDS from its
# seed corpus in Fuzz/Corpus/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default 60 s; targets native-line webhook-line records arguments)
#
# Fails when a target crashes, leaks, hangs (-timeout) or runs out of memory (-rss_limit_mb,
# -malloc_limit_mb): the reproducer is left in $FUZZ_WORK/artifacts/ and named on the output.
# New inputs found go to $FUZZ_WORK/corpus/<target>/ (not into the repository; copy the ones worth
# keeping into Fuzz/Corpus/). Environment: SWIFT, FUZZ_WORK (default a temporary directory),
# FUZZ_JOBS (parallel workers per target, default 1), FUZZ_MAX_LEN (default 16384 for the line
# parsers, 4096 for records and arguments), FUZZ_FLAGS (more libFuzzer flags, e.g.
# "-fork=1 -ignore_crashes=1" to go on past a known crash and collect every distinct one).
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(native-line webhook-line records arguments)
SWIFT=${SWIFT:-swift}
JOBS=${FUZZ_JOBS:-1}

# SwiftPM binds `main` to each target's main.swift, which calls LLVMFuzzerRunDriver; lld links
# the sanitizer runtimes where gold fails.
BUILD=("$SWIFT" build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
echo "fuzz: building (${BUILD[*]:1})"
"${BUILD[@]}" >/dev/null || { "${BUILD[@]}" 2>&1 | tail -30; echo "fuzz: build failed" >&2; exit 2; }
BIN=$("${BUILD[@]}" --show-bin-path)

# A Swift runtime trap goes straight to libFuzzer's deadly-signal handler: the Swift backtracer
# is slow under ASan and can hang a -fork run.
export SWIFT_BACKTRACE=enable=no
WORK=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/convostore-fuzz-XXXXXX")}
mkdir -p "$WORK/artifacts"
failed=0
summary=()
for target in "${TARGETS[@]}"; do
  corpus=$WORK/corpus/$target
  mkdir -p "$corpus"
  case $target in records | arguments) maxlen=${FUZZ_MAX_LEN:-4096} ;; *) maxlen=${FUZZ_MAX_LEN:-16384} ;; esac
  log=$WORK/$target.log
  echo "fuzz: $target for ${SECONDS_EACH}s (max_len $maxlen, log $log)"
  "$BIN/fuzz-$target" "$corpus" "Fuzz/Corpus/$target" \
    -max_total_time="$SECONDS_EACH" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    $( [ "$JOBS" -gt 1 ] && echo "-fork=$JOBS" ) -print_final_stats=1 ${FUZZ_FLAGS:-} \
    -artifact_prefix="$WORK/artifacts/$target-" >"$log" 2>&1
  status=$?
  # Executions: the final stats of a plain run, or the last "#N" status line of a -fork run.
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | awk '{ s += $2 } END { print s + 0 }')
  [ "$runs" = 0 ] && runs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{ print $2 }')
  corp=$(ls "$corpus" | wc -l)
  crashes=$(ls "$WORK/artifacts" | grep -c "^$target-")
  if [ $status -ne 0 ] || [ "$crashes" -gt 0 ]; then
    failed=$((failed + 1))
    summary+=("$target: FAILED ($crashes reproducers) after $runs runs: $(grep -m1 -E 'Swift runtime failure|ERROR: AddressSanitizer|ERROR: libFuzzer|deadly signal' "$log")")
    for r in $(ls "$WORK"/artifacts/"$target"-* | head -5); do summary+=("  reproducer: $r  (run: $BIN/fuzz-$target FILE)"); done
    [ "$crashes" -gt 5 ] && summary+=("  ... and $((crashes - 5)) more in $WORK/artifacts/")
  else
    summary+=("$target: ok, $runs runs in ${SECONDS_EACH}s, coverage $cov edges, $corp new corpus inputs")
  fi
done
echo "fuzz: summary (work directory $WORK)"
printf '  %s\n' "${summary[@]}"
[ $failed = 0 ]
