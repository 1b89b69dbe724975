"""RWMutex, Once, Cond and Semaphore over gs_rwmutex_*, gs_cond_* and gs_semaphore_*."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Optional

from . import _lib, _pystate, _signals
from ._errors import InvalidArgument, OutOfMemory
from ._runtime import check, to_ns
from ._sync import Mutex

_call = _pystate.call


def _free(fn: Callable[[Any], int], h: Any) -> None:
    try:
        fn(h)  # GS_EBUSY while in use: left allocated
    except Exception:
        pass


class RWMutex:
    """Go's ``sync.RWMutex``: ``with rw.read(): ...`` for readers (many at once),
    ``with rw.write(): ...`` (or ``with rw:``) for a writer (alone). A waiting writer
    keeps new readers out, so writers do not starve; a reader that read-locks again
    while a writer waits deadlocks, as in Go. Usable from goroutines and threads."""

    __slots__ = ("_h",)

    def __init__(self) -> None:
        h = _lib.gs_rwmutex_new()
        if not h:
            raise OutOfMemory("gs_rwmutex_new failed", _lib.GS_ENOMEM)
        self._h: Optional[int] = h

    def rlock(self) -> None:
        """Locks for reading."""
        h = self._h
        if _lib.gs_rwmutex_tryrlock(h) == 0:
            return
        check(_call(_lib.gs_rwmutex_rlock, h), "RWMutex.rlock")

    def try_rlock(self) -> bool:
        rc = _lib.gs_rwmutex_tryrlock(self._h)
        if rc == _lib.GS_EAGAIN:
            return False
        check(rc, "RWMutex.try_rlock")
        return True

    def runlock(self) -> None:
        """Unlocks one reader; ``NotPermitted`` if no reader holds it."""
        check(_lib.gs_rwmutex_runlock(self._h), "RWMutex.runlock")

    def lock(self) -> None:
        """Locks for writing."""
        h = self._h
        if _lib.gs_rwmutex_trylock(h) == 0:
            return
        check(_call(_lib.gs_rwmutex_lock, h), "RWMutex.lock")

    def try_lock(self) -> bool:
        rc = _lib.gs_rwmutex_trylock(self._h)
        if rc == _lib.GS_EAGAIN:
            return False
        check(rc, "RWMutex.try_lock")
        return True

    def unlock(self) -> None:
        """Unlocks the writer; ``NotPermitted`` if no writer holds it."""
        check(_lib.gs_rwmutex_unlock(self._h), "RWMutex.unlock")

    @contextlib.contextmanager
    def read(self) -> Iterator["RWMutex"]:
        self.rlock()
        try:
            yield self
        finally:
            self.runlock()

    @contextlib.contextmanager
    def write(self) -> Iterator["RWMutex"]:
        self.lock()
        try:
            yield self
        finally:
            self.unlock()

    def __enter__(self) -> "RWMutex":
        self.lock()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unlock()

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            _free(_lib.gs_rwmutex_free, h)


class Once:
    """Go's ``sync.Once``: ``once.do(fn, *args)`` calls ``fn`` only the first time;
    concurrent callers wait until it has returned. As in Go, a ``fn`` that raises still
    counts as done (the exception propagates to its caller)."""

    __slots__ = ("_m", "_done")

    def __init__(self) -> None:
        self._m = Mutex()
        self._done = False

    def do(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if self._done:  # the fast path: Go's atomic load
            return
        with self._m:
            if not self._done:
                try:
                    fn(*args, **kwargs)
                finally:
                    self._done = True

    @property
    def done(self) -> bool:
        return self._done


class Cond:
    """Go's ``sync.Cond`` over a ``gosched.Mutex`` (threading.Condition's names):

        with cond:                 # locks the mutex
            while not ready:
                cond.wait()
            ...
        with cond:
            ready = True
            cond.notify()          # or notify_all()

    ``wait(timeout)`` returns False if the time ran out first (the mutex is held again
    in both cases). A signal sent after the waiter released the mutex is not lost."""

    __slots__ = ("_h", "mutex")

    def __init__(self, mutex: Optional[Mutex] = None) -> None:
        self.mutex = mutex if mutex is not None else Mutex()
        h = _lib.gs_cond_new(self.mutex._h)
        if not h:
            raise OutOfMemory("gs_cond_new failed", _lib.GS_ENOMEM)
        self._h: Optional[int] = h

    def wait(self, timeout: Optional[float] = None) -> bool:
        h = self._h
        ns = to_ns(timeout)
        if _signals.on_main_thread():
            # In slices (signal handlers run between them); a slice that times out
            # re-locks and waits again, which a waiter in a loop cannot tell apart
            # from a spurious wake-up.
            rc = _signals.sliced(_lib.gs_cond_wait_timeout, (h,), ns)
        else:
            rc = _call(_lib.gs_cond_wait_timeout, h, ns)
        if rc == _lib.GS_ETIMEDOUT:
            return False
        check(rc, "Cond.wait")
        return True

    def wait_for(self, predicate: Callable[[], Any], timeout: Optional[float] = None) -> Any:
        """Waits until ``predicate()`` is true (or the time runs out); returns its last value."""
        import time

        end = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                break
            self.wait(left)
            result = predicate()
        return result

    def notify(self) -> None:
        check(_lib.gs_cond_signal(self._h), "Cond.notify")

    def notify_all(self) -> None:
        check(_lib.gs_cond_broadcast(self._h), "Cond.notify_all")

    signal = notify
    broadcast = notify_all

    def __enter__(self) -> "Cond":
        self.mutex.lock()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.mutex.unlock()

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            _free(_lib.gs_cond_free, h)


class Semaphore:
    """Go's ``x/sync/semaphore.Weighted``: ``acquire(n, timeout)`` / ``release(n)``,
    FIFO (a large request is not starved by small ones); ``with sem:`` holds 1,
    ``with sem.hold(n):`` holds n."""

    __slots__ = ("_h", "size")

    def __init__(self, size: int) -> None:
        if not isinstance(size, int) or size <= 0:
            raise InvalidArgument(f"Semaphore: size must be an int > 0, not {size!r}", _lib.GS_EINVAL)
        h = _lib.gs_semaphore_new(size)
        if not h:
            raise OutOfMemory("gs_semaphore_new failed", _lib.GS_ENOMEM)
        self._h: Optional[int] = h
        self.size = size

    def acquire(self, n: int = 1, timeout: Optional[float] = None) -> bool:
        """Acquires weight ``n``; False if ``timeout`` seconds passed first."""
        h = self._h
        if _lib.gs_semaphore_tryacquire(h, n) == 0:
            return True
        ns = to_ns(timeout)
        if _signals.on_main_thread():
            rc = _signals.sliced(_lib.gs_semaphore_acquire_timeout, (h, n), ns)
        else:
            rc = _call(_lib.gs_semaphore_acquire_timeout, h, n, ns)
        if rc == _lib.GS_ETIMEDOUT:
            return False
        check(rc, "Semaphore.acquire")
        return True

    def try_acquire(self, n: int = 1) -> bool:
        rc = _lib.gs_semaphore_tryacquire(self._h, n)
        if rc == _lib.GS_EAGAIN:
            return False
        check(rc, "Semaphore.try_acquire")
        return True

    def release(self, n: int = 1) -> None:
        """Releases weight ``n``; ``NotPermitted`` if that is more than is held."""
        check(_lib.gs_semaphore_release(self._h, n), "Semaphore.release")

    @property
    def held(self) -> int:
        return int(_lib.gs_semaphore_held(self._h))

    @contextlib.contextmanager
    def hold(self, n: int = 1) -> Iterator["Semaphore"]:
        self.acquire(n)
        try:
            yield self
        finally:
            self.release(n)

    def __enter__(self) -> "Semaphore":
        self.acquire(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release(1)

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            _free(_lib.gs_semaphore_free, h)
