"""RWMutex, Once, Cond, Semaphore, Timer, Ticker, AfterFunc and Context."""

from __future__ import annotations

import threading
import time
import unittest

from support import RuntimeTestCase, needs, wait_until  # first: finds gosched

import gosched


@needs("gs_rwmutex_new", "gs_cond_new", "gs_semaphore_new")
class SyncMore(RuntimeTestCase):
    def test_rwmutex_readers_share_writer_excludes(self):
        rw = gosched.RWMutex()
        inside = []
        both = threading.Event()

        def reader(i):
            with rw.read():
                inside.append(i)
                t0 = time.monotonic()
                while len(inside) < 2 and time.monotonic() - t0 < 5:
                    gosched.sleep(0.001)
                if len(inside) >= 2:
                    both.set()

        gosched.go(reader, 0)
        gosched.go(reader, 1)
        self.join()
        self.assertTrue(both.is_set(), "two readers never held it together")
        with rw.write():
            self.assertFalse(rw.try_rlock())
            self.assertFalse(rw.try_lock())
        with rw.read():
            self.assertFalse(rw.try_lock())
            self.assertTrue(rw.try_rlock())
            rw.runlock()
        with self.assertRaises(gosched.NotPermitted):
            rw.runlock()
        with self.assertRaises(gosched.NotPermitted):
            rw.unlock()
        # Consistency under goroutines and threads.
        data = [0, 0]
        torn = []

        def worker(i):
            for k in range(300):
                if (k + i) % 5 == 0:
                    with rw:
                        data[0] += 1
                        if gosched.in_goroutine():
                            gosched.gosched()
                        data[1] += 1
                else:
                    with rw.read():
                        if data[0] != data[1]:
                            torn.append(k)

        for i in range(4):
            gosched.go(worker, i)
        ts = [threading.Thread(target=worker, args=(10 + i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.join()
        self.assertEqual(torn, [])
        self.assertEqual(data[0], data[1])
        self.assertEqual(data[0], 6 * 60)

    def test_once(self):
        once = gosched.Once()
        runs = []
        seen = []

        def init():
            runs.append(1)
            gosched.sleep(0.01)

        def caller():
            once.do(init)
            seen.append(len(runs))

        for _ in range(50):
            gosched.go(caller)
        ts = [threading.Thread(target=caller) for _ in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.join()
        self.assertEqual(runs, [1])
        self.assertEqual(seen, [1] * 53)
        self.assertTrue(once.done)

    def test_cond_producer_consumer(self):
        cond = gosched.Cond()
        q = []
        got = []
        closed = [False]

        def consumer():
            with cond:
                while True:
                    while not q and not closed[0]:
                        cond.wait()
                    if not q:
                        return
                    got.append(q.pop())

        for _ in range(3):
            gosched.go(consumer)
        for i in range(500):
            with cond:
                q.append(i)
                cond.notify()
        with cond:
            closed[0] = True
            cond.notify_all()
        self.join()
        self.assertEqual(sorted(got), list(range(500)))
        with cond:
            t0 = time.monotonic()
            self.assertFalse(cond.wait(0.03))
            self.assertGreaterEqual(time.monotonic() - t0, 0.029)
            self.assertFalse(cond.mutex.try_lock())  # held again after the timeout
            self.assertEqual(cond.wait_for(lambda: 7, 1), 7)

    def test_semaphore(self):
        sem = gosched.Semaphore(3)
        held = [0]
        over = []
        lock = threading.Lock()

        def user(n):
            for _ in range(50):
                with sem.hold(n):
                    with lock:
                        held[0] += n
                        if held[0] > 3:
                            over.append(held[0])
                    gosched.gosched()
                    with lock:
                        held[0] -= n

        for i in range(6):
            gosched.go(user, 1 + i % 3)
        self.join()
        self.assertEqual(over, [])
        self.assertEqual(sem.held, 0)
        with sem:
            self.assertEqual(sem.held, 1)
        self.assertTrue(sem.acquire(3))
        self.assertFalse(sem.try_acquire(1))
        self.assertFalse(sem.acquire(1, timeout=0.01))
        sem.release(3)
        with self.assertRaises(gosched.NotPermitted):
            sem.release(1)
        with self.assertRaises(gosched.InvalidArgument):
            sem.acquire(4)


@needs("gs_timer_new", "gs_ticker_new", "gs_after_func", "gs_context_with_cancel")
class TimeAndContext(RuntimeTestCase):
    def test_timer(self):
        t0 = gosched.nanotime()
        t = gosched.Timer(0.01)
        self.assertGreaterEqual(t.wait(), t0 + 10_000_000)
        self.assertFalse(t.stop())
        t.reset(0.5)
        self.assertTrue(t.stop())
        time.sleep(0.6)  # past its time
        with self.assertRaises(gosched.Timeout):
            t.wait(0.01)  # a stopped timer never fires
        t.reset(0.005)
        never = gosched.Chan()
        i, when = gosched.select([(never, "recv"), (t, "recv")])
        self.assertEqual(i, 1)
        self.assertGreater(when, t0)

    def test_ticker_drops(self):
        tk = gosched.Ticker(0.001)
        for _ in range(30):
            time.sleep(0.001)
            self.assertLessEqual(gosched._lib.gs_chan_len(tk._raw_chan()), 1)  # ticks dropped
        a = tk.recv()
        b = tk.recv()
        self.assertGreater(b, a)
        tk.stop()
        with self.assertRaises(gosched.Timeout):
            tk.recv(0.02)
        with self.assertRaises(gosched.InvalidArgument):
            gosched.Ticker(0)

    def test_after_func(self):
        ran = []
        af = gosched.AfterFunc(0.005, lambda: ran.append(gosched.in_goroutine()))
        wait_until(lambda: ran, what="after-func ran")
        time.sleep(0.02)
        self.assertEqual(ran, [True])
        self.assertFalse(af.stop())
        af.reset(0.5)
        self.assertTrue(af.stop())
        time.sleep(0.6)
        self.assertEqual(ran, [True])
        af.reset(0.001)
        wait_until(lambda: len(ran) == 2, what="after-func ran again")

    def test_context(self):
        bg = gosched.Context.background()
        self.assertIsNone(bg.err())
        top = bg.with_cancel()
        child = top.with_cancel()
        val = child.with_value("k", 42)
        self.assertEqual(val.value("k"), 42)
        self.assertIsNone(val.value("nope"))
        woke = []

        def waiter():
            jobs = gosched.Chan()
            i, v = gosched.select([(jobs, "recv"), (val, "recv")])
            woke.append((i, v is gosched.CLOSED))

        for _ in range(5):
            gosched.go(waiter)
        time.sleep(0.01)
        self.assertEqual(woke, [])
        top.cancel()
        self.join()
        self.assertEqual(woke, [(1, True)] * 5)
        self.assertIsInstance(child.err(), gosched.Canceled)
        self.assertTrue(val.canceled)
        t0 = time.monotonic()
        tm = bg.with_timeout(0.02)
        self.assertIsNotNone(tm.deadline())
        self.assertTrue(tm.wait())
        self.assertGreaterEqual(time.monotonic() - t0, 0.019)
        self.assertIsInstance(tm.err(), gosched.Timeout)
        with bg.with_cancel() as c:
            self.assertFalse(c.canceled)
        self.assertTrue(c.canceled)


if __name__ == "__main__":
    unittest.main()
