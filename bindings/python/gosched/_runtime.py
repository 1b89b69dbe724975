"""The runtime's life cycle, goroutines, time and introspection."""

from __future__ import annotations

import atexit
import ctypes
import itertools
import os
import sys
import tempfile
from ctypes import byref, c_void_p, sizeof
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, TypeVar

from . import _goroutine, _lib, _pystate, _signals
from ._errors import Error, InvalidArgument, NotPermitted, class_for
from ._goroutine import Goroutine

if TYPE_CHECKING:
    if sys.version_info >= (3, 10):
        from typing import ParamSpec
    else:  # pragma: no cover
        from typing_extensions import ParamSpec
    _P = ParamSpec("_P")

T = TypeVar("T")

#: Default goroutine stack when init() is not given one and $GS_STACK_SIZE is unset.
#: Python code goes deeper into the C stack than the runtime's 256 KiB default allows
#: at the recursion limit (1000 frames through C calls); stacks are committed lazily,
#: so a bigger size costs address space, not memory.
PYTHON_STACK_SIZE = 4 << 20

_INT64_MAX = (1 << 63) - 1

# Goroutines not yet started: key -> (fn, args, kwargs, state). The key travels as the
# C argument; the entry pops it (so references are held exactly until the start).
_jobs: Dict[int, Tuple[Callable[..., Any], Tuple[Any, ...], Dict[str, Any], _goroutine._State]] = {}
# Python goroutines running now: goroutine id -> state.
_live: Dict[int, _goroutine._State] = {}
_PyThreadState_Get = _lib.PyThreadState_Get if _lib.pythonapi is not None else None
_PyThreadState_Delete = _lib.PyThreadState_Delete if _lib.pythonapi is not None else None
# Keys of goroutines and of channel values in flight (thread-safe under the GIL).
keys = itertools.count(1)

_inited = False


def check(rc: int, what: str) -> int:
    """Raises the Error subclass for a negative return code; returns rc otherwise."""
    if rc < 0:
        raise class_for(rc)(f"{what}: {_lib.strerror(rc)}", rc)
    return rc


def to_ns(seconds: Optional[float], what: str = "timeout") -> int:
    """Seconds (None = forever) to the C API's int64 nanoseconds (< 0 = forever)."""
    if seconds is None:
        return -1
    if seconds != seconds or seconds < 0:
        raise InvalidArgument(f"{what} must be None or >= 0 seconds, not {seconds!r}")
    ns = seconds * 1_000_000_000
    return _INT64_MAX if ns >= _INT64_MAX else int(ns)


# ---------------------------------------------------------------------------------------
# Goroutine entry


def _entry(arg: Optional[int]) -> None:
    # Nothing may run before this line that could switch goroutines (_pystate docs).
    _pystate.enter_goroutine()
    job = _jobs.pop(arg or 0, None)
    if job is None:  # its runtime was shut down before it started
        return
    fn, args, kwargs, st = job
    del job
    gid = _lib.gs_goid()
    st.gid = gid
    ts = _pystate.g.ts  # (switch mode: enter_goroutine read it)
    st.ts = ts if ts is not None else (_PyThreadState_Get() if _PyThreadState_Get is not None else None)
    _pystate.g.rec = st
    _live[gid] = st
    value: Any = None
    exc: Optional[BaseException] = None
    try:
        value = fn(*args, **kwargs)
    except BaseException as e:
        # The traceback starts at the goroutine's function, not at this entry.
        exc = e.with_traceback(e.__traceback__.tb_next if e.__traceback__ else None)
    del fn, args, kwargs
    _live.pop(gid, None)
    st.ts = None
    _goroutine.finish(st, value, exc)
    # The goroutine ends locked to its thread; the runtime unlocks it at exit.


_ENTRY = _lib.GS_FN(_entry)
_ENTRY_ADDR = ctypes.cast(_ENTRY, c_void_p).value


def _default_name(fn: Any) -> Optional[str]:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        name = getattr(type(fn), "__qualname__", None)
    return name if isinstance(name, str) and name else None


