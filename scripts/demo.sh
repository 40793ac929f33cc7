#!/usr/bin/env bash
# Starts the whole dialplane stack on loopback, in the background, with the standard ports:
#   redis 6379, rtpengine NG 22222 (RTP 30000-30999), Kamailio SIP 5060 (RPC 5071),
#   HAProxy 8081 (dialplane internal, Kamailio's dialplane URL) / 8082 (REST) / 8404 (stats, /metrics) in front of
#   two dialplane instances (deploy/haproxy.cfg, as in docker-compose): dialplane-1 18081/18082/19464 and
#   dialplane-2 18091/18092/19465 (internal/REST/metrics), both seeded with deploy/seed-demo.json,
#   the demo webhook app deploy/demo-app.py on 3100, and two sipp "phones":
#   phone1 (127.0.0.1:5091) answers after 2 s and echoes RTP, phone2 (127.0.0.1:5092) is busy (486).
# On a fresh Debian 12 machine the first start also installs the packages (scripts/install-deps.sh, as root) when
# Kamailio, sipp or HAProxy is missing, builds build/dialplane when it is missing, and builds Kamailio's
# http_async_client module (kamailio-cfg/build-http-async-client.sh, idempotent).
#
# Usage: scripts/demo.sh [start]   start everything (fails if a port is taken)
#        scripts/demo.sh stop      stop everything this script started
#        scripts/demo.sh status
# Env:   DIALPLANE_BIN (build/dialplane)  DEMO_DIR (/tmp/dialplane-demo: pid files and logs)
#        DEMO_API_KEY (demo-key)  JOBS (2: parallel build jobs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DEMO_DIR:-/tmp/dialplane-demo}
BIN=${DIALPLANE_BIN:-$ROOT/build/dialplane}
API_KEY=${DEMO_API_KEY:-demo-key}
SEED=$ROOT/deploy/seed-demo.json
SIPP_DIR=$ROOT/tests/e2e/sipp
SERVICES=(redis rtpengine dialplane-1 dialplane-2 haproxy demo-app phone1 phone2 kamailio)   # start order
HAPROXY_CFG=$ROOT/deploy/haproxy.cfg

die() { echo "demo: $*" >&2; exit 1; }

# Starts "$@" in its own session (so stop can end its whole process group), logs to $DIR/<name>.log.
launch() {
  local name=$1; shift
  setsid "$@" >>"${LAUNCH_LOG:-$DIR/$name.log}" 2>&1 < /dev/null &
  echo $! >"$DIR/$name.pid"
}

alive() { [[ -f "$DIR/$1.pid" ]] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

wait_for() {  # name, description, command...
  local name=$1 what=$2; shift 2
  for _ in $(seq 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    alive "$name" || { tail -20 "$DIR/$name.log" >&2; die "$name exited while waiting for $what (log: $DIR/$name.log)"; }
    sleep 0.1
  done
  tail -20 "$DIR/$name.log" >&2
  die "timed out waiting for $what (log: $DIR/$name.log)"
}

port_busy() {  # proto port: true when something is bound there
  ! /usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[2])))' "$1" "$2" 2>/dev/null
}

