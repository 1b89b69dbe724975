#!/usr/bin/env bash
# Makes each DIR (default: the cargo target directory's release/) that holds a
# libgosched.so hold libgosched.so.<major> too, a link to it: the library's SONAME
# (build.rs), which is the name a program linked with -lgosched asks for at run time.
# cargo builds only libgosched.so; `make build` runs this after it.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(sed -n 's/^version = "\([0-9][0-9]*\)\..*/\1/p' Cargo.toml | head -n 1)
[ -n "$major" ] || { echo "soname-link.sh: no version in Cargo.toml" >&2; exit 1; }
[ $# -gt 0 ] || set -- "${CARGO_TARGET_DIR:-target}/release"
for d in "$@"; do
    [ -f "$d/libgosched.so" ] || { echo "soname-link.sh: no $d/libgosched.so" >&2; exit 1; }
    ln -sfn libgosched.so "$d/libgosched.so.$major"
done
