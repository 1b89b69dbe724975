#!/usr/bin/env bash
# Measures gosched against the Go runtime on the same machine, in the same run.
#
#   benches/run.sh [--quick] [--reps N] [--only NAME,...] [--no-build] [--list]
#
# Builds the library (cargo build --release), the C benchmark programs in
# benches/c/ (into target/bench-bin/), the raw switch benchmark (benches/switch.rs)
# and the Go peers (into target/peers-bin/), then runs every workload at each of
# its procs settings REPS times (default 5), gosched and Go alternately, each run
# under `flock /tmp/bench.lock` so that only one benchmark uses the machine at a
# time. Raw result lines go to target/bench-raw.txt, the table (medians, ratios
# gosched/Go, targets, PASS/MISS) to stdout and target/bench-summary.txt.
#
#   --quick       1 rep and reduced n: checks the harness in about a minute
#   --reps N      repetitions per workload and procs setting (default 5)
#   --only LIST   comma-separated workload names (see --list)
#   --no-build    use the library and programs already built
#
# Environment: GS_PEERS_DIR (a checkout of the Go peer programs: a Go module with
# cmd/gobench, cmd/echoserver, cmd/echoclient; without it gosched runs alone),
# GS_BENCH_LOCK (default /tmp/bench.lock).
#
# A C program whose `bench-needs:` symbols the library does not export yet is
# skipped with a message. Exit status: 0 when every run gave a result (a MISS is
# not a failure), 1 when some run failed or crashed, 2 on bad usage.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${GS_PEERS_DIR:-}"
LOCK="${GS_BENCH_LOCK:-/tmp/bench.lock}"
LIB="$ROOT/target/release/libgosched.so"
BIN="$ROOT/target/bench-bin"
GOBIN="$ROOT/target/peers-bin"
RAW="$ROOT/target/bench-raw.txt"
SUMMARY="$ROOT/target/bench-summary.txt"
LOGDIR="$ROOT/target/bench-logs"

ALL_WORKLOADS="raw_switch spawn_join gosched_pingpong park_ready_pingpong mem_parked
chan_pingpong skynet thread_ring sleep_timers sleep_light mutex_uncontended
foreign_pingpong tcp_echo rwmutex_read rwmutex_write once_done select_ticker timer_stop"

# ------------------------------------------------------------------ workloads
# spec NAME sets:
#   PROCS   the procs settings to run
#   N / NQ  n of a full / quick run
#   ITERS / ITERSQ  -iters of a full / quick run (sleep workloads only)
#   GOWL    the Go peer's -workload, empty when there is no Go twin
#   GOPROG  the Go program: gobench (the peers') or gosync (benches/go, in this repository)
#   KIND    c (benches/c/NAME.c), rust (benches/switch.rs) or hook (tcp_echo)
spec() {
    ITERS=""; ITERSQ=""; GOWL=""; KIND=c; GOPROG=gobench
    case "$1" in
    raw_switch)          PROCS="1";   N=10000000; NQ=2000000; KIND=rust ;;
    spawn_join)          PROCS="1 2"; N=1000000;  NQ=100000;  GOWL=spawn_join ;;
    gosched_pingpong)    PROCS="1";   N=10000000; NQ=1000000; GOWL=gosched_pingpong ;;
    park_ready_pingpong) PROCS="1 2"; N=1000000;  NQ=200000 ;;
    mem_parked)          PROCS="2";   N=100000;   NQ=20000;   GOWL=mem_parked ;;
    chan_pingpong)       PROCS="1 2"; N=1000000;  NQ=100000;  GOWL=chan_pingpong ;;
    skynet)              PROCS="1 2"; N=1000000;  NQ=100000;  GOWL=skynet ;;
    thread_ring)         PROCS="1 2"; N=10000000; NQ=1000000; GOWL=thread_ring ;;
    sleep_timers)        PROCS="2";   N=10000;    NQ=1000;    GOWL=sleep_timers; ITERS=100; ITERSQ=20 ;;
    sleep_light)         PROCS="2";   N=100;      NQ=100;     GOWL=sleep_timers; ITERS=100; ITERSQ=20 ;;
    mutex_uncontended)   PROCS="1";   N=10000000; NQ=1000000 ;;
    foreign_pingpong)    PROCS="1 2"; N=100000;   NQ=20000 ;;
    tcp_echo)            PROCS="1 2"; N=0;        NQ=0;       KIND=hook ;;
    rwmutex_read)        PROCS="1 2"; N=10000000; NQ=1000000; GOWL=rwmutex_read; GOPROG=gosync ;;
    rwmutex_write)       PROCS="1";   N=2000000;  NQ=200000;  GOWL=rwmutex_write; GOPROG=gosync ;;
    once_done)           PROCS="1";   N=100000000; NQ=10000000; GOWL=once_done; GOPROG=gosync ;;
    select_ticker)       PROCS="1";   N=5000000;  NQ=500000;  GOWL=select_ticker; GOPROG=gosync ;;
    timer_stop)          PROCS="1";   N=2000000;  NQ=200000;  GOWL=timer_stop; GOPROG=gosync ;;
    *) return 1 ;;
    esac
}

