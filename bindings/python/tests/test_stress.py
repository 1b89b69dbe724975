"""Many Python goroutines switching in a non-LIFO order; shutdown while they are blocked.

The ring: goroutine i receives from chans[i] and sends to chans[i+1] (capacity 1). Each
round a member does one send, one recv, one sleep and two goscheds in a random order
(the send before the recv), each at a random recursion depth, and after every switch
checks its goroutine id, its threading.local, the locals of every frame on the way and
the length of its frame chain. Sending before receiving in each round cannot deadlock:
in a deadlock the members blocked on a send would form a set closed under "successor",
hence all of them, with every channel full while every member has sent exactly as many
values as it received - a contradiction.
"""

from __future__ import annotations

import os
import textwrap
import unittest

from support import PACKAGE_PARENT, RuntimeTestCase, needs, run_python  # first: finds gosched

import gosched
from ring import run_ring

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
SUBPROCESS_PATH = os.pathsep.join([PACKAGE_PARENT, TESTS_DIR])


@needs("gs_chan_new", "gs_chan_send", "gs_chan_recv")
class Ring(RuntimeTestCase):
    def test_1000_goroutines_in_a_ring(self):
        errors = run_ring(1000, rounds=3, seed=7)
        self.assertEqual(errors[:20], [])
        self.join()
        s = gosched.stats()
        self.assertEqual(s["python_goroutines"], 0)
        self.assertGreaterEqual(s["spawned_total"], 1000)

    def test_ring_in_lock_mode(self):
        code = textwrap.dedent(
            """
            import gosched, ring
            assert gosched.thread_mode() == "lock", gosched.thread_mode()
            gosched.init(procs=2)
            errors = ring.run_ring(150, rounds=3, seed=11)
            print("errors:", errors[:10])
            gosched.wait(60)
            gosched.shutdown()
            print("OK" if not errors else "FAILED")
            """
        )
        r = run_python(code, env={"GOSCHED_PYTHON_MODE": "lock"}, pythonpath=SUBPROCESS_PATH)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("OK", r.stdout, r.stdout + r.stderr)
        self.assertNotIn("Traceback", r.stderr)


SHUTDOWN_WHILE_BLOCKED = textwrap.dedent(
    """
    import gc, sys, threading, time
    import gosched

    gosched.init(procs=2)
    ch = gosched.Chan()
    sch = gosched.Chan()
    blocked = 0

    def deep(n, f):
        return f() if n == 0 else deep(n - 1, f)

    for i in range(40):
        gosched.go(deep, i % 7, ch.recv)          # parked in recv, at some depth
        gosched.go(deep, i % 5, lambda i=i: sch.send([i]))  # parked in send
        blocked += 2
    if gosched.has("gs_sleep"):
        for i in range(20):
            gosched.go(gosched.sleep, 1000)
            blocked += 1
    if gosched.has("gs_mutex_new"):
        mu = gosched.Mutex(); mu.lock()
        for i in range(10):
            gosched.go(mu.lock)
            blocked += 1
    if gosched.has("gs_waitgroup_new"):
        wg = gosched.WaitGroup(); wg.add(1)
        for i in range(10):
            gosched.go(wg.wait)
            blocked += 1

    # A busy goroutine that keeps taking the GIL, and a Python thread doing the same.
    stop = []
    def spinner():
        while not stop:
            sum(range(100))
            gosched.gosched()
    gosched.go(spinner)
    def thread_spinner():
        while not stop:
            sum(range(100))
    t = threading.Thread(target=thread_spinner, daemon=True)
    t.start()

    deadline = time.monotonic() + 30
    while gosched.stats()["waiting"] < blocked:
        assert time.monotonic() < deadline, gosched.stats()
        time.sleep(0.005)
    stop.append(1)
    t.join()
    n = gosched.shutdown()
    assert n >= blocked, (n, blocked)
    print("abandoned", n)
    gc.collect()

    # The runtime starts again and works.
    gosched.init(procs=2)
    out = gosched.Chan(1)
    gosched.go(lambda: out.send("again"))
    assert out.recv() == "again"
    gosched.wait(10)
    gosched.shutdown()
    print("OK", gosched.exceptions_count())
    """
)

EXIT_WITH_BLOCKED_GOROUTINES = textwrap.dedent(
    """
    import gosched
    gosched.init(procs=2)
    ch = gosched.Chan()
    for i in range(30):
        gosched.go(ch.recv)
    import time
    while gosched.stats()["waiting"] < 30:
        time.sleep(0.005)
    print("exiting")
    # no shutdown(): the package's atexit handler stops the runtime
    """
)


@needs("gs_chan_new", "gs_chan_send", "gs_chan_recv")
class ShutdownWhileBlocked(unittest.TestCase):
    def check(self, code, mode):
        r = run_python(code, env={"GOSCHED_PYTHON_MODE": mode}, timeout=120)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, f"exit status {r.returncode}:\n{out}")
        self.assertNotIn("Traceback", r.stderr, out)
        self.assertNotIn("Exception in goroutine", r.stderr, out)
        self.assertNotIn("Fatal Python error", r.stderr, out)
        return r

    def test_shutdown_switch_mode(self):
        if gosched.thread_mode() != "switch":
            self.skipTest("the switch mode is not available here: skipped")
        r = self.check(SHUTDOWN_WHILE_BLOCKED, "switch")
        self.assertIn("OK 0", r.stdout)

    def test_shutdown_lock_mode(self):
        r = self.check(SHUTDOWN_WHILE_BLOCKED, "lock")
        self.assertIn("OK 0", r.stdout)

    def test_interpreter_exit_with_blocked_goroutines(self):
        for mode in ("switch", "lock") if gosched.thread_mode() == "switch" else ("lock",):
            r = self.check(EXIT_WITH_BLOCKED_GOROUTINES, mode)
            self.assertIn("exiting", r.stdout)


if __name__ == "__main__":
    unittest.main()
