#!/usr/bin/env bash
# A/B: the same benchmark programs against two builds of the library, alternately,
# in one run (so that both see the same machine).
#
#   benches/ab.sh BASE [--reps N] [--only NAME,...]
#
# BASE is a git revision. It is checked out into target/ab-base/ (a git worktree)
# and built there; B is the working tree, built with cargo build --release. Every C
# workload of benches/run.sh is compiled once against include/gosched.h (without an
# rpath) and run REPS times (default 7) with LD_LIBRARY_PATH pointing at A, then
# at B, A, B... Prints per workload and procs setting the median of each side and
# the ratio B/A (below 1: B is faster). Raw lines go to target/ab-raw.txt.
#
# The programs are compiled with -DGS_NO_INLINE_RWMUTEX: the header's inline
# read-lock reads the lock's head, which the base revision may lay out otherwise (or
# lack the slow halves it calls), so rwmutex_read compares the exported functions.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
[ $# -ge 1 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
BASE="$1"; shift
REPS=7; ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) REPS="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    *) echo "ab.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

WT="$ROOT/target/ab-base"
if [ -d "$WT" ]; then
    git -C "$WT" checkout -q --detach "$BASE" || exit 1
else
    git worktree add -f --detach "$WT" "$BASE" >/dev/null || exit 1
fi
(cd "$WT" && cargo build --release --quiet) || { echo "ab.sh: building $BASE failed" >&2; exit 1; }
cargo build --release --quiet || { echo "ab.sh: building the working tree failed" >&2; exit 1; }
LIB_A="$WT/target/release"
LIB_B="$ROOT/target/release"
# The programs ask for the SONAME (libgosched.so.<major>), which cargo does not make.
bash scripts/soname-link.sh "$LIB_A" "$LIB_B" || exit 1

# workload: procs settings and n (as in run.sh, a little smaller for the slow ones).
declare -A PROCS=(
    [spawn_join]="1 2" [gosched_pingpong]="1" [park_ready_pingpong]="1 2"
    [chan_pingpong]="1 2" [skynet]="1 2" [thread_ring]="1 2" [sleep_timers]="2"
    [sleep_light]="2" [mutex_uncontended]="1" [foreign_pingpong]="1 2" [mem_parked]="2"
    [rwmutex_read]="1 2" [rwmutex_write]="1" [once_done]="1" [select_ticker]="1" [timer_stop]="1"
)
declare -A ARGS=(
    [spawn_join]="-n 1000000" [gosched_pingpong]="-n 10000000" [park_ready_pingpong]="-n 1000000"
    [chan_pingpong]="-n 1000000" [skynet]="-n 1000000" [thread_ring]="-n 10000000"
    [sleep_timers]="-n 10000 -iters 100" [sleep_light]="-n 100 -iters 100"
    [mutex_uncontended]="-n 10000000" [foreign_pingpong]="-n 100000" [mem_parked]="-n 100000"
    [rwmutex_read]="-n 10000000" [rwmutex_write]="-n 2000000" [once_done]="-n 100000000" [select_ticker]="-n 5000000"
    [timer_stop]="-n 2000000"
)
ORDER="spawn_join gosched_pingpong park_ready_pingpong chan_pingpong skynet thread_ring sleep_timers sleep_light mutex_uncontended foreign_pingpong mem_parked rwmutex_read rwmutex_write once_done select_ticker timer_stop"
[ -n "$ONLY" ] && ORDER="${ONLY//,/ }"

BIN="$ROOT/target/ab-bin"
mkdir -p "$BIN"
RAW="$ROOT/target/ab-raw.txt"
: > "$RAW"
for w in $ORDER; do
    [ -n "${PROCS[$w]:-}" ] || { echo "ab.sh: unknown workload $w" >&2; exit 2; }
    src="benches/c/$w.c"
    [ "$w" = sleep_light ] && src="benches/c/sleep_timers.c"
    gcc -O2 -std=c11 -Wall -pthread -DHAVE_GS_WAITGROUP -DGS_NO_INLINE_RWMUTEX -Iinclude -Ibenches/c "$src" \
        -L"$LIB_B" -lgosched -o "$BIN/$w" || exit 1
done

for w in $ORDER; do
    for p in ${PROCS[$w]}; do
        for _ in $(seq "$REPS"); do
            for side in A B; do
                lib=$LIB_A; [ "$side" = B ] && lib=$LIB_B
                # shellcheck disable=SC2086
                line=$(LD_LIBRARY_PATH="$lib" GS_MAXPROCS=$p timeout 300 "$BIN/$w" ${ARGS[$w]} 2>/dev/null \
                    | grep '^workload=' | head -n 1)
                # ab= names the row: sleep_light is the sleep_timers program.
                [ -n "$line" ] && echo "side=$side ab=$w $line" >> "$RAW"
            done
        done
    done
done

python3 - "$RAW" <<'EOF'
import sys, statistics, collections
rows = collections.defaultdict(lambda: {"A": [], "B": []})
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    rows[(kv["ab"], kv["procs"], kv.get("unit", ""))][kv["side"]].append(float(kv["value"]))
print(f"{'workload':22} {'P':>2} {'A median':>12} {'B median':>12} {'B/A':>6}  unit")
for (w, p, u), v in rows.items():
    if v["A"] and v["B"]:
        a, b = statistics.median(v["A"]), statistics.median(v["B"])
        print(f"{w:22} {p:>2} {a:12.4g} {b:12.4g} {b / a:6.3f}  {u}")
EOF
