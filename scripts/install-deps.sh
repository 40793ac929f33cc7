#!/usr/bin/env bash
# Installs every Debian package dialplane needs to build, test and run its demo stack and its docker-compose
# deployment (Debian's docker.io engine and docker-compose, debootstrap for deploy/build-offline-images.sh).
# Kamailio's source package (for http_async_client) is fetched by kamailio-cfg/build-http-async-client.sh,
# which adds deb-src entries for apt's own mirror when it needs them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config dpkg-dev ca-certificates curl openssl iproute2 procps \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libhiredis-dev prometheus-cpp-dev doctest-dev libssl-dev flite1-dev libjemalloc-dev \
  libwebrtc-audio-processing-dev espeak-ng flite sox \
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us \
  libcurl4-openssl-dev libevent-dev \
  kamailio kamailio-extra-modules kamailio-json-modules kamailio-utils-modules \
  rtpengine-daemon redis-server redis-tools sip-tester \
  kamailio-redis-modules kamailio-tls-modules kamailio-websocket-modules chromium python3 python3-pytest python3-websockets haproxy prometheus docker-compose docker.io debootstrap \
  clang libclang-rt-14-dev clang-tidy \
  >/dev/null

# Node.js + npm for the jambonz client check (tests/compat, e2e m6): the machine's own when present, else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# The WebRTC e2e test (tests/e2e/test_webrtc.py, headless Debian chromium above): JsSIP and esbuild from npm, pinned by
# tests/e2e/webrtc/package-lock.json, into its gitignored node_modules (about 13 MB, a few seconds).
(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/webrtc" && npm ci --no-audit --no-fund --loglevel=error)
