#!/usr/bin/env bash
# Static checks of the deployment files (no Docker engine needed):
#   docker-compose config -q, promtool check config/rules (+ rule unit tests), haproxy -c, the Grafana
#   dashboard's queries against the metrics dialplane exports, Kamailio's cfg with WITH_PROMETHEUS, shell syntax.
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
