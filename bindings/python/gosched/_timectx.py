"""Timer, Ticker, AfterFunc and Context over gs_timer_*, gs_ticker_*, gs_after_func and
gs_context_*. Timers, tickers and contexts can be cases of ``gosched.select``:
``(timer, "recv")`` gives the fire time (``nanotime()``), ``(ctx, "recv")`` gives
``gosched.CLOSED`` once the context is canceled."""

from __future__ import annotations

from ctypes import byref, c_int64, c_void_p
from typing import Any, Callable, Dict, Optional, Tuple

from . import _goroutine, _lib, _pystate, _runtime, _signals
from ._errors import InvalidArgument
from ._runtime import check, keys, to_ns
from ._sync_more import _free

_call = _pystate.call


def _recv_time(c: Any, timeout: Optional[float], what: str) -> int:
    v = c_int64()
    p = byref(v)
    rc = _lib.gs_chan_try_recv(c, p)
    if rc == _lib.GS_EAGAIN:
        ns = to_ns(timeout)
        if _signals.on_main_thread():
            rc = _signals.sliced(_lib.gs_chan_recv_timeout, (c, p), ns)
        else:
            rc = _call(_lib.gs_chan_recv_timeout, c, p, ns)
    check(rc, what)
    return v.value


def _new(fn: Callable[..., int], *args: Any) -> int:
    h = c_void_p()
    check(fn(*args, byref(h)), fn.__name__)
    return h.value  # type: ignore[return-value]


class Timer:
    """Go's ``time.Timer`` with Go 1.23's semantics: fires once, ``seconds`` from now;
    ``stop()`` and ``reset()`` return True if the timer was armed or its value not yet
    received, and no stale value is received after them. ``wait()`` returns the fire
    time (``gosched.nanotime()`` clock)."""

    __slots__ = ("_h",)

    def __init__(self, seconds: float) -> None:
        self._h: Optional[int] = _new(_lib.gs_timer_new, to_ns(seconds, "seconds"))

    def _raw_chan(self) -> int:
        return _lib.gs_timer_chan(self._h) or 0

    def wait(self, timeout: Optional[float] = None) -> int:
        return _recv_time(self._raw_chan(), timeout, "Timer.wait")

    def stop(self) -> bool:
        return check(_call(_lib.gs_timer_stop, self._h), "Timer.stop") == 1

    def reset(self, seconds: float) -> bool:
        return check(_call(_lib.gs_timer_reset, self._h, to_ns(seconds, "seconds")), "Timer.reset") == 1

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            _free(_lib.gs_timer_free, h)


class Ticker:
    """Go's ``time.Ticker``: a tick every ``period`` seconds; a slow receiver misses
    ticks (at most one waits). ``recv()`` returns the tick's time; iterating yields
    ticks until ``stop()``."""

    __slots__ = ("_h",)

    def __init__(self, period: float) -> None:
        ns = to_ns(period, "period")
        if ns <= 0:
            raise InvalidArgument(f"Ticker: period must be > 0, not {period!r}", _lib.GS_EINVAL)
        self._h: Optional[int] = _new(_lib.gs_ticker_new, ns)

    def _raw_chan(self) -> int:
        return _lib.gs_ticker_chan(self._h) or 0

    def recv(self, timeout: Optional[float] = None) -> int:
        return _recv_time(self._raw_chan(), timeout, "Ticker.recv")

    def stop(self) -> None:
        check(_call(_lib.gs_ticker_stop, self._h), "Ticker.stop")

    def reset(self, period: float) -> None:
        check(_call(_lib.gs_ticker_reset, self._h, to_ns(period, "period")), "Ticker.reset")

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            _free(_lib.gs_ticker_free, h)


