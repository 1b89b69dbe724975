"""A ring of Python goroutines, each interleaving send, recv, sleep and gosched at random
call depths and checking its own values and local state after every switch.

Used in-process by test_stress.py and in subprocesses (lock mode). Not a test module.
"""

from __future__ import annotations

import random
import sys
import threading
from typing import List

import gosched

MAX_DEPTH = 8


def _frame_depth() -> int:
    n, f = 0, sys._getframe(1)
    while f is not None:
        n, f = n + 1, f.f_back
    return n


def run_ring(n: int, rounds: int, seed: int = 1) -> List[str]:
    """Runs the ring; returns the list of problems found (empty when all is well)."""
    chans = [gosched.Chan(1) for _ in range(n)]
    finished = gosched.Chan(n)
    errors: List[str] = []
    local = threading.local()
    have_sleep = gosched.has("gs_sleep")
    lock_mode = gosched.thread_mode() == "lock"

    def member(i: int) -> None:
        rng = random.Random(seed * 1_000_003 + i)
        me = gosched.goid()
        thread0 = threading.get_ident()
        local.owner = i
        inbox, outbox = chans[i], chans[(i + 1) % n]
        prev = (i - 1) % n
        base = _frame_depth()
        switches = 0

        def check(where: str, depth: int, token: tuple) -> None:
            if gosched.goid() != me:
                errors.append(f"{i}: goroutine id changed at {where}")
            if getattr(local, "owner", None) != i:
                errors.append(f"{i}: threading.local changed at {where}")
            if token != (i, depth, where):
                errors.append(f"{i}: local variables changed at {where}: {token}")
            # this frame's depth: base (member) + 1 (at_depth at depth MAX) ... + one per level
            if _frame_depth() != base + 1 + (top - depth) + 1:
                errors.append(f"{i}: frame chain has the wrong length at {where}")
            if lock_mode and threading.get_ident() != thread0:
                errors.append(f"{i}: moved to another OS thread in lock mode")

        def at_depth(depth: int, where: str, op):
            token = (i, depth, where)  # a local that must survive the switch
            if depth == 0:
                result = op()
            else:
                result = at_depth(depth - 1, where, op)
            check(where, depth, token)
            return result

        for r in range(rounds):
            ops = ["recv", "sleep", "gosched", "gosched"]
            rng.shuffle(ops)
            # Sending first in each round keeps the ring free of deadlock (see test docs).
            ops.insert(rng.randrange(0, ops.index("recv") + 1), "send")
            for op in ops:
                top = rng.randrange(0, MAX_DEPTH + 1)
                if op == "send":
                    payload = (i, r, [i] * (r + 1))
                    at_depth(top, "send", lambda: outbox.send(payload))
                elif op == "recv":
                    got = at_depth(top, "recv", inbox.recv)
                    if got != (prev, r, [prev] * (r + 1)):
                        errors.append(f"{i}: round {r} received {got!r}")
                elif op == "sleep":
                    if have_sleep:
                        at_depth(top, "sleep", lambda: gosched.sleep(rng.random() * 0.002))
                    else:
                        at_depth(top, "sleep", gosched.gosched)
                else:
                    at_depth(top, "gosched", gosched.gosched)
                switches += 1
        finished.send((i, switches))

    for i in range(n):
        gosched.go_with(member, (i,), name=f"ring-{i}")
    done = sorted(finished.recv() for _ in range(n))
    if [d[0] for d in done] != list(range(n)):
        errors.append("not every member finished")
    if any(d[1] != rounds * 5 for d in done):
        errors.append("a member skipped operations")
    return errors
