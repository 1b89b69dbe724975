#!/usr/bin/env bash
# The main demo: a C program on gosched with many goroutines, channels, an echo server
# over loopback and timers; prints its statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
bash scripts/soname-link.sh target/release
mkdir -p target/demo
gcc -std=c11 -O2 -pthread -Iinclude examples-c/demo.c -Ltarget/release -lgosched \
    -Wl,-rpath,"$PWD/target/release" -o target/demo/demo
exec target/demo/demo "$@"
