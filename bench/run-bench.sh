#!/usr/bin/env bash
# dialplane benchmark (issue 3): sipp through Kamailio + rtpengine + HAProxy + N dialplane + Redis on 127.0.0.1,
# at rising call rates, against the same Kamailio with a static route; then calls held with timeLimit timers.
# Bounded: every sipp run has a call count and a timeout, and the whole run is killed after BENCH_TIMEOUT s.
# Not a CI test. See bench/README.md for the options and the figures of one run.
#
# Usage: bench/run-bench.sh            full run (about 4-8 minutes; bounded by BENCH_TIMEOUT, 1500 s)
#        BENCH_QUICK=1 bench/run-bench.sh   small smoke run (about 1 minute)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  export BENCH_RATES=${BENCH_RATES:-50,100} BENCH_STEP_SECONDS=${BENCH_STEP_SECONDS:-4}
  export BENCH_HOLD_CALLS=${BENCH_HOLD_CALLS:-100} BENCH_HOLD_SECONDS=${BENCH_HOLD_SECONDS:-8}
fi

exec timeout --signal=TERM --kill-after=20 "${BENCH_TIMEOUT:-1500}" /usr/bin/python3 "$ROOT/bench/bench.py"
