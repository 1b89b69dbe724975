"""Goroutine handles (join, result, exception, done), unretrieved exceptions reported
once and whole, gosched.Group, and goroutine names in dumps."""

from __future__ import annotations

import gc
import io
import operator
import sys
import textwrap
import time
import traceback
import unittest

from support import RuntimeTestCase, run_python  # first: finds gosched

import gosched


def _add(a: int, b: int) -> int:
    return a + b


class _Boom(Exception):
    pass


def _fails_deep(msg: str) -> None:
    raise _Boom(msg)


def _fails(msg: str) -> None:
    _fails_deep(msg)


class _Stderr:
    """Captures sys.stderr."""

    def __enter__(self) -> io.StringIO:
        self.buf = io.StringIO()
        self.old, sys.stderr = sys.stderr, self.buf
        return self.buf

    def __exit__(self, *exc: object) -> None:
        sys.stderr = self.old


class Handles(RuntimeTestCase):
    def test_go_returns_a_goroutine_that_still_works_as_its_id(self):
        g = gosched.go(_add, 1, 2)
        self.assertIsInstance(g, gosched.Goroutine)
        self.assertIsInstance(g.id, int)
        self.assertGreater(g.id, 0)
        self.assertEqual(int(g), g.id)
        self.assertEqual(operator.index(g), g.id)
        self.assertEqual(g, g.id)
        self.assertEqual(hash(g), hash(g.id))
        self.assertEqual(f"{g}", str(g.id))
        self.assertEqual(list(range(g.id + 1))[g], g.id)
        self.assertEqual(g.result(timeout=5), 3)
        self.assertTrue(g.done())

    def test_goroutine_id_is_the_one_it_sees(self):
        ch = gosched.Chan(1)
        g = gosched.go(lambda: ch.send(gosched.goid()))
        self.assertEqual(ch.recv(timeout=5), g.id)

    def test_join_with_a_timeout_then_forever(self):
        gate = gosched.Chan()
        g = gosched.go(gate.recv)
        t = time.monotonic()
        self.assertFalse(g.join(timeout=0.05))
        self.assertGreaterEqual(time.monotonic() - t, 0.04)
        self.assertFalse(g.done())
        with self.assertRaises(gosched.Timeout):
            g.result(timeout=0.01)
        gate.send("v")
        self.assertTrue(g.join())
        self.assertTrue(g.done())
        self.assertEqual(g.result(), "v")
        self.assertIsNone(g.exception())

    def test_result_reraises_with_the_goroutines_frames(self):
        g = gosched.go(_fails, "deep trouble")
        try:
            g.result(timeout=5)
        except _Boom as e:
            caught = e
            names = [f.name for f in traceback.extract_tb(e.__traceback__)]
        else:
            self.fail("result() did not raise")
        self.assertIn("test_result_reraises_with_the_goroutines_frames", names)
        self.assertIn("_fails", names)
        self.assertEqual(names[-1], "_fails_deep")
        self.assertNotIn("_entry", names)
        self.assertIs(g.exception(), caught)

    def test_join_from_goroutines_and_threads(self):
        import threading

        gate = gosched.Chan()
        target = gosched.go(lambda: gate.recv() * 2)
        out = gosched.Chan(3)
        gosched.go(lambda: out.send(("goroutine", target.result())))
        gosched.go(lambda: out.send(("goroutine", target.result())))
        t = threading.Thread(target=lambda: out.send(("thread", target.result())))
        t.start()
        time.sleep(0.05)
        gate.send(21)
        got = sorted(out.recv(timeout=5) for _ in range(3))
        t.join(5)
        self.assertEqual(got, [("goroutine", 42), ("goroutine", 42), ("thread", 42)])

    def test_a_goroutine_cannot_join_itself(self):
        box = gosched.Chan(1)
        me: list = []

        def selfjoin() -> None:
            try:
                me[0].join()
            except gosched.NotPermitted:
                box.send("refused")

        gate = gosched.Chan()
        me.append(gosched.go(lambda: (gate.recv(), selfjoin())))
        gate.send(1)
        self.assertEqual(box.recv(timeout=5), "refused")

    def test_names_default_to_the_qualified_name_in_dumps(self):
        gate = gosched.Chan()

        class Worker:
            def park_here(self) -> None:
                gate.recv()

        g = gosched.go(Worker().park_here)
        gosched.go(gate.recv)
        time.sleep(0.05)
        self.assertEqual(g.name, Worker.park_here.__qualname__)
        text = gosched.dump()
        self.assertIn(Worker.park_here.__qualname__, text)
        self.assertIn("Chan.recv", text)
        self.assertIn(f'goroutine {g.id} "{Worker.park_here.__qualname__}"', text)
        gate.send(1)
        gate.send(2)
        g.join(5)
        named = gosched.go_with(_add, (1, 1), name="explicit")
        self.assertEqual(named.name, "explicit")
        self.assertEqual(named.result(5), 2)


