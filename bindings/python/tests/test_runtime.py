"""Life cycle, goroutines, errors, introspection and library discovery."""

from __future__ import annotations

import ctypes
import io
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

from support import PACKAGE_PARENT, RuntimeTestCase, needs, run_python, wait_until  # first: finds gosched

import gosched
from gosched import _lib, _pystate


def park_here(reason: bytes = b"test park") -> None:
    """Parks the calling goroutine until someone gs_ready()s its handle."""
    rc = _pystate.call(_lib.gs_park, None, None, reason)
    assert rc == 0, rc


def system_has_library() -> bool:
    """Whether the dynamic linker finds an installed libgosched without
    LD_LIBRARY_PATH (then it comes before a cargo target directory)."""
    r = run_python(f"import ctypes; ctypes.CDLL({_lib.LIBRARY_SONAME!r})",
                   env={"LD_LIBRARY_PATH": None}, pythonpath="")
    return r.returncode == 0


# The discovery tests run without the variables that point at a library.
NO_HINTS = {"GOSCHED_LIBRARY": None, "CARGO_TARGET_DIR": None, "LD_LIBRARY_PATH": None}


class Discovery(unittest.TestCase):
    """Where the package looks for libgosched (four places, in order)."""

    def skip_if_installed(self):
        if system_has_library():
            self.skipTest(f"{_lib.LIBRARY_SONAME} is installed on this system, which comes first: skipped")

    def copy_package(self, root: str, with_library: bool) -> str:
        dst = os.path.join(root, "site", "gosched")
        shutil.copytree(os.path.join(PACKAGE_PARENT, "gosched"), dst,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.dylib"))
        if with_library:
            shutil.copy(gosched.library_path, os.path.join(dst, _lib.LIBRARY_NAME))
        return os.path.dirname(dst)

    def test_env_variable_is_used_first(self):
        r = run_python("import gosched; print(gosched.library_path)",
                       env={"GOSCHED_LIBRARY": gosched.library_path})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), gosched.library_path)

    def test_env_variable_naming_a_missing_file_is_an_error(self):
        r = run_python("import gosched", env={"GOSCHED_LIBRARY": "/nonexistent/libgosched.so"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("GOSCHED_LIBRARY", r.stderr)
        self.assertIn("not a file", r.stderr)

    def test_not_found_names_the_four_places(self):
        self.skip_if_installed()
        with tempfile.TemporaryDirectory() as tmp:
            site = self.copy_package(tmp, with_library=False)
            code = ("import gosched\n")
            r = run_python(code, env=NO_HINTS, cwd=tmp, pythonpath=site)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("LibraryNotFoundError", r.stderr)
            self.assertIn("1. $GOSCHED_LIBRARY (not set)", r.stderr)
            self.assertIn("2. next to the package", r.stderr)
            self.assertIn(f"3. the system: no {_lib.LIBRARY_SONAME}", r.stderr)
            self.assertIn("4. the cargo target directory", r.stderr)

    def test_installed_library_through_ld_library_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            site = self.copy_package(tmp, with_library=False)
            libdir = os.path.join(tmp, "lib")
            os.makedirs(libdir)
            shutil.copy(gosched.library_path, os.path.join(libdir, _lib.LIBRARY_SONAME))
            # A cargo target directory too: the system comes first.
            release = os.path.join(tmp, "custom-target", "release")
            os.makedirs(release)
            shutil.copy(gosched.library_path, os.path.join(release, _lib.LIBRARY_NAME))
            code = ("import gosched\n"
                    "gosched.init(procs=1)\n"
                    "out = []\n"
                    "gosched.go(out.append, 7)\n"
                    "gosched.wait(30)\n"
                    "gosched.shutdown()\n"
                    "assert out == [7], out\n"
                    "print(gosched.library_path)\n")
            env = dict(NO_HINTS, LD_LIBRARY_PATH=libdir, CARGO_TARGET_DIR=os.path.join(tmp, "custom-target"))
            r = run_python(code, env=env, cwd=tmp, pythonpath=site)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(libdir, _lib.LIBRARY_SONAME))

    def test_bundled_library_comes_before_the_system(self):
        with tempfile.TemporaryDirectory() as tmp:
            site = self.copy_package(tmp, with_library=True)
            libdir = os.path.join(tmp, "lib")
            os.makedirs(libdir)
            shutil.copy(gosched.library_path, os.path.join(libdir, _lib.LIBRARY_SONAME))
            r = run_python("import gosched; print(gosched.library_path)",
                           env=dict(NO_HINTS, LD_LIBRARY_PATH=libdir), cwd=tmp, pythonpath=site)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(site, "gosched", _lib.LIBRARY_NAME))

    def test_library_next_to_the_package(self):
        with tempfile.TemporaryDirectory() as tmp:
            site = self.copy_package(tmp, with_library=True)
            r = run_python("import gosched; print(gosched.library_path)",
                           env=NO_HINTS, cwd=tmp, pythonpath=site)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(site, "gosched", _lib.LIBRARY_NAME))

    def test_cargo_target_above_the_working_directory(self):
        # This file is <project>/bindings/python/tests/test_runtime.py.
        project = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        lib = os.path.join(project, "target", "release", _lib.LIBRARY_NAME)
        if not os.path.isfile(os.path.join(project, "Cargo.toml")):
            self.skipTest(f"{project} is not a cargo project (tests run from a copy?): skipped")
        if not os.path.isfile(lib):
            self.skipTest(f"{lib} is not built (cargo build --release): skipped")
        self.skip_if_installed()
        with tempfile.TemporaryDirectory() as tmp:
            site = self.copy_package(tmp, with_library=False)
            r = run_python("import gosched; print(gosched.library_path)",
                           env=NO_HINTS, cwd=os.path.join(project, "bindings"), pythonpath=site)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.path.realpath(r.stdout.strip()), os.path.realpath(lib))

    def test_cargo_target_dir_variable(self):
        self.skip_if_installed()
        with tempfile.TemporaryDirectory() as tmp:
            site = self.copy_package(tmp, with_library=False)
            release = os.path.join(tmp, "custom-target", "release")
            os.makedirs(release)
            shutil.copy(gosched.library_path, os.path.join(release, _lib.LIBRARY_NAME))
            r = run_python("import gosched; print(gosched.library_path)",
                           env=dict(NO_HINTS, CARGO_TARGET_DIR=os.path.join(tmp, "custom-target")),
                           cwd=tmp, pythonpath=site)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(release, _lib.LIBRARY_NAME))


