"""bench.py runs, in one process, the pipeline benchmarks against threading, asyncio and
gevent (gevent SKIPPED with its reason when it cannot be installed), and its results
add up (each pipeline checks the sum it received)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

from support import PACKAGE_PARENT  # first: finds gosched

_BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench.py")


@unittest.skipUnless(os.path.isfile(_BENCH), "bench.py is not beside the tests (installed package): skipped")
class Bench(unittest.TestCase):
    def test_pipeline_benchmarks_in_one_run(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = PACKAGE_PARENT
        r = subprocess.run(
            [sys.executable, _BENCH, "--only-pipeline", "--pipeline", "3000", "--reps", "1", "--procs", "2"],
            env=env, capture_output=True, text=True, timeout=600,
        )
        out = r.stdout
        self.assertEqual(r.returncode, 0, out + r.stderr)
        for title in ("consumer a task", "consumer on the main thread"):
            block = out.split(title, 1)[1].split("pipeline", 1)[0]
            for lib in ("gosched", "threading+Queue", "asyncio.Queue"):
                self.assertRegex(block, rf"{re.escape(lib)}\s+[0-9]+ ns/message", out)
            self.assertTrue(
                re.search(r"gevent\.Queue\s+[0-9]+ ns/message", block) or re.search(r"gevent\.Queue\s+SKIPPED: \S", block),
                out,
            )
        self.assertIn("main-thread consumer", out)
        # With 2 Ps, the pipelines again with 1 P.
        self.assertRegex(out, r"gosched with 1 P: pipeline \(capacity 64\) [0-9]+ ns/message \([0-9.]+x as fast as asyncio\)")
        self.assertRegex(out, r"with 1 P.*main-thread consumer [0-9]+ ns/message, goroutine consumer [0-9]+ ns/message")


if __name__ == "__main__":
    unittest.main()
