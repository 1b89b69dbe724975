"""Static typing of the package: ``mypy --strict`` is clean on it, ``pyright
--verifytypes gosched`` scores at least 95%, ``Chan[T]`` and ``go`` (ParamSpec) type user
code, and ``help(gosched)`` starts with the API.

mypy and pyright are installed with pip from PyPI into a cache directory
(``$GOSCHED_TYPETOOLS``, default ``~/.cache/gosched-typetools``) on first use; when they
cannot be installed the tests are skipped with a message that names them."""

from __future__ import annotations

import os
import pydoc
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest
from typing import List, Optional

from support import PACKAGE_PARENT  # first: finds gosched

import gosched

_TOOLS = os.environ.get("GOSCHED_TYPETOOLS") or os.path.join(
    os.path.expanduser("~"), ".cache", "gosched-typetools"
)
_tried: dict = {}


def _tools() -> Optional[str]:
    """The directory holding mypy and pyright, installed on first use; None if pip
    could not install them."""
    if "dir" in _tried:
        return _tried["dir"]
    ok = os.path.isdir(os.path.join(_TOOLS, "mypy")) and os.path.isdir(os.path.join(_TOOLS, "pyright"))
    if not ok:
        r = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", _TOOLS, "mypy", "pyright"],
            capture_output=True, text=True, timeout=600,
        )
        ok = r.returncode == 0
        _tried["why"] = (r.stdout + r.stderr)[-500:]
    _tried["dir"] = _TOOLS if ok else None
    return _tried["dir"]


def _run(args: List[str], cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_TOOLS, PACKAGE_PARENT])
    env.pop("MYPYPATH", None)
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


def _needs_tools(test):  # type: ignore[no-untyped-def]
    def wrapper(self):  # type: ignore[no-untyped-def]
        if _tools() is None:
            self.skipTest(f"SKIPPED: mypy and pyright could not be installed with pip: {_tried.get('why', '')}")
        return test(self)

    wrapper.__name__ = test.__name__
    return wrapper


_GOOD = """
from typing import List, Optional, Tuple
import gosched

def work(n: int, label: str) -> float:
    return n / 2

ch: gosched.Chan[int] = gosched.Chan(4)
ch.send(3)
x: int = ch.recv()
ok, maybe = ch.try_recv()
y: Optional[int] = maybe
for v in ch:
    z: int = v
g: gosched.Goroutine[float] = gosched.go(work, 1, "a")
r: float = g.result(timeout=1.0)
done: bool = g.join()
e: Optional[BaseException] = g.exception()
gid: int = g.id + int(g)
with gosched.Group() as grp:
    h: gosched.Goroutine[float] = grp.go(work, 2, label="b")
idx, val = gosched.select([(ch, "recv"), (ch, "send", 5)], timeout=0.5)
i: int = idx
s: gosched.Chan[str] = gosched.Chan[str]()
"""

_BAD = """
import gosched

def work(n: int, label: str) -> float:
    return n / 2

ch: gosched.Chan[int] = gosched.Chan()
ch.send("not an int")  # BAD1
s: str = ch.recv()  # BAD2
gosched.go(work, "1", "a")  # BAD3
gosched.go(work, 1)  # BAD4
t: str = gosched.go(work, 1, "a").result()  # BAD5
gosched.select([(ch, "recieve")])  # BAD6
"""


class Typing(unittest.TestCase):
    @_needs_tools
    def test_mypy_strict_is_clean_on_the_package(self):
        r = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                  os.path.join(PACKAGE_PARENT, "gosched")])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Success: no issues found", r.stdout)

    @_needs_tools
    def test_pyright_verifytypes_score(self):
        pyright = os.path.join(_TOOLS, "bin", "pyright")
        args = [pyright] if os.path.exists(pyright) else [sys.executable, "-m", "pyright"]
        r = _run(args + ["--verifytypes", "gosched"])
        m = re.search(r"Type completeness score: ([0-9.]+)%", r.stdout)
        if m is None and ("node" in (r.stdout + r.stderr).lower() and "not" in (r.stdout + r.stderr).lower()):
            self.skipTest(f"SKIPPED: pyright could not run (no Node.js): {(r.stdout + r.stderr)[-300:]}")
        self.assertIsNotNone(m, r.stdout + r.stderr)
        score = float(m.group(1))
        print(f"\npyright --verifytypes gosched: {score}%", file=sys.stderr)
        self.assertGreaterEqual(score, 95.0, r.stdout)

    @_needs_tools
    def test_user_code_is_typed_through_chan_and_go(self):
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "good.py")
            bad = os.path.join(d, "bad.py")
            with open(good, "w") as f:
                f.write(textwrap.dedent(_GOOD))
            with open(bad, "w") as f:
                f.write(textwrap.dedent(_BAD))
            r = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", good], cwd=d)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", bad], cwd=d)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            lines = textwrap.dedent(_BAD).splitlines()
            flagged = {int(m.group(1)) for m in re.finditer(r"bad\.py:(\d+): error", r.stdout)}
            for k in range(1, 7):
                line = next(i + 1 for i, l in enumerate(lines) if f"# BAD{k}" in l)
                self.assertIn(line, flagged, f"mypy did not flag BAD{k} ({lines[line - 1]!r}):\n{r.stdout}")


class Help(unittest.TestCase):
    def test_help_starts_with_the_api(self):
        text = pydoc.render_doc(gosched, renderer=pydoc.plaintext)
        head = "\n".join(text.splitlines()[:60])
        for name in ("Chan[", "go(fn", "Goroutine", "Group", "select(", "WaitGroup", "Mutex", "Runtime("):
            self.assertIn(name, head, f"{name} is not among the first 60 lines of help(gosched)")
        self.assertLess(text.index("go(fn"), text.index("class AlreadyDone"))


if __name__ == "__main__":
    unittest.main()
