#!/usr/bin/env bash
# Generates include/gosched.h's fresh twin with cbindgen (the `header` feature, in a
# target directory of its own so that it does not disturb the ordinary build) and
# prints the path of the generated file.
set -euo pipefail
cd "$(dirname "$0")/.."
json=$(cargo check --lib --quiet --features header --target-dir target/header --message-format=json)
out=$(printf '%s\n' "$json" | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "build-script-executed" and "gosched" in m.get("package_id", ""):
        print(m["out_dir"])
')
[ -n "$out" ] && [ -f "$out/gosched.h" ] || { echo "gen-header.sh: cbindgen produced no header" >&2; exit 1; }
echo "$out/gosched.h"
