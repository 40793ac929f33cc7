#!/usr/bin/env bash
# Starts a userspace rtpengine (no kernel module: --table=-1) for dialplane's Kamailio.
#
# Usage: run-rtpengine.sh [options]
#   --ip IP              media + control address            (env RTPE_IP,        default 127.0.0.1)
#   --ng-port PORT       NG control port (UDP)              (env RTPE_NG_PORT,   default 22222)
#   --port-min N         lowest RTP port                    (env RTPE_PORT_MIN,  default 30000)
#   --port-max N         highest RTP port                   (env RTPE_PORT_MAX,  default 30999)
#   --dtmf-dest IP:PORT  DTMF events as JSON over UDP       (env RTPE_DTMF_DEST, default none)
#   --log-level N        syslog-style level 0..7            (env RTPE_LOG_LEVEL, default 5)
#   --run-dir DIR        pid file (and log file in bg mode) (env RTPE_RUN_DIR,   default /tmp/dialplane-rtpengine)
#   --threads N          worker threads                     (env RTPE_THREADS,   default 2)
#   --foreground         stay in the foreground, log to stderr (tests); otherwise daemonise and
#                        log to RUN_DIR/rtpengine.log
#   -- ARGS...           extra rtpengine arguments, passed unchanged
#
# Kamailio must then use  -A RTPENGINE_SOCK="udp:IP:NG_PORT"  (kamailio-cfg/run-kamailio.sh --rtpengine).
# --config-file=none is essential: without it rtpengine also reads /etc/rtpengine/rtpengine.conf.
set -euo pipefail

IP=${RTPE_IP:-127.0.0.1}
NG_PORT=${RTPE_NG_PORT:-22222}
PORT_MIN=${RTPE_PORT_MIN:-30000}
PORT_MAX=${RTPE_PORT_MAX:-30999}
DTMF_DEST=${RTPE_DTMF_DEST:-}
LOG_LEVEL=${RTPE_LOG_LEVEL:-5}
RUN_DIR=${RTPE_RUN_DIR:-/tmp/dialplane-rtpengine}
THREADS=${RTPE_THREADS:-2}
FOREGROUND=0
EXTRA=()

while (($#)); do
  case "$1" in
    --ip) IP=$2; shift 2 ;;
    --ng-port) NG_PORT=$2; shift 2 ;;
    --port-min) PORT_MIN=$2; shift 2 ;;
    --port-max) PORT_MAX=$2; shift 2 ;;
    --dtmf-dest) DTMF_DEST=$2; shift 2 ;;
    --log-level) LOG_LEVEL=$2; shift 2 ;;
    --run-dir) RUN_DIR=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --foreground|-f) FOREGROUND=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

command -v rtpengine >/dev/null || { echo "rtpengine not installed (apt-get install rtpengine-daemon)" >&2; exit 1; }
mkdir -p "$RUN_DIR"

ARGS=(
  --config-file=none
  --table=-1
  --interface="$IP"
  --listen-ng="$IP:$NG_PORT"
  --port-min="$PORT_MIN" --port-max="$PORT_MAX"
  --num-threads="$THREADS"
  --log-level="$LOG_LEVEL"
  --pidfile="$RUN_DIR/rtpengine.pid"
  --delete-delay=0
  --timeout=60 --silent-timeout=3600 --final-timeout=0
)
[[ -n "$DTMF_DEST" ]] && ARGS+=(--dtmf-log-dest="$DTMF_DEST")

if ((FOREGROUND)); then
  exec rtpengine "${ARGS[@]}" --foreground --log-stderr "${EXTRA[@]}"
fi
# Background: rtpengine daemonises itself; its log goes to a file through stderr.
nohup rtpengine "${ARGS[@]}" --foreground --log-stderr "${EXTRA[@]}" >>"$RUN_DIR/rtpengine.log" 2>&1 &
echo $! >"$RUN_DIR/rtpengine.pid.launcher"
sleep 0.3
if ! kill -0 "$!" 2>/dev/null; then
  echo "rtpengine failed to start; see $RUN_DIR/rtpengine.log" >&2
  tail -5 "$RUN_DIR/rtpengine.log" >&2
  exit 1
fi
echo "rtpengine pid $! ng=udp:$IP:$NG_PORT rtp=$PORT_MIN-$PORT_MAX log=$RUN_DIR/rtpengine.log"
