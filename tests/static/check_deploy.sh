#!/usr/bin/env bash
# Static checks of the deployment files (no Docker engine needed; tests/compose/test_compose.sh runs the stack):
#   docker-compose config -q (with and without Grafana; healthchecks, ports from the environment), promtool check
#   config/rules (+ rule unit tests), haproxy -c, the Grafana dashboard's queries against the metrics dialplane
#   exports, Kamailio's cfg with WITH_PROMETHEUS, shell syntax, non-root USER in every Dockerfile.
# Needs Debian's docker-compose, prometheus (promtool), haproxy, python3; kamailio is optional (skipped if the
# http_async_client module is not built). Prints "N passed, N failed"; exit 1 when anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PASSED=0
FAILED=0
FAILURES=()

run() {  # name, command...
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then
    PASSED=$((PASSED + 1)); echo "ok   $name"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); echo "FAIL $name"; echo "$out" | sed 's/^/     /' | tail -30
  fi
}
need() { command -v "$1" >/dev/null || { FAILED=$((FAILED + 1)); FAILURES+=("$1 not installed ($2)"); echo "FAIL $1 not installed (apt-get install $2)"; return 1; }; }

if need docker-compose docker-compose; then
  run "docker-compose config -q" docker-compose -f docker-compose.yml config -q
  run "docker-compose config -q with deploy/compose.no-grafana.yml" \
    docker-compose -f docker-compose.yml -f deploy/compose.no-grafana.yml config -q
  run "every compose service has a healthcheck, ports come from the environment" python3 - <<'PY'
import subprocess, sys, yaml
env = {"PATH": "/usr/bin:/bin", "SIP_PORT": "40060", "REDIS_PORT": "40079", "PROMETHEUS_PORT": "40090"}
cfg = yaml.safe_load(subprocess.run(["docker-compose", "-f", "docker-compose.yml", "config"], env=env,
                                    check=True, capture_output=True, text=True).stdout)
bad = [n for n, s in cfg["services"].items() if not s.get("healthcheck", {}).get("test")]
if bad:
    sys.exit(f"no healthcheck: {bad}")
text = yaml.safe_dump(cfg)
for port in ("40060", "40079", "40090"):
    if port not in text:
        sys.exit(f"port {port} from the environment is not used")
for name in ("demo-app", "phone1", "phone2"):
    if not cfg["services"][name].get("init"):
        sys.exit(f"{name}: init: true missing (SIGTERM as PID 1)")
PY
fi
if need promtool prometheus; then
  run "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
  run "promtool check rules deploy/prometheus/alerts.yml" promtool check rules deploy/prometheus/alerts.yml
  run "promtool test rules deploy/prometheus/alerts_test.yml" promtool test rules deploy/prometheus/alerts_test.yml
fi
if need haproxy haproxy; then
  run "haproxy -c deploy/haproxy.cfg" haproxy -c -q -f deploy/haproxy.cfg
fi
run "dashboard JSON parses, every query names an exported dialplane metric" \
  python3 tests/static/check_dashboard.py
run "grafana provisioning YAML parses" python3 - <<'PY'
import json, pathlib, sys
try:
    import yaml
except ImportError:
    sys.exit(0)   # python3-yaml not installed: promtool/compose already parsed the YAML that matters
for p in pathlib.Path("deploy/grafana/provisioning").rglob("*.yml"):
    yaml.safe_load(p.read_text())
PY
run "sh -n deploy/kamailio-entrypoint.sh" sh -n deploy/kamailio-entrypoint.sh
run "bash -n deploy/build-offline-images.sh tests/compose/test_compose.sh" \
  bash -c 'bash -n deploy/build-offline-images.sh && bash -n tests/compose/test_compose.sh'
if command -v haproxy >/dev/null; then
  run "haproxy -c deploy/haproxy.cfg with ports from the environment" \
    env DIALPLANE_PORT=40081 DP1_INTERNAL_PORT=40011 haproxy -c -q -f deploy/haproxy.cfg
fi
run "Dockerfile.kamailio builds http_async_client with libssl-dev, runs with netbase" \
  bash -c 'grep -q libssl-dev deploy/Dockerfile.kamailio && grep -q netbase deploy/Dockerfile.kamailio'
run "Dockerfile.dialplane builds with flite1-dev, runs with libflite1 (io/media/flite_tts)" \
  bash -c 'grep -q flite1-dev deploy/Dockerfile.dialplane && grep -q libflite1 deploy/Dockerfile.dialplane'
run "Dockerfile.dialplane builds with libwebrtc-audio-processing-dev, runs with libwebrtc-audio-processing1 (io/media/webrtc_vad)" \
  bash -c 'grep -q libwebrtc-audio-processing-dev deploy/Dockerfile.dialplane && grep -q "libwebrtc-audio-processing1 " deploy/Dockerfile.dialplane'
run "Dockerfile.dialplane builds with libpocketsphinx-dev, runs with libpocketsphinx3 and the model pocketsphinx-en-us (io/media/pocketsphinx_recognizer)" \
  bash -c 'grep -q libpocketsphinx-dev deploy/Dockerfile.dialplane && grep -q "libpocketsphinx3 " deploy/Dockerfile.dialplane && grep -q "pocketsphinx-en-us " deploy/Dockerfile.dialplane'
run "Dockerfile.dialplane builds with libjemalloc-dev, runs with libjemalloc2 (CMakeLists.txt DP_ALLOCATOR)" \
  bash -c 'grep -q libjemalloc-dev deploy/Dockerfile.dialplane && grep -q "libjemalloc2 " deploy/Dockerfile.dialplane'
run "every Dockerfile runs as a non-root USER" bash -c '
  for f in deploy/Dockerfile.*; do
    u=$(grep -E "^USER " "$f" | tail -1 | cut -d" " -f2)
    [[ -n "$u" && "$u" != root && "$u" != 0 ]] || { echo "$f: no non-root USER"; exit 1; }
  done' 
moddir=$(dpkg -L kamailio 2>/dev/null | grep -m1 '/modules/tm\.so$' | xargs -r dirname)
if [[ -n "$moddir" && -f "$moddir/http_async_client.so" ]]; then
  run "kamailio -c kamailio.cfg -A WITH_PROMETHEUS" \
    bash kamailio-cfg/run-kamailio.sh --check-only --define WITH_PROMETHEUS --run-dir "$(mktemp -d)"
else
  echo "skip kamailio -c (kamailio or http_async_client.so not installed)"
fi

echo
((${#FAILURES[@]})) && { echo "Failures:"; printf '  - %s\n' "${FAILURES[@]}"; }
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