usage() {
    sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
}

QUICK=0; REPS=""; ONLY=""; BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --reps) [ $# -ge 2 ] || usage; REPS="$2"; shift ;;
    --reps=*) REPS="${1#--reps=}" ;;
    --only) [ $# -ge 2 ] || usage; ONLY="$2"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    --no-build) BUILD=0 ;;
    --list) echo $ALL_WORKLOADS; exit 0 ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage ;;
    esac
    shift
done
if [ -z "$REPS" ]; then
    if [ "$QUICK" = 1 ]; then REPS=1; else REPS=5; fi
fi
case "$REPS" in ''|*[!0-9]*|0) echo "run.sh: --reps wants a positive number" >&2; exit 2 ;; esac

WORKLOADS=""
if [ -n "$ONLY" ]; then
    for w in ${ONLY//,/ }; do
        spec "$w" || { echo "run.sh: unknown workload '$w' (known: $(echo $ALL_WORKLOADS))" >&2; exit 2; }
        WORKLOADS="$WORKLOADS $w"
    done
else
    WORKLOADS="$ALL_WORKLOADS"
fi

cd "$ROOT" || exit 2
mkdir -p "$BIN" "$GOBIN" "$LOGDIR"
say() { printf '%s\n' "$*" >&2; }

# ------------------------------------------------------------------ build
if [ "$BUILD" = 1 ]; then
    say "== cargo build --release"
    if ! cargo build --release; then
        if [ -f "$LIB" ]; then
            say "WARNING: cargo build --release failed; benchmarking the library built before"
            STALE_LIB=1
        else
            say "run.sh: cargo build --release failed and there is no library"; exit 1
        fi
    fi
fi
[ -f "$LIB" ] || { say "run.sh: $LIB not found (build first)"; exit 1; }

# The symbols the library exports, one per line.
SYMS="$(nm -D --defined-only "$LIB" 2>/dev/null | awk '$2 == "T" { print $3 }')"
have_sym() { printf '%s\n' "$SYMS" | grep -qx "$1"; }

# The header: the checked-in include/gosched.h (CI keeps it equal to cbindgen's).
HDR_DIR="$ROOT/include"

declare -A SKIP=()   # workload -> reason

# C programs: compile the ones the selected workloads need.
for w in $WORKLOADS; do
    spec "$w"
    [ "$KIND" = c ] || continue
    src="$ROOT/benches/c/$w.c"
    [ -f "$src" ] || { SKIP[$w]="no benches/c/$w.c"; continue; }
    missing=""
    for s in $(sed -n 's/.*bench-needs:\(.*\)/\1/p' "$src" | head -n 1); do
        have_sym "$s" || missing="$missing $s"
    done
    if [ -n "$missing" ]; then
        SKIP[$w]="needs${missing}"
        continue
    fi
    [ "$BUILD" = 1 ] || [ ! -x "$BIN/$w" ] || continue
    defs=""
    have_sym gs_waitgroup_new && defs="$defs -DHAVE_GS_WAITGROUP"
    bash "$ROOT/scripts/soname-link.sh" "$ROOT/target/release"
    # shellcheck disable=SC2086,SC2016
    if ! gcc -O2 -std=c11 -Wall -pthread $defs -I"$HDR_DIR" -I"$ROOT/benches/c" "$src" \
            -L"$ROOT/target/release" -Wl,-rpath,'$ORIGIN/../release' -lgosched -o "$BIN/$w"; then
        SKIP[$w]="does not compile"
    fi
done

# The raw switch benchmark needs the bench_support module and a [[bench]] entry.
SWITCH_OK=0
for w in $WORKLOADS; do
    [ "$w" = raw_switch ] || continue
    if ! grep -q 'mod bench_support' "$ROOT/src/lib.rs" \
        || ! grep -Eq '^name *= *"switch"' "$ROOT/Cargo.toml"; then
        SKIP[raw_switch]='needs "pub mod bench_support" in src/lib.rs and [[bench]] name = "switch", harness = false in Cargo.toml'
    elif [ "$BUILD" = 1 ] && ! cargo bench --bench switch --no-run; then
        SKIP[raw_switch]="cargo bench --bench switch does not build"
    else
        SWITCH_OK=1
    fi
done

# The Go toolchain and the peers.
GO_OK=0
need_go=0
for w in $WORKLOADS; do spec "$w"; [ -n "$GOWL" ] && need_go=1; done
if [ "$need_go" = 1 ]; then
    if ! command -v go >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        say "== installing Go (apt-get install golang-go)"
        apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y golang-go >&2
    fi
    if ! command -v go >/dev/null 2>&1; then
        say "WARNING: no Go toolchain (apt-get install golang-go failed or is not possible): skipping the Go comparison"
    elif [ -z "$PEERS" ] || [ ! -f "$PEERS/cmd/gobench/main.go" ]; then
        say "WARNING: no Go peers (set GS_PEERS_DIR to their checkout): skipping the Go comparison"
    elif [ "$BUILD" = 0 ] && [ -x "$GOBIN/gobench" ]; then
        GO_OK=1
    else
        say "== go build the peers into target/peers-bin/"
        if (cd "$PEERS" && GOFLAGS=-mod=mod go build -o "$GOBIN/" ./cmd/...); then
            GO_OK=1
        else
            say "WARNING: building the Go peers failed: skipping the Go comparison"
        fi
    fi
fi

# The Go twins kept in this repository (benches/go): they need only the toolchain.
GOSYNC_OK=0
if [ "$need_go" = 1 ] && command -v go >/dev/null 2>&1; then
    if [ "$BUILD" = 0 ] && [ -x "$GOBIN/gosync" ]; then
        GOSYNC_OK=1
    elif (cd "$ROOT/benches/go" && go build -o "$GOBIN/" ./cmd/...); then
        GOSYNC_OK=1
    else
        say "WARNING: building benches/go failed: its workloads run without Go"
    fi
fi

# ------------------------------------------------------------------ run
FAILED=0
{
    printf '# gosched %s%s | %s | %s | %s | nproc=%s | %s | mode=%s reps=%s\n' \
        "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "${STALE_LIB:+ (stale library: build failed)}" \
        "$( { [ "$GO_OK" = 1 ] || [ "$GOSYNC_OK" = 1 ]; } && go version || echo 'no Go')" \
        "$(uname -sr)" \
        "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs)" \
        "$(nproc)" "$(date -u +%FT%TZ)" \
        "$( [ "$QUICK" = 1 ] && echo quick || echo full)" "$REPS"
} > "$RAW"

