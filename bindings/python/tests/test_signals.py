"""Python signals reach the main thread within 100 ms while it waits in the runtime or
pumps host goroutines; nothing is lost. Each case runs in a child process that the
test signals from here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from support import PACKAGE_PARENT, needs  # first: finds gosched

import gosched

LATENCY = 0.1

_PRELUDE = """
import os, signal, sys, time, gosched
gosched.init(procs=2)
ch = gosched.Chan(1)
other = gosched.Chan()
def ready():
    print("ready", flush=True)
"""

# What blocks the main thread, per case; `catch` says what to check afterwards.
_BLOCK = {
    "recv": "ready(); ch.recv()",
    "recv_timeout": "ready(); ch.recv(timeout=30)",
    "send": "ch.send('a'); ready(); ch.send('b')",
    "wait": "gosched.go(other.recv); ready(); gosched.wait()",
    "sleep": "ready(); gosched.sleep(30)",
    "select": "ready(); gosched.select([(ch, 'recv'), (other, 'recv')])",
    "join": "g = gosched.go(other.recv); ready(); g.join()",
    "wg_wait": "wg = gosched.WaitGroup(); wg.add(1); ready(); wg.wait()",
    "mutex_lock": "mu = gosched.Mutex(); mu.lock(); ready(); mu.lock()",
}

# After KeyboardInterrupt was caught: the runtime works and nothing was lost.
_AFTER = {
    "recv": "gosched.go(ch.send, 'late'); assert ch.recv(timeout=5) == 'late'",
    "recv_timeout": "gosched.go(ch.send, 'late'); assert ch.recv(timeout=5) == 'late'",
    "send": "assert ch.recv() == 'a'; assert ch.try_recv() == (False, None), 'b was sent'",
    "wait": "other.close(); gosched.wait(timeout=5)",
    "sleep": "gosched.sleep(0.001)",
    "select": "gosched.go(other.send, 7); assert gosched.select([(ch, 'recv'), (other, 'recv')], timeout=5) == (1, 7)",
    "join": "assert not g.done(); other.send(5); assert g.join(timeout=5) and g.result() == 5",
    "wg_wait": "gosched.go(wg.done); assert wg.wait(timeout=5)",
    "mutex_lock": "mu.unlock(); assert mu.lock(timeout=5)",
}


def _child(body: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT
    env.pop("PYTHONDEVMODE", None)
    code = _PRELUDE + textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _await_ready(p: subprocess.Popen) -> None:
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"child did not get ready: {line!r}{out}\n{err}")
    time.sleep(0.2)  # let it enter the blocking call


def _finish(p: subprocess.Popen, timeout: float = 20) -> tuple:
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"child hung after the signal:\n{out}\n{err}")
    return p.returncode, out, err


@needs("gs_chan_new", "gs_select")
class KeyboardInterruptOnMainThread(unittest.TestCase):
    def caught(self, op: str) -> None:
        body = f"""
        try:
            {_BLOCK[op]}
        except KeyboardInterrupt:
            print("caught", time.monotonic(), flush=True)
            {_AFTER[op]}
            print("ok", flush=True)
        else:
            print("returned without KeyboardInterrupt", flush=True)
        """
        p = _child(body)
        _await_ready(p)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        rc, out, err = _finish(p)
        lines = out.split()
        self.assertEqual(rc, 0, f"{op}: {out}\n{err}")
        self.assertIn("caught", lines, f"{op}: {out}\n{err}")
        self.assertIn("ok", lines, f"{op}: {out}\n{err}")
        late = float(lines[lines.index("caught") + 1]) - sent
        self.assertLess(late, LATENCY, f"{op}: KeyboardInterrupt {late * 1e3:.1f} ms after SIGINT")

    def uncaught(self, op: str) -> None:
        # The exit status as a shell reports it: 130 = 128 + SIGINT.
        p = _child(f"{_BLOCK[op]}\nprint('returned', flush=True)\n")
        _await_ready(p)
        p.send_signal(signal.SIGINT)
        rc, out, err = _finish(p)
        status = 128 + -rc if rc < 0 else rc
        self.assertEqual(status, 130, f"{op}: rc {rc}\n{out}\n{err}")
        self.assertIn("KeyboardInterrupt", err)
        self.assertNotIn("returned", out)

    def test_recv(self):
        self.caught("recv")
        self.uncaught("recv")

    def test_recv_with_timeout(self):
        self.caught("recv_timeout")

    def test_send(self):
        self.caught("send")
        self.uncaught("send")

    def test_wait(self):
        self.caught("wait")
        self.uncaught("wait")

    def test_sleep(self):
        self.caught("sleep")
        self.uncaught("sleep")

    def test_select(self):
        self.caught("select")
        self.uncaught("select")

    def test_goroutine_join(self):
        self.caught("join")
        self.uncaught("join")

    @needs("gs_waitgroup_wait_timeout", "gs_mutex_lock_timeout")
    def test_waitgroup_wait_and_mutex_lock(self):
        self.caught("wg_wait")
        self.uncaught("wg_wait")
        self.caught("mutex_lock")
        self.uncaught("mutex_lock")

    def test_any_python_handler_runs_while_recv_waits(self):
        body = """
        got = []
        def on_usr1(s, f):
            got.append(time.monotonic())
            print("handler", got[-1], flush=True)
        signal.signal(signal.SIGUSR1, on_usr1)
        def later():
            gosched.sleep(1.0)
            ch.send('v')
        gosched.go(later)
        ready()
        v = ch.recv()
        assert v == 'v', v
        assert len(got) == 1
        print("received", flush=True)
        """
        p = _child(body)
        _await_ready(p)
        sent = time.monotonic()
        p.send_signal(signal.SIGUSR1)
        rc, out, err = _finish(p)
        self.assertEqual(rc, 0, out + err)
        lines = out.split()
        self.assertIn("received", lines)
        late = float(lines[lines.index("handler") + 1]) - sent
        self.assertLess(late, LATENCY, f"SIGUSR1 handler ran {late * 1e3:.1f} ms late")


_HOST_LOOP = """
steps = []
def host():
    while True:
        t = time.monotonic() + 0.02
        while time.monotonic() < t:
            pass  # a 20 ms Python step
        steps.append(1)
        gosched.gosched()
