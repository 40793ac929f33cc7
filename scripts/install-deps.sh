#!/usr/bin/env bash
# Installs every Debian package dialplane needs to build, test and run its demo stack and its docker-compose
# deployment (Debian's docker.io engine and docker-compose, debootstrap for deploy/build-offline-images.sh),
# and adds a deb-src entry so kamailio-cfg/build-http-async-client.sh can fetch Kamailio's source.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  cat > /etc/apt/sources.list.d/dialplane-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config dpkg-dev ca-certificates curl openssl iproute2 procps \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libhiredis-dev prometheus-cpp-dev doctest-dev libssl-dev \
  libcurl4-openssl-dev libevent-dev \
  kamailio kamailio-extra-modules kamailio-json-modules kamailio-utils-modules \
  rtpengine-daemon redis-server redis-tools sip-tester \
  kamailio-redis-modules python3 python3-pytest haproxy prometheus docker-compose docker.io debootstrap \
  clang libclang-rt-14-dev \
  >/dev/null