class LifeCycle(unittest.TestCase):
    def test_calls_before_init_raise_not_initialized(self):
        with self.assertRaises(gosched.NotInitialized):
            gosched.go(print)
        with self.assertRaises(gosched.NotInitialized):
            gosched.stats()
        with self.assertRaises(gosched.NotInitialized):
            gosched.shutdown()

    def test_init_twice_raises_already_done(self):
        gosched.init(procs=1)
        try:
            with self.assertRaises(gosched.AlreadyDone) as cm:
                gosched.init()
            self.assertEqual(cm.exception.code, _lib.GS_EALREADY)
        finally:
            gosched.shutdown()

    def test_bad_arguments_raise_invalid_argument(self):
        with self.assertRaises(gosched.InvalidArgument):
            gosched.init(procs=-1)
        with self.assertRaises(gosched.InvalidArgument):
            gosched.init(stack_size=100)  # below the 16 KiB minimum: gs_init refuses
        with self.assertRaises(gosched.NotInitialized):
            gosched.stats()

    def test_runtime_context_manager_and_restart(self):
        for procs in (1, 2, 3):
            out = []
            with gosched.Runtime(procs=procs) as rt:
                self.assertEqual(gosched.stats()["procs"], procs)
                for i in range(20):
                    gosched.go(out.append, i)
                rt.wait(30)
            self.assertEqual(rt.abandoned, 0)
            self.assertEqual(sorted(out), list(range(20)))
        with self.assertRaises(gosched.NotInitialized):
            gosched.stats()

    def test_shutdown_counts_abandoned_goroutines(self):
        gosched.init(procs=2)
        parked = []

        def sleeper():
            parked.append(1)
            park_here(b"abandoned")
            parked.append("resumed")  # never reached

        for _ in range(5):
            gosched.go(sleeper)
        wait_until(lambda: gosched.stats()["waiting"] == 5, what="5 parked goroutines")
        self.assertEqual(gosched.shutdown(), 5)
        self.assertEqual(parked, [1] * 5)
        self.assertNotIn("resumed", parked)