h = gosched.go_with(host, host=True, name="host")
"""


@needs("gs_run_for", "gs_chan_new")
@unittest.skipUnless(gosched.thread_mode() == "switch",
                     "Python host goroutines need the thread-state switch mode: skipped")
class SignalsInAHostLoop(unittest.TestCase):
    def test_sigint_is_raised_by_run_for_not_in_the_host_goroutine(self):
        body = _HOST_LOOP + textwrap.dedent("""
        ready()
        try:
            while True:
                gosched.run_for(0.05)
        except KeyboardInterrupt:
            print("caught", time.monotonic(), flush=True)
        n = len(steps)
        for _ in range(5):
            gosched.run_for(0.05)
        assert len(steps) > n, "the host goroutine died"
        print("alive", flush=True)
        """)
        p = _child(body)
        _await_ready(p)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        rc, out, err = _finish(p)
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("Exception in goroutine", err)
        lines = out.split()
        self.assertIn("alive", lines, out + err)
        late = float(lines[lines.index("caught") + 1]) - sent
        self.assertLess(late, LATENCY, f"KeyboardInterrupt {late * 1e3:.1f} ms after SIGINT")

    def test_sigterm_handler_calling_sys_exit_ends_the_process(self):
        body = _HOST_LOOP + textwrap.dedent("""
        signal.signal(signal.SIGTERM, lambda s, f: sys.exit(3))
        ready()
        while True:
            gosched.run_for(0.05)
        """)
        p = _child(body)
        _await_ready(p)
        p.send_signal(signal.SIGTERM)
        rc, out, err = _finish(p)
        self.assertEqual(rc, 3, out + err)

    def test_uncaught_sigint_in_a_host_loop_exits_130(self):
        p = _child(_HOST_LOOP + "ready()\nwhile True:\n    gosched.run_for(0.05)\n")
        _await_ready(p)
        p.send_signal(signal.SIGINT)
        rc, out, err = _finish(p)
        status = 128 + -rc if rc < 0 else rc
        self.assertEqual(status, 130, f"rc {rc}\n{out}\n{err}")


if __name__ == "__main__":
    unittest.main()
