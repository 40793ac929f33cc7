#!/usr/bin/env bash
# Starts Kamailio with dialplane's kamailio.cfg. Checks the cfg first (kamailio -c).
#
# Usage: run-kamailio.sh [options] [-- extra kamailio args]
#   --ip IP                 SIP + RPC listen address           env KAM_IP             127.0.0.1
#   --sip-port PORT         SIP port (udp+tcp)                 env KAM_SIP_PORT       5070
#   --rpc-port PORT         JSON-RPC over HTTP port            env KAM_RPC_PORT       5071
#   --node-url URL          this node's RPC URL sent as `node` env KAM_NODE_URL       http://IP:RPC_PORT/RPC
#   --dialplane-url URL[,URL] dialplane internal base URL; several: Kamailio balances (roles/balance.cfg)
#                                                              env DIALPLANE_URL      http://127.0.0.1:8081
#   --rtpengine SOCK[,SOCK] rtpengine NG socket(s), one set each, in dialplane's --rtpengine order (max 4)
#                                                              env RTPENGINE_SOCK     udp:127.0.0.1:22222
#   --redis HOST:PORT       Redis with dp:sipuser:* HA1s       env REDIS_ADDR         127.0.0.1:6379
#   --decision-timeout MS   decision HTTP timeout              env DECISION_TIMEOUT_MS 5000
#   --event-timeout MS      event batch HTTP timeout           env EVENT_TIMEOUT_MS   2000
#   --evq-size N            event queue cap                    env EVQ_SIZE           20000
#   --run-dir DIR           runtime dir (pid, ctl files, log)  env KAM_RUN_DIR        /tmp/dialplane-kamailio
#   --shm MB / --pkg MB     shared / private memory            env KAM_SHM / KAM_PKG  512 / 32
#   (env only)              shm + pkg memory manager (tlsf|qm) env KAM_MEMMGR         tlsf
#   --log-level N           LOG_LEVEL define (1..3)            env KAM_LOG_LEVEL      2
#   --tls-port PORT         SIP over TLS listener (WITH_TLS, Microsoft Teams; docs/teams.md)   env KAM_TLS_PORT  off
#   --tls-advertise FQDN    the SBC FQDN the TLS listener advertises (Record-Route/Via)   env KAM_TLS_ADVERTISE
#   --tls-cert FILE / --tls-key FILE   PEM certificate and key of that FQDN   env KAM_TLS_CERT / KAM_TLS_KEY
#   --tls-no-verify         do not verify the peers' certificates (tests with a self-signed stand-in)
#   --ws-port PORT          SIP over WebSocket listener on IP (WITH_WEBSOCKET: browsers)   env KAM_WS_PORT  off
#   --wss-port PORT         secure WebSocket listener (WITH_WSS; needs --tls-port: same certificate)   env KAM_WSS_PORT off
#   --ws-origins LIST       the Origins (web pages) allowed to open ws/wss, comma-separated; others get 403
#                                                              env KAM_WS_ORIGINS     any
#   --define NAME[=VALUE]   any other define from kamailio.cfg, raw (strings need their quotes), e.g.
#                           --define WITH_STATIC_ROUTE --define 'STATIC_URI="sip:x@127.0.0.1:5090"'
#   --cfg FILE              config file                        default: kamailio.cfg next to this script
#   --foreground            exec kamailio in the foreground, logging to stderr (tests)
#   --check-only            only run kamailio -c
# Without --foreground Kamailio runs in the background (no fork, logs to RUN_DIR/kamailio.log) and the
# script prints its pid; stop it with: kill $(cat RUN_DIR/kamailio.pid)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
IP=${KAM_IP:-127.0.0.1}
SIP_PORT=${KAM_SIP_PORT:-5070}
RPC_PORT=${KAM_RPC_PORT:-5071}
NODE_URL=${KAM_NODE_URL:-}
DP_URL=${DIALPLANE_URL:-http://127.0.0.1:8081}
RTPE=${RTPENGINE_SOCK:-udp:127.0.0.1:22222}
REDIS=${REDIS_ADDR:-127.0.0.1:6379}
DEC_TO=${DECISION_TIMEOUT_MS:-5000}
EV_TO=${EVENT_TIMEOUT_MS:-2000}
EVQ=${EVQ_SIZE:-20000}
RUN_DIR=${KAM_RUN_DIR:-/tmp/dialplane-kamailio}
SHM=${KAM_SHM:-512}
PKG=${KAM_PKG:-32}
# TLSF instead of the default q_malloc for shm and pkg memory: qm_malloc was ~6 % of Kamailio's CPU under load and
# TLSF took ~10 % off its CPU per call in the bench (bench/README.md). KAM_MEMMGR=qm|fm|tlsf.
MEMMGR=${KAM_MEMMGR:-tlsf}
LOGL=${KAM_LOG_LEVEL:-2}
CFG=$HERE/kamailio.cfg
FG=0
CHECK_ONLY=0
DEFS=()
TLS_PORT=${KAM_TLS_PORT:-}
TLS_ADV=${KAM_TLS_ADVERTISE:-}
TLS_CERT=${KAM_TLS_CERT:-}
TLS_KEY=${KAM_TLS_KEY:-}
TLS_NO_VERIFY=0
WS_PORT=${KAM_WS_PORT:-}
WSS_PORT=${KAM_WSS_PORT:-}
WS_ORIGINS=${KAM_WS_ORIGINS:-}
EXTRA=()

while (($#)); do
  case "$1" in
    --ip) IP=$2; shift 2 ;;
    --sip-port) SIP_PORT=$2; shift 2 ;;
    --rpc-port) RPC_PORT=$2; shift 2 ;;
    --node-url) NODE_URL=$2; shift 2 ;;
    --dialplane-url) DP_URL=$2; shift 2 ;;
    --rtpengine) RTPE=$2; shift 2 ;;
    --redis) REDIS=$2; shift 2 ;;
    --decision-timeout) DEC_TO=$2; shift 2 ;;
    --event-timeout) EV_TO=$2; shift 2 ;;
    --evq-size) EVQ=$2; shift 2 ;;
    --run-dir) RUN_DIR=$2; shift 2 ;;
    --shm) SHM=$2; shift 2 ;;
    --pkg) PKG=$2; shift 2 ;;
    --log-level) LOGL=$2; shift 2 ;;
    --tls-port) TLS_PORT=$2; shift 2 ;;
    --tls-advertise) TLS_ADV=$2; shift 2 ;;
    --tls-cert) TLS_CERT=$2; shift 2 ;;
    --tls-key) TLS_KEY=$2; shift 2 ;;
    --tls-no-verify) TLS_NO_VERIFY=1; shift ;;
    --ws-port) WS_PORT=$2; shift 2 ;;
    --wss-port) WSS_PORT=$2; shift 2 ;;
    --ws-origins) WS_ORIGINS=$2; shift 2 ;;
    --define) DEFS+=(-A "$2"); shift 2 ;;
    --cfg) CFG=$2; shift 2 ;;
    --foreground|-f) FG=1; shift ;;
    --check-only) CHECK_ONLY=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

