#!/bin/sh
# Container entrypoint for Kamailio with dialplane's kamailio.cfg (deploy/Dockerfile.kamailio).
# Same defines as kamailio-cfg/run-kamailio.sh, but SIP and JSON-RPC addresses are separate: SIP listens on
# SIP_IP (the host's public address under host networking), JSON-RPC and /metrics stay on RPC_IP (loopback).
#   SIP_IP (127.0.0.1)  SIP_PORT (5060)  RPC_IP (127.0.0.1)  RPC_PORT (5071)  NODE_URL (http://RPC_IP:RPC_PORT/RPC)
#   DIALPLANE_URL (http://127.0.0.1:8081, the load balancer; or the instances comma-separated: Kamailio balances)
#   RTPENGINE_SOCK (udp:127.0.0.1:22222)
#   REDIS_ADDR (127.0.0.1:6379)  DECISION_TIMEOUT_MS (5000)  EVENT_TIMEOUT_MS (2000)  EVQ_SIZE (20000)
#   KAM_SHM (512)  KAM_PKG (32)  KAM_MEMMGR (tlsf: shm and pkg memory manager)  KAM_LOG_LEVEL (2)  KAM_RUN_DIR (/var/run/dialplane-kamailio)
#   KAM_DEFINES   space-separated extra defines, e.g. "WITH_PROMETHEUS" (xhttp_prom /metrics on RPC_PORT)
#   KAM_CFG (/etc/dialplane/kamailio.cfg)
#   KAM_TLS_PORT, KAM_TLS_ADVERTISE, KAM_TLS_CERT, KAM_TLS_KEY: Microsoft Teams over TLS (docs/teams.md), off by default
#   KAM_WS_PORT: SIP over WebSocket for browsers (WebRTC `user` targets) on SIP_IP, off by default; KAM_WSS_PORT the
#   secure one (needs KAM_TLS_PORT: its certificate); KAM_WS_ORIGINS the pages allowed to connect (comma-separated
#   Origins; empty = any)
set -eu
SIP_IP=${SIP_IP:-127.0.0.1}
SIP_PORT=${SIP_PORT:-5060}
RPC_IP=${RPC_IP:-127.0.0.1}
RPC_PORT=${RPC_PORT:-5071}
NODE_URL=${NODE_URL:-http://$RPC_IP:$RPC_PORT/RPC}
DP_URL=${DIALPLANE_URL:-http://127.0.0.1:8081}
RTPE=${RTPENGINE_SOCK:-udp:127.0.0.1:22222}
REDIS=${REDIS_ADDR:-127.0.0.1:6379}
RUN_DIR=${KAM_RUN_DIR:-/var/run/dialplane-kamailio}
CFG=${KAM_CFG:-/etc/dialplane/kamailio.cfg}
mkdir -p "$RUN_DIR"

set -- -x "${KAM_MEMMGR:-tlsf}" -f "$CFG" -m "${KAM_SHM:-512}" -M "${KAM_PKG:-32}" -Y "$RUN_DIR" -P "$RUN_DIR/kamailio.pid" \
  -A "SIP_IP=$SIP_IP" -A "SIP_PORT=$SIP_PORT" -A "RPC_IP=$RPC_IP" -A "RPC_PORT=$RPC_PORT" \
  -A "SELF_SIP_URI=\"sip:$SIP_IP:$SIP_PORT\"" \
  -A "NODE_URL=\"$NODE_URL\"" -A "DIALPLANE_URL=\"${DP_URL%/}\"" -A "RTPENGINE_SOCK=\"$RTPE\"" \
  -A "REDIS_SERVER=\"name=dp;addr=${REDIS%:*};port=${REDIS##*:}\"" \
  -A "DECISION_TIMEOUT_MS=${DECISION_TIMEOUT_MS:-5000}" -A "EVENT_TIMEOUT_MS=${EVENT_TIMEOUT_MS:-2000}" \
  -A "EVQ_SIZE=\"name=evq;size=${EVQ_SIZE:-20000}\"" -A "LOG_LEVEL=${KAM_LOG_LEVEL:-2}"
for d in ${KAM_DEFINES:-}; do set -- "$@" -A "$d"; done
# Microsoft Teams (docs/teams.md): SIP over TLS on KAM_TLS_PORT, advertising the SBC FQDN KAM_TLS_ADVERTISE, with
# its certificate KAM_TLS_CERT / key KAM_TLS_KEY (mounted; default /etc/kamailio/tls/sbc.pem, sbc.key).
if [ -n "${KAM_TLS_PORT:-}" ]; then
  set -- "$@" -A WITH_TLS -A "TLS_PORT=$KAM_TLS_PORT" \
    -A "TLS_ADVERTISE=${KAM_TLS_ADVERTISE:?KAM_TLS_ADVERTISE (the SBC FQDN) is required with KAM_TLS_PORT}" \
    -A "TLS_CONTACT=\"sip:$KAM_TLS_ADVERTISE:$KAM_TLS_PORT;transport=tls\"" \
    -A "TLS_CERT=\"${KAM_TLS_CERT:-/etc/kamailio/tls/sbc.pem}\"" -A "TLS_KEY=\"${KAM_TLS_KEY:-/etc/kamailio/tls/sbc.key}\""
fi
# Browsers: SIP over WebSocket (roles/websocket.cfg); only the pages in KAM_WS_ORIGINS may open one when it is set.
if [ -n "${KAM_WS_PORT:-}" ]; then
  set -- "$@" -A WITH_WEBSOCKET -A "WS_PORT=$KAM_WS_PORT"
  if [ -n "${KAM_WS_ORIGINS:-}" ]; then
    case "$KAM_WS_ORIGINS" in
      *[!][A-Za-z0-9:/.,_-]*) echo "KAM_WS_ORIGINS: Origins (scheme://host[:port]) separated by commas, no spaces" >&2; exit 2 ;;
    esac
    set -- "$@" -A "WS_ORIGINS=\"$KAM_WS_ORIGINS\""
  fi
  if [ -n "${KAM_WSS_PORT:-}" ]; then
    [ -n "${KAM_TLS_PORT:-}" ] || { echo "KAM_WSS_PORT needs KAM_TLS_PORT (its certificate)" >&2; exit 2; }
    set -- "$@" -A WITH_WSS -A "WSS_PORT=$KAM_WSS_PORT"
  fi
fi

kamailio -c "$@" >/dev/null 2>"$RUN_DIR/check.log" || { grep -Ev 'WARNING|INFO' "$RUN_DIR/check.log" >&2; exit 1; }
# -DD: no fork, -E: log to stderr (docker logs)
exec kamailio -DD -E "$@"