class Unretrieved(RuntimeTestCase):
    def test_dropped_handle_reports_at_the_end_once(self):
        with _Stderr() as err:
            before = gosched.exceptions_count()
            gosched.go(_fails, "nobody asks")
            gosched.wait(timeout=5)
            gc.collect()
        text = err.getvalue()
        self.assertEqual(text.count("Exception in goroutine"), 1, text)
        self.assertIn("(_fails):", text)
        self.assertIn("_Boom: nobody asks", text)
        self.assertIn("in _fails_deep", text)
        self.assertEqual(gosched.exceptions_count(), before + 1)

    def test_held_handle_reports_when_dropped_unless_retrieved(self):
        with _Stderr() as err:
            g = gosched.go(_fails, "kept")
            g.join(5)
            self.assertEqual(err.getvalue(), "")
            del g
            gc.collect()
        self.assertEqual(err.getvalue().count("_Boom: kept"), 1, err.getvalue())
        with _Stderr() as err:
            g = gosched.go(_fails, "retrieved")
            self.assertIsInstance(g.exception(timeout=5), _Boom)
            del g
            gc.collect()
            h = gosched.go(_fails, "raised")
            with self.assertRaises(_Boom):
                h.result(timeout=5)
            del h
            gc.collect()
        self.assertEqual(err.getvalue(), "")

    def test_two_failing_at_once_print_two_whole_tracebacks(self):
        # In a child: stderr is a real file there, written by two OS threads.
        code = textwrap.dedent("""
            import gosched
            gosched.init(procs=2)
            gate = gosched.Chan()
            def fails_a():
                for _ in gate: pass
                raise ValueError("A" * 3000)
            def fails_b():
                for _ in gate: pass
                raise KeyError("B" * 3000)
            for _ in range(4):
                gosched.go(fails_a)
                gosched.go(fails_b)
            gosched.sleep(0.05)
            gate.close()
            gosched.wait(timeout=10)
            print("count", gosched.exceptions_count())
        """)
        r = run_python(code)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("count 8", r.stdout)
        blocks = r.stderr.split("Exception in goroutine ")[1:]
        self.assertEqual(len(blocks), 8, r.stderr)
        for b in blocks:
            lines = b.splitlines()
            self.assertEqual(lines[1], "Traceback (most recent call last):", b)
            which = "a" if "(fails_a)" in lines[0] else "b"
            self.assertIn(f"in fails_{which}", b)
            last = lines[-1]
            want = "ValueError: " + "A" * 3000 if which == "a" else "KeyError: '" + "B" * 3000 + "'"
            self.assertEqual(last, want, b[:300])


class Groups(RuntimeTestCase):
    def test_group_waits_for_all(self):
        out = []
        with gosched.Group() as g:
            for k in range(20):
                g.go(lambda k=k: (gosched.sleep(0.001 * (k % 5)), out.append(k)))
        self.assertEqual(sorted(out), list(range(20)))

    def test_group_raises_the_first_failure_and_reports_the_rest(self):
        gate = gosched.Chan()
        with _Stderr() as err:
            with self.assertRaises(_Boom) as cm:
                with gosched.Group() as g:
                    g.go(lambda: (gosched.sleep(0.2), _fails("second")))
                    g.go(lambda: (gate.recv(), _fails("first")))
                    ok = g.go(_add, 2, 2)
                    gate.send(1)
            self.assertEqual(str(cm.exception), "first")
            self.assertEqual(ok.result(), 4)
            del g, ok
            gc.collect()
        self.assertEqual(err.getvalue().count("_Boom: second"), 1, err.getvalue())
        self.assertNotIn("_Boom: first", err.getvalue())

    def test_group_lets_the_body_exception_through_after_waiting(self):
        done = []
        with self.assertRaises(RuntimeError):
            with gosched.Group() as g:
                g.go(lambda: (gosched.sleep(0.05), done.append(1)))
                raise RuntimeError("body")
        self.assertEqual(done, [1])

    def test_group_wait_timeout(self):
        gate = gosched.Chan()
        g = gosched.Group()
        g.go(gate.recv)
        with self.assertRaises(gosched.Timeout):
            g.wait(timeout=0.05)
        gate.send(1)
        g.wait(timeout=5)
        self.assertEqual(g.goroutines, [])


class AfterShutdown(unittest.TestCase):
    def test_join_of_an_abandoned_goroutine_raises_shutting_down(self):
        gosched.init(procs=2)
        gate = gosched.Chan()
        g = gosched.go(gate.recv)
        time.sleep(0.05)
        self.assertEqual(gosched.shutdown(), 1)
        with self.assertRaises(gosched.ShuttingDown):
            g.join()
        self.assertFalse(g.done())
        self.assertIn("abandoned", repr(g))


if __name__ == "__main__":
    unittest.main()
