#!/usr/bin/env python3
"""Checks a gosched trace (JSON Trace Event format) against what the workload did.

Usage: check_trace.py TRACE.json "did goroutines=N chan_handoffs=M ..."

Fails (exit 1, with the reasons) unless:
- the file parses, and every goroutine's events form a legal sequence of states:
  created -> runnable -> running -> (waiting -> runnable | runnable | dead) ...;
- every "ready" names a waker that was running on the same track at that moment
  (or, for waker 0, no goroutine was running there), and is followed by a run of
  the goroutine it readied;
- the runs on each track are in increasing time order and do not overlap;
- the numbers of goroutines created and of channel hand-offs (parks on a channel)
  are the ones the program reports, and the expected reasons, names, regions and
  log message are there.
"""
import collections
import json
import sys

errors = []


def fail(msg):
    errors.append(msg)


def main():
    path, did = sys.argv[1], sys.argv[2]
    want = dict(kv.split("=") for kv in did.split()[1:])
    with open(path) as f:
        doc = json.load(f)
    evs = doc["traceEvents"]
    runs = [e for e in evs if e.get("ph") == "X" and e.get("cat") == "goroutine"]
    readies = [e for e in evs if e.get("ph") == "X" and e.get("cat") == "wake"]
    creates = [e for e in evs if e.get("ph") == "X" and e.get("cat") == "create"]
    if not runs:
        fail("no goroutine runs in the trace")

    # Runs per track: increasing and disjoint.
    by_tid = collections.defaultdict(list)
    for r in runs:
        by_tid[r["tid"]].append(r)
    for tid, rs in by_tid.items():
        rs.sort(key=lambda r: r["ts"])
        for a, b in zip(rs, rs[1:]):
            if b["ts"] < a["ts"] + a["dur"] - 1e-6:
                fail(f"track {tid}: run of G{b['args']['g']} at {b['ts']} overlaps G{a['args']['g']} "
                     f"({a['ts']}+{a['dur']})")

    def running_at(tid, ts):
        for r in by_tid.get(tid, []):
            if r["ts"] - 1e-6 <= ts <= r["ts"] + r["dur"] + 1e-6:
                return r["args"]["g"]
        return 0

    # Per goroutine sequences. Order at equal times: create, stop, ready, start.
    seq = collections.defaultdict(list)
    for c in creates:
        seq[c["args"]["g"]].append((c["ts"], 0, "create", c))
    for r in runs:
        g = r["args"]["g"]
        seq[g].append((r["ts"], 3, "start", r))
        seq[g].append((r["ts"] + r["dur"], 1, "stop:" + r["args"]["end"], r))
    for w in readies:
        seq[w["args"]["g"]].append((w["ts"], 2, "ready", w))
        waker = w["args"]["waker"]
        on = running_at(w["tid"], w["ts"])
        if waker != 0 and on != waker:
            fail(f"ready of G{w['args']['g']} at {w['ts']} by G{waker}, but G{on} runs on track {w['tid']}")
        if waker == 0 and on != 0:
            fail(f"ready of G{w['args']['g']} at {w['ts']} by no goroutine, but G{on} runs on track {w['tid']}")
    trans = {
        ("none", "create"): "runnable",
        ("runnable", "start"): "running",
        ("running", "stop:block"): "waiting",
        ("running", "stop:yield"): "runnable",
        ("running", "stop:syscall"): "runnable",
        ("running", "stop:end"): "dead",
        ("running", "stop:running"): "running",
        ("waiting", "ready"): "runnable",
    }
    for g, es in seq.items():
        es.sort(key=lambda e: (e[0], e[1]))
        state = "none"
        for ts, _, what, _e in es:
            nxt = trans.get((state, what))
            if nxt is None:
                fail(f"G{g}: {what} at {ts} while {state}: {[x[2] for x in es]}")
                break
            state = nxt
        else:
            if state != "dead":
                fail(f"G{g}: ends the trace {state}, the program ended it")

    # Counts.
    if len(creates) != int(want["goroutines"]):
        fail(f"{len(creates)} goroutines created in the trace, the program made {want['goroutines']}")
    chan = [r for r in runs if r["args"]["end"] == "block" and r["args"].get("reason") in ("chan send", "chan receive")]
    if len(chan) != int(want["chan_handoffs"]):
        fail(f"{len(chan)} channel hand-offs in the trace, the program made {want['chan_handoffs']}")
    shallow = [r for r in runs if r["args"]["end"] == "block" and not r["args"].get("stack_kib")]
    if shallow:
        fail(f"{len(shallow)} parked runs without a stack depth, e.g. {shallow[0]}")
    reasons = collections.Counter(r["args"].get("reason") for r in runs if r["args"]["end"] == "block")
    for want_reason in ("sync.Mutex.Lock", "sync.WaitGroup.Wait", "sleep", "IO wait"):
        if reasons[want_reason] == 0:
            fail(f"no goroutine blocked on {want_reason!r}: {dict(reasons)}")
    names = collections.Counter(r["name"] for r in runs)
    for n in ("pinger", "ponger", "locker", "sleeper", "blocker", "echo-client", "echo-accept", "echo-conn"):
        if names[n] == 0:
            fail(f"no run slice named {n!r}")
    if not any(e.get("cat") == "syscall" and e["name"] == "blocking call" for e in evs):
        fail("no blocking call in the trace")
    regions = [e for e in evs if e.get("cat") == "region" and e["name"] == "ping-pong"]
    if sorted(e["ph"] for e in regions) != ["b", "e"]:
        fail(f"region ping-pong: {regions}")
    logs = [e for e in evs if e.get("cat") == "log" and e["name"] == "pinger"]
    if len(logs) != 1 or logs[0]["args"]["message"] != "all pongs received":
        fail(f"log message: {logs}")
    ready_count = len(readies)
    if errors:
        print("\n".join(errors[:30]), file=sys.stderr)
        print(f"check_trace: {len(errors)} problems", file=sys.stderr)
        sys.exit(1)
    print(f"check_trace: ok: {len(runs)} runs, {len(creates)} goroutines, {ready_count} wakeups, "
          f"{len(chan)} channel hand-offs, {len(by_tid)} tracks")


main()