# Every Python goroutine runs holding the GIL: GS_GO_GIL lets the scheduler run a
# goroutine readied by another on the same thread instead of waking a second P whose
# thread would only wait for the GIL (see "Performance" in the README). Off in builds
# without a GIL, and with $GOSCHED_PYTHON_GIL_HINT=0 (to compare).
_GIL_FLAG = (
    _lib.GS_GO_GIL
    if getattr(sys, "_is_gil_enabled", lambda: True)() and os.environ.get("GOSCHED_PYTHON_GIL_HINT") != "0"
    else 0
)

# gs_go_opts by (name, stack_size, host): gs_go_with only reads them (it copies the
# name), so one struct serves every goroutine started with the same options.
_opts_cache: Dict[Tuple[Optional[str], Optional[int], bool], Any] = {}


def _spawn(
    fn: Callable[..., Any],
    args: Tuple[Any, ...],
    kwargs: Dict[str, Any],
    name: Optional[str],
    stack_size: Optional[int],
    host: bool,
) -> _goroutine.Goroutine[Any]:
    if not callable(fn):
        raise TypeError(f"gosched.go: {fn!r} is not callable")
    if _pystate.mode is None:  # a runtime started by C code, not by init()
        _pystate.setup()
    if host and _pystate.mode != _pystate.MODE_SWITCH:
        raise NotPermitted(
            "Python host goroutines need the thread-state switch mode "
            f"(this interpreter uses {_pystate.mode!r}: {_pystate.reason})",
            _lib.GS_EPERM,
        )
    if name is None:
        name = _default_name(fn)
    st = _goroutine._State(name)
    key = next(keys)
    _jobs[key] = (fn, args, kwargs, st)
    okey = (name, stack_size, host)
    opts = _opts_cache.get(okey)
    if opts is None:
        opts = _lib.gs_go_opts(
            stack_size or 0, name.encode("utf-8", "replace") if name else None, (_lib.GS_GO_HOST if host else 0) | _GIL_FLAG
        )
        if len(_opts_cache) >= 1024:
            _opts_cache.clear()
        _opts_cache[okey] = opts
    gid = _lib.gs_go_with(_ENTRY_ADDR, key, byref(opts))
    if gid < 0:
        _jobs.pop(key, None)
        check(int(gid), "gs_go")
    if not st.gid:
        st.gid = int(gid)
    return _goroutine.Goroutine(st)


def go(fn: Callable[_P, T], *args: _P.args, **kwargs: _P.kwargs) -> Goroutine[T]:
    """Runs ``fn(*args, **kwargs)`` as a goroutine; returns its ``Goroutine`` handle
    (``join()``, ``result()``, ``exception()``, ``done()``; ``int(handle)`` and
    ``handle.id`` give the goroutine id). The goroutine is named after
    ``fn.__qualname__`` in dumps.

    Works from the main thread, Python threads and goroutines. An exception escaping
    ``fn`` is kept for ``result()``/``exception()`` and counted
    (``exceptions_count()``, ``stats()["python_exceptions"]``); if nobody retrieves
    it, it is printed with its traceback to stderr, once, when the goroutine has
    ended and its handle is gone. ``SystemExit`` and ``ShuttingDown`` end the
    goroutine quietly (``result()`` still raises them).
    """
    return _spawn(fn, args, kwargs, None, None, False)


def go_with(
    fn: Callable[..., T],
    args: Iterable[Any] = (),
    kwargs: Optional[Mapping[str, Any]] = None,
    *,
    name: Optional[str] = None,
    stack_size: Optional[int] = None,
    host: bool = False,
) -> Goroutine[T]:
    """``go`` with options (gs_go_with): a ``name`` shown in dumps and error messages
    (default: ``fn.__qualname__``), a ``stack_size`` in bytes, and ``host=True`` for a
    goroutine that runs only on the thread that called ``init()``, inside
    ``run_for()``."""
    return _spawn(fn, tuple(args), dict(kwargs or {}), name, stack_size, host)


def _is_python_thunk(obj: Any, depth: int = 0) -> bool:
    objs = getattr(obj, "_objects", None)
    if not isinstance(objs, dict) or depth > 4:
        return False
    for v in objs.values():
        if type(v).__name__ == "CThunkObject" or _is_python_thunk(v, depth + 1):
            return True
    return False


