#!/usr/bin/env bash
# The loom models (see src/loom.rs): the tests named loom_*, built with --cfg loom in
# target/loom (a build of its own: loom's atomics replace the standard ones in the
# files they check). Bounded: at most LOOM_MAX_PREEMPTIONS (default 3) preemptions
# per interleaving.
set -euo pipefail
cd "$(dirname "$0")/.."
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo test --release --lib loom_ -- --test-threads=1
