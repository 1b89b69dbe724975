"""Channels of Python objects and select."""

from __future__ import annotations

import gc
import threading
import time
import unittest
import weakref

from support import RuntimeTestCase, needs, wait_until  # first: finds gosched

import gosched


class Thing:
    """A weak-referenceable payload."""

    def __init__(self, n):
        self.n = n


@needs("gs_chan_new", "gs_chan_send", "gs_chan_recv", "gs_chan_close")
class Channels(RuntimeTestCase):
    def test_unbuffered_send_recv_between_goroutines(self):
        ch = gosched.Chan()
        got = []

        def producer():
            for i in range(100):
                ch.send(i)
            ch.close()

        def consumer():
            got.extend(ch)

        gosched.go(consumer)
        gosched.go(producer)
        self.join()
        self.assertEqual(got, list(range(100)))

    def test_values_are_the_objects_sent_and_kept_alive_in_flight(self):
        ch = gosched.Chan(4)
        objs = [Thing(i) for i in range(4)]
        ids = [id(o) for o in objs]
        refs = [weakref.ref(o) for o in objs]
        for o in objs:
            ch.send(o)
        del objs, o
        gc.collect()
        self.assertTrue(all(r() is not None for r in refs), "a value in flight was freed")
        self.assertEqual(len(ch), 4)
        back = [ch.recv() for _ in range(4)]
        self.assertEqual([id(b) for b in back], ids)
        self.assertEqual([b.n for b in back], [0, 1, 2, 3])
        self.assertEqual(len(ch), 0)

    def test_dropping_a_channel_drops_its_buffered_values(self):
        ch = gosched.Chan(3)
        t = Thing(1)
        r = weakref.ref(t)
        ch.send(t)
        del t
        gc.collect()
        self.assertIsNotNone(r())
        del ch
        gc.collect()
        self.assertIsNone(r(), "a buffered value outlived its channel")

    def test_closed_channel_drains_then_raises_closed(self):
        ch = gosched.Chan(3)
        ch.send("a")
        ch.send(None)
        ch.close()
        self.assertEqual(ch.recv(), "a")
        self.assertIsNone(ch.recv())
        with self.assertRaises(gosched.Closed):
            ch.recv()
        with self.assertRaises(gosched.Closed):
            ch.send(1)
        with self.assertRaises(gosched.Closed):
            ch.try_send(1)
        with self.assertRaises(gosched.Closed):
            ch.try_recv()
        with self.assertRaises(gosched.AlreadyDone):
            ch.close()
        self.assertEqual(list(ch), [])

    def test_close_wakes_blocked_receivers(self):
        ch = gosched.Chan()
        out = []

        def receiver():
            try:
                ch.recv()
            except gosched.Closed:
                out.append("closed")

        for _ in range(5):
            gosched.go(receiver)
        wait_until(lambda: gosched.stats()["waiting"] >= 5, what="5 blocked receivers")
        ch.close()
        self.join()
        self.assertEqual(out, ["closed"] * 5)

    def test_len_cap_try_send_try_recv(self):
        ch = gosched.Chan(2)
        self.assertEqual(ch.cap, 2)
        self.assertEqual(ch.try_recv(), (False, None))
        self.assertTrue(ch.try_send("x"))
        self.assertTrue(ch.try_send("y"))
        self.assertFalse(ch.try_send("z"))
        self.assertEqual(len(ch), 2)
        self.assertEqual(ch.try_recv(), (True, "x"))
        self.assertEqual(ch.try_recv(), (True, "y"))
        self.assertEqual(ch.try_recv(), (False, None))
        unbuffered = gosched.Chan()
        self.assertEqual(unbuffered.cap, 0)
        self.assertFalse(unbuffered.try_send(1))  # nobody is receiving
        with self.assertRaises(gosched.InvalidArgument):
            gosched.Chan(-1)

    @needs("gs_chan_send_timeout", "gs_chan_recv_timeout")
    def test_timeouts(self):
        ch = gosched.Chan()
        t0 = time.monotonic()
        with self.assertRaises(gosched.Timeout):
            ch.recv(timeout=0.03)
        with self.assertRaises(gosched.Timeout):
            ch.send(Thing(0), timeout=0.03)
        self.assertGreaterEqual(time.monotonic() - t0, 0.05)
        out = []

        def g():
            try:
                ch.recv(timeout=0.02)
            except gosched.Timeout:
                out.append("timeout")
            out.append(ch.recv(timeout=5))

        gosched.go(g)
        wait_until(lambda: out == ["timeout"], what="the goroutine's timeout")
        ch.send("late", timeout=5)
        self.join()
        self.assertEqual(out, ["timeout", "late"])

    def test_threads_and_goroutines_exchange_values(self):
        requests = gosched.Chan(8)
        nthreads, per_thread = 4, 200
        replies = [gosched.Chan() for _ in range(nthreads)]
        errors = []

        def server():
            for (k, v) in requests:
                replies[k].send(v * 2)

        def client(k):
            for i in range(per_thread):
                requests.send((k, i))
                r = replies[k].recv()
                if r != i * 2:
                    errors.append((k, i, r))

        for _ in range(3):
            gosched.go(server)
        threads = [threading.Thread(target=client, args=(k,)) for k in range(nthreads)]
        for t in threads:
            t.start()
        # Goroutines feeding a thread, too.
        feed = gosched.Chan(2)
        gosched.go(lambda: [feed.send(i) for i in range(300)] and feed.close())
        fed = list(feed)
        for t in threads:
            t.join()
        requests.close()
        self.join()
        self.assertEqual(errors, [])
        self.assertEqual(fed, list(range(300)))

    def test_keys_and_cells_are_reused_and_never_shared(self):
        # Many goroutines and threads send distinct objects through shared channels,
        # blocking often (capacity 1): every object arrives once, as itself, the pool
        # of receive cells ends no larger than the number of operations that were in
        # progress at once (one per party), no value is left in flight and every key
        # taken is free again.
        from gosched import _chan

        def taken():
            return len(_chan._kptr) - 1 - len(_chan._free)

        chans = [gosched.Chan(1) for _ in range(3)]
        nsend, per = 6, 300
        sent = [[Thing((k, i)) for i in range(per)] for k in range(nsend)]
        got = []
        done = gosched.Chan(nsend * 2)

        def sender(k):
            for i, obj in enumerate(sent[k]):
                chans[(k + i) % 3].send(obj)
            done.send(None)

        def receiver(ch):
            for _ in range(nsend * per // 3):
                got.append(ch.recv())

        before = len(_chan._cells)
        taken_before = taken()
        for k in range(nsend // 2):
            gosched.go(sender, k)
        threads = [threading.Thread(target=sender, args=(k,)) for k in range(nsend // 2, nsend)]
        for t in threads:
            t.start()
        for ch in chans:
            gosched.go(receiver, ch)
        for _ in range(nsend):
            done.recv(timeout=30)
        for t in threads:
            t.join()
        self.join()
        want = {id(o): o for row in sent for o in row}
        self.assertEqual(len(got), len(want))
        self.assertEqual({id(o) for o in got}, set(want))
        self.assertTrue(all(want[id(o)] is o for o in got))
        self.assertEqual([len(ch._vals) for ch in chans], [0, 0, 0])
        self.assertLessEqual(len(_chan._cells) - before, nsend + 3 + 1)
        self.assertEqual(taken(), taken_before)
        self.assertEqual(len(set(_chan._free)), len(_chan._free))  # no key freed twice

    def test_a_dropped_channel_frees_the_keys_of_its_values(self):
        from gosched import _chan

        def taken():
            return len(_chan._kptr) - 1 - len(_chan._free)

        before = taken()
        ch = gosched.Chan(600)  # more than one chunk of keys
        for i in range(600):
            ch.send(Thing(i))
        self.assertEqual(taken(), before + 600)
        got = [ch.recv().n for _ in range(100)]
        self.assertEqual(got, list(range(100)))
        self.assertEqual(taken(), before + 500)
        del ch
        gc.collect()
        self.assertEqual(taken(), before)

    def test_failed_operations_give_their_cell_back_and_drop_the_value(self):
        from gosched import _chan

        ch = gosched.Chan(1)
        ch.send("x")
        n = len(_chan._cells)
        nfree = len(_chan._free)
        for _ in range(100):
            with self.assertRaises(gosched.Timeout):
                ch.send("y", timeout=0)
            self.assertEqual(ch.try_send("z"), False)
        self.assertEqual(len(_chan._cells), n)
        self.assertEqual(len(_chan._free), nfree)
        self.assertEqual(list(ch._vals.values()), ["x"])
        ch.close()
        self.assertEqual(ch.recv(), "x")
        for _ in range(100):
            with self.assertRaises(gosched.Closed):
                ch.recv()
            with self.assertRaises(gosched.Closed):
                ch.send("w")
        self.assertEqual(len(_chan._cells), n)
        self.assertEqual(len(_chan._free), nfree + 1)  # x's key, freed by its receiver
        self.assertEqual(ch._vals, {})


@needs("gs_chan_new", "gs_select")
class Select(RuntimeTestCase):
    def test_recv_from_whichever_is_ready(self):
        a, b = gosched.Chan(1), gosched.Chan(1)
        b.send("from b")
        self.assertEqual(gosched.select([(a, "recv"), (b, "recv")]), (1, "from b"))
        a.send("from a")
        self.assertEqual(gosched.select([(a, "recv"), (b, "recv")]), (0, "from a"))

    def test_send_case_and_unchosen_send_is_released(self):
        full, free = gosched.Chan(1), gosched.Chan(1)
        full.send("occupied")
        t = Thing(7)
        r = weakref.ref(t)
        idx, val = gosched.select([(full, "send", t), (free, "send", "ok")])
        self.assertEqual((idx, val), (1, None))
        self.assertEqual(free.recv(), "ok")
        del t
        gc.collect()
        self.assertIsNone(r(), "the value of the send case that was not chosen leaked")

    def test_poll_timeout_and_nil_channel(self):
        ch = gosched.Chan()
        with self.assertRaises(gosched.WouldBlock):
            gosched.select([(ch, "recv")], timeout=0)
        t0 = time.monotonic()
        with self.assertRaises(gosched.Timeout):
            gosched.select([(ch, "recv"), (None, "recv")], timeout=0.03)
        self.assertGreaterEqual(time.monotonic() - t0, 0.025)
        ready = gosched.Chan(1)
        ready.send(5)
        self.assertEqual(gosched.select([(None, "send", 1), (ready, "recv")]), (1, 5))
        with self.assertRaises(gosched.InvalidArgument):
            gosched.select([(ch, "peek")])

    def test_closed_channels(self):
        ch = gosched.Chan()
        ch.close()
        idx, val = gosched.select([(ch, "recv")])
        self.assertEqual(idx, 0)
        self.assertIs(val, gosched.CLOSED)
        with self.assertRaises(gosched.Closed):
            gosched.select([(ch, "send", 1)])

    def test_select_loop_in_goroutines(self):
        a, b, quit_ = gosched.Chan(), gosched.Chan(), gosched.Chan()
        got = {"a": [], "b": []}

        def consumer():
            while True:
                idx, v = gosched.select([(a, "recv"), (b, "recv"), (quit_, "recv")])
                if idx == 2:
                    return
                got["ab"[idx]].append(v)

        def producer(ch, base):
            for i in range(50):
                ch.send(base + i)

        gosched.go(consumer)
        done = gosched.Chan(2)
        gosched.go(lambda: (producer(a, 0), done.send(1)))
        gosched.go(lambda: (producer(b, 100), done.send(1)))
        done.recv()
        done.recv()
        quit_.close()
        self.join()
        self.assertEqual(got["a"], list(range(50)))
        self.assertEqual(got["b"], list(range(100, 150)))


if __name__ == "__main__":
    unittest.main()
