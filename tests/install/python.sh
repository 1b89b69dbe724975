#!/usr/bin/env bash
# The Python package as a user installs it (tests/install.rs runs this): in a fresh
# virtual environment, `pip install ./bindings/python` from a copy of the tree (the
# build hook compiles libgosched with cargo), the copy deleted, then from / with no
# environment variable a program using goroutines and channels runs on the library
# inside the package, and the wheel's tag is a platform tag. Then an sdist of the
# package builds, with `pip wheel`, the same platform wheel with the library inside.
#
#   tests/install/python.sh WORKDIR
#
# pip fetches the build backend (setuptools, wheel) from the package index. Without
# python3 and its venv module it says "SKIPPED: ..." with the reason. Ends with
# "python-install: OK".
set -euo pipefail
NAME=python-install
source "$(dirname "$0")/common.sh"
[ $# -eq 1 ] || { echo "usage: tests/install/python.sh WORKDIR" >&2; exit 2; }
W=$1
rm -rf "$W" && mkdir -p "$W"
W=$(cd "$W" && pwd)
if ! command -v python3 >/dev/null 2>&1; then
    say "SKIPPED: python3 not found"
    exit 0
fi
if ! python3 -m venv "$W/venv" >"$W/venv.log" 2>&1; then
    say "SKIPPED: python3 -m venv failed (no venv module?): $(tail -n 1 "$W/venv.log")"
    exit 0
fi
py="$W/venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check)
# What a user's shell would not have: nothing points at a library or a build.
clean=(env -u GOSCHED_LIBRARY -u CARGO_TARGET_DIR -u LD_LIBRARY_PATH -u PYTHONPATH)

copy_tree "$W/src"
say "pip install ./bindings/python in a fresh venv"
(cd "$W/src" && "${clean[@]}" "${pip[@]}" install ./bindings/python) >"$W/pip-install.log" 2>&1 \
    || { tail -n 40 "$W/pip-install.log" >&2; fail "pip install ./bindings/python"; }

# The sdist, while the tree is there.
(cd "$W/src/bindings/python" && "${clean[@]}" "$py" -c \
    "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))" "$W/dist") \
    >"$W/sdist.log" 2>&1 || {
    # No setuptools in the venv (Python 3.12 and later have none): fetch it.
    "${pip[@]}" install -q setuptools >>"$W/sdist.log" 2>&1
    (cd "$W/src/bindings/python" && "${clean[@]}" "$py" -c \
        "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))" "$W/dist") \
        >>"$W/sdist.log" 2>&1 || { cat "$W/sdist.log" >&2; fail "building the sdist"; }
}
rm -rf "$W/src"
say "deleted the tree"

site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
tag=$(sed -n 's/^Tag: //p' "$site"/gosched-*.dist-info/WHEEL)
case "$tag" in
*-none-any | "") fail "the installed wheel's tag is '$tag', not a platform tag" ;;
*linux_x86_64 | *linux_aarch64 | *linux_*) ;;
*) fail "unexpected wheel tag '$tag'" ;;
esac
[ -f "$site/gosched/libgosched.so" ] || fail "no libgosched.so inside the installed package"
say "installed wheel: tag $tag, libgosched.so inside"

cat >"$W/prog.py" <<'PY'
import gosched

with gosched.Runtime(procs=2):
    results = gosched.Chan(4)
    wg = gosched.WaitGroup()

    def worker(n):
        results.send(n * n)
        wg.done()

    wg.add(20)
    for n in range(20):
        gosched.go(worker, n)

    def closer():
        wg.wait()
        results.close()

    gosched.go(closer)
    total = sum(results)
assert total == sum(n * n for n in range(20)), total
print("prog: OK", total, gosched.library_path, gosched.library_version())
PY
out=$(cd / && env -i PATH=/usr/bin:/bin HOME="${HOME:-/root}" timeout 120 "$py" "$W/prog.py" 2>&1) \
    || fail "the program failed from /: $out"
case "$out" in
"prog: OK 2470 $site/gosched/libgosched.so "*) ;;
*) fail "the program printed: $out" ;;
esac
say "from / with no environment variable: $out"

sdist=$(ls "$W"/dist/gosched-*.tar.gz 2>/dev/null | head -n 1)
[ -n "$sdist" ] || fail "no sdist in $W/dist"
listing=$(tar -tzf "$sdist")
for f in rust/Cargo.toml rust/Cargo.lock rust/build.rs rust/src/lib.rs setup.py pyproject.toml; do
    grep -q "^gosched-[^/]*/$f\$" <<<"$listing" || fail "the sdist has no $f"
done
"${clean[@]}" "${pip[@]}" wheel --no-deps -w "$W/wheels" "$sdist" >"$W/pip-wheel.log" 2>&1 \
    || { tail -n 40 "$W/pip-wheel.log" >&2; fail "pip wheel of the sdist"; }
whl=$(ls "$W"/wheels/gosched-*.whl | head -n 1)
case "$(basename "$whl")" in
*-none-any.whl) fail "the sdist built $(basename "$whl"), not a platform wheel" ;;
esac
"$py" -c 'import sys, zipfile; n = zipfile.ZipFile(sys.argv[1]).namelist(); sys.exit("gosched/libgosched.so" not in n)' "$whl" \
    || fail "$(basename "$whl") has no gosched/libgosched.so"
say "sdist $(basename "$sdist") -> pip wheel -> $(basename "$whl"), library inside"
say "OK"