class Goroutines(RuntimeTestCase):
    def test_arguments_and_keywords_reach_the_function(self):
        got = []
        gosched.go(lambda a, b, *, c: got.append((a, b, c)), 1, "two", c=[3])
        self.join()
        self.assertEqual(got, [(1, "two", [3])])

    def test_ids_are_distinct_and_goid_matches(self):
        seen = {}

        def rec(expected_slot):
            seen[expected_slot] = gosched.goid()

        ids = [gosched.go(rec, i) for i in range(50)]
        self.join()
        self.assertEqual(len(set(ids)), 50)
        self.assertTrue(all(i > 0 for i in ids))
        self.assertEqual([seen[i] for i in range(50)], ids)
        self.assertEqual(gosched.goid(), 0)
        self.assertFalse(gosched.in_goroutine())

    def test_spawn_from_goroutines_and_threads(self):
        got = []
        lock = threading.Lock()

        def leaf(tag):
            with lock:
                got.append(tag)

        def parent(k):
            for j in range(5):
                gosched.go(leaf, ("g", k, j))

        def thread_body(k):
            for j in range(5):
                gosched.go(leaf, ("t", k, j))

        for k in range(4):
            gosched.go(parent, k)
        ts = [threading.Thread(target=thread_body, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.join()
        self.assertEqual(len(got), 40)
        self.assertEqual(len(set(got)), 40)

    def test_each_goroutine_has_its_own_thread_state(self):
        local = threading.local()
        bad = []

        def worker(k):
            local.value = k
            try:
                raise KeyError(k)
            except KeyError:
                for _ in range(10):
                    gosched.gosched()
                    if local.value != k or sys.exc_info()[1].args != (k,):
                        bad.append(k)

        for k in range(30):
            gosched.go(worker, k)
        self.join()
        self.assertEqual(bad, [])

    def test_lock_os_thread_keeps_the_thread(self):
        moved = []

        def pinned():
            gosched.lock_os_thread()
            me = threading.get_ident()
            for _ in range(30):
                gosched.gosched()
                if threading.get_ident() != me:
                    moved.append(1)

        def busy():
            for _ in range(30):
                gosched.gosched()

        for _ in range(3):
            gosched.go(pinned)
            gosched.go(busy)
        self.join()
        self.assertEqual(moved, [])
        with self.assertRaises(gosched.NotPermitted):
            gosched.lock_os_thread()

    def test_exception_is_printed_with_traceback_and_counted(self):
        before = gosched.exceptions_count()
        buf = io.StringIO()
        old, sys.stderr = sys.stderr, buf
        try:
            def inner():
                raise ValueError("boom in goroutine")

            def outer():
                inner()

            # Only the id is kept: with the handle dropped, nobody can retrieve the
            # exception, so it is reported when the goroutine ends.
            gid = int(gosched.go_with(outer, name="faulty"))
            self.join()
        finally:
            sys.stderr = old
        text = buf.getvalue()
        self.assertIn(f"Exception in goroutine {gid} (faulty):", text)
        self.assertIn("Traceback (most recent call last):", text)
        self.assertIn("in inner", text)
        self.assertIn("ValueError: boom in goroutine", text)
        self.assertEqual(gosched.exceptions_count(), before + 1)
        self.assertEqual(gosched.stats()["python_exceptions"], before + 1)
        # The runtime keeps running.
        got = []
        gosched.go(got.append, 1)
        self.join()
        self.assertEqual(got, [1])

    def test_deep_recursion_raises_recursion_error_not_a_crash(self):
        got = []

        def through_c(n):
            return list(map(through_c, [n + 1]))

        def worker():
            try:
                through_c(0)
            except RecursionError:
                got.append("recursion")

        gosched.go(worker)
        self.join()
        self.assertEqual(got, ["recursion"])

    def test_wait_timeout_and_wait_from_goroutine(self):
        handle = []
        inner = []

        def parked():
            try:
                gosched.wait(0)
            except gosched.NotPermitted:
                inner.append("eperm")
            handle.append(_lib.gs_self())
            park_here()

        gosched.go(parked)
        wait_until(lambda: handle and gosched.stats()["waiting"] >= 1, what="parked goroutine")
        t0 = time.monotonic()
        with self.assertRaises(gosched.Timeout):
            gosched.wait(0.05)
        self.assertGreaterEqual(time.monotonic() - t0, 0.04)
        self.assertEqual(_lib.gs_ready(handle[0]), 0)
        self.join()
        self.assertEqual(inner, ["eperm"])

    def test_go_c_runs_a_c_function(self):
        libc = ctypes.CDLL(None)
        libc.setenv.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        libc.getenv.restype = ctypes.c_char_p
        libc.getenv.argtypes = [ctypes.c_char_p]
        name = ctypes.create_string_buffer(b"GOSCHED_GO_C_TEST")
        self.assertEqual(libc.setenv(name, b"1", 1), 0)
        self.assertEqual(libc.getenv(name), b"1")
        gid = gosched.go_c(libc.unsetenv, name)
        self.assertGreater(gid, 0)
        self.join()
        self.assertIsNone(libc.getenv(name))

    def test_go_c_refuses_python_callbacks_and_null(self):
        cb = _lib.GS_FN(lambda arg: None)
        with self.assertRaises(gosched.InvalidArgument):
            gosched.go_c(cb, None)
        with self.assertRaises(gosched.InvalidArgument):
            gosched.go_c(0, None)
        with self.assertRaises(TypeError):
            gosched.go(42)

    def test_stats_has_every_gs_stats_field(self):
        s = gosched.stats()
        for name, _ in _lib.STATS_FIELDS:
            self.assertIn(name, s)
            self.assertIsInstance(s[name], int)
        self.assertEqual(s["procs"], self.procs)
        before = s["spawned_total"]
        for _ in range(10):
            gosched.go(int)
        self.join()
        self.assertGreaterEqual(gosched.stats()["spawned_total"], before + 10)

    def test_dump_shows_a_named_parked_goroutine(self):
        handle = []

        def parked():
            handle.append(_lib.gs_self())
            park_here(b"waiting for the dump test")

        gid = gosched.go_with(parked, name="dump-me")
        wait_until(lambda: handle and gosched.stats()["waiting"] >= 1, what="parked goroutine")
        text = gosched.dump()
        self.assertIn("dump-me", text)
        self.assertIn(str(gid), text)
        self.assertEqual(_lib.gs_ready(handle[0]), 0)
        self.join()

    @needs("gs_sleep")
    def test_sleep_parks_for_the_duration(self):
        times = []

        def sleeper():
            t0 = time.monotonic()
            gosched.sleep(0.05)
            times.append(time.monotonic() - t0)

        for _ in range(20):
            gosched.go(sleeper)
        t0 = time.monotonic()
        self.join()
        total = time.monotonic() - t0
        self.assertEqual(len(times), 20)
        self.assertTrue(all(t >= 0.045 for t in times), times)
        self.assertLess(total, 1.0)  # they slept together, not one after another
        t0 = time.monotonic()
        gosched.sleep(0.02)  # off-goroutine: the thread sleeps
        self.assertGreaterEqual(time.monotonic() - t0, 0.018)
        with self.assertRaises(gosched.InvalidArgument):
            gosched.sleep(-1)


class OneProc(RuntimeTestCase):
    procs = 1

    def test_gosched_interleaves_goroutines(self):
        order = []

        def worker(tag):
            for _ in range(20):
                order.append(tag)
                gosched.gosched()

        gosched.go(worker, "a")
        gosched.go(worker, "b")
        self.join()
        self.assertEqual(sorted(order), ["a"] * 20 + ["b"] * 20)
        # One P: each yield hands it to the other goroutine.
        switches = sum(1 for x, y in zip(order, order[1:]) if x != y)
        self.assertGreaterEqual(switches, 10, "".join(order))
        gosched.gosched()  # off-goroutine: just yields the thread

    @needs("gs_entersyscall", "gs_exitsyscall")
    def test_blocking_block_lets_other_goroutines_run(self):
        order = []

        def sleeper():
            with gosched.blocking():
                time.sleep(0.3)  # blocks the OS thread; the only P moves on
            order.append("sleeper")

        def counter():
            for _ in range(50):
                gosched.gosched()
            order.append("counter")

        gosched.go(sleeper)
        gosched.go(counter)
        self.join()
        self.assertEqual(order, ["counter", "sleeper"])
        with gosched.blocking(long=True):  # off-goroutine: nothing to do
            pass

    @needs("gs_entersyscall", "gs_exitsyscall")
    def test_in_call_flag_around_blocking_and_channel_calls(self):
        # The goroutine record's inside flag is what shutdown() reads: set inside
        # blocking() and during a parked channel call, clear in Python code between,
        # and clearing it on exit from blocking() must not stop the next channel calls
        # from switching goroutines.
        from gosched import _pystate

        seen = []
        recs = []
        ping, pong = gosched.Chan(), gosched.Chan()

        def a():
            rec = _pystate.g.rec
            recs.append(rec)
            with gosched.blocking():
                seen.append(("blocking", rec.inside))
            seen.append(("after", rec.inside))
            for i in range(200):
                ping.send(i)
                self.assertEqual(pong.recv(), i + 1)
            seen.append(("end", rec.inside))

        def b():
            rec = _pystate.g.rec
            deadline = time.monotonic() + 10
            while not (recs and recs[0].inside) and time.monotonic() < deadline:
                gosched.sleep(0.001)  # (parks: with one P, a must get to run)
            seen.append(("a parked", recs[0].inside))
            for _ in range(200):
                v = ping.recv()
                pong.send(v + 1)
            seen.append(("b", rec.inside))

        gosched.go(b)
        h = gosched.go(a)
        h.result(timeout=30)
        self.join()
        self.assertEqual(
            sorted(seen),
            sorted([("blocking", True), ("after", False), ("a parked", True), ("end", False), ("b", False)]),
        )


class Errors(unittest.TestCase):
    def test_every_code_has_its_class(self):
        pairs = {
            _lib.GS_EINVAL: gosched.InvalidArgument,
            _lib.GS_ENOMEM: gosched.OutOfMemory,
            _lib.GS_EAGAIN: gosched.WouldBlock,
            _lib.GS_ETIMEDOUT: gosched.Timeout,
            _lib.GS_EALREADY: gosched.AlreadyDone,
            _lib.GS_EPERM: gosched.NotPermitted,
            _lib.GS_ENOTINIT: gosched.NotInitialized,
            _lib.GS_ESHUTDOWN: gosched.ShuttingDown,
            _lib.GS_ECLOSED: gosched.Closed,
            _lib.GS_ECANCELED: gosched.Canceled,
            _lib.GS_EDEADLK: gosched.Deadlock,
            _lib.GS_EBUSY: gosched.Busy,
        }
        from gosched._errors import class_for

        for code, cls in pairs.items():
            self.assertIs(class_for(code), cls)
            self.assertTrue(issubclass(cls, gosched.Error))
            self.assertEqual(cls.code, code)
            self.assertNotEqual(_lib.strerror(code), "")
        self.assertIs(class_for(-12345), gosched.Error)
        self.assertTrue(issubclass(gosched.Timeout, TimeoutError))

    def test_thread_mode_is_known(self):
        self.assertIn(gosched.thread_mode(), ("switch", "lock"))
        self.assertTrue(gosched.thread_mode_reason())


if __name__ == "__main__":
    unittest.main()