sip_options() {  # port: any SIP reply to an OPTIONS
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(0.5)
lp = s.getsockname()[1]; port = int(sys.argv[1])
s.sendto((f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bKdemo{lp}\r\n"
          f"From: <sip:demo@127.0.0.1>;tag=d{lp}\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: demo-{lp}\r\n"
          "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
sys.exit(0 if s.recv(65535).startswith(b"SIP/2.0") else 1)
PY
}

rtpengine_ping() {
  /usr/bin/python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
s.sendto(b"demo d7:command4:pinge", ("127.0.0.1", 22222)); assert b"pong" in s.recv(1000)'
}

stop() {
  local any=0
  local all=("${SERVICES[@]}" dialplane)   # dialplane: the pid file of an older single-instance demo
  for ((i = ${#all[@]} - 1; i >= 0; i--)); do
    local name=${all[i]} pid
    [[ -f "$DIR/$name.pid" ]] || continue
    pid=$(cat "$DIR/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
      echo "stopped $name (pid $pid)"
      any=1
    fi
    rm -f "$DIR/$name.pid"
  done
  ((any)) || echo "nothing running"
}

status() {
  for name in "${SERVICES[@]}"; do
    if alive "$name"; then echo "$name: running (pid $(cat "$DIR/$name.pid"), log $DIR/$name.log)"
    else echo "$name: stopped"; fi
  done
}

# Step 0: packages, the dialplane binary and Kamailio's http_async_client module (a fresh machine has none).
prepare() {
  local missing=()
  for t in redis-server rtpengine kamailio sipp haproxy cmake curl; do
    command -v $t >/dev/null || [[ -x /usr/sbin/$t ]] || missing+=("$t")
  done
  # A machine set up before the binary linked jemalloc has every tool above but not its headers.
  [[ -x "$BIN" ]] || pkg-config --exists jemalloc 2>/dev/null || missing+=("libjemalloc-dev")
  if ((${#missing[@]})); then
    ((EUID == 0)) || die "missing: ${missing[*]}; run as root (or: sudo bash scripts/install-deps.sh) to install them"
    echo "demo: installing packages (missing: ${missing[*]}) with scripts/install-deps.sh"
    bash "$ROOT/scripts/install-deps.sh"
  fi
  if [[ ! -x "$BIN" ]]; then
    [[ -z "${DIALPLANE_BIN:-}" ]] || die "DIALPLANE_BIN=$BIN is not an executable"
    echo "demo: building $BIN (cmake, -j${JOBS:-2}; a few minutes the first time)"
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$ROOT/build" --target dialplane -j"${JOBS:-2}" >"$DIR/build.log" 2>&1 || {
      grep -E 'error' -A3 "$DIR/build.log" | head -40 >&2; die "build failed (log: $DIR/build.log)"; }
  fi
  bash "$ROOT/kamailio-cfg/build-http-async-client.sh" >>"$DIR/http_async_client.log" 2>&1 || {
    tail -20 "$DIR/http_async_client.log" >&2; die "building Kamailio's http_async_client failed (log: $DIR/http_async_client.log)"; }
}

# deploy/haproxy.cfg as is, unless this machine's open-files limit is below what its maxconn needs
# (HAProxy wants 2 x maxconn + some fds and refuses to start otherwise): then a copy with a smaller maxconn.
haproxy_cfg() {
  local want have
  want=$(awk '/^[[:space:]]*maxconn/ {print $2; exit}' "$HAPROXY_CFG")
  have=$(ulimit -Hn)
  if [[ -n "$want" && "$have" != unlimited ]] && ((have < 2 * want + 100)); then
    sed "s/^\([[:space:]]*maxconn\) $want\$/\1 $(((have - 100) / 2))/" "$HAPROXY_CFG" >"$DIR/haproxy.cfg"
    echo "$DIR/haproxy.cfg"
  else
    echo "$HAPROXY_CFG"
  fi
}

haproxy_up() {  # number of dialplane instances HAProxy sends traffic to
  curl -fsS 'http://127.0.0.1:8404/stats;csv' 2>/dev/null | grep -c '^dialplane_internal,dp[0-9]*,.*,UP,' || true
}
haproxy_both_up() { (($(haproxy_up) >= 2)); }

start() {
  [[ -f "$SEED" ]] || die "$SEED not found"
  for n in "${SERVICES[@]}" dialplane; do alive "$n" && die "$n is already running (scripts/demo.sh stop first)"; done
  mkdir -p "$DIR"
  prepare
  for t in redis-server rtpengine kamailio sipp; do command -v $t >/dev/null || die "$t not installed (scripts/install-deps.sh)"; done
  for p in tcp:6379 udp:22222 udp:5060 tcp:5060 tcp:5071 tcp:8081 tcp:8082 tcp:8404 tcp:18081 tcp:18082 tcp:19464 \
           tcp:18091 tcp:18092 tcp:19465 tcp:3100 udp:5091 udp:5092; do
    port_busy "${p%%:*}" "${p#*:}" && die "port ${p#*:}/${p%%:*} is in use"
  done
  trap 'echo "demo: start failed, stopping what was started" >&2; stop >&2' ERR

  launch redis redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --dir "$DIR"
  wait_for redis "redis" redis-cli -p 6379 ping

  launch rtpengine bash "$ROOT/rtpengine/run-rtpengine.sh" --foreground --ip 127.0.0.1 --ng-port 22222 \
    --port-min 30000 --port-max 30999 --run-dir "$DIR/rtpengine"
  wait_for rtpengine "rtpengine NG ping" rtpengine_ping

  /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$SEED" || die "$SEED is not valid JSON"
  # two instances sharing Redis (either can continue any call), as in docker-compose; both load the seed (upserts)
  local i=1
  for ports in 18081:18082:19464 18091:18092:19465; do
    IFS=: read -r internal api metrics <<<"$ports"
    launch dialplane-$i "$BIN" --internal-listen 127.0.0.1:$internal --api-listen 127.0.0.1:$api \
      --metrics-listen 127.0.0.1:$metrics --api-key "$API_KEY" --redis-host 127.0.0.1 --redis-port 6379 \
      --seed "$SEED" --kamailio-rpc-url http://127.0.0.1:5071/RPC --instance-id dialplane-$i --log-level info
    wait_for dialplane-$i "dialplane-$i /healthz" curl -fsS http://127.0.0.1:$internal/healthz
    i=$((i + 1))
  done
  local cfg
  cfg=$(haproxy_cfg)
  haproxy -c -q -f "$cfg" || die "haproxy -c -f $cfg failed"
  launch haproxy haproxy -db -f "$cfg"
  wait_for haproxy "HAProxy stats on 8404" curl -fsS 'http://127.0.0.1:8404/stats;csv'

  DEMO_APP_PORT=3100 launch demo-app /usr/bin/python3 "$ROOT/deploy/demo-app.py"
  wait_for demo-app "demo app" curl -sS -o /dev/null -X POST http://127.0.0.1:3100/ping

  # sipp's stdout is its statistics screen, redrawn every second: discard it, keep the message and error traces
  LAUNCH_LOG=/dev/null launch phone1 sipp -sf "$SIPP_DIR/uas_answer.xml" -i 127.0.0.1 -p 5091 -mp 6091 -d 2000 -rtp_echo -nostdin \
    -trace_msg -message_file "$DIR/phone1.msg" -trace_err -error_file "$DIR/phone1.err"
  LAUNCH_LOG=/dev/null launch phone2 sipp -sf "$SIPP_DIR/uas_reject_486.xml" -i 127.0.0.1 -p 5092 -mp 6095 -nostdin \
    -trace_msg -message_file "$DIR/phone2.msg" -trace_err -error_file "$DIR/phone2.err"
  wait_for phone1 "phone1 on 5091" port_busy udp 5091
  wait_for phone2 "phone2 on 5092" port_busy udp 5092

  launch kamailio bash "$ROOT/kamailio-cfg/run-kamailio.sh" --foreground --ip 127.0.0.1 --sip-port 5060 \
    --rpc-port 5071 --dialplane-url http://127.0.0.1:8081 --rtpengine udp:127.0.0.1:22222 --redis 127.0.0.1:6379 \
    --run-dir "$DIR/kamailio"
  wait_for kamailio "Kamailio answering OPTIONS on 5060" sip_options 5060
  # the instances are ready (and HAProxy sends them traffic) once they reach Kamailio's JSON-RPC
  wait_for haproxy "HAProxy: both dialplane instances UP" haproxy_both_up
  trap - ERR

  cat <<EOF

dialplane demo is running (logs and pids in $DIR):
  Kamailio      sip:127.0.0.1:5060 (JSON-RPC http://127.0.0.1:5071/RPC)
  HAProxy       http://127.0.0.1:8081 (dialplane internal, Kamailio's dialplane URL), REST http://127.0.0.1:8082/v1
                (Bearer $API_KEY), stats http://127.0.0.1:8404/stats, config $(haproxy_cfg)
  dialplane     dialplane-1 internal :18081 REST :18082 metrics :19464; dialplane-2 :18091 :18092 :19465
  demo app      http://127.0.0.1:3100  ->  dial [phone1 127.0.0.1:5091 answers after 2 s, phone2 127.0.0.1:5092 busy]
  rtpengine     NG udp:127.0.0.1:22222, RTP 30000-30999;  redis 127.0.0.1:6379

Place a call to the demo number +15550100000:
  sipp -sn uac 127.0.0.1:5060 -s +15550100000 -m 1
  (sipp's built-in uac ignores Record-Route, so its BYE is sent without Route and is refused; the call itself
   connects to phone1 after 2 s.) The e2e caller scenario follows the route set and ends cleanly:
  sipp 127.0.0.1:5060 -sf $SIPP_DIR/uac_call.xml -s +15550100000 -key from_user +15551230000 -d 3000 -m 1 -p 5065

Watch:  tail -f $DIR/demo-app.log $DIR/dialplane-1.log $DIR/dialplane-2.log
REST:   curl -H 'Authorization: Bearer $API_KEY' http://127.0.0.1:8082/v1/Accounts
Stop:   scripts/demo.sh stop
EOF
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 [start|stop|status]" ;;
esac
