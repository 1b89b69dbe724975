"""Scheduling of Python goroutines (GS_GO_GIL): a goroutine readied by another runs on
the readier's thread instead of waking a second one that would wait for the GIL, yet
goroutines that block their thread outside gosched do not hold the others up."""

from __future__ import annotations

import os
import sys
import time
import unittest

from support import RuntimeTestCase  # first: finds gosched

import gosched
from gosched import _lib, _runtime

SLEEP = 0.05
N = 6


def context_switches() -> int:
    """Voluntary and involuntary context switches of every thread of this process."""
    n = 0
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/status") as f:
                for line in f:
                    if "ctxt_switches" in line:
                        n += int(line.split()[1])
        except OSError:
            pass  # the thread ended meanwhile
    return n


class Base(RuntimeTestCase):
    def test_goroutines_are_marked(self) -> None:
        if getattr(sys, "_is_gil_enabled", lambda: True)():
            self.assertEqual(_runtime._GIL_FLAG, _lib.GS_GO_GIL)
        else:
            self.assertEqual(_runtime._GIL_FLAG, 0)

    def test_sleepers_in_blocking_do_not_serialize(self) -> None:
        # N goroutines each sleeping SLEEP in gosched.blocking(): about SLEEP in all,
        # whatever the number of Ps, not N * SLEEP.
        def sleeper() -> None:
            with gosched.blocking():
                time.sleep(SLEEP)

        t0 = time.monotonic()
        gs = [gosched.go(sleeper) for _ in range(N)]
        for g in gs:
            g.join(10)
        took = time.monotonic() - t0
        self.assertLess(took, SLEEP * N / 2, f"{N} sleepers took {took:.3f} s")

    def test_sleepers_on_channel_do_not_serialize(self) -> None:
        # The same through gosched.sleep (the goroutine parks).
        t0 = time.monotonic()
        gs = [gosched.go(gosched.sleep, SLEEP) for _ in range(N)]
        for g in gs:
            g.join(10)
        took = time.monotonic() - t0
        self.assertLess(took, SLEEP * N / 2, f"{N} sleepers took {took:.3f} s")


class TwoProcs(Base):
    procs = 2

    def test_readied_goroutine_runs_while_readier_blocks_its_thread(self) -> None:
        # A readies B through a channel, then blocks its OS thread in time.sleep
        # (not gosched.blocking: its P stays held). B sits in A's P's run-next slot
        # (no P was woken for it); sysmon must move it to the other P within a few
        # ms, long before A's sleep ends.
        ch: gosched.Chan[float] = gosched.Chan(0)
        ran_at: list = []

        def b() -> None:
            ch.recv()
            ran_at.append(time.monotonic())

        def a() -> None:
            # Let B park on the channel and the Ms woken for it go idle first.
            gosched.sleep(0.05)
            ch.send(0.0)
            started = time.monotonic()
            ran_at.append(started)
            time.sleep(0.5)

        ga = gosched.go(a)
        gb = gosched.go(b)
        gb.join(10)
        ga.join(10)
        started, ran = ran_at[0], ran_at[1]
        self.assertLess(ran - started, 0.2, f"B ran {ran - started:.3f} s after A blocked")

    def test_pipeline_does_not_bounce_between_threads(self) -> None:
        # Unmarked, a capacity-1 pipeline at 2 Ps makes about 0.4 context switches
        # per message (the GIL handed between two threads); marked, almost none.
        n = 20000
        a: gosched.Chan[int] = gosched.Chan(1)
        b: gosched.Chan[int] = gosched.Chan(1)

        def prod() -> None:
            for i in range(n):
                a.send(i)
            a.close()

        def mid() -> None:
            for v in a:
                b.send(v + 1)
            b.close()

        total: list = []

        def cons() -> None:
            total.append(sum(b))

        c0 = context_switches()
        gs = [gosched.go(f) for f in (prod, mid, cons)]
        for g in gs:
            g.join(60)
        per = (context_switches() - c0) / n
        self.assertEqual(total, [n * (n + 1) // 2])
        self.assertLess(per, 0.15, f"{per:.3f} context switches per message")


class OneProc(Base):
    procs = 1


if __name__ == "__main__":
    unittest.main()
