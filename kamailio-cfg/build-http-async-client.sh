#!/usr/bin/env bash
# Builds ONLY http_async_client.so from Debian's kamailio source package (5.6.3-2) and installs it.
#
# Debian bookworm's kamailio packages do not ship http_async_client (upstream's deb packages do), so we
# compile that single module against the same source and the same compile flags as Debian's build
# (debian/rules: `make cfg` with dpkg-buildflags + -DVERSION_NODATE), which keeps Kamailio's module
# version/flags check happy.
#
# Usage: build-http-async-client.sh [DEST_DIR]
#   DEST_DIR defaults to Kamailio's module dir (/usr/lib/<multiarch>/kamailio/modules).
#   Prints the installed path on the last line of stdout.
# Env:   KAMAILIO_SRC_WORKDIR  where the source is unpacked (default /var/tmp/dialplane-kamailio-src)
#        FORCE=1               rebuild even if a loadable module is already installed
#
# Build deps (installed when missing): build-essential dpkg-dev pkg-config libcurl4-openssl-dev libevent-dev
# libssl-dev. libssl-dev is not a build dependency of the module itself, but Kamailio's Makefile.defs adds
# -DKSR_PTHREAD_MUTEX_SHARED only when `pkg-config --exists libssl`, and Kamailio refuses a module whose
# compile flags differ from its own ("module compile flags mismatch").
#
# Idempotent: exits early when DEST_DIR/http_async_client.so exists and Kamailio loads it.
# Needs root only for apt-get (build deps / deb-src entry) and for writing into the system module dir.
# Works offline as long as Debian's apt mirror is reachable.
set -euo pipefail

log() { echo "[build-http-async-client] $*" >&2; }

TM_SO=$(dpkg -L kamailio 2>/dev/null | grep -m1 '/modules/tm\.so$' || true)
if [[ -z "$TM_SO" ]]; then
  log "the kamailio package is not installed (apt-get install kamailio kamailio-json-modules ...)"
  exit 1
fi
SYS_MODDIR=$(dirname "$TM_SO")
DEST=${1:-$SYS_MODDIR}
DEST=${DEST%/}
MOD="$DEST/http_async_client.so"
WORK=${KAMAILIO_SRC_WORKDIR:-/var/tmp/dialplane-kamailio-src}

KVER=$(dpkg-query -W -f='${Version}' kamailio)   # e.g. 5.6.3-2
KUP=${KVER%%-*}                                     # 5.6.3

# Loads the module with the installed Kamailio binary (`kamailio -c` parses the cfg, which dlopen()s
# and registers every module).
module_loads() {
  local so=$1 tmp rc
  [[ -f "$so" ]] || return 1
  tmp=$(mktemp -d)
  cat >"$tmp/check.cfg" <<EOF
#!KAMAILIO
mpath="$SYS_MODDIR/"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "$so"
request_route { exit; }
EOF
  if kamailio -c -f "$tmp/check.cfg" -L "$SYS_MODDIR" >"$tmp/out" 2>&1; then rc=0; else rc=1; fi
  [[ $rc -eq 0 ]] || sed 's/^/  kamailio -c: /' "$tmp/out" | tail -5 >&2
  rm -rf "$tmp"
  return $rc
}

# deb-src entries for the mirror apt already uses: the `deb` entries of sources.list.d/*.sources (deb822) and
# sources.list with their type changed; Debian's deb.debian.org when there are none.
add_deb_src() {
  local f out=/etc/apt/sources.list.d/dialplane-src.sources
  : >"$out.tmp"
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" && "$f" != "$out" ]] || continue
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         $0 ~ /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ && $0 !~ /(^|\n)Enabled:[ \t]*no/ {
           sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' "$f" >>"$out.tmp"
  done
  if [[ -f /etc/apt/sources.list ]]; then
    sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' /etc/apt/sources.list >/etc/apt/sources.list.d/dialplane-src.list
    [[ -s /etc/apt/sources.list.d/dialplane-src.list ]] || rm -f /etc/apt/sources.list.d/dialplane-src.list
  fi
  if [[ ! -s "$out.tmp" && ! -f /etc/apt/sources.list.d/dialplane-src.list ]]; then
    cat >"$out.tmp" <<'SRCS'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRCS
  fi
  if [[ -s "$out.tmp" ]]; then mv -f "$out.tmp" "$out"; else rm -f "$out.tmp"; fi
}

if [[ "${FORCE:-0}" != 1 ]] && module_loads "$MOD"; then
  log "already installed and loadable, nothing to do"
  echo "$MOD"
  exit 0
fi

# --- build dependencies (Debian packages only) -------------------------------------------------------
need=()
for p in build-essential dpkg-dev pkg-config libcurl4-openssl-dev libevent-dev libssl-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  log "installing build deps: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- source package ------------------------------------------------------------------------------------
SRC="$WORK/kamailio-$KVER"
if [[ ! -f "$SRC/src/modules/http_async_client/http_async_client_mod.c" ]]; then
  mkdir -p "$WORK"
  cd "$WORK"
  # Pin the exact installed version so module and core always match.
  if ! apt-get source --download-only "kamailio=$KVER" >/dev/null 2>"$WORK/apt-source.err"; then
    log "apt-get source failed; adding deb-src entries for apt's own mirror"
    if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
      add_deb_src
    fi
    apt-get update -qq
    apt-get source --download-only "kamailio=$KVER" >/dev/null
  fi
  rm -rf "$SRC"
  # dpkg-source applies Debian's patches, exactly like the package build.
  dpkg-source --no-check -x "kamailio_${KVER#*:}.dsc" "$SRC" >/dev/null
fi

# --- configure with Debian's flags, then compile just the one module ------------------------------------
cd "$SRC"
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
CC_EXTRA_OPTS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -DVERSION_NODATE"
LD_EXTRA_OPTS="$(dpkg-buildflags --get LDFLAGS)"
log "configuring kamailio $KUP source (make cfg)"
make cfg quiet=1 prefix=/usr cfg_target=/etc/kamailio/ FLAVOUR=kamailio LIBDIR="lib/$MULTIARCH" \
  CC_EXTRA_OPTS="$CC_EXTRA_OPTS" LD_EXTRA_OPTS="$LD_EXTRA_OPTS" \
  include_modules="http_async_client" >/dev/null
log "compiling src/modules/http_async_client"
nice make -C src/modules/http_async_client -j2 quiet=1 >"$WORK/build.log" 2>&1 || {
  tail -30 "$WORK/build.log" >&2; log "build failed (full log: $WORK/build.log)"; exit 1; }

mkdir -p "$DEST"
install -m 0644 src/modules/http_async_client/http_async_client.so "$MOD.tmp"
mv -f "$MOD.tmp" "$MOD"
if ! module_loads "$MOD"; then
  log "built, but kamailio cannot load $MOD"
  exit 1
fi
log "installed and loadable"
echo "$MOD"