def _address(x: Any, what: str) -> Optional[int]:
    if x is None or isinstance(x, int):
        return x
    pointers = (c_void_p, ctypes.c_char_p, ctypes.c_wchar_p, ctypes._Pointer, getattr(ctypes, "_CFuncPtr"))
    if isinstance(x, pointers):
        return ctypes.cast(x, c_void_p).value
    if isinstance(x, (ctypes._SimpleCData, ctypes.Array, ctypes.Structure, ctypes.Union)):
        return ctypes.addressof(x)
    raise TypeError(f"gosched.go_c: cannot pass a {type(x).__name__} as {what}")


def go_c(c_function_pointer: Any, arg: Any = None) -> int:
    """Runs a C function ``void fn(void *arg)`` as a goroutine; returns its id.

    ``c_function_pointer`` is a ctypes function from a loaded library (or its address
    as an int); ``arg`` is None, an int address, a ctypes pointer, or a ctypes object
    (its address is passed). The memory ``arg`` points to must stay valid until the C
    function is done with it. A ctypes callback wrapping a Python function is refused:
    use ``go()``, which keeps the interpreter's thread state right.
    """
    if _is_python_thunk(c_function_pointer):
        raise InvalidArgument(
            "gosched.go_c: this is a Python function behind a ctypes callback; use gosched.go()",
            _lib.GS_EINVAL,
        )
    fn = _address(c_function_pointer, "the function")
    if not fn:
        raise InvalidArgument("gosched.go_c: NULL function", _lib.GS_EINVAL)
    gid = _lib.gs_go(fn, _address(arg, "the argument"))
    return check(int(gid), "gs_go")


# ---------------------------------------------------------------------------------------
# Life cycle


def init(
    procs: Optional[int] = None,
    stack_size: Optional[int] = None,
    max_threads: Optional[int] = None,
    checkdead: bool = False,
    longrun_ms: Optional[int] = None,
) -> None:
    """Starts the runtime (gs_init_sized).

    ``procs``: number of Ps (None: $GS_MAXPROCS, else the CPUs available).
    ``stack_size``: default goroutine stack in bytes (None: $GS_STACK_SIZE if set, else
    ``PYTHON_STACK_SIZE``). ``max_threads``: cap on OS threads (None: 10000).
    ``checkdead``: ``wait()`` raises ``Deadlock`` when every goroutine is blocked.
    ``longrun_ms``: the long-running detector; the runtime reports on stderr (and in
    a trace) a goroutine that runs this many milliseconds without a scheduling point
    (None or 0: off; ``GS_DEBUG=longrun=MS`` in the environment wins over it).
    Raises ``AlreadyDone`` if the runtime is running.
    """
    global _inited
    _pystate.setup()
    for n, v in (
        ("procs", procs),
        ("stack_size", stack_size),
        ("max_threads", max_threads),
        ("longrun_ms", longrun_ms),
    ):
        if v is not None and (not isinstance(v, int) or v < 0):
            raise InvalidArgument(f"gosched.init: {n} must be a non-negative int, not {v!r}")
    if longrun_ms is not None and longrun_ms > 0xFFFFFFFF:
        raise InvalidArgument(f"gosched.init: longrun_ms must be below 2**32, not {longrun_ms!r}")
    if stack_size is None:
        stack_size = 0 if os.environ.get("GS_STACK_SIZE") else PYTHON_STACK_SIZE
    cfg = _lib.gs_config(
        procs or 0,
        stack_size,
        max_threads or 0,
        _lib.GS_CFG_CHECKDEAD if checkdead else 0,
        longrun_ms or 0,
    )
    check(_lib.gs_init_sized(byref(cfg), sizeof(cfg)), "gs_init")
    _inited = True


def shutdown() -> int:
    """Stops the runtime (gs_shutdown); returns the number of goroutines abandoned.

    Goroutines parked at that moment never resume: their Python frames and the objects
    they reference are left alone (never touched again). The GIL is released during
    the call. ``init()`` may be called again afterwards.
    """
    global _inited
    rc = _pystate.call(_lib.gs_shutdown)
    check(rc, "gs_shutdown")
    _inited = False
    # Goroutines that had not started never will: drop what they would have run.
    for _fn, _args, _kw, st in _jobs.values():
        _goroutine.abandon(st)
    _jobs.clear()
    abandoned = list(_live.values())
    _live.clear()
    _abandon_thread_states(abandoned)
    return int(rc)


