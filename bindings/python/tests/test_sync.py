"""WaitGroup and Mutex."""

from __future__ import annotations

import threading
import time
import unittest

from support import RuntimeTestCase, needs, wait_until  # first: finds gosched

import gosched


@needs("gs_waitgroup_new", "gs_waitgroup_add", "gs_waitgroup_done", "gs_waitgroup_wait")
class WaitGroups(RuntimeTestCase):
    def test_wait_returns_after_every_done(self):
        wg = gosched.WaitGroup()
        done = []

        def worker(i):
            for _ in range(i % 4):
                gosched.gosched()
            done.append(i)
            wg.done()

        wg.add(100)
        for i in range(100):
            gosched.go(worker, i)
        wg.wait()  # from the main thread
        self.assertEqual(sorted(done), list(range(100)))

    def test_wait_from_goroutines_and_threads(self):
        wg = gosched.WaitGroup()
        wg.add(1)
        woke = []
        lock = threading.Lock()

        def waiter(tag):
            wg.wait()
            with lock:
                woke.append(tag)

        for i in range(5):
            gosched.go(waiter, ("g", i))
        ts = [threading.Thread(target=waiter, args=(("t", i),)) for i in range(3)]
        for t in ts:
            t.start()
        time.sleep(0.05)
        self.assertEqual(woke, [])
        wg.done()
        for t in ts:
            t.join()
        self.join()
        self.assertEqual(len(woke), 8)

    def test_negative_counter_is_invalid(self):
        wg = gosched.WaitGroup()
        with self.assertRaises(gosched.InvalidArgument):
            wg.done()
        wg.add(2)
        with self.assertRaises(gosched.InvalidArgument):
            wg.add(-3)
        wg.add(-2)
        wg.wait()  # zero: returns at once


@needs("gs_mutex_new", "gs_mutex_lock", "gs_mutex_trylock", "gs_mutex_unlock")
class Mutexes(RuntimeTestCase):
    def test_mutual_exclusion_across_switches(self):
        mu = gosched.Mutex()
        state = {"inside": 0, "count": 0, "overlap": 0}

        def worker():
            for _ in range(20):
                with mu:
                    state["inside"] += 1
                    if state["inside"] != 1:
                        state["overlap"] += 1
                    gosched.gosched()  # switch while holding it
                    state["count"] += 1
                    state["inside"] -= 1

        def thread_worker():
            for _ in range(20):
                mu.lock()
                try:
                    state["inside"] += 1
                    if state["inside"] != 1:
                        state["overlap"] += 1
                    time.sleep(0.0001)
                    state["count"] += 1
                    state["inside"] -= 1
                finally:
                    mu.unlock()

        for _ in range(10):
            gosched.go(worker)
        ts = [threading.Thread(target=thread_worker) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.join()
        self.assertEqual(state["overlap"], 0)
        self.assertEqual(state["count"], 12 * 20)

    def test_try_lock_unlock_errors_and_lock_aliases(self):
        mu = gosched.Mutex()
        self.assertTrue(mu.try_lock())
        self.assertFalse(mu.try_lock())
        self.assertFalse(mu.acquire(blocking=False))
        got = []
        gosched.go(lambda: (mu.lock(), got.append("locked"), mu.unlock()))
        wait_until(lambda: gosched.stats()["waiting"] >= 1, what="a goroutine waiting for the mutex")
        self.assertEqual(got, [])
        mu.release()  # unlocked by a thread that is not the goroutine: allowed, as in Go
        self.join()
        self.assertEqual(got, ["locked"])
        with self.assertRaises(gosched.NotPermitted):
            mu.unlock()


if __name__ == "__main__":
    unittest.main()


@needs("gs_waitgroup_wait_timeout", "gs_mutex_lock_timeout")
class Timeouts(RuntimeTestCase):
    def test_waitgroup_wait_with_a_timeout(self):
        wg = gosched.WaitGroup()
        self.assertTrue(wg.wait(timeout=0))
        wg.add(1)
        t = time.monotonic()
        self.assertFalse(wg.wait(timeout=0.05))
        self.assertGreaterEqual(time.monotonic() - t, 0.045)
        box = gosched.Chan(1)
        gosched.go(lambda: box.send(wg.wait(timeout=0.02)))  # from a goroutine too
        self.assertIs(box.recv(timeout=5), False)
        gosched.go(lambda: (gosched.sleep(0.02), wg.done()))
        self.assertTrue(wg.wait(timeout=5))

    def test_mutex_lock_with_a_timeout(self):
        mu = gosched.Mutex()
        self.assertTrue(mu.lock(timeout=0))
        t = time.monotonic()
        self.assertFalse(mu.lock(timeout=0.05))
        self.assertGreaterEqual(time.monotonic() - t, 0.045)
        self.assertFalse(mu.acquire(timeout=0.01))
        self.assertFalse(mu.acquire(blocking=False))
        box = gosched.Chan(1)
        gosched.go(lambda: box.send(mu.lock(timeout=0.02)))
        self.assertIs(box.recv(timeout=5), False)
        gosched.go(lambda: (gosched.sleep(0.02), mu.unlock()))
        self.assertTrue(mu.acquire(timeout=5))
        mu.release()
        self.assertTrue(mu.try_lock())
        mu.unlock()
