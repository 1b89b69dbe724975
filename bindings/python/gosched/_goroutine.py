"""Goroutine handles: waiting for a goroutine, its result, its exception; groups.

``go()`` returns a ``Goroutine``. The goroutine's entry (in ``_runtime``) holds only the
handle's ``_State``, never the handle, so the runtime knows when nobody can ask for the
outcome any more: an exception that escaped the goroutine is reported (printed to
stderr, once, as one write) when the goroutine ends if the handle is gone by then, else
when the handle is dropped without ``result()`` or ``exception()`` having been called.
Code that ignores the handle (``gosched.go(f)``) therefore sees the exception printed
when the goroutine ends, as before handles existed.

Waiting uses a channel made on the first ``join()`` of a goroutine that has not ended
(none for goroutines nobody waits for), closed when the goroutine ends; on the main
thread the wait is made in slices, so Ctrl-C and signal handlers run within
``_signals.SLICE``.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Generic, List, Optional, Type, TypeVar

from . import _lib
from ._errors import NotPermitted, ShuttingDown, Timeout

if TYPE_CHECKING:
    from ._chan import Chan

    if sys.version_info >= (3, 10):
        from typing import ParamSpec
    else:  # pragma: no cover
        from typing_extensions import ParamSpec
    _P = ParamSpec("_P")

T = TypeVar("T")

# Guards the reporting decisions of _State (reported once) and lazy done channels.
# Reentrant: a collection may run Goroutine.__del__ (which takes them) on a thread
# that holds them already. (Nothing parks while holding them, so the OS thread that
# owns one runs no other goroutine meanwhile.)
_lock = threading.RLock()
# One report at a time: two goroutines failing at once print two whole tracebacks.
_print_lock = threading.RLock()
_finish_order = itertools.count(1)

#: Exceptions escaping a goroutine that end it quietly (never reported).
QUIET = (ShuttingDown, SystemExit)

exc_count = 0


class _State:
    """What the goroutine's entry writes and the handle reads (see the module docs)."""

    __slots__ = (
        "gid",
        "name",
        "done",
        "value",
        "exc",
        "retrieved",
        "orphan",
        "abandoned",
        "ch",
        "ts",
        "inside",
        "order",
    )

    def __init__(self, name: Optional[str]) -> None:
        self.gid: int = 0
        self.name: Optional[str] = name
        self.done: bool = False
        self.value: Any = None
        self.exc: Optional[BaseException] = None
        # result()/exception() gave the exception to someone, or it was reported.
        self.retrieved: bool = False
        # The handle was dropped before the goroutine ended.
        self.orphan: bool = False
        # shutdown() abandoned the goroutine: it never ends.
        self.abandoned: bool = False
        self.ch: Optional[Chan[None]] = None
        # The goroutine's PyThreadState address while it runs (None once deleted).
        self.ts: Optional[int] = None
        # True while the goroutine is inside a gosched C call (it may be parked there).
        self.inside: bool = False
        self.order: int = 0


def _reportable(st: _State) -> bool:
    return st.exc is not None and not isinstance(st.exc, QUIET)


def report(st: _State) -> None:
    """Prints ``st``'s exception with its traceback to stderr as one write."""
    exc = st.exc
    if exc is None:
        return
    try:
        label = f"goroutine {st.gid}" + (f" ({st.name})" if st.name else "")
        text = f"Exception in {label}:\n" + "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)
        )
        with _print_lock:
            err = sys.stderr
            if err is not None:
                err.write(text)
                err.flush()
    except Exception:
        pass


def finish(st: _State, value: Any, exc: Optional[BaseException]) -> None:
    """Called by the goroutine's entry when its function returned or raised."""
    global exc_count
    st.value = value
    st.exc = exc
    now = False
    with _lock:
        st.order = next(_finish_order)
        st.done = True
        ch = st.ch
        if _reportable(st):
            exc_count += 1
            if st.orphan and not st.retrieved:
                st.retrieved = now = True
    if now:
        report(st)
    if ch is not None:
        try:
            ch.close()
        except Exception:
            pass


def abandon(st: _State) -> None:
    """shutdown() abandoned the goroutine: wake whoever joins it."""
    st.abandoned = True
    ch = st.ch
    if ch is not None:
        try:
            ch.close()
        except Exception:
            pass


