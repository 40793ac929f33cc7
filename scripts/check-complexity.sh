#!/usr/bin/env bash
# Lists every function in service/ whose cognitive complexity is above the .clang-tidy threshold (25), with
# clang-tidy's readability-function-cognitive-complexity check only. Exit 1 when there is one.
#
# Usage: scripts/check-complexity.sh [FILE...]   (default: every service/ source in the compile database)
# Env:   BUILD_DIR (build; configured here with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON when it has no
#        compile_commands.json)  JOBS (2)  CLANG_TIDY (clang-tidy)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
command -v "$CLANG_TIDY" >/dev/null || { echo "$CLANG_TIDY not found (apt-get install clang-tidy)" >&2; exit 2; }

if [[ ! -f $BUILD_DIR/compile_commands.json ]]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null || exit 2
fi

WORK=$(mktemp -d /tmp/dp-complexity.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# A copy of the compile database that includes the precompiled header's source instead of CMake's PCH
# wrapper: clang cannot read the .gch that GCC leaves beside the wrapper once the build has run.
/usr/bin/python3 - "$BUILD_DIR/compile_commands.json" "$WORK/compile_commands.json" <<'PY'
import json, re, sys
db = json.load(open(sys.argv[1]))
for entry in db:
    cmd = entry["command"]
    for wrapper in re.findall(r"-include (\S+/cmake_pch\.hxx)", cmd):
        real = re.search(r'#include "([^"]+)"', open(wrapper).read()).group(1)
        cmd = cmd.replace(wrapper, real)
    entry["command"] = cmd.replace(" -Winvalid-pch", "")
json.dump(db, open(sys.argv[2], "w"), indent=1)
PY

if (($#)); then
  files=("$@")
else
  mapfile -t files < <(/usr/bin/python3 -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    if "/service/" in e["file"]:
        print(e["file"])' "$WORK/compile_commands.json" | sort -u)
fi

# One clang-tidy per file, JOBS at a time; headers under service/ are checked through the sources that include them.
printf '%s\n' "${files[@]}" | xargs -P "$JOBS" -I{} \
  "$CLANG_TIDY" -p "$WORK" --quiet --checks='-*,readability-function-cognitive-complexity' {} \
  >"$WORK/out.txt" 2>"$WORK/err.txt"
grep -E 'error:' "$WORK/out.txt" "$WORK/err.txt" | head -20 >&2

# "path:line:col: warning: function 'name' has cognitive complexity of N (threshold 25)" -> one line per function
grep -Eo "[^ ]+:[0-9]+:[0-9]+: warning: function '[^']+' has cognitive complexity of [0-9]+" "$WORK/out.txt" \
  | sed -E "s|^$ROOT/||; s|:([0-9]+):[0-9]+: warning: function '([^']+)' has cognitive complexity of ([0-9]+)|:\1 \2 \3|" \
  | sort -u | sort -k3,3nr >"$WORK/over.txt"
if [[ -s $WORK/over.txt ]]; then
  echo "functions above cognitive complexity 25 (.clang-tidy):"
  column -t "$WORK/over.txt"
  exit 1
fi
echo "no function in ${#files[@]} files above cognitive complexity 25"
