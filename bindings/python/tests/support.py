"""Utilities shared by the tests (not a test module itself)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import unittest
from typing import Callable, Dict, Optional

try:
    import gosched
except ModuleNotFoundError:
    # Not installed: use the package from this source tree.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import gosched

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(gosched.__file__)))


def needs(*symbols: str) -> Callable:
    """Skips a test or class unless the library exports every C function named."""
    missing = [s for s in symbols if not gosched.has(s)]
    return unittest.skipUnless(
        not missing,
        f"{os.path.basename(gosched.library_path)} lacks {', '.join(missing)} "
        "(not built yet): skipped",
    )


def run_python(
    code: str,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[str] = None,
    timeout: float = 120,
    pythonpath: Optional[str] = None,
) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter that imports this same gosched package
    (unless ``pythonpath`` says otherwise)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = pythonpath if pythonpath is not None else PACKAGE_PARENT
    e.pop("PYTHONDEVMODE", None)
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    return subprocess.run(
        [sys.executable, "-c", code],
        env=e,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


class RuntimeTestCase(unittest.TestCase):
    """Starts the runtime once for the class and stops it afterwards."""

    procs = 2

    @classmethod
    def setUpClass(cls) -> None:
        gosched.init(procs=cls.procs)

    @classmethod
    def tearDownClass(cls) -> None:
        gosched.shutdown()

    def join(self, timeout: float = 60.0) -> None:
        """Waits for every goroutine to end."""
        gosched.wait(timeout)