def _abandon_thread_states(abandoned: List[_goroutine._State]) -> None:
    """Takes the thread states of goroutines that shutdown() abandoned out of the
    interpreter.

    Each still points into its goroutine's stack (CPython keeps the C frame of the
    running Python code there), which gs_shutdown freed: left in the interpreter's list,
    ``sys._current_frames()``, ``faulthandler.dump_traceback(all_threads=True)`` and
    the interpreter's exit under ``-v`` would read freed memory. PyThreadState_Delete
    unlinks and frees a thread state without reading its frames (the objects those
    frames reference are left alone: never released). It is done only when every
    abandoned Python goroutine was inside a gosched call: a goroutine that was running
    Python code then was still running when gs_shutdown gave up waiting, so its stack
    was not freed and its thread state is still in use.
    """
    for st in abandoned:
        _goroutine.abandon(st)
    if _PyThreadState_Delete is None or not abandoned:
        return
    if not all(st.inside for st in abandoned if st.ts is not None):
        return
    # From 3.12 on, deleting a thread state that PyGILState_Ensure made also empties the
    # *calling* thread's autoTSS slot: it is put back below, which needs the slot's key.
    key = _pystate.autotss_key() if sys.version_info >= (3, 12) else _pystate.KEY
    if sys.version_info >= (3, 12) and key is None:
        return
    me = _PyThreadState_Get() if _PyThreadState_Get is not None else None
    for st in abandoned:
        ts, st.ts = st.ts, None
        if ts is not None:
            _PyThreadState_Delete(ts)
    if key is not None and me:
        _pystate._set(key, me)


class Runtime:
    """``with gosched.Runtime(procs=2): ...`` runs ``init(...)`` on entry and
    ``shutdown()`` on exit (goroutines still alive then are abandoned; call ``wait()``
    inside the block to join them)."""

    def __init__(
        self,
        procs: Optional[int] = None,
        stack_size: Optional[int] = None,
        max_threads: Optional[int] = None,
        checkdead: bool = False,
        longrun_ms: Optional[int] = None,
    ) -> None:
        self._kw = dict(
            procs=procs, stack_size=stack_size, max_threads=max_threads, checkdead=checkdead, longrun_ms=longrun_ms
        )
        self.abandoned: Optional[int] = None

    def __enter__(self) -> "Runtime":
        init(**self._kw)  # type: ignore[arg-type]
        return self

    def __exit__(self, *exc: object) -> None:
        self.abandoned = shutdown()

    @staticmethod
    def wait(timeout: Optional[float] = None) -> None:
        wait(timeout)


def wait(timeout: Optional[float] = None) -> None:
    """Blocks the calling thread until no goroutine is alive (gs_wait).

    Raises ``Timeout`` when ``timeout`` seconds pass first, ``NotPermitted`` from a
    goroutine, ``Deadlock`` (with ``init(checkdead=True)``) when all are blocked.
    """
    ns = to_ns(timeout)
    if _signals.on_main_thread():
        check(_signals.sliced(_lib.gs_wait, (), ns), "gs_wait")
    else:
        check(_pystate.call(_lib.gs_wait, ns), "gs_wait")


def _atexit() -> None:
    if _inited:
        try:
            shutdown()
        except Error:
            pass


atexit.register(_atexit)


def _after_fork_in_child() -> None:
    global _inited
    _inited = False
    _jobs.clear()
    # The goroutines of the parent do not exist here; their thread states are the
    # parent's (the child's interpreter drops every other thread state itself).
    for st in _live.values():
        st.ts = None
        _goroutine.abandon(st)
    _live.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ---------------------------------------------------------------------------------------
# Scheduling and time


def gosched() -> None:
    """Yields the processor to other goroutines (gs_gosched). Off-goroutine it yields
    the OS thread."""
    _pystate.call(_lib.gs_gosched)


def sleep(seconds: float) -> None:
    """Parks the calling goroutine for ``seconds`` (gs_sleep); off-goroutine the
    thread sleeps, with the GIL released."""
    ns = to_ns(seconds, "seconds")
    if _signals.on_main_thread():
        check(_signals.sleep(ns), "gs_sleep")
    else:
        check(_pystate.call(_lib.gs_sleep, ns), "gs_sleep")


