#!/usr/bin/env bash
# Every test of the project: Rust unit and integration tests, which also compile and
# run the C tests and examples, the C++ tests (g++, and clang++ if installed) and the
# Python tests; then the loom models. Works on a fresh machine with the Rust
# toolchain, gcc/g++ and Python 3.
set -euo pipefail
cd "$(dirname "$0")/.."

# Optional tools: the AArch64 assembler, cross compiler and qemu check and run
# asm/aarch64.S; clang++ compiles the C++ binding a second time and, with gcc, builds
# the sanitizer tests; gdb runs tests/gdb.rs; pkg-config and cmake build the install
# tests' programs. Install them when we can (root with apt); the tests that need
# them say "SKIPPED" otherwise.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    missing=()
    command -v aarch64-linux-gnu-as >/dev/null 2>&1 || missing+=(binutils-aarch64-linux-gnu)
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
    command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
    command -v clang++ >/dev/null 2>&1 || missing+=(clang)
    command -v gdb >/dev/null 2>&1 || missing+=(gdb)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v cmake >/dev/null 2>&1 || missing+=(cmake)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing optional test tools: ${missing[*]}"
        (timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
            || echo "could not install ${missing[*]}; the tests that need them will be skipped"
    fi
fi

cargo build --release
bash scripts/soname-link.sh target/release
# One test binary at a time (the C programs inside use every core themselves). Both
# parts run even if the first fails; the summary counts both.
status=0
cargo test --release -- --test-threads=1 2>&1 | tee target/test-output.txt || status=1
# The loom models of the lock-free core (a build of their own, see scripts/loom.sh).
bash scripts/loom.sh 2>&1 | tee -a target/test-output.txt || status=1
passed=$(grep -Eo '[0-9]+ passed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
