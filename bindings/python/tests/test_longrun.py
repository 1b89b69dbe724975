"""The long-running detector from Python: ``init(longrun_ms=...)`` (gs_config's
``longrun_ms`` through gs_init_sized) reports a goroutine that spins without a
scheduling point, and not one that yields; bad values raise ``InvalidArgument``.
Each case runs in a fresh interpreter whose stderr (where the runtime reports) is
read back."""

from __future__ import annotations

import re
import unittest

from support import needs, run_python  # first: finds gosched

import gosched

SCRIPT = r"""
import time
import gosched

def spin(yielding):
    # 100 ms of this thread's CPU; a goroutine that yields may move to another
    # thread, so the CPU time is counted afresh after each yield.
    used, start, next_yield = 0.0, time.thread_time(), 0.0
    while used < 0.1:
        if yielding and time.monotonic() >= next_yield:
            gosched.gosched()
            next_yield = time.monotonic() + 0.0001
            start = time.thread_time() - used
        used = time.thread_time() - start

gosched.init(procs={procs}{kw})
s = gosched.go_with(spin, (False,), name="py-spinner")
gosched.wait(60)
y = gosched.go_with(spin, (True,), name="py-yielder")
gosched.wait(60)
print("ids", s.id, y.id)
gosched.shutdown()
"""


@needs("gs_init_sized")
class LongRun(unittest.TestCase):
    def run_case(self, procs: int, kw: str, env: dict | None = None) -> tuple[int, int, str]:
        r = run_python(SCRIPT.format(procs=procs, kw=kw), env=dict({"GS_DEBUG": None}, **(env or {})))
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"^ids (\d+) (\d+)$", r.stdout, re.M)
        assert m, r.stdout
        return int(m.group(1)), int(m.group(2)), r.stderr

    def test_spinner_reported_yielder_silent(self) -> None:
        for procs in (1, 2):
            sid, yid, err = self.run_case(procs, ", longrun_ms=50")
            m = re.search(rf'goroutine {sid} "py-spinner" has run (\d+) ms without a scheduling point', err)
            self.assertIsNotNone(m, f"the spinner was not reported at {procs} P:\n{err}")
            assert m is not None
            self.assertGreaterEqual(int(m.group(1)), 50, err)
            self.assertNotIn(f"goroutine {yid} ", err)

    def test_off_by_default_and_environment_wins(self) -> None:
        _, _, err = self.run_case(1, "")
        self.assertNotIn("without a scheduling point", err)
        _, _, err = self.run_case(1, ", longrun_ms=50", env={"GS_DEBUG": "longrun=0"})
        self.assertNotIn("without a scheduling point", err)

    def test_bad_values_raise_invalid_argument(self) -> None:
        for bad in (-1, 2**32, 1.5, "50"):
            with self.assertRaises(gosched.InvalidArgument):
                gosched.init(longrun_ms=bad)  # type: ignore[arg-type]
        with self.assertRaises(gosched.NotInitialized):
            gosched.stats()


if __name__ == "__main__":
    unittest.main()
