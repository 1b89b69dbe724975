#!/usr/bin/env bash
# tcp_echo: the gosched echo server (examples-c/echo_server.c) against the Go echo
# server, both driven by Go's echo client (the peers' cmd/echoclient) over loopback.
#
#   benches/tcp_echo.sh [--quick] [--no-lock] [--procs "1 2"]
#
# For each server procs setting P (default 1 and 2): start the gosched server with
# GS_MAXPROCS=P on 127.0.0.1 (ephemeral port), run the Go client (GOMAXPROCS=1,
# -c 100 -m 20000 -size 64), stop the server by its PID; then the same with the Go
# server at GOMAXPROCS=P. Prints the client's result line of each run, tagged
# "server=gosched server_procs=P" or "server=go server_procs=P":
#
#   workload=tcp_echo procs=1 n=2000000 value=<req/s> unit=req/s p50_us=.. p99_us=.. ...
#
# Each server+client pair runs under `flock /tmp/bench.lock` (GS_BENCH_LOCK) so that
# only one benchmark uses the machine at a time; --no-lock skips that for a caller
# that already holds the lock. --quick: -m 2000.
#
# Builds what is missing: the library (cargo build --release), the server (into
# target/examples-c/echo_server), the Go client and server (go build from the peers,
# GS_PEERS_DIR, a checkout of the Go peer programs, into target/peers-bin/, where
# benches/run.sh also puts them). Exit status 0 when every run produced its line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/benches/tcp_echo.sh"
PEERS="${GS_PEERS_DIR:-}"
LOCK="${GS_BENCH_LOCK:-/tmp/bench.lock}"
GOBIN="$ROOT/target/peers-bin"
SRV="$ROOT/target/examples-c/echo_server"
CONNS=100
SIZE=64

# ---------------------------------------------------------------- one pair
# --one IMPL PROCS MSGS: start one server, run the client once, stop the server.
if [ "${1:-}" = "--one" ]; then
    impl="$2"; procs="$3"; msgs="$4"
    tmp="$(mktemp -d /tmp/tcp_echo.XXXXXX)"
    srv_pid=""
    cleanup() {
        if [ -n "$srv_pid" ]; then
            kill "$srv_pid" 2>/dev/null || true
            wait "$srv_pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
    }
    trap cleanup EXIT
    case "$impl" in
    gosched)
        GS_MAXPROCS="$procs" "$SRV" 0 --max-seconds 150 >"$tmp/out" 2>"$tmp/err" &
        srv_pid=$!
        pattern='s/^port=\([0-9][0-9]*\)$/127.0.0.1:\1/p' ;;
    go)
        GOMAXPROCS="$procs" "$GOBIN/echoserver" -addr 127.0.0.1:0 -lifetime 150s >"$tmp/out" 2>"$tmp/err" &
        srv_pid=$!
        pattern='s/^listening \(127\.0\.0\.1:[0-9][0-9]*\)$/\1/p' ;;
    *) echo "tcp_echo.sh: unknown server '$impl'" >&2; exit 2 ;;
    esac
    addr=""
    for _ in $(seq 1 100); do
        addr="$(sed -n "$pattern" "$tmp/out" | head -n 1)"
        [ -n "$addr" ] && break
        kill -0 "$srv_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$addr" ]; then
        echo "tcp_echo.sh: the $impl server did not start; its stderr:" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    GOMAXPROCS=1 "$GOBIN/echoclient" -addr "$addr" -c "$CONNS" -m "$msgs" -size "$SIZE" \
        -deadline 60s -tag "server=$impl server_procs=$procs"
    exit $?
fi

# ---------------------------------------------------------------- options
MSGS=20000; USE_LOCK=1; PROCS="1 2"
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) MSGS=2000 ;;
    --no-lock) USE_LOCK=0 ;;
    --procs) [ $# -ge 2 ] || { echo "tcp_echo.sh: --procs wants a list" >&2; exit 2; }; PROCS="$2"; shift ;;
    -h|--help) sed -n '2,24p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tcp_echo.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# ---------------------------------------------------------------- build
if [ ! -f "$ROOT/target/release/libgosched.so" ]; then
    echo "== cargo build --release" >&2
    (cd "$ROOT" && cargo build --release >&2)
fi
bash "$ROOT/scripts/soname-link.sh" "$ROOT/target/release"
if [ ! -x "$SRV" ] || [ "$ROOT/examples-c/echo_server.c" -nt "$SRV" ] \
    || [ "$ROOT/examples-c/echo_server.h" -nt "$SRV" ] \
    || [ "$ROOT/target/release/libgosched.so" -nt "$SRV" ]; then
    echo "== building target/examples-c/echo_server" >&2
    mkdir -p "$(dirname "$SRV")"
    gcc -std=c11 -O2 -Wall -Wextra -Werror -pthread -I"$ROOT/include" \
        "$ROOT/examples-c/echo_server.c" -L"$ROOT/target/release" -lgosched \
        -Wl,-rpath,"$ROOT/target/release" -o "$SRV"
fi
if [ ! -x "$GOBIN/echoclient" ] || [ ! -x "$GOBIN/echoserver" ]; then
    if [ -z "$PEERS" ]; then
        echo "tcp_echo.sh: no $GOBIN/echoclient and GS_PEERS_DIR is not set (the Go peer programs)" >&2
        exit 1
    fi
    if ! command -v go >/dev/null 2>&1; then
        echo "tcp_echo.sh: no Go toolchain and no $GOBIN/echoclient: install golang-go or run benches/run.sh" >&2
        exit 1
    fi
    echo "== go build the echo peers into target/peers-bin/" >&2
    mkdir -p "$GOBIN"
    (cd "$PEERS" && GOFLAGS=-mod=mod go build -o "$GOBIN/" ./cmd/echoclient ./cmd/echoserver) >&2
fi

# ---------------------------------------------------------------- run
status=0
for p in $PROCS; do
    for impl in gosched go; do
        if [ "$USE_LOCK" = 1 ]; then
            flock "$LOCK" "$SELF" --one "$impl" "$p" "$MSGS" || { echo "tcp_echo.sh: $impl server, procs $p: FAILED" >&2; status=1; }
        else
            "$SELF" --one "$impl" "$p" "$MSGS" || { echo "tcp_echo.sh: $impl server, procs $p: FAILED" >&2; status=1; }
        fi
    done
done
exit $status
