#!/usr/bin/env bash
# docker-compose.yml built and run for real (scripts/run-tests.sh runs it; about 10 minutes from nothing, 2 with
# the images built).
#
#   1. Docker: uses the running engine, or starts Debian's dockerd (and stops it again at the end).
#   2. Images: deploy/build-offline-images.sh (Debian base images, Redis/Prometheus fallbacks; only what is not
#      there yet, so it also works without Docker Hub), then `docker-compose build`.
#   3. Stack: `docker-compose up -d` with every port moved to a free block (COMPOSE_TEST_PORT_BASE, by default the
#      first free one of 23000/24000/21000/22000: +0..+99 services, +100..+199 RTP), a Prometheus config and a
#      demo seed rewritten for those ports, and without Grafana when its image is not here (it has no Debian
#      package: deploy/compose.no-grafana.yml).
#   4. Checks: every container healthy and not root, no Kamailio start-up error, Kamailio's SIP WebSocket (the
#      allowed page's handshake 101, another Origin's 403), /readyz of both replicas,
#      HAProxy's two backends UP, calls through Kamailio -> HAProxy -> dialplane -> demo app -> phones with sipp
#      (tests/e2e/sipp/uac_call.xml), both replicas served decisions, every Prometheus target up; then one
#      replica stopped (it drains and exits 0), HAProxy marks it DOWN and calls still connect through the
#      other; finally every service stops on SIGTERM (no exit 137).
#   5. Teardown, also on failure or interruption: `docker-compose down -v`, generated files, the dockerd it started.
#
# Exit: 0 passed, 1 failed, 77 skipped (Docker cannot run on this machine; COMPOSE_TEST_REQUIRED=1 makes that a
# failure, as in CI). Env: DOCKER (docker CLI, /usr/bin/docker when present), COMPOSE_TEST_PORT_BASE,
# COMPOSE_TEST_KEEP_DOCKERD=1 (leave a dockerd this script started running, for a faster next run).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
DOCKER=${DOCKER:-$([[ -x /usr/bin/docker ]] && echo /usr/bin/docker || echo docker)}
export DOCKER
PROJECT=dpcomposetest
CALLS=${COMPOSE_TEST_CALLS:-6}
WORK=$(mktemp -d /tmp/dp-compose-test.XXXXXX)
chmod 0755 "$WORK"   # bind-mounted into containers that run as non-root users
PASSED=0
FAILED=0
FAILURES=()
DOCKERD_PID=
CHILD=
COMPOSE=()
STACK_UP=0
T0=$SECONDS

say() { printf '[compose-test %4ds] %s\n' $((SECONDS - T0)) "$*"; }
ok() { PASSED=$((PASSED + 1)); say "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); say "FAIL $1"; [[ -n "${2:-}" ]] && printf '%s\n' "$2" | sed 's/^/       /' | tail -40; return 0; }
skip() {
  if [[ "${COMPOSE_TEST_REQUIRED:-0}" == 1 ]]; then fail "Docker cannot run here (COMPOSE_TEST_REQUIRED=1): $*"; exit 1; fi
  say "SKIP: $*"; SUMMARY_DONE=1; cleanup; exit 77
}

# Long steps run in the background so that a TERM/INT (run-tests.sh's timeout) interrupts them at once; their output
# goes to a file (redirected here, not around the call, so that the trap's messages still reach our stdout).
run() {  # logfile command...
  local log=$1; shift
  "$@" >"$log" 2>&1 & CHILD=$!
  wait "$CHILD"; local rc=$?; CHILD=; return $rc
}

running_services() {
  "$DOCKER" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Label "com.docker.compose.service"}}' \
    | sort | tr '\n' ' '
}

cid() {  # service -> container id
  "$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1"
}

dump_stack() {
  say "--- docker-compose ps"; "${COMPOSE[@]}" ps 2>&1 | sed 's/^/    /'
  local s
  for s in $(running_services); do
    say "--- logs $s (last 25 lines)"; "$DOCKER" logs --tail 25 "$(cid "$s")" 2>&1 | sed 's/^/    /'
  done
}