# run_one IMPL WORKLOAD PROCS LABEL CMD... : one timed run under the lock; appends
# its result lines to $RAW (renaming the workload to WORKLOAD) or a FAIL comment.
run_one() {
    local impl="$1" w="$2" p="$3" label="$4"; shift 4
    local err="$LOGDIR/$w-$p-$impl.stderr" out rc tmo=180
    [ "$QUICK" = 1 ] && tmo=90
    out="$(flock "$LOCK" timeout -k 5 "$tmo" "$@" 2>"$err")"
    rc=$?
    out="$(printf '%s\n' "$out" | grep '^workload=' | sed "s/^workload=[^ ]*/workload=$w/")"
    if [ "$rc" != 0 ] || [ -z "$out" ]; then
        echo "# FAIL workload=$w procs=$p impl=$impl rc=$rc" >> "$RAW"
        printf '  %-6s FAIL (exit %s); stderr: %s\n' "$impl" "$rc" "${err#"$ROOT"/}" >&2
        tail -n 5 "$err" | sed 's/^/         | /' >&2
        FAILED=1
        return
    fi
    printf '%s\n' "$out" >> "$RAW"
    printf '%s\n' "$out" | while read -r line; do
        local v u i
        v="$(printf '%s\n' "$line" | sed -n 's/.* value=\([^ ]*\).*/\1/p')"
        u="$(printf '%s\n' "$line" | sed -n 's/.* unit=\([^ ]*\).*/\1/p')"
        i="$(printf '%s\n' "$line" | sed -n 's/.* impl=\([^ ]*\).*/\1/p')"
        printf '  %-8s %12s %s%s\n' "${i:-$label}" "$v" "$u" \
            "$(printf '%s\n' "$line" | grep -o ' \(oversleep_mean_us\|join\|ratio_vs_minimal\)=[^ ]*' | tr -d '\n')" >&2
    done
}

