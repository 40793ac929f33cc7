#!/usr/bin/env bash
# Runs tests/e2e/test_webrtc.py (headless Chromium + JsSIP against the whole stack) inside a private network
# namespace whose only interface is loopback: Chromium gathers ICE candidates on every interface it sees and picks
# its own ports, so the test must not see the machine's network (nor collide with other runs' ports). Everything
# the test talks to (Redis, rtpengine, Kamailio, dialplane, the webhook receiver, sipp, Chromium) is started by
# conftest.py inside the namespace; the host's 127.0.0.1 is not reachable from it.
#
# Usage: tests/e2e/run-webrtc.sh [pytest args, e.g. --junitxml=FILE]     (root, or a user allowed to unshare -n)
# Env:   DIALPLANE_BIN (build/dialplane), DP_E2E_WEBRTC_PORT_BASE (25000: every port of the namespace is free),
#        WEBRTC_TIMEOUT (150 s, hard bound of the pytest run; it takes about 50 s), DP_E2E_KEEP=1 keeps the run dir
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

if [[ "${DP_E2E_IN_NETNS:-0}" != 1 ]]; then
  command -v unshare >/dev/null || { echo "run-webrtc.sh: unshare (util-linux) missing" >&2; exit 2; }
  exec unshare --net env DP_E2E_IN_NETNS=1 bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up
export DP_E2E_WEBRTC=1
# dialplane --inbound-auth devices: the browsers authenticate their INVITEs (JsSIP answers the 407), the sipp callers
# on 127.0.0.1 are a carrier of the account (conftest), test_inbound_auth.py checks who gets in
export DP_E2E_INBOUND_AUTH=devices
export DP_E2E_PORT_BASE=${DP_E2E_WEBRTC_PORT_BASE:-25000}
exec timeout --signal=TERM --kill-after=20 "${WEBRTC_TIMEOUT:-150}" \
  /usr/bin/python3 -m pytest tests/e2e/test_webrtc.py tests/e2e/test_inbound_auth.py -v -rfE -p no:cacheprovider "$@"
