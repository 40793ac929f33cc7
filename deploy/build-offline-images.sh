#!/usr/bin/env bash
# Air-gapped image build: makes the images docker-compose.yml needs from Docker Hub out of the Debian mirror that
# this host's apt already uses, so `docker-compose up -d --build` works without Docker Hub.
# Only images that are NOT available locally are built (an official image pulled earlier is kept):
#
#   debian:bookworm-slim, debian:bookworm   the base of every deploy/Dockerfile.*: `debootstrap --variant=minbase
#                                           bookworm` from the host's mirror, the host's apt sources copied in,
#                                           docs/man pages/locales removed, `docker import`. Both tags name the same
#                                           image (the build stages install what they need).
#   redis:7.0-bookworm                      deploy/Dockerfile.redis: Debian's redis-server 7.0 (runs as `redis`)
#   prom/prometheus:v2.42.0                 deploy/Dockerfile.prometheus: Debian's prometheus 2.42 (runs as `nobody`)
#
# The fallbacks carry the official tags so docker-compose.yml is the same online and offline; they are marked
# with the label org.dialplane.fallback (`docker inspect`). Grafana has no Debian package: without its image
# start the stack without it (docs/deploy.md, "Offline").
#
# Usage: deploy/build-offline-images.sh [--force]     --force: rebuild even when the images exist
# Env:   DOCKER (the docker CLI; /usr/bin/docker when present)  SUITE (bookworm)
#        MIRROR (the first `deb` URI of the host's apt sources)  WORK_DIR (/var/tmp, for the debootstrap rootfs)
# Needs: root, debootstrap, a running Docker engine. The build steps reach the mirror through the host network.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${DOCKER:-$([[ -x /usr/bin/docker ]] && echo /usr/bin/docker || echo docker)}
SUITE=${SUITE:-bookworm}
FORCE=0
[[ "${1:-}" == --force ]] && FORCE=1

log() { echo "[offline-images] $*" >&2; }
die() { log "$*"; exit 1; }
have_image() { ((FORCE == 0)) && "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

((EUID == 0)) || die "run as root (debootstrap needs it)"
"$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers ($DOCKER version)"

# ---- the host's apt configuration ------------------------------------------------------------------------
# Active source files, as apt reads them (sources.list, sources.list.d/*.list and *.sources).
host_source_files() {
  [[ -f /etc/apt/sources.list ]] && echo /etc/apt/sources.list
  local f
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [[ -f "$f" ]] && echo "$f"; done
  return 0
}

# Binary (`deb`) entries only: deb-src would make every `apt-get update` in a build download source indices.
# One-line files keep their `deb` lines; deb822 files keep their enabled paragraphs typed deb.
filter_sources() {  # file
  case $1 in
    *.sources)
      awk 'BEGIN { RS = ""; ORS = "\n\n" }
           { types = ""; enabled = 1; n = split($0, l, "\n")
             for (i = 1; i <= n; i++) {
               if (l[i] ~ /^Types:/) types = l[i]
               if (l[i] ~ /^Enabled:[ \t]*no/) enabled = 0 }
             if (!enabled || types !~ /(:|[ \t])deb([ \t]|$)/) next
             out = ""
             for (i = 1; i <= n; i++) out = out (l[i] ~ /^Types:/ ? "Types: deb" : l[i]) (i < n ? "\n" : "")
             print out }' "$1" ;;
    *) grep -E '^[[:space:]]*deb[[:space:]]' "$1" || true ;;
  esac
}

default_mirror() {  # first binary URI for $SUITE in the host's sources
  local f
  for f in $(host_source_files); do
    filter_sources "$f" | awk -v suite="$SUITE" '
      /^URIs:/   { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) { print uri; exit } }
      /^[ \t]*deb[ \t]/ { j = 2; if ($2 ~ /^\[/) { while ($j !~ /\]$/) j++; j++ } if ($(j + 1) == suite) { print $j; exit } }'
  done | head -1
}

