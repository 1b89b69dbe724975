"""WaitGroup and Mutex over gs_waitgroup_* and gs_mutex_*."""

from __future__ import annotations

from typing import Any, Optional

from . import _lib, _pystate, _signals
from ._errors import OutOfMemory
from ._runtime import check, to_ns

_call = _pystate.call
_timed = _lib.has("gs_waitgroup_wait_timeout") and _lib.has("gs_mutex_lock_timeout")


def _wait_timed(f: Any, h: Any, timeout: Optional[float], what: str) -> bool:
    """``f(h, ns)`` (a timed C call that gives GS_ETIMEDOUT); on the main thread in
    slices, so that signal handlers run meanwhile. False on timeout."""
    ns = to_ns(timeout)
    if _signals.on_main_thread():
        rc = _signals.sliced(f, (h,), ns)
    else:
        rc = _call(f, h, ns)
    if rc == _lib.GS_ETIMEDOUT:
        return False
    check(rc, what)
    return True


class WaitGroup:
    """Go's ``sync.WaitGroup``: ``add(n)`` before starting work, ``done()`` when a piece
    ends, ``wait()`` blocks until the counter is zero. Usable from goroutines and
    threads."""

    __slots__ = ("_h",)

    def __init__(self) -> None:
        h = _lib.gs_waitgroup_new()
        if not h:
            raise OutOfMemory("gs_waitgroup_new failed", _lib.GS_ENOMEM)
        self._h: Optional[int] = h

    def add(self, delta: int = 1) -> None:
        """Adds ``delta`` (may be negative) to the counter; ``InvalidArgument`` if it
        would go below zero."""
        check(_lib.gs_waitgroup_add(self._h, delta), "WaitGroup.add")

    def done(self) -> None:
        """``add(-1)``."""
        check(_lib.gs_waitgroup_done(self._h), "WaitGroup.done")

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the counter is zero, for up to ``timeout`` seconds (None:
        forever): True once it is zero, False if the time ran out. On the main thread
        Ctrl-C and signal handlers run within 0.1 s meanwhile."""
        if not _timed:
            check(_call(_lib.gs_waitgroup_wait, self._h), "WaitGroup.wait")
            return True
        return _wait_timed(_lib.gs_waitgroup_wait_timeout, self._h, timeout, "WaitGroup.wait")

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            try:
                _lib.gs_waitgroup_free(h)  # GS_EBUSY while waited on: left allocated
            except Exception:
                pass


class Mutex:
    """Go's ``sync.Mutex``: ``with mu: ...``, or ``lock()``/``unlock()``. Not owned by a
    thread: any goroutine or thread may unlock it. While a goroutine waits for it only
    that goroutine parks; a thread waiting for it blocks with the GIL released."""

    __slots__ = ("_h",)

    def __init__(self) -> None:
        h = _lib.gs_mutex_new()
        if not h:
            raise OutOfMemory("gs_mutex_new failed", _lib.GS_ENOMEM)
        self._h: Optional[int] = h

    def lock(self, timeout: Optional[float] = None) -> bool:
        """Locks, waiting up to ``timeout`` seconds (None: as long as it takes): True
        if locked now, False if the time ran out. On the main thread Ctrl-C and signal
        handlers run within 0.1 s meanwhile (the mutex is then not taken)."""
        h = self._h
        if _lib.gs_mutex_trylock(h) == 0:
            return True
        if not _timed:
            check(_call(_lib.gs_mutex_lock, h), "Mutex.lock")
            return True
        return _wait_timed(_lib.gs_mutex_lock_timeout, h, timeout, "Mutex.lock")

    def try_lock(self) -> bool:
        """Locks if it is free: True if locked now, False if held by someone."""
        rc = _lib.gs_mutex_trylock(self._h)
        if rc == _lib.GS_EAGAIN:
            return False
        check(rc, "Mutex.try_lock")
        return True

    def unlock(self) -> None:
        """Unlocks; ``NotPermitted`` if it is not locked."""
        check(_lib.gs_mutex_unlock(self._h), "Mutex.unlock")

    # threading.Lock's names, so a Mutex fits where a lock object is expected.
    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """``threading.Lock.acquire``: ``timeout`` < 0 waits forever."""
        if not blocking:
            return self.try_lock()
        return self.lock(None if timeout < 0 else timeout)

    def release(self) -> None:
        self.unlock()

    def __enter__(self) -> "Mutex":
        self.lock()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unlock()

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            try:
                _lib.gs_mutex_free(h)  # GS_EBUSY while locked: left allocated
            except Exception:
                pass
