"""Python signals while the main thread waits in the runtime or pumps host goroutines.

CPython runs Python signal handlers (``KeyboardInterrupt`` from SIGINT included) on the
main thread, between bytecodes. Two things get in the way:

- A blocking C call made by the main thread (``gs_chan_recv``, ``gs_wait``, ...) does not
  return when a signal arrives, so its handler would run only when the call ends. On the
  main thread (and only there) every blocking call of this package is therefore made in
  slices of ``SLICE`` seconds with the C function's timeout form; between two slices
  the interpreter runs pending handlers. A slice that times out has done nothing (no
  value sent or received), so an exception raised between slices loses nothing.
- Host goroutines run *on* the main OS thread inside ``run_for()``, each with its own
  thread state, and CPython runs handlers on whatever thread state runs on the main OS
  thread: ``KeyboardInterrupt`` would be raised inside a host goroutine. While
  ``run_for()`` runs, the Python handlers are wrapped: called on a goroutine, the
  wrapper only records the signal; ``run_for()`` then returns (after the current
  step) and calls the real handlers on the main thread, in the order received.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _lib, _pystate

#: Longest single wait of the main thread inside one C call: the delay, at most, before
#: a Python signal handler runs while the main thread is blocked in this package.
SLICE = 0.02
_SLICE_NS = int(SLICE * 1e9)
_ETIMEDOUT = _lib.GS_ETIMEDOUT
_MAIN = threading.main_thread().ident
_now = time.monotonic_ns


_get_ident = threading.get_ident


def on_main_thread() -> bool:
    """True on the interpreter's main thread, outside any goroutine (a host goroutine
    runs on the main OS thread but is not the main thread)."""
    return _get_ident() == _MAIN and not _pystate.g.goroutine


def sliced(f: Callable[..., int], head: Tuple[Any, ...], timeout_ns: int) -> int:
    """Calls ``f(*head, ns)``, a C function that returns GS_ETIMEDOUT when ``ns``
    nanoseconds pass without it doing anything, in slices until it does something or
    ``timeout_ns`` (< 0: forever) passes; pending signal handlers run between slices."""
    if 0 <= timeout_ns <= _SLICE_NS:
        return f(*head, timeout_ns)
    deadline = None if timeout_ns < 0 else _now() + timeout_ns
    while True:
        if deadline is None:
            ns = _SLICE_NS
        else:
            ns = min(_SLICE_NS, max(1, deadline - _now()))
        rc = f(*head, ns)
        if rc != _ETIMEDOUT or (deadline is not None and _now() >= deadline):
            return rc
        # Back in Python: the interpreter runs pending handlers at the loop's jump.


def sleep(ns: int) -> int:
    """gs_sleep on the main thread, in slices."""
    deadline = _now() + ns
    while True:
        left = deadline - _now()
        if left <= 0:
            return 0
        rc = _lib.gs_sleep(min(left, _SLICE_NS))
        if rc != 0:
            return int(rc)


# ---------------------------------------------------------------------------------------
# run_for


_pending: List[int] = []


def _wrap(signum: int, real: Callable[..., Any]) -> Callable[..., Any]:
    def handler(sig: int, frame: Any) -> Any:
        if _pystate.g.goroutine:
            _pending.append(sig)
            return None
        return real(sig, frame)

    handler.__wrapped__ = real  # type: ignore[attr-defined]
    return handler


def _python_handlers() -> Dict[int, Callable[..., Any]]:
    out = {}
    for s in signal.valid_signals():
        try:
            h = signal.getsignal(s)
        except (ValueError, OSError):
            continue
        if callable(h):
            out[int(s)] = h
    return out


def run_for(budget_ns: int) -> int:
    """gs_run_for on the main thread: host goroutines never see Python signals; the
    handlers run here, on the main thread, once the current step ends."""
    real = _python_handlers()
    for s, h in real.items():
        signal.signal(s, _wrap(s, h))
    steps = 0
    try:
        deadline = _now() + budget_ns
        while True:
            left = deadline - _now()
            ns = max(0, min(left, 5 * _SLICE_NS))
            t0 = _now()
            rc = _pystate.call_hosting(_lib.gs_run_for, ns)
            if rc < 0:
                return int(rc)
            steps += rc
            # Stop when a signal came, nothing was ready (returned early), or the budget
            # is spent.
            if _pending or _now() - t0 < ns or _now() >= deadline:
                break
    finally:
        for s, h in real.items():
            try:
                signal.signal(s, h)
            except (ValueError, OSError):
                pass
    _deliver(real)
    return int(steps)


def _deliver(real: Dict[int, Callable[..., Any]]) -> None:
    while _pending:
        s = _pending.pop(0)
        h = real.get(s)
        if h is not None:
            h(s, sys._getframe(1))


def pending_signals() -> Optional[List[int]]:
    """For tests: the signals recorded and not yet delivered."""
    return list(_pending)