class Goroutine(Generic[T]):
    """A running or finished goroutine, returned by ``go()``.

    ``int(g)``, ``g.id``, ``operator.index(g)``, ``str(g)``, ``g == 12``, ``g < 12``
    and ``hash(g)`` use the goroutine id, so code written for the int that ``go()`` used
    to return keeps working.
    """

    __slots__ = ("_s",)

    def __init__(self, st: _State) -> None:
        self._s = st

    # -- the id, as the int used to be ------------------------------------------------

    @property
    def id(self) -> int:
        """The goroutine id (gs_goid inside it), as shown in dumps."""
        return self._s.gid

    @property
    def name(self) -> Optional[str]:
        """The name shown in dumps (the function's ``__qualname__`` by default)."""
        return self._s.name

    def __int__(self) -> int:
        return self._s.gid

    def __index__(self) -> int:
        return self._s.gid

    def __str__(self) -> str:
        return str(self._s.gid)

    def __format__(self, spec: str) -> str:
        return format(self._s.gid, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Goroutine):
            return self._s is other._s
        if isinstance(other, int):
            return self._s.gid == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._s.gid)

    def __lt__(self, other: "int | Goroutine[Any]") -> bool:
        return self._s.gid < int(other)

    def __le__(self, other: "int | Goroutine[Any]") -> bool:
        return self._s.gid <= int(other)

    def __gt__(self, other: "int | Goroutine[Any]") -> bool:
        return self._s.gid > int(other)

    def __ge__(self, other: "int | Goroutine[Any]") -> bool:
        return self._s.gid >= int(other)

    def __repr__(self) -> str:
        s = self._s
        state = "abandoned" if s.abandoned else ("failed" if s.exc is not None else "done") if s.done else "running"
        name = f" {s.name!r}" if s.name else ""
        return f"<gosched.Goroutine {s.gid}{name} {state}>"

    # -- waiting ------------------------------------------------------------------------

    def done(self) -> bool:
        """True once the goroutine's function returned or raised."""
        return self._s.done

    def join(self, timeout: Optional[float] = None) -> bool:
        """Waits up to ``timeout`` seconds (None: forever) for the goroutine to end;
        returns ``done()``. Parks only the calling goroutine; on a thread it blocks with
        the GIL released; on the main thread Ctrl-C raises ``KeyboardInterrupt`` within
        0.1 s. Raises ``ShuttingDown`` if ``shutdown()`` abandoned the goroutine,
        ``NotPermitted`` when a goroutine joins itself."""
        st = self._s
        if st.done:
            return True
        if st.abandoned:
            raise ShuttingDown(f"goroutine {st.gid} was abandoned by gosched.shutdown()", _lib.GS_ESHUTDOWN)
        if st.gid and st.gid == _lib.gs_goid():
            raise NotPermitted(f"goroutine {st.gid} cannot join itself", _lib.GS_EPERM)
        from ._chan import Chan
        from ._errors import Closed

        fresh = Chan[None]() if st.ch is None else None  # (allocated outside the lock)
        with _lock:
            if not st.done:
                if st.ch is None:
                    st.ch = fresh
                ch: Optional[Chan[None]] = st.ch
            else:
                ch = None
        del fresh
        if ch is not None:
            deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
            while not st.done and not st.abandoned:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    ch.recv(left)
                except Closed:
                    break
                except Timeout:
                    break
        if not st.done and st.abandoned:
            raise ShuttingDown(f"goroutine {st.gid} was abandoned by gosched.shutdown()", _lib.GS_ESHUTDOWN)
        return st.done

    def _wait(self, timeout: Optional[float], what: str) -> _State:
        if not self.join(timeout):
            raise Timeout(f"Goroutine.{what}: goroutine {self._s.gid} still running after {timeout} s", _lib.GS_ETIMEDOUT)
        return self._s

    def result(self, timeout: Optional[float] = None) -> T:
        """Waits like ``join()``, then returns what the function returned or raises
        what it raised (its traceback keeps the goroutine's frames). Raises ``Timeout``
        when ``timeout`` passes first."""
        st = self._wait(timeout, "result")
        exc = st.exc
        if exc is not None:
            st.retrieved = True
            raise exc
        value: T = st.value
        return value

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """Waits like ``join()``, then returns the exception the function raised, or
        None if it returned. The exception then counts as retrieved (not reported)."""
        st = self._wait(timeout, "exception")
        if st.exc is not None:
            st.retrieved = True
        return st.exc

    def __del__(self) -> None:
        st = getattr(self, "_s", None)
        if st is None or _lock is None:  # (interpreter teardown)
            return
        now = False
        with _lock:
            if st.done:
                if _reportable(st) and not st.retrieved:
                    st.retrieved = now = True
            else:
                st.orphan = True
        if now:
            report(st)


class Group:
    """Goroutines started together and waited for together, in the style of Go's
    ``errgroup`` and asyncio's ``TaskGroup``::

        with gosched.Group() as g:
            for url in urls:
                g.go(fetch, url)
        # here every goroutine of g has ended; the first failure (in time) is raised

    ``wait()`` does the same without ``with``. The other failures, if any, are not
    lost: each is reported as an unretrieved goroutine exception when the group lets
    go of its goroutines. If the body of the ``with`` raises, the group still waits for
    its goroutines, then lets the body's exception through.
    """

    __slots__ = ("_gs",)

    def __init__(self) -> None:
        self._gs: List[Goroutine[Any]] = []

    def go(self, fn: Callable[_P, T], *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[T]:
        """``gosched.go(fn, *args, **kwargs)``, counted in this group."""
        from ._runtime import go

        g = go(fn, *args, **kwargs)
        self._gs.append(g)
        return g

    @property
    def goroutines(self) -> List[Goroutine[Any]]:
        """The goroutines started with ``go()`` and not yet waited for."""
        return list(self._gs)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Waits for every goroutine of the group (up to ``timeout`` seconds in all;
        ``Timeout`` after that, the goroutines stay in the group), then raises the
        exception of the one that failed first, if any."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for g in list(self._gs):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not g.join(left):
                raise Timeout(f"Group.wait: goroutine {g.id} still running after {timeout} s", _lib.GS_ETIMEDOUT)
        gs, self._gs = self._gs, []
        failed = [g for g in gs if g._s.exc is not None]
        if failed:
            first = min(failed, key=lambda g: g._s.order)
            exc = first._s.exc
            first._s.retrieved = True
            del gs, failed, first
            assert exc is not None
            raise exc

    def __enter__(self) -> "Group":
        return self

    def __exit__(
        self,
        et: Optional[Type[BaseException]],
        ev: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if ev is None:
            self.wait()
            return
        for g in list(self._gs):
            try:
                g.join()
            except ShuttingDown:
                pass
        self._gs = []