# ---- debian:bookworm-slim / debian:bookworm ------------------------------------------------------------------
build_base() {
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  local mirror=${MIRROR:-$(default_mirror)}
  [[ -n "$mirror" ]] || die "no 'deb' source for $SUITE in /etc/apt (set MIRROR=http://your-mirror/debian)"
  local work rootfs include=()
  work=$(mktemp -d "${WORK_DIR:-/var/tmp}/dialplane-rootfs.XXXXXX")
  rootfs=$work/rootfs
  trap 'rm -rf "$work"' RETURN
  grep -rqs 'https://' $(host_source_files) && include=(--include=ca-certificates)
  log "debootstrap --variant=minbase $SUITE from $mirror"
  if ! debootstrap --variant=minbase "${include[@]}" "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  fi

  # apt inside the images uses the host's sources (binary entries), their keyrings and its Acquire settings
  # (proxy, Check-Valid-Until, ...): files of apt.conf.d that set Acquire:: and run no hooks.
  rm -f "$rootfs/etc/apt/sources.list"
  local f kr n=0
  for f in $(host_source_files); do
    case $f in
      *.sources) filter_sources "$f" >"$rootfs/etc/apt/sources.list.d/$(basename "$f")" ;;
      */sources.list) filter_sources "$f" >"$rootfs/etc/apt/sources.list" ;;
      *) filter_sources "$f" >"$rootfs/etc/apt/sources.list.d/$(basename "$f")" ;;
    esac
    for kr in $(grep -hoE 'signed-by=[^] ]+|^Signed-By:[[:space:]]*/[^[:space:]]+' "$f" | sed -E 's/^(signed-by=|Signed-By:[[:space:]]*)//'); do
      if [[ -f "$kr" && ! -e "$rootfs$kr" ]]; then mkdir -p "$rootfs$(dirname "$kr")"; cp "$kr" "$rootfs$kr"; fi
    done
  done
  find "$rootfs/etc/apt" -name '*.sources' -empty -delete
  for f in /etc/apt/apt.conf.d/*; do
    [[ -f "$f" ]] && grep -q 'Acquire::' "$f" && ! grep -qiE 'invoke|Pre-Install' "$f" || continue
    cp "$f" "$rootfs/etc/apt/apt.conf.d/$(basename "$f")"; n=$((n + 1))
  done
  log "apt sources: $(cd "$rootfs/etc/apt" && find . -name '*.list' -o -name '*.sources' | tr '\n' ' ')(+ $n apt.conf.d files)"

  # Image hygiene, as Debian's official container images do: no caches, no docs/man pages/locales,
  # no service starts during package installs.
  cat >"$rootfs/etc/apt/apt.conf.d/90dialplane-image" <<'EOF'
// dialplane container base (deploy/build-offline-images.sh): keep no package caches or translations
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
Acquire::Languages "none";
APT::Install-Recommends "false";
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90dialplane-image" <<'EOF'
# dialplane container base: no documentation, man pages or translations (copyright files stay)
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,lintian}/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  : >"$rootfs/etc/resolv.conf"       # Docker provides these at run time
  : >"$rootfs/etc/hostname"
  : >"$rootfs/etc/machine-id"

  log "docker import -> debian:$SUITE-slim, debian:$SUITE"
  tar --numeric-owner --xattrs -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL org.dialplane.base=\"debootstrap --variant=minbase $SUITE from $mirror\"" \
    --message "deploy/build-offline-images.sh: debootstrap --variant=minbase $SUITE" \
    - "debian:$SUITE-slim" >/dev/null
  "$DOCKER" tag "debian:$SUITE-slim" "debian:$SUITE"
}

if have_image "debian:$SUITE-slim" && have_image "debian:$SUITE"; then
  log "debian:$SUITE-slim and debian:$SUITE are available"
else
  build_base
fi

# ---- Debian-package fallbacks for the Docker Hub images of docker-compose.yml ----------------------------------
fallback() {  # tag dockerfile
  if have_image "$1"; then log "$1 is available"; return; fi
  log "building $1 from $2 (Debian packages)"
  # no build context: these Dockerfiles copy nothing
  "$DOCKER" build --network host -q -t "$1" - <"$ROOT/$2" >/dev/null
}
fallback redis:7.0-bookworm deploy/Dockerfile.redis
fallback prom/prometheus:v2.42.0 deploy/Dockerfile.prometheus

"$DOCKER" images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' \
  | grep -E "^(debian:$SUITE(-slim)?|redis:7.0-bookworm|prom/prometheus:v2.42.0) " >&2 || true