[[ -n "$NODE_URL" ]] || NODE_URL="http://$IP:$RPC_PORT/RPC"
DP_URL=${DP_URL%/}
REDIS_HOST=${REDIS%:*}
REDIS_PORT=${REDIS##*:}

if [[ ! -f "$(dpkg -L kamailio 2>/dev/null | grep -m1 '/modules/tm\.so$' | xargs -r dirname)/http_async_client.so" ]]; then
  echo "http_async_client.so missing: run $HERE/build-http-async-client.sh first" >&2
  exit 1
fi
mkdir -p "$RUN_DIR"

ARGS=(
  -x "$MEMMGR" -f "$CFG" -m "$SHM" -M "$PKG" -Y "$RUN_DIR" -P "$RUN_DIR/kamailio.pid"
  -A "SIP_IP=$IP" -A "SIP_PORT=$SIP_PORT" -A "RPC_IP=$IP" -A "RPC_PORT=$RPC_PORT"
  -A "SELF_SIP_URI=\"sip:$IP:$SIP_PORT\""
  -A "NODE_URL=\"$NODE_URL\""
  -A "DIALPLANE_URL=\"$DP_URL\""
  -A "RTPENGINE_SOCK=\"${RTPE%%,*}\""
  -A "REDIS_SERVER=\"name=dp;addr=$REDIS_HOST;port=$REDIS_PORT\""
  -A "DECISION_TIMEOUT_MS=$DEC_TO" -A "EVENT_TIMEOUT_MS=$EV_TO"
  -A "EVQ_SIZE=\"name=evq;size=$EVQ\""
  -A "LOG_LEVEL=$LOGL"
  "${DEFS[@]}"
)
if [[ -n "$TLS_PORT" ]]; then
  [[ -n "$TLS_ADV" && -r "$TLS_CERT" && -r "$TLS_KEY" ]] || {
    echo "--tls-port needs --tls-advertise FQDN and readable --tls-cert/--tls-key files" >&2; exit 2; }
  getent hosts "$TLS_ADV" >/dev/null || {
    echo "--tls-advertise $TLS_ADV does not resolve: Kamailio needs the SBC FQDN in DNS (or /etc/hosts)" >&2; exit 2; }
  ARGS+=(-A WITH_TLS -A "TLS_PORT=$TLS_PORT" -A "TLS_ADVERTISE=$TLS_ADV"
         -A "TLS_CONTACT=\"sip:$TLS_ADV:$TLS_PORT;transport=tls\"" -A "TLS_CERT=\"$TLS_CERT\""
         -A "TLS_KEY=\"$TLS_KEY\"")
  if ((TLS_NO_VERIFY)); then ARGS+=(-A TLS_NO_VERIFY); fi
fi
if [[ -n "$WS_PORT" ]]; then
  ARGS+=(-A WITH_WEBSOCKET -A "WS_PORT=$WS_PORT")
  if [[ -n "$WS_ORIGINS" ]]; then
    [[ "$WS_ORIGINS" =~ ^[][A-Za-z0-9:/.,_-]+$ ]] || {
      echo "--ws-origins: Origins (scheme://host[:port]) separated by commas, no spaces or quotes" >&2; exit 2; }
    ARGS+=(-A "WS_ORIGINS=\"$WS_ORIGINS\"")
  fi
elif [[ -n "$WS_ORIGINS" ]]; then
  echo "--ws-origins needs --ws-port" >&2; exit 2
fi
if [[ -n "$WSS_PORT" ]]; then
  [[ -n "$WS_PORT" && -n "$TLS_PORT" ]] || { echo "--wss-port needs --ws-port and --tls-port (the TLS certificate)" >&2; exit 2; }
  ARGS+=(-A WITH_WSS -A "WSS_PORT=$WSS_PORT")
fi
# Further rtpengine nodes become sets 1..3 (kamailio.cfg RTPENGINE_SOCK_N).
IFS=',' read -r -a RTPE_NODES <<<"$RTPE"
for ((i = 1; i < ${#RTPE_NODES[@]} && i < 4; i++)); do
  ARGS+=(-A "RTPENGINE_SOCK_$i=\"$i == ${RTPE_NODES[$i]}\"")
done

if ! out=$(kamailio -c "${ARGS[@]}" "${EXTRA[@]}" 2>&1); then
  echo "$out" | grep -Ev 'WARNING|INFO' >&2
  echo "kamailio -c failed for $CFG" >&2
  exit 1
fi
((CHECK_ONLY)) && { echo "config ok: $CFG"; exit 0; }

if ((FG)); then
  exec kamailio -DD -E "${ARGS[@]}" "${EXTRA[@]}"
fi
nohup kamailio -DD -E "${ARGS[@]}" "${EXTRA[@]}" >>"$RUN_DIR/kamailio.log" 2>&1 &
pid=$!
sleep 0.5
if ! kill -0 "$pid" 2>/dev/null; then
  echo "kamailio failed to start; see $RUN_DIR/kamailio.log" >&2
  tail -20 "$RUN_DIR/kamailio.log" >&2
  exit 1
fi
echo "$pid" >"$RUN_DIR/kamailio.pid"
echo "kamailio pid $pid sip=$IP:$SIP_PORT rpc=$NODE_URL dialplane=$DP_URL log=$RUN_DIR/kamailio.log"