class AfterFunc:
    """Go's ``time.AfterFunc``: runs ``fn(*args)`` as a new goroutine after ``seconds``.
    ``stop()`` prevents it (True if it did); ``reset(seconds)`` arms it again."""

    __slots__ = ("_h", "_key", "_job")

    def __init__(self, seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"gosched.AfterFunc: {fn!r} is not callable")
        if _pystate.mode is None:
            _pystate.setup()
        self._key = next(keys)
        self._job: Tuple[Callable[..., Any], Tuple[Any, ...], Dict[str, Any]] = (fn, args, kwargs)
        self._arm()
        try:
            self._h: Optional[int] = _new(
                _lib.gs_after_func, to_ns(seconds, "seconds"), _runtime._ENTRY_ADDR, self._key
            )
        except BaseException:
            _runtime._jobs.pop(self._key, None)
            raise

    def _arm(self) -> None:
        # What the goroutine entry runs, with a goroutine state of its own for each
        # run: nobody holds a handle, so an exception is reported when it ends.
        fn, args, kwargs = self._job
        st = _goroutine._State(_runtime._default_name(fn))
        st.orphan = True
        _runtime._jobs[self._key] = (fn, args, kwargs, st)

    def stop(self) -> bool:
        prevented = check(_call(_lib.gs_timer_stop, self._h), "AfterFunc.stop") == 1
        if prevented:
            _runtime._jobs.pop(self._key, None)
        return prevented

    def reset(self, seconds: float) -> bool:
        self._arm()
        return check(_call(_lib.gs_timer_reset, self._h, to_ns(seconds, "seconds")), "AfterFunc.reset") == 1

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            try:
                _lib.gs_timer_free(h)
                _runtime._jobs.pop(self._key, None)
            except Exception:
                pass


class Context:
    """A cancellation context in the style of Go's: ``Context.background()``, then
    ``ctx.with_cancel()``, ``ctx.with_timeout(seconds)``, ``ctx.with_deadline(ns)``,
    ``ctx.with_value(key, value)``. ``cancel()`` cancels it and its descendants;
    ``err()`` is None, ``gosched.Canceled`` or ``gosched.Timeout`` (deadline exceeded);
    ``wait()`` blocks until it is canceled; ``(ctx, "recv")`` is a select case.
    ``with ctx.with_cancel() as c:`` cancels ``c`` at the end of the block. Children
    keep their parent alive."""

    __slots__ = ("_h", "_parent", "_values")

    _BG: Optional["Context"] = None

    def __init__(self, h: int, parent: Optional["Context"]) -> None:
        self._h: Optional[int] = h
        self._parent = parent
        self._values: Dict[Any, Any] = {}

    @classmethod
    def background(cls) -> "Context":
        if cls._BG is None:
            cls._BG = Context(_lib.gs_context_background() or 0, None)
        return cls._BG

    def with_cancel(self) -> "Context":
        return Context(_new(_lib.gs_context_with_cancel, self._h), self)

    def with_timeout(self, seconds: float) -> "Context":
        return Context(_new(_lib.gs_context_with_timeout, self._h, to_ns(seconds, "seconds")), self)

    def with_deadline(self, deadline_ns: int) -> "Context":
        return Context(_new(_lib.gs_context_with_deadline, self._h, int(deadline_ns)), self)

    def with_value(self, key: Any, value: Any) -> "Context":
        c = Context(_new(_lib.gs_context_with_value, self._h, None, None), self)
        c._values[key] = value
        return c

    def value(self, key: Any) -> Any:
        c: Optional[Context] = self
        while c is not None:
            if key in c._values:
                return c._values[key]
            c = c._parent
        return None

    def cancel(self) -> None:
        check(_lib.gs_context_cancel(self._h), "Context.cancel")

    def err(self) -> Optional[BaseException]:
        rc = _lib.gs_context_err(self._h)
        if rc == 0:
            return None
        try:
            check(rc, "Context")
        except BaseException as e:  # the exception class for the code
            return e
        return None

    @property
    def canceled(self) -> bool:
        return _lib.gs_context_err(self._h) != 0

    def deadline(self) -> Optional[int]:
        d = c_int64()
        return d.value if check(_lib.gs_context_deadline(self._h, byref(d)), "Context.deadline") == 1 else None

    def _raw_chan(self) -> Optional[int]:
        return _lib.gs_context_done(self._h)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until canceled (True) or ``timeout`` passes (False)."""
        c = self._raw_chan()
        if c is None:
            raise InvalidArgument("Context.wait: the background context is never canceled", _lib.GS_EINVAL)
        ns = to_ns(timeout)
        if _signals.on_main_thread():
            rc = _signals.sliced(_lib.gs_chan_recv_timeout, (c, None), ns)
        else:
            rc = _call(_lib.gs_chan_recv_timeout, c, None, ns)
        if rc == _lib.GS_ETIMEDOUT:
            return False
        if rc != _lib.GS_ECLOSED:
            check(rc, "Context.wait")
        return True

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._parent is not None and _lib.gs_context_err(self._h) == 0:
            try:
                self.cancel()
            except Exception:
                pass

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h and self._parent is not None:
            self._h = None
            _free(_lib.gs_context_free, h)
