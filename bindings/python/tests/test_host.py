"""Host goroutines (GS_GO_HOST) pumped by run_for() on the thread that called init()."""

from __future__ import annotations

import threading
import time
import unittest

from support import needs, run_python  # first: finds gosched

import gosched


@needs("gs_run_for")
@unittest.skipUnless(gosched.thread_mode() == "switch",
                     "Python host goroutines need the thread-state switch mode: skipped")
class HostGoroutines(unittest.TestCase):
    def setUp(self):
        gosched.init(procs=2)  # this (the main) thread becomes the host thread

    def tearDown(self):
        gosched.shutdown()

    def pump(self, cond, timeout=10.0):
        deadline = time.monotonic() + timeout
        steps = 0
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("host goroutines did not finish")
            steps += gosched.run_for(0.005)
        return steps

    def test_host_goroutines_run_only_on_the_host_thread_inside_run_for(self):
        main = threading.get_ident()
        seen = []

        def render(k):
            for step in range(5):
                seen.append((k, step, threading.get_ident()))
                gosched.gosched()

        for k in range(8):
            gosched.go_with(render, (k,), host=True, name=f"render-{k}")
        time.sleep(0.02)
        self.assertEqual(seen, [], "host goroutines ran outside run_for")
        steps = self.pump(lambda: len(seen) == 40)
        self.assertGreaterEqual(steps, 8)
        self.assertEqual({t for _, _, t in seen}, {main})
        for k in range(8):
            self.assertEqual([s for kk, s, _ in seen if kk == k], list(range(5)))
        self.pump(lambda: gosched.stats()["goroutines"] == 0)

    @needs("gs_chan_new")
    def test_host_goroutine_waits_for_a_worker_between_frames(self):
        main = threading.get_ident()
        ch = gosched.Chan()
        got = []

        def worker():
            for i in range(10):
                ch.send(i * i)
            ch.close()

        def host():
            for v in ch:
                got.append((v, threading.get_ident()))

        gosched.go_with(host, host=True)
        gosched.go(worker)
        self.pump(lambda: len(got) == 10)
        self.assertEqual([v for v, _ in got], [i * i for i in range(10)])
        self.assertEqual({t for _, t in got}, {main})

    def test_run_for_from_another_thread_is_not_permitted(self):
        errs = []

        def other():
            try:
                gosched.run_for(0.001)
            except gosched.NotPermitted:
                errs.append("eperm")

        t = threading.Thread(target=other)
        t.start()
        t.join()
        self.assertEqual(errs, ["eperm"])

    def test_main_thread_frames_survive_host_goroutines_that_park(self):
        # The main thread's own frames must be intact after host goroutines parked and
        # resumed inside run_for (they run on thread states of their own).
        def depth():
            n, f = 0, __import__("sys")._getframe()
            while f is not None:
                n, f = n + 1, f.f_back
            return n

        before = depth()
        local = threading.local()
        local.tag = "main"
        seen = []

        def host(k):
            local.tag = k
            gosched.gosched()
            seen.append(local.tag == k)
            gosched.gosched()

        for k in range(4):
            gosched.go_with(host, (k,), host=True)
        for _ in range(3):
            gosched.run_for(0.001)
            self.assertEqual(depth(), before)
            self.assertEqual(local.tag, "main")
        self.pump(lambda: len(seen) == 4)
        self.assertEqual(seen, [True] * 4)
        self.pump(lambda: gosched.stats()["goroutines"] == 0)



@needs("gs_run_for")
class HostGoroutinesInLockMode(unittest.TestCase):
    def test_python_host_goroutines_are_refused_in_lock_mode(self):
        code = (
            "import gosched\n"
            "gosched.init(procs=1)\n"
            "assert gosched.thread_mode() == 'lock'\n"
            "try:\n"
            "    gosched.go_with(print, ('x',), host=True)\n"
            "except gosched.NotPermitted as e:\n"
            "    print('refused:', e)\n"
            "gosched.shutdown()\n"
        )
        r = run_python(code, env={"GOSCHED_PYTHON_MODE": "lock"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("refused: Python host goroutines need", r.stdout)

if __name__ == "__main__":
    unittest.main()