def nanotime() -> int:
    """The runtime's monotonic clock in nanoseconds (gs_nanotime)."""
    return int(_lib.gs_nanotime())


def goid() -> int:
    """The calling goroutine's id; 0 off-goroutine."""
    return int(_lib.gs_goid())


def in_goroutine() -> bool:
    """True if the caller is a Python goroutine."""
    return _pystate.in_goroutine()


def lock_os_thread() -> None:
    """Keeps the calling Python goroutine on its current OS thread until it ends
    (``threading.get_ident()`` then stays the same across gosched calls; thread-affine
    libraries and a ``threading.RLock`` held across gosched calls need it).
    ``NotPermitted`` off-goroutine."""
    if not _pystate.in_goroutine():
        raise NotPermitted("gosched.lock_os_thread: not on a goroutine", _lib.GS_EPERM)
    _pystate.pin()


class blocking:
    """``with gosched.blocking(): ...`` tells the runtime that the calling goroutine is
    about to block in code it cannot see (``time.sleep``, file or socket I/O, a C
    library): gs_entersyscall on entry, gs_exitsyscall on exit, so the goroutine's P can
    be handed to another thread and the other goroutines keep running (Go's
    entersyscall/exitsyscall). ``long=True`` hands the P off at once
    (gs_entersyscallblock). Make no gosched calls inside the block. Off-goroutine it
    does nothing."""

    __slots__ = ("_long", "_on")

    def __init__(self, long: bool = False) -> None:
        self._long = long
        self._on = False

    def __enter__(self) -> "blocking":
        self._on = _pystate.in_goroutine()
        if self._on:
            rec = _pystate.g.rec
            if rec is not None:
                rec.inside = True
            (_lib.gs_entersyscallblock if self._long else _lib.gs_entersyscall)()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._on:
            self._on = False
            rec = _pystate.g.rec
            if rec is not None:
                rec.inside = False  # (call() sets it again while it may park)
            _pystate.call(_lib.gs_exitsyscall)


def run_for(budget: float) -> int:
    """Runs ready host goroutines on this thread (the one that called ``init()``) for
    up to ``budget`` seconds (gs_run_for); returns how many goroutine steps ran.
    ``NotPermitted`` on any other thread."""
    ns = to_ns(budget, "budget")
    if _signals.on_main_thread():
        return check(_signals.run_for(ns), "gs_run_for")
    return check(_pystate.call_hosting(_lib.gs_run_for, ns), "gs_run_for")


# ---------------------------------------------------------------------------------------
# Introspection


def stats() -> Dict[str, int]:
    """A snapshot of the scheduler's counters: the fields of gs_stats, plus
    ``python_goroutines`` (Python goroutines running now) and ``python_exceptions``
    (exceptions that escaped Python goroutines since the package was imported)."""
    s = _lib.gs_stats()
    check(_lib.gs_stats_get(byref(s)), "gs_stats_get")
    out = {name: int(getattr(s, name)) for name, _ in _lib.STATS_FIELDS}
    out["python_goroutines"] = len(_live)
    out["python_exceptions"] = _goroutine.exc_count
    return out


def exceptions_count() -> int:
    """How many exceptions escaped Python goroutines (each was printed to stderr)."""
    return _goroutine.exc_count


def dump() -> str:
    """A goroutine dump like Go's on SIGQUIT (gs_dump), as a str."""
    with tempfile.TemporaryFile() as f:
        check(_pystate.call(_lib.gs_dump, f.fileno()), "gs_dump")
        f.seek(0)
        return f.read().decode("utf-8", "replace")


def thread_mode() -> str:
    """How Python goroutines keep the interpreter's thread state right: ``"switch"``
    (a thread state per goroutine, goroutines switch on one OS thread) or ``"lock"``
    (each Python goroutine wired to its own OS thread). See the package docs."""
    _pystate.setup()
    return _pystate.mode or ""


def thread_mode_reason() -> str:
    """Why ``thread_mode()`` is what it is."""
    _pystate.setup()
    return _pystate.reason
