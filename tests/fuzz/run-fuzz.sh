#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses (see tests/fuzz/README.md).
#
#   tests/fuzz/run-fuzz.sh build                 configure + build build-fuzz (clang, ASan+UBSan+libFuzzer)
#   tests/fuzz/run-fuzz.sh list                  the harness names
#   tests/fuzz/run-fuzz.sh run HARNESS SECONDS   fuzz one harness from its seed corpus; non-zero on a crash
#
# Env: FUZZ_BUILD_DIR (build-fuzz)  JOBS (2)  FUZZ_WORK (a temp dir: new corpus entries and crash artifacts,
#      kept when a crash is found)  FUZZ_ARGS (extra libFuzzer flags, e.g. -jobs=2 -workers=2)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
HARNESSES=(http_request internal_json rest_body verbs ng_reply media_file rtp listen_message)

case ${1:-} in
  build)
    cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DDIALPLANE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      >/dev/null || exit 1
    cmake --build "$BUILD" -j"${JOBS:-2}"
    ;;
  list)
    echo "${HARNESSES[@]}"
    ;;
  run)
    h=${2:?harness}; secs=${3:?seconds}
    bin=$BUILD/fuzz_$h
    [[ -x $bin ]] || { echo "missing $bin: run '$0 build' first" >&2; exit 1; }
    work=${FUZZ_WORK:-$(mktemp -d /tmp/dp-fuzz-"$h".XXXXXX)}
    mkdir -p "$work/corpus" "$work/artifacts"
    # New inputs go to $work/corpus; the committed seeds are only read. -timeout: one input taking longer
    # than 10 s counts as a hang; -rss_limit_mb bounds memory.
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" ${FUZZ_ARGS:-} "$work/corpus" "tests/fuzz/corpus/$h" \
      >"$work/log" 2>&1
    rc=$?
    if ((rc != 0)); then
      grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$work/log" | head -20 >&2
      echo "fuzz_$h: crash (exit $rc); log and reproducer kept in $work" >&2
      exit 1
    fi
    echo "fuzz_$h: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$') runs in ${secs}s, no crash"
    [[ -n ${FUZZ_WORK:-} ]] || rm -rf "$work"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
