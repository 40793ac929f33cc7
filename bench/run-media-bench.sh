#!/usr/bin/env bash
# dialplane media benchmark: dialMusic's added CPU per call per process, dialplane's NG round trips under load,
# DTMF (RFC 4733 -> rtpengine --dtmf-log-dest -> dialplane --dtmf-listen) -> dtmfHook latency.
# Own stack on 127.0.0.1 (bench/bench.py's), ports 40000-40160 and RTP 41000-41999; bounded: every sipp run has
# -m and -timeout, the whole run is killed after MEDIA_BENCH_TIMEOUT s. Not a CI test. See bench/README.md.
#
# Usage: bench/run-media-bench.sh                about 3 minutes
#        MEDIA_QUICK=1 bench/run-media-bench.sh  smoke run (5 cps x 2 s, 1 round, 12 keys)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"

if [[ "${MEDIA_QUICK:-0}" == 1 ]]; then
  export MEDIA_RATE=${MEDIA_RATE:-5} MEDIA_SECONDS=${MEDIA_SECONDS:-2} MEDIA_ROUNDS=${MEDIA_ROUNDS:-1}
  export MEDIA_DTMF_DIGITS=${MEDIA_DTMF_DIGITS:-12}
fi

exec timeout --signal=TERM --kill-after=20 "${MEDIA_BENCH_TIMEOUT:-600}" /usr/bin/python3 "$ROOT/bench/media_bench.py"