# tcp_echo hook -----------------------------------------------------------------
# benches/tcp_echo.sh runs the gosched echo server (examples-c/echo_server.c) and
# Go's, both driven by Go's echo client; its lines land in $RAW, where summarize.py
# keys tcp_echo rows by server= and server_procs=.
tcp_echo_hook() {
    # The gosched echo server and Go's, both driven by Go's client (benches/tcp_echo.sh).
    if [ "$GO_OK" != 1 ]; then
        SKIP[tcp_echo]="needs Go for the peers' echo client"
        return
    fi
    local q="" out rep
    [ "$QUICK" = 1 ] && q="--quick"
    for rep in $(seq 1 "$REPS"); do
        say "-- tcp_echo rep $rep/$REPS"
        if ! out="$(flock "$LOCK" timeout -k 5 900 bash "$ROOT/benches/tcp_echo.sh" --no-lock $q \
                2>"$LOGDIR/tcp_echo-$rep.stderr")"; then
            echo "# FAIL workload=tcp_echo rep=$rep" >> "$RAW"
            printf '  tcp_echo FAIL; stderr: %s\n' "target/bench-logs/tcp_echo-$rep.stderr" >&2
            FAILED=1
        fi
        printf '%s\n' "$out" | grep '^workload=' >> "$RAW" || true
        printf '%s\n' "$out" | grep '^workload=' | sed 's/^/  /' || true
    done
}

for w in $WORKLOADS; do
    spec "$w"
    if [ "$KIND" = hook ]; then
        tcp_echo_hook
        [ -n "${SKIP[$w]:-}" ] && say "-- $w: skipped: ${SKIP[$w]}"
        continue
    fi
    if [ -n "${SKIP[$w]:-}" ]; then
        say "-- $w: skipped: ${SKIP[$w]}"
        continue
    fi
    n="$N"; iters="$ITERS"
    if [ "$QUICK" = 1 ]; then n="$NQ"; iters="$ITERSQ"; fi
    for p in $PROCS; do
        for rep in $(seq 1 "$REPS"); do
            say "-- $w procs=$p n=$n${iters:+ iters=$iters} rep $rep/$REPS"
            if [ "$KIND" = rust ]; then
                [ "$SWITCH_OK" = 1 ] && run_one gosched "$w" "$p" gosched \
                    cargo bench -q --bench switch -- -n "$n"
            else
                run_one gosched "$w" "$p" gosched env GS_MAXPROCS="$p" "$BIN/$w" -n "$n" \
                    ${iters:+-iters "$iters"}
            fi
            if [ -n "$GOWL" ] && { { [ "$GOPROG" = gobench ] && [ "$GO_OK" = 1 ]; } \
                    || { [ "$GOPROG" = gosync ] && [ "$GOSYNC_OK" = 1 ]; }; }; then
                run_one go "$w" "$p" go env GOMAXPROCS="$p" "$GOBIN/$GOPROG" -workload "$GOWL" \
                    -n "$n" ${iters:+-iters "$iters"}
            fi
        done
    done
done

for w in $WORKLOADS; do
    [ -n "${SKIP[$w]:-}" ] && echo "# skipped workload=$w reason=${SKIP[$w]}" >> "$RAW"
done
echo "# done $(date -u +%FT%TZ)" >> "$RAW"

# ------------------------------------------------------------------ table
echo
python3 "$ROOT/benches/summarize.py" "$RAW" | tee "$SUMMARY"
missing_go=0
for w in $WORKLOADS; do
    spec "$w"
    [ -n "$GOWL" ] || continue
    { [ "$GOPROG" = gobench ] && [ "$GO_OK" != 1 ]; } && missing_go=1
    { [ "$GOPROG" = gosync ] && [ "$GOSYNC_OK" != 1 ]; } && missing_go=1
done
[ "$missing_go" = 0 ] || echo "(some Go comparisons are missing from this run: see the warnings above)"
echo
echo "raw lines: ${RAW#"$ROOT"/}   table: ${SUMMARY#"$ROOT"/}"
exit "$FAILED"