cleanup() {
  trap - EXIT INT TERM
  [[ -n "$CHILD" ]] && { kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; }
  if ((${#COMPOSE[@]})) && "$DOCKER" info >/dev/null 2>&1; then
    ((STACK_UP && FAILED)) && dump_stack
    "${COMPOSE[@]}" down -v --remove-orphans -t 10 >"$WORK/down.log" 2>&1 || cat "$WORK/down.log"
    local left
    left=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    [[ -z "$left" ]] || { say "containers left behind: $left"; "$DOCKER" rm -f $left >/dev/null 2>&1; }
  fi
  if [[ -n "$DOCKERD_PID" ]]; then
    if [[ "${COMPOSE_TEST_KEEP_DOCKERD:-0}" == 1 ]]; then
      say "leaving dockerd (pid $DOCKERD_PID) running (COMPOSE_TEST_KEEP_DOCKERD=1)"
    elif [[ -n "$("$DOCKER" ps -q 2>/dev/null)" ]]; then
      say "not stopping dockerd (pid $DOCKERD_PID): other containers run on it"
    else
      kill -TERM "$DOCKERD_PID" 2>/dev/null
      for _ in $(seq 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$DOCKERD_PID" 2>/dev/null && { say "dockerd did not stop on SIGTERM: killing it"; kill -KILL "$DOCKERD_PID"; }
      say "stopped dockerd (pid $DOCKERD_PID)"
    fi
  fi
  rm -rf "$WORK"
  summary
}
SUMMARY_DONE=0
summary() {
  ((SUMMARY_DONE)) && return
  SUMMARY_DONE=1
  say "total $((SECONDS - T0)) s"
  ((${#FAILURES[@]})) && { echo "Failures:"; printf '  - %s\n' "${FAILURES[@]}"; }
  echo "$PASSED passed, $FAILED failed"
}
trap cleanup EXIT
trap 'FAILED=$((FAILED + 1)); FAILURES+=("interrupted (SIGINT/SIGTERM)"); say "interrupted"; exit 130' INT TERM

block_free() {  # base: every port of the block the stack would use is free
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
b = int(sys.argv[1])
for p in range(b, b + 200):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        if kind == socket.SOCK_STREAM:   # as servers do: a TIME_WAIT left by a previous run does not count
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            sys.exit(1)
        finally:
            s.close()
PY
}

# ---- 1. Docker ----------------------------------------------------------------------------------------------
command -v docker-compose >/dev/null || skip "docker-compose is not installed (apt-get install docker-compose)"
for t in sipp curl /usr/bin/python3; do command -v "$t" >/dev/null || { fail "$t is not installed"; exit 1; }; done
if ! "$DOCKER" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || skip "no Docker engine runs and dockerd is not installed (apt-get install docker.io)"
  ((EUID == 0)) || skip "no Docker engine runs and starting dockerd needs root"
  say "starting dockerd (log $WORK/dockerd.log)"
  setsid dockerd >"$WORK/dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  for _ in $(seq 300); do
    "$DOCKER" info >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! "$DOCKER" info >/dev/null 2>&1; then
    tail -15 "$WORK/dockerd.log" >&2
    kill -0 "$DOCKERD_PID" 2>/dev/null || DOCKERD_PID=
    skip "dockerd does not start on this machine (its log is above)"
  fi
fi
say "Docker engine $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null), $("$DOCKER" info --format '{{.Driver}}' 2>/dev/null)"

# ---- 2. ports and generated configs ---------------------------------------------------------------------------
BASE=${COMPOSE_TEST_PORT_BASE:-}
if [[ -z "$BASE" ]]; then
  for b in 23000 24000 21000 22000; do block_free "$b" && { BASE=$b; break; }; done
  [[ -n "$BASE" ]] || { fail "no free port block among 23000/24000/21000/22000 (set COMPOSE_TEST_PORT_BASE)"; exit 1; }
fi
export SIP_PORT=$((BASE + 60)) KAMAILIO_RPC_PORT=$((BASE + 71)) RTPENGINE_NG_PORT=$((BASE + 22))
export RTPENGINE_HTTP_PORT=$((BASE + 1)) RTP_PORT_MIN=$((BASE + 100)) RTP_PORT_MAX=$((BASE + 199))
export DIALPLANE_PORT=$((BASE + 81)) DIALPLANE_API_PORT=$((BASE + 82)) HAPROXY_STATS_PORT=$((BASE + 4))
export DP1_INTERNAL_PORT=$((BASE + 11)) DP1_API_PORT=$((BASE + 12)) DP1_METRICS_PORT=$((BASE + 13))
export DP2_INTERNAL_PORT=$((BASE + 14)) DP2_API_PORT=$((BASE + 15)) DP2_METRICS_PORT=$((BASE + 16))
export REDIS_PORT=$((BASE + 79)) PROMETHEUS_PORT=$((BASE + 90)) GRAFANA_PORT=$((BASE + 30))
export DEMO_APP_PORT=$((BASE + 31)) PHONE1_PORT=$((BASE + 91)) PHONE2_PORT=$((BASE + 92))
export PHONE1_MEDIA_PORT=$((BASE + 40)) PHONE2_MEDIA_PORT=$((BASE + 44))
export KAMAILIO_WS_PORT=$((BASE + 66)) WS_ORIGINS=http://127.0.0.1:$((BASE + 67))   # a page allowed to open SIP WebSockets
export SIP_IP=127.0.0.1 MEDIA_IP=127.0.0.1 DIALPLANE_API_KEY=compose-test-key
CALLER_PORT=$((BASE + 50)) CALLER_MEDIA_PORT=$((BASE + 54))
say "ports $BASE..$((BASE + 199)): SIP $SIP_PORT, HAProxy $DIALPLANE_PORT/$HAPROXY_STATS_PORT, Prometheus $PROMETHEUS_PORT"

# Prometheus has no environment variables in its config: the shipped one with the ports moved.
mkdir -p "$WORK/prometheus"
cp deploy/prometheus/alerts.yml "$WORK/prometheus/"
sed -e "s/127\.0\.0\.1:19464\"/127.0.0.1:$DP1_METRICS_PORT\"/; s/127\.0\.0\.1:19465\"/127.0.0.1:$DP2_METRICS_PORT\"/" \
    -e "s/127\.0\.0\.1:5071\"/127.0.0.1:$KAMAILIO_RPC_PORT\"/; s/127\.0\.0\.1:9101\"/127.0.0.1:$RTPENGINE_HTTP_PORT\"/" \
    -e "s/127\.0\.0\.1:8404\"/127.0.0.1:$HAPROXY_STATS_PORT\"/; s/127\.0\.0\.1:9090\"/127.0.0.1:$PROMETHEUS_PORT\"/" \
    deploy/prometheus/prometheus.yml >"$WORK/prometheus/prometheus.yml"
sed "s#http://127.0.0.1:3100/#http://127.0.0.1:$DEMO_APP_PORT/#g" deploy/seed-demo.json >"$WORK/seed-demo.json"
chmod -R a+rX "$WORK/prometheus" "$WORK/seed-demo.json"
if [[ $(grep -cE "127\.0\.0\.1:($DP1_METRICS_PORT|$DP2_METRICS_PORT|$KAMAILIO_RPC_PORT|$RTPENGINE_HTTP_PORT|$HAPROXY_STATS_PORT|$PROMETHEUS_PORT)\"" \
        "$WORK/prometheus/prometheus.yml") -ne 5 ]] || grep -q ':3100/' "$WORK/seed-demo.json"; then
  fail "rewriting deploy/prometheus/prometheus.yml / deploy/seed-demo.json for the test ports (targets changed?)" \
    "$(grep -n targets "$WORK/prometheus/prometheus.yml")"
  exit 1
fi
export PROMETHEUS_CONFIG_DIR=$WORK/prometheus DIALPLANE_SEED_FILE=$WORK/seed-demo.json

COMPOSE=(docker-compose -p "$PROJECT" -f docker-compose.yml)
if "$DOCKER" image inspect grafana/grafana-oss:10.4.2 >/dev/null 2>&1; then
  WITH_GRAFANA=1
else
  WITH_GRAFANA=0
  COMPOSE+=(-f deploy/compose.no-grafana.yml)
  say "grafana/grafana-oss:10.4.2 is not here (no Docker Hub): the stack runs without Grafana"
fi
export COMPOSE_DOCKER_CLI_BUILD=0 COMPOSE_HTTP_TIMEOUT=300
"${COMPOSE[@]}" down -v --remove-orphans -t 5 >/dev/null 2>&1   # leftovers of an interrupted run

# ---- 3. images -----------------------------------------------------------------------------------------------------
t=$SECONDS
if run "$WORK/offline-images.log" bash deploy/build-offline-images.sh; then
  ok "base images and Redis/Prometheus images available ($((SECONDS - t)) s; deploy/build-offline-images.sh)"
else
  fail "deploy/build-offline-images.sh" "$(tail -30 "$WORK/offline-images.log")"; exit 1
fi
t=$SECONDS
# In parallel, except dialplane-2: it has the same image as dialplane-1 (built in parallel, it would be compiled twice).
if run "$WORK/build.log" "${COMPOSE[@]}" build --parallel rtpengine dialplane-1 haproxy kamailio demo-app; then
  ok "docker-compose build ($((SECONDS - t)) s)"
else
  fail "docker-compose build" "$(grep -vE '^ ---> |^Removing intermediate|^Step [0-9]' "$WORK/build.log" | tail -40)"; exit 1
fi
say "image sizes:"
"$DOCKER" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E '^(dialplane[a-z-]*:local|redis:7.0-bookworm|prom/prometheus:v2.42.0|debian:bookworm(-slim)?|grafana/grafana-oss:10.4.2) ' \
  | sort | sed 's/^/    /'

# ---- 4. stack ------------------------------------------------------------------------------------------------------
t=$SECONDS
STACK_UP=1
if ! run "$WORK/up.log" "${COMPOSE[@]}" up -d; then
  fail "docker-compose up -d" "$(tail -30 "$WORK/up.log")"; exit 1
fi
SERVICES=$(running_services)
want="demo-app dialplane-1 dialplane-2 haproxy kamailio phone1 phone2 prometheus redis rtpengine "
((WITH_GRAFANA)) && want="demo-app dialplane-1 dialplane-2 grafana haproxy kamailio phone1 phone2 prometheus redis rtpengine "
[[ "$SERVICES" == "$want" ]] || { fail "services started: $SERVICES (expected $want)"; exit 1; }

health() {  # container -> status (healthy/unhealthy/starting/none) or exited
  "$DOCKER" inspect -f '{{if .State.Running}}{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}{{else}}exited({{.State.ExitCode}}){{end}}' "$1" 2>/dev/null
}
all_healthy=0
for _ in $(seq 180); do
  states=() bad=0 dead=
  for s in $SERVICES; do
    h=$(health "$(cid "$s")")
    states+=("$s=$h")
    [[ "$h" == healthy ]] || bad=1
    [[ "$h" == exited* || "$h" == unhealthy ]] && dead+="$s=$h "
  done
  ((bad == 0)) && { all_healthy=1; break; }
  [[ -n "$dead" ]] && break
  sleep 1
done
if ((all_healthy)); then
  ok "every service healthy ($((SECONDS - t)) s after up): ${states[*]}"
else
  fail "services not healthy: ${states[*]}"; exit 1
fi

# Services run as non-root users (the uid of each container's main process, seen from the host).
roots=
for s in $SERVICES; do
  pid=$("$DOCKER" inspect -f '{{.State.Pid}}' "$(cid "$s")")
  # with init: true PID 1 is docker-init (tini), whose child is the service
  [[ "$(cat /proc/$pid/comm 2>/dev/null)" == docker-init ]] && pid=$(pgrep -P "$pid" | head -1)
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  [[ "$uid" == 0 || -z "$uid" ]] && roots+="$s(uid=${uid:-?}) "
done
[[ -z "$roots" ]] && ok "no service runs as root" || fail "services running as root: $roots"

klog=$("${COMPOSE[@]}" logs --no-color kamailio 2>&1)
if grep -qiE 'could not get TCP protocol number|compile flags mismatch|ERROR: ' <<<"$klog"; then
  fail "Kamailio logged start-up errors" "$(grep -iE 'could not get TCP|flags mismatch|ERROR: ' <<<"$klog" | head -10)"
elif ! grep -q 'http_async_client.*Initializing' <<<"$klog"; then
  fail "Kamailio's log does not show http_async_client initialising" "$(tail -20 <<<"$klog")"
else
  ok "Kamailio started with http_async_client, no errors (TCP protocol number known: netbase)"
fi

# Browsers (WebRTC `user` targets): the SIP WebSocket listener takes the allowed page and refuses another site's.
ws_status() {  # Origin -> HTTP status of a WebSocket upgrade (subprotocol sip) on KAMAILIO_WS_PORT
  /usr/bin/python3 - "$KAMAILIO_WS_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           f"Sec-WebSocket-Protocol: sip\r\nOrigin: {sys.argv[2]}\r\n\r\n").encode())
print(s.recv(4096).split(b" ")[1].decode())
PY
}
ws_ok=$(ws_status "$WS_ORIGINS" 2>&1) ws_other=$(ws_status https://elsewhere.example 2>&1)
if [[ "$ws_ok" == 101 && "$ws_other" == 403 ]]; then
  ok "Kamailio's SIP WebSocket on $KAMAILIO_WS_PORT: 101 for the allowed page, 403 for another Origin"
else
  fail "Kamailio's SIP WebSocket: $ws_ok for $WS_ORIGINS (want 101), $ws_other for another Origin (want 403)"
fi

readyz() { curl -sS -m 3 "http://127.0.0.1:$1/readyz" 2>&1; }
for r in "dialplane-1 $DP1_INTERNAL_PORT" "dialplane-2 $DP2_INTERNAL_PORT"; do
  set -- $r
  body=$(readyz "$2")
  if grep -q '"ready":true' <<<"$body" && grep -q '"redis":true' <<<"$body" && grep -q '"kamailio":true' <<<"$body"; then
    ok "$1 /readyz: $body"
  else
    fail "$1 /readyz: $body"
  fi
done

haproxy_status() {  # backend server -> status column of HAProxy's CSV stats
  curl -sS -m 3 "http://127.0.0.1:$HAPROXY_STATS_PORT/stats;csv" | awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s {print $18}'
}
wait_haproxy() {  # want: "UP UP" / "DOWN UP" for dp1 dp2 of both backends
  local want=$1 got
  for _ in $(seq 30); do
    got="$(haproxy_status dialplane_internal dp1) $(haproxy_status dialplane_internal dp2)"
    got+=" / $(haproxy_status dialplane_api dp1) $(haproxy_status dialplane_api dp2)"
    [[ "$got" == "$want / $want" ]] && { echo "$got"; return 0; }
    sleep 1
  done
  echo "$got"; return 1
}
if got=$(wait_haproxy "UP UP"); then ok "HAProxy backends dialplane_internal and dialplane_api: dp1 dp2 $got"
else fail "HAProxy backends (dp1 dp2 internal / api): $got"; fi

# Decisions counted per replica (dialplane_decision_seconds_count, all kinds).
decisions() {
  curl -sS -m 3 "http://127.0.0.1:$1/metrics" | awk '/^dialplane_decision_seconds_count/ {n += $NF} END {print n + 0}'
}
calls() {  # name count -> sipp exit code; all calls must connect (200, ACK, BYE answered 200)
  local name=$1 n=$2
  run "$WORK/$name.out" sipp "127.0.0.1:$SIP_PORT" -sf tests/e2e/sipp/uac_call.xml -s +15550100000 -key from_user +15551230000 \
    -i 127.0.0.1 -p "$CALLER_PORT" -mp "$CALLER_MEDIA_PORT" -m "$n" -l 3 -r 3 -d 1000 \
    -timeout 60s -timeout_error -max_retrans 4 -nostdin \
    -trace_err -error_file "$WORK/$name.err" -trace_stat -stf "$WORK/$name.csv"
}
sipp_report() {  # name -> "successful/failed" from sipp's statistics file
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") a = i; if ($i == "FailedCall(C)") b = i } }
             END { print $a "/" $b }' "$WORK/$1.csv" 2>/dev/null
}

d1=$(decisions "$DP1_METRICS_PORT"); d2=$(decisions "$DP2_METRICS_PORT")
if calls calls-both "$CALLS"; then
  ok "$CALLS calls through Kamailio -> HAProxy -> dialplane -> demo app -> phone1 connected and hung up (successful/failed $(sipp_report calls-both))"
else
  fail "calls with both replicas (sipp exit $?, successful/failed $(sipp_report calls-both))" \
    "$(tail -15 "$WORK/calls-both.err" 2>/dev/null; tail -5 "$WORK/calls-both.out")"
fi
n1=$(( $(decisions "$DP1_METRICS_PORT") - d1 )); n2=$(( $(decisions "$DP2_METRICS_PORT") - d2 ))
if ((n1 > 0 && n2 > 0)); then ok "both replicas served decisions: dialplane-1 $n1, dialplane-2 $n2"
else fail "both replicas should serve decisions: dialplane-1 $n1, dialplane-2 $n2"; fi
alloc=$(curl -sS -m 3 "http://127.0.0.1:$DP1_METRICS_PORT/metrics" | grep -o '^dialplane_build_info{[^}]*allocator="[a-z]*"' | grep -o '"[a-z]*"$')
[[ "$alloc" == '"jemalloc"' ]] && ok "the image's dialplane took those calls on jemalloc (dialplane_build_info allocator=$alloc)" \
  || fail "the image's dialplane should run on jemalloc (CMakeLists.txt DP_ALLOCATOR): dialplane_build_info allocator=${alloc:-none}"
hooks=$("${COMPOSE[@]}" logs --no-color demo-app 2>&1 | grep -c '/call_hook signature=valid')
((hooks >= CALLS)) && ok "the demo app got $hooks signed call_hooks" || fail "the demo app got $hooks signed call_hooks (want $CALLS)"

# Prometheus: every target up (scrape interval 10 s).
targets() {
  curl -sS -m 3 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets?state=active" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print(" ".join(sorted("%s@%s=%s" % (x["labels"]["job"], x["scrapeUrl"].split("/")[2], x["health"]) for x in t)))' 2>&1
}
tg=
for _ in $(seq 40); do
  tg=$(targets)
  [[ $(wc -w <<<"$tg") -eq 6 && "$tg" != *=down* && "$tg" != *=unknown* ]] && break
  sleep 1
done
if [[ $(wc -w <<<"$tg") -eq 6 && "$tg" != *=down* && "$tg" != *=unknown* ]]; then ok "Prometheus: 6 targets up: $tg"
else fail "Prometheus targets (want dialplane x2, kamailio, rtpengine, haproxy, prometheus all up): $tg"; fi

# ---- 5. one replica stopped -------------------------------------------------------------------------------------
t=$SECONDS
run "$WORK/stop1.log" "${COMPOSE[@]}" stop -t 15 dialplane-1
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$(cid dialplane-1)")
[[ "$code" == 0 ]] && ok "dialplane-1 stopped on SIGTERM (drained, exit 0, $((SECONDS - t)) s)" \
  || fail "dialplane-1 exit code after docker-compose stop: $code"
if got=$(wait_haproxy "DOWN UP"); then ok "HAProxy took dialplane-1 out: dp1 dp2 $got"
else fail "HAProxy after stopping dialplane-1 (want DOWN UP): $got"; fi
d2=$(decisions "$DP2_METRICS_PORT")
if calls calls-one "$CALLS"; then
  ok "$CALLS calls connected with dialplane-1 stopped (successful/failed $(sipp_report calls-one))"
else
  fail "calls with dialplane-1 stopped (sipp exit $?, successful/failed $(sipp_report calls-one))" \
    "$(tail -15 "$WORK/calls-one.err" 2>/dev/null; tail -5 "$WORK/calls-one.out")"
fi
n2=$(( $(decisions "$DP2_METRICS_PORT") - d2 ))
((n2 >= CALLS)) && ok "dialplane-2 served them: $n2 decisions" || fail "dialplane-2 decisions with dialplane-1 stopped: $n2 (want >= $CALLS)"

# ---- 6. everything stops on SIGTERM ---------------------------------------------------------------------------------
t=$SECONDS
run "$WORK/stop.log" "${COMPOSE[@]}" stop -t 10
killed=
for s in $SERVICES; do
  code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$(cid "$s")")
  [[ "$code" == 137 ]] && killed+="$s "
done
[[ -z "$killed" ]] && ok "every service stopped on SIGTERM ($((SECONDS - t)) s, none killed)" \
  || fail "services killed after the 10 s stop timeout (SIGTERM ignored): $killed"
STACK_UP=0
[[ $FAILED -gt 0 ]] && STACK_UP=1   # dump logs in cleanup

cleanup
((FAILED == 0))
