"""Finding libgosched and declaring its C functions for ctypes.

This is the only module that names C functions: every ``argtypes``/``restype`` of the
package is declared in ``_FUNCTIONS`` below. The rest of the package calls the module
attributes this file creates (``_lib.gs_chan_send(...)``).

Two handles are opened on the same library:

- ``ctypes.CDLL``, for calls that may block or switch goroutines (``blocking=True``):
  ctypes releases the GIL for the duration of the call, so other Python threads and
  goroutines keep running while this one waits.
- ``ctypes.PyDLL``, for short calls that never block (``blocking=False``): the GIL is
  kept, which saves a release/re-acquire per call (and, with another thread waiting
  for the GIL, a hand-off of the GIL to it). The rule for these: a function called
  with the GIL held never waits for anything another thread or goroutine does (that
  one may need the GIL), never parks or switches goroutines, and never calls back
  into Python. Readying a goroutine (``gs_chan_try_send`` to a parked receiver,
  ``gs_chan_close``, ``gs_mutex_unlock``) only queues it. A function that may do
  any of these is ``blocking=True``.

A function missing from the library (a library built from older sources) becomes a
stub that raises ``gosched.Unsupported`` naming it; ``has(name)`` tells them apart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_ssize_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from ._errors import Unsupported

LIBRARY_ENV = "GOSCHED_LIBRARY"
LIBRARY_NAME = "libgosched.dylib" if sys.platform == "darwin" else "libgosched.so"
#: The library's SONAME, the name of an installed library of this ABI version (the
#: major version of the package and of the library; tests/abi.rs checks).
LIBRARY_SONAME = "libgosched.0.dylib" if sys.platform == "darwin" else "libgosched.so.0"

# ---------------------------------------------------------------------------------------
# Error codes (gosched.h, the GS_E* codes): negative errno values.

GS_EINVAL = -errno.EINVAL
GS_ENOMEM = -errno.ENOMEM
GS_EAGAIN = -errno.EAGAIN
GS_ETIMEDOUT = -errno.ETIMEDOUT
GS_EALREADY = -errno.EALREADY
GS_EPERM = -errno.EPERM
GS_ENOTINIT = -errno.ENXIO
GS_ESHUTDOWN = -errno.ESHUTDOWN
GS_ECLOSED = -errno.EPIPE
GS_ECANCELED = -errno.ECANCELED
GS_EDEADLK = -errno.EDEADLK
GS_EBUSY = -errno.EBUSY

GS_GO_HOST = 0x1
GS_GO_GIL = 0x2
GS_CFG_CHECKDEAD = 0x1
GS_SEND = 1
GS_RECV = 2
GS_POLLIN = 0x1
GS_POLLOUT = 0x4

# ---------------------------------------------------------------------------------------
# Structures (include/gosched.h)


class gs_config(Structure):
    _fields_ = [
        ("nprocs", c_uint32),
        ("stack_size", c_size_t),
        ("max_threads", c_uint32),
        ("flags", c_uint32),
        ("longrun_ms", c_uint32),  # added after 0.1: read by gs_init_sized only
    ]


class gs_go_opts(Structure):
    _fields_ = [
        ("stack_size", c_size_t),
        ("name", c_char_p),
        ("flags", c_uint32),
    ]


#: The public fields of gs_stats, in order (gosched.h, gs_stats).
STATS_FIELDS: List[Tuple[str, type]] = [
    ("goroutines", c_uint64),
    ("runnable", c_uint64),
    ("waiting", c_uint64),
    ("in_syscall", c_uint64),
    ("procs", c_uint32),
    ("idle_procs", c_uint32),
    ("threads", c_uint32),
    ("idle_threads", c_uint32),
    ("spinning_threads", c_uint32),
    ("global_runq", c_uint64),
    ("spawned_total", c_uint64),
    ("switches_total", c_uint64),
    ("steals_total", c_uint64),
    ("netpoll_waiters", c_uint64),
    ("timers", c_uint64),
]


class gs_stats(Structure):
    # gosched.h allows fields to be added at the end; the spare room keeps a newer
    # library from writing past this buffer.
    _fields_ = STATS_FIELDS + [("_spare", c_uint64 * 64)]


class gs_select_case(Structure):
    _fields_ = [
        ("chan", c_void_p),
        ("op", c_int),
        ("elem", c_void_p),
        ("result", c_int),
    ]


# ---------------------------------------------------------------------------------------
# The functions: name -> (restype, argtypes, blocking)

_P = c_void_p  # every opaque handle (gs_chan *, gs_g *, ...) travels as a void pointer

_FUNCTIONS: Dict[str, Tuple[object, List[Any], bool]] = {
    # Lifecycle
    "gs_init": (c_int, [POINTER(gs_config)], True),
    "gs_init_sized": (c_int, [POINTER(gs_config), c_size_t], True),
    "gs_wait": (c_int, [c_int64], True),
    "gs_shutdown": (c_int, [], True),
    "gs_version": (c_char_p, [], False),
    "gs_strerror": (c_char_p, [c_int], False),
    # Goroutines (the function pointer is passed as an address)
    "gs_go": (c_int64, [_P, _P], False),
    "gs_go_with": (c_int64, [_P, _P, POINTER(gs_go_opts)], False),
    "gs_gosched": (c_int, [], True),
    "gs_self": (_P, [], False),
    "gs_goid": (c_int64, [], False),
    "gs_lock_os_thread": (c_int, [], False),
    "gs_unlock_os_thread": (c_int, [], False),
    "gs_should_yield": (c_bool, [], False),
    # Park and ready
    "gs_park": (c_int, [_P, _P, c_char_p], True),
    "gs_park_timeout": (c_int, [_P, _P, c_char_p, c_int64], True),
    "gs_ready": (c_int, [_P], False),
    # Host thread
    "gs_run_for": (c_int, [c_int64], True),
    # Time
    "gs_nanotime": (c_int64, [], False),
    "gs_sleep": (c_int, [c_int64], True),
    # Blocking calls
    "gs_entersyscall": (None, [], False),
    "gs_exitsyscall": (None, [], True),
    "gs_entersyscallblock": (None, [], False),
    # Netpoll
    "gs_wait_fd": (c_int, [c_int, c_uint32, c_int64], True),
    "gs_read": (c_ssize_t, [c_int, _P, c_size_t], True),
    "gs_write": (c_ssize_t, [c_int, _P, c_size_t], True),
    "gs_close": (c_int, [c_int], True),
    # Channels
    "gs_chan_new": (_P, [c_size_t, c_size_t], False),
    "gs_chan_send": (c_int, [_P, _P], True),
    "gs_chan_recv": (c_int, [_P, _P], True),
    "gs_chan_try_send": (c_int, [_P, _P], False),
    "gs_chan_try_recv": (c_int, [_P, _P], False),
    "gs_chan_send_timeout": (c_int, [_P, _P, c_int64], True),
    "gs_chan_recv_timeout": (c_int, [_P, _P, c_int64], True),
    "gs_chan_close": (c_int, [_P], False),
    "gs_chan_len": (c_size_t, [_P], False),
    "gs_chan_cap": (c_size_t, [_P], False),
    "gs_chan_free": (c_int, [_P], False),
    "gs_select": (c_int, [POINTER(gs_select_case), c_size_t, c_int64], True),
    # Wait groups
    "gs_waitgroup_new": (_P, [], False),
    "gs_waitgroup_add": (c_int, [_P, c_int64], False),
    "gs_waitgroup_done": (c_int, [_P], False),
    "gs_waitgroup_wait": (c_int, [_P], True),
    "gs_waitgroup_wait_timeout": (c_int, [_P, c_int64], True),
    "gs_waitgroup_free": (c_int, [_P], False),
    # Mutexes
    "gs_mutex_new": (_P, [], False),
    "gs_mutex_lock": (c_int, [_P], True),
    "gs_mutex_lock_timeout": (c_int, [_P, c_int64], True),
    "gs_mutex_trylock": (c_int, [_P], False),
    "gs_mutex_unlock": (c_int, [_P], False),
    "gs_mutex_free": (c_int, [_P], False),
    # Reader/writer mutexes, once, condition variables, weighted semaphores
    "gs_rwmutex_new": (_P, [], False),
    "gs_rwmutex_rlock": (c_int, [_P], True),
    "gs_rwmutex_tryrlock": (c_int, [_P], False),
    "gs_rwmutex_runlock": (c_int, [_P], False),
    "gs_rwmutex_lock": (c_int, [_P], True),
    "gs_rwmutex_trylock": (c_int, [_P], False),
    "gs_rwmutex_unlock": (c_int, [_P], False),
    "gs_rwmutex_free": (c_int, [_P], False),
    "gs_cond_new": (_P, [_P], False),
    "gs_cond_wait": (c_int, [_P], True),
    "gs_cond_wait_timeout": (c_int, [_P, c_int64], True),
    "gs_cond_signal": (c_int, [_P], False),
    "gs_cond_broadcast": (c_int, [_P], False),
    "gs_cond_free": (c_int, [_P], False),
    "gs_semaphore_new": (_P, [c_int64], False),
    "gs_semaphore_acquire": (c_int, [_P, c_int64], True),
    "gs_semaphore_acquire_timeout": (c_int, [_P, c_int64, c_int64], True),
    "gs_semaphore_tryacquire": (c_int, [_P, c_int64], False),
    "gs_semaphore_release": (c_int, [_P, c_int64], False),
    "gs_semaphore_held": (c_int64, [_P], False),
    "gs_semaphore_free": (c_int, [_P], False),
    # Timers, tickers, after-funcs (gs_*_stop and _free may wait for a running fire)
    "gs_timer_new": (c_int, [c_int64, POINTER(_P)], False),
    "gs_after_func": (c_int, [c_int64, _P, _P, POINTER(_P)], False),
    "gs_timer_chan": (_P, [_P], False),
    "gs_timer_stop": (c_int, [_P], True),
    "gs_timer_reset": (c_int, [_P, c_int64], True),
    "gs_timer_free": (c_int, [_P], True),
    "gs_ticker_new": (c_int, [c_int64, POINTER(_P)], False),
    "gs_ticker_chan": (_P, [_P], False),
    "gs_ticker_stop": (c_int, [_P], True),
    "gs_ticker_reset": (c_int, [_P, c_int64], True),
    "gs_ticker_free": (c_int, [_P], True),
    # Contexts
    "gs_context_background": (_P, [], False),
    "gs_context_with_cancel": (c_int, [_P, POINTER(_P)], False),
    "gs_context_with_deadline": (c_int, [_P, c_int64, POINTER(_P)], False),
    "gs_context_with_timeout": (c_int, [_P, c_int64, POINTER(_P)], False),
    "gs_context_with_value": (c_int, [_P, _P, _P, POINTER(_P)], False),
    "gs_context_cancel": (c_int, [_P], False),
    "gs_context_done": (_P, [_P], False),
    "gs_context_err": (c_int, [_P], False),
    "gs_context_deadline": (c_int, [_P, POINTER(c_int64)], False),
    "gs_context_value": (_P, [_P, _P], False),
    "gs_context_free": (c_int, [_P], True),
    # Introspection
    "gs_stats_get": (c_int, [POINTER(gs_stats)], False),
    "gs_dump": (c_int, [c_int], True),
    # Tracing
    "gs_trace_start": (c_int, [c_int, c_uint32], False),
    "gs_trace_ring": (c_int, [c_uint64], False),
    "gs_trace_snapshot": (c_int, [c_int], True),
    "gs_trace_stop": (c_int, [], True),
    "gs_trace_region_begin": (c_int, [c_char_p], False),
    "gs_trace_region_end": (c_int, [c_char_p], False),
    "gs_trace_log": (c_int, [c_char_p, c_char_p], False),
}

if TYPE_CHECKING:
    # What _declare() below binds, for type checkers (restype as Python sees it).
    gs_init: Callable[..., int]
    gs_init_sized: Callable[..., int]
    gs_wait: Callable[..., int]
    gs_shutdown: Callable[..., int]
    gs_version: Callable[..., Optional[bytes]]
    gs_strerror: Callable[..., Optional[bytes]]
    gs_go: Callable[..., int]
    gs_go_with: Callable[..., int]
    gs_gosched: Callable[..., int]
    gs_self: Callable[..., Optional[int]]
    gs_goid: Callable[..., int]
    gs_lock_os_thread: Callable[..., int]
    gs_unlock_os_thread: Callable[..., int]
    gs_should_yield: Callable[..., bool]
    gs_park: Callable[..., int]
    gs_park_timeout: Callable[..., int]
    gs_ready: Callable[..., int]
    gs_run_for: Callable[..., int]
    gs_nanotime: Callable[..., int]
    gs_sleep: Callable[..., int]
    gs_entersyscall: Callable[..., None]
    gs_exitsyscall: Callable[..., None]
    gs_entersyscallblock: Callable[..., None]
    gs_wait_fd: Callable[..., int]
    gs_read: Callable[..., int]
    gs_write: Callable[..., int]
    gs_close: Callable[..., int]
    gs_chan_new: Callable[..., Optional[int]]
    gs_chan_send: Callable[..., int]
    gs_chan_recv: Callable[..., int]
    gs_chan_try_send: Callable[..., int]
    gs_chan_try_recv: Callable[..., int]
    gs_chan_send_timeout: Callable[..., int]
    gs_chan_recv_timeout: Callable[..., int]
    gs_chan_close: Callable[..., int]
    gs_chan_len: Callable[..., int]
    gs_chan_cap: Callable[..., int]
    gs_chan_free: Callable[..., int]
    gs_select: Callable[..., int]
    gs_waitgroup_new: Callable[..., Optional[int]]
    gs_waitgroup_add: Callable[..., int]
    gs_waitgroup_done: Callable[..., int]
    gs_waitgroup_wait: Callable[..., int]
    gs_waitgroup_free: Callable[..., int]
    gs_mutex_new: Callable[..., Optional[int]]
    gs_mutex_lock: Callable[..., int]
    gs_mutex_trylock: Callable[..., int]
    gs_mutex_unlock: Callable[..., int]
    gs_mutex_free: Callable[..., int]
    gs_stats_get: Callable[..., int]
    gs_dump: Callable[..., int]
    gs_waitgroup_wait_timeout: Callable[..., int]
    gs_mutex_lock_timeout: Callable[..., int]
    gs_rwmutex_new: Callable[..., Optional[int]]
    gs_rwmutex_rlock: Callable[..., int]
    gs_rwmutex_tryrlock: Callable[..., int]
    gs_rwmutex_runlock: Callable[..., int]
    gs_rwmutex_lock: Callable[..., int]
    gs_rwmutex_trylock: Callable[..., int]
    gs_rwmutex_unlock: Callable[..., int]
    gs_rwmutex_free: Callable[..., int]
    gs_cond_new: Callable[..., Optional[int]]
    gs_cond_wait: Callable[..., int]
    gs_cond_wait_timeout: Callable[..., int]
    gs_cond_signal: Callable[..., int]
    gs_cond_broadcast: Callable[..., int]
    gs_cond_free: Callable[..., int]
    gs_semaphore_new: Callable[..., Optional[int]]
    gs_semaphore_acquire: Callable[..., int]
    gs_semaphore_acquire_timeout: Callable[..., int]
    gs_semaphore_tryacquire: Callable[..., int]
    gs_semaphore_release: Callable[..., int]
    gs_semaphore_held: Callable[..., int]
    gs_semaphore_free: Callable[..., int]
    gs_timer_new: Callable[..., int]
    gs_after_func: Callable[..., int]
    gs_timer_chan: Callable[..., Optional[int]]
    gs_timer_stop: Callable[..., int]
    gs_timer_reset: Callable[..., int]
    gs_timer_free: Callable[..., int]
    gs_ticker_new: Callable[..., int]
    gs_ticker_chan: Callable[..., Optional[int]]
    gs_ticker_stop: Callable[..., int]
    gs_ticker_reset: Callable[..., int]
    gs_ticker_free: Callable[..., int]
    gs_context_background: Callable[..., Optional[int]]
    gs_context_with_cancel: Callable[..., int]
    gs_context_with_deadline: Callable[..., int]
    gs_context_with_timeout: Callable[..., int]
    gs_context_with_value: Callable[..., int]
    gs_context_cancel: Callable[..., int]
    gs_context_done: Callable[..., Optional[int]]
    gs_context_err: Callable[..., int]
    gs_context_deadline: Callable[..., int]
    gs_context_value: Callable[..., Optional[int]]
    gs_context_free: Callable[..., int]
    gs_trace_start: Callable[..., int]
    gs_trace_ring: Callable[..., int]
    gs_trace_snapshot: Callable[..., int]
    gs_trace_stop: Callable[..., int]
    gs_trace_region_begin: Callable[..., int]
    gs_trace_region_end: Callable[..., int]
    gs_trace_log: Callable[..., int]

#: Names of the functions that may block or switch goroutines.
BLOCKING = frozenset(n for n, (_, _, b) in _FUNCTIONS.items() if b)

# ---------------------------------------------------------------------------------------
# Finding the library


class LibraryNotFoundError(ImportError):
    """libgosched could not be found in any of the places the package looks."""


def _ancestors(start: str) -> List[str]:
    out = []
    d = os.path.abspath(start)
    while True:
        out.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            return out
        d = parent


def _cargo_candidates(starts: List[str]) -> List[str]:
    """``<project>/target/release/libgosched.so`` for every cargo project (a directory
    with a Cargo.toml) above the given directories, nearest first; and
    ``$CARGO_TARGET_DIR/release`` if that is set."""
    out: List[str] = []
    ctd = os.environ.get("CARGO_TARGET_DIR")
    if ctd:
        out.append(os.path.join(os.path.abspath(ctd), "release", LIBRARY_NAME))
    for start in starts:
        for d in _ancestors(start):
            if os.path.isfile(os.path.join(d, "Cargo.toml")):
                p = os.path.join(d, "target", "release", LIBRARY_NAME)
                if p not in out:
                    out.append(p)
    return out


def _system_library() -> Optional[str]:
    """The name under which the dynamic linker finds an installed libgosched of this
    ABI version (``LD_LIBRARY_PATH``, the ldconfig cache, the default directories),
    or None."""
    names = [LIBRARY_SONAME]
    found = ctypes.util.find_library("gosched")
    if found and found not in names:
        names.append(found)
    for name in names:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return name
    return None


def loaded_path(name: str) -> str:
    """The file the dynamic linker loaded for ``name`` (a path, or a bare library name
    found on the system), from ``/proc/self/maps``; ``name`` where that cannot say."""
    if os.sep in name:
        return name
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").split(None, 5)[-1]
                if os.path.basename(path).startswith("libgosched."):
                    return path
    except OSError:
        pass
    return name


def find_library() -> str:
    """The path of the libgosched shared library this package uses.

    Looks, in order: (1) at ``$GOSCHED_LIBRARY``; (2) next to this package
    (``gosched/libgosched.so``, the copy a wheel ships); (3) on the system: an
    installed ``libgosched.so.0`` that the dynamic linker finds (``LD_LIBRARY_PATH``,
    the ldconfig cache), or what ``ctypes.util.find_library("gosched")`` names; (4) in
    the cargo target directory of the project: the ``target/release/`` of the nearest
    directory with a ``Cargo.toml`` above this package's files, then above the current
    working directory (``$CARGO_TARGET_DIR`` first if it is set). Raises
    ``LibraryNotFoundError`` naming all four. A library found on the system is
    returned by name (``loaded_path`` gives its file).
    """
    env = os.environ.get(LIBRARY_ENV)
    if env:
        if os.path.isfile(env):
            return env
        raise LibraryNotFoundError(
            f"gosched: ${LIBRARY_ENV} is set to {env!r}, which is not a file"
        )
    here = os.path.dirname(os.path.abspath(__file__))
    beside = os.path.join(here, LIBRARY_NAME)
    if os.path.isfile(beside):
        return beside
    system = _system_library()
    if system:
        return system
    cargo = _cargo_candidates([here, os.getcwd()])
    for p in cargo:
        if os.path.isfile(p):
            return p
    looked = "\n".join(f"      {p}" for p in cargo) or "      (no Cargo.toml above them)"
    raise LibraryNotFoundError(
        f"gosched: cannot find {LIBRARY_NAME}. Looked in:\n"
        f"  1. ${LIBRARY_ENV} (not set)\n"
        f"  2. next to the package: {beside}\n"
        f"  3. the system: no {LIBRARY_SONAME} for the dynamic linker (LD_LIBRARY_PATH, ldconfig)\n"
        f"  4. the cargo target directory (target/release/) of a project above the package "
        f"({here}) or above the current directory ({os.getcwd()}):\n{looked}\n"
        f"Install the package from a wheel, install the library (make install), build it "
        f"(cargo build --release), or set ${LIBRARY_ENV} to its path."
    )


# ---------------------------------------------------------------------------------------
# Loading

_FOUND = find_library()
_cdll = ctypes.CDLL(_FOUND)
_pydll = ctypes.PyDLL(_FOUND)
PATH = loaded_path(_FOUND)

_present: Dict[str, bool] = {}


def _missing(name: str) -> Callable[..., object]:
    def stub(*_args: object) -> object:
        raise Unsupported(f"{PATH} has no {name}(): it was built from older sources")

    stub.__name__ = name
    return stub


def _declare() -> None:
    mod = sys.modules[__name__]
    for name, (restype, argtypes, blocking) in _FUNCTIONS.items():
        handle = _cdll if blocking else _pydll
        try:
            f = getattr(handle, name)
        except AttributeError:
            _present[name] = False
            setattr(mod, name, _missing(name))
            continue
        f.restype = restype
        f.argtypes = argtypes
        _present[name] = True
        setattr(mod, name, f)


_declare()


def raw(name: str) -> Callable[..., int]:
    """A second function object for ``name`` without ``argtypes``: a call skips the
    argument conversion, which is about a third of a ctypes call's cost. Every argument
    must then already be what C expects: a ctypes object (``c_void_p``, ``byref(...)``,
    ``c_int64``), None for NULL, or an int that fits a C ``int``. The GIL is handled as
    for ``name`` (released for the blocking functions)."""
    restype, _argtypes, blocking = _FUNCTIONS[name]
    if not _present.get(name, False):
        return _missing(name)  # type: ignore[return-value]
    f = (_cdll if blocking else _pydll)[name]
    f.restype = restype  # type: ignore[assignment]
    fn: Callable[..., int] = f
    return fn


def pointer_arg(address: int) -> Any:
    """A ctypes argument that passes the pointer value ``address`` to a function
    without ``argtypes`` (see ``raw``): a ``byref`` of a ctypes object located at that
    address (never read through). ctypes copies such an argument as it is, where a
    ``c_void_p`` is first converted to a new argument object on every call."""
    return ctypes.byref(ctypes.c_char.from_address(address))


def has(name: str) -> bool:
    """True if the loaded library exports the C function ``name``."""
    return _present.get(name, False)


def strerror(code: int) -> str:
    """gs_strerror(code) as a str."""
    s = gs_strerror(code)  # noqa: F821
    return s.decode("utf-8", "replace") if s else f"error {code}"


def version() -> str:
    v = gs_version()  # noqa: F821
    return v.decode() if v else "?"


# ---------------------------------------------------------------------------------------
# The C library and the interpreter, for the thread-state switching in _pystate.py.

_libc = ctypes.PyDLL(None)
pthread_getspecific = _libc.pthread_getspecific
pthread_getspecific.restype = c_void_p
pthread_getspecific.argtypes = [c_uint32]
pthread_setspecific = _libc.pthread_setspecific
pthread_setspecific.restype = c_int
pthread_setspecific.argtypes = [c_uint32, c_void_p]
#: pthread_setspecific without argtypes (see raw()): (key as int, c_void_p or None).
pthread_setspecific_raw = _libc["pthread_setspecific"]
pthread_setspecific_raw.restype = c_int

pythonapi: Optional[ctypes.PyDLL] = getattr(ctypes, "pythonapi", None)
if pythonapi is not None:
    PyThreadState_Get = pythonapi.PyThreadState_Get
    PyThreadState_Get.restype = c_void_p
    PyThreadState_Get.argtypes = []
    PyGILState_GetThisThreadState = pythonapi.PyGILState_GetThisThreadState
    PyGILState_GetThisThreadState.restype = c_void_p
    PyGILState_GetThisThreadState.argtypes = []
    PyThreadState_Delete = pythonapi.PyThreadState_Delete
    PyThreadState_Delete.restype = None
    PyThreadState_Delete.argtypes = [c_void_p]

#: The type of a goroutine entry function, void (*)(void *).
GS_FN = ctypes.CFUNCTYPE(None, c_void_p)
