# Sourced by the bench wrappers (run-bench.sh, run-media-bench.sh): checks the tools, builds the dialplane binary
# when it is missing and Kamailio's http_async_client module. Sets ROOT and DIALPLANE_BIN; cd's to ROOT.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export DIALPLANE_BIN=${DIALPLANE_BIN:-$ROOT/build/dialplane}

for t in redis-server rtpengine kamailio sipp haproxy; do
  command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] || { echo "bench: $t missing: run scripts/install-deps.sh" >&2; exit 1; }
done
if [[ ! -x "$DIALPLANE_BIN" ]]; then
  echo "bench: building $DIALPLANE_BIN" >&2
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build --target dialplane -j"${JOBS:-2}" >/dev/null
fi
bash kamailio-cfg/build-http-async-client.sh >/dev/null
