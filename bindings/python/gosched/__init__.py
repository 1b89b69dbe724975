"""gosched: goroutines, channels, select, wait groups and mutexes for Python, on the Go
scheduler rebuilt as a C library (libgosched), through ctypes.

    import gosched

    with gosched.Runtime(procs=2):
        ch = gosched.Chan[str]()
        g = gosched.go(lambda: ch.send("hello"))
        print(ch.recv())
        g.join()

The API (each name has its own help):

    init(procs=None, stack_size=None, max_threads=None, checkdead=False); shutdown() -> int
    with Runtime(procs=2): ...              init on entry, shutdown on exit
    go(fn, *args, **kwargs) -> Goroutine[T] a callable as a goroutine
        g.join(timeout=None) -> bool, g.result(timeout=None) -> T (re-raises),
        g.exception(timeout=None), g.done(), g.id / int(g): the goroutine id
    with Group() as g: g.go(fn, ...)        waits for all, raises the first failure
    go_with(fn, args, kwargs, name=, stack_size=, host=); go_c(c_function, arg)
    Chan[T](capacity=0)                     send(obj, timeout=None), recv(timeout=None) -> T,
                                            try_send, try_recv, close, len(), for v in ch
    select([(ch1, "recv"), (ch2, "send", obj)], timeout=None) -> (index, value)
    WaitGroup(): add, done, wait;  Mutex(): with mu, lock, unlock, try_lock
    gosched(); sleep(seconds); wait(timeout=None); run_for(budget) -> int
    blocking(long=False): context for code that blocks without the runtime knowing
    goid(), in_goroutine(), lock_os_thread(), nanotime()
    stats() -> dict, dump() -> str, exceptions_count(), thread_mode()
    Errors: gosched.Error and one subclass per C error code: Timeout (a TimeoutError),
    Closed, WouldBlock, InvalidArgument (a ValueError), ShuttingDown, NotPermitted, ...

Python callables run as goroutines (``go``); every call works from the main thread, from
Python threads and from goroutines. Blocking calls park only the calling goroutine; on a
thread they block the thread with the GIL released; on the main thread Ctrl-C and other
signal handlers still run within 0.1 s.

How Python goroutines stay correct while they move between OS threads (each has its own
interpreter thread state, and the thread's "current thread state" slot follows the
goroutine; or, as a fallback, each is wired to an OS thread) is explained in the
package's README and in ``gosched/_pystate.py``; ``thread_mode()`` tells which is used.

The library is found through ``$GOSCHED_LIBRARY``, then next to this package, then in
the ``target/release/`` of the cargo project above the package or the current directory.
"""

from __future__ import annotations

from . import _lib
from ._chan import CLOSED, Chan, select
from ._errors import (
    AlreadyDone,
    Busy,
    Canceled,
    Closed,
    Deadlock,
    Error,
    InvalidArgument,
    NotInitialized,
    NotPermitted,
    OutOfMemory,
    ShuttingDown,
    Timeout,
    Unsupported,
    WouldBlock,
)
from ._goroutine import Goroutine, Group
from ._lib import LibraryNotFoundError
from ._runtime import (
    PYTHON_STACK_SIZE,
    Runtime,
    blocking,
    dump,
    exceptions_count,
    go,
    go_c,
    go_with,
    goid,
    gosched,
    in_goroutine,
    init,
    lock_os_thread,
    nanotime,
    run_for,
    shutdown,
    sleep,
    stats,
    thread_mode,
    thread_mode_reason,
    wait,
)
from ._sync import Mutex, WaitGroup
from ._sync_more import Cond, Once, RWMutex, Semaphore
from ._timectx import AfterFunc, Context, Ticker, Timer
from ._trace import trace_log, trace_region, trace_ring, trace_snapshot, trace_start, trace_stop

__version__ = "0.1.0"

#: Path of the libgosched shared library in use.
library_path: str = _lib.PATH


def library_version() -> str:
    """gs_version() of the loaded library."""
    return _lib.version()


def has(c_function: str) -> bool:
    """True if the loaded library exports ``c_function`` (e.g. ``"gs_run_for"``)."""
    return _lib.has(c_function)


__all__ = [
    "AfterFunc",
    "AlreadyDone",
    "Busy",
    "CLOSED",
    "Canceled",
    "Chan",
    "Closed",
    "Cond",
    "Context",
    "Deadlock",
    "Error",
    "Goroutine",
    "Group",
    "InvalidArgument",
    "LibraryNotFoundError",
    "Mutex",
    "NotInitialized",
    "NotPermitted",
    "Once",
    "OutOfMemory",
    "PYTHON_STACK_SIZE",
    "RWMutex",
    "Runtime",
    "Semaphore",
    "ShuttingDown",
    "Ticker",
    "Timeout",
    "Timer",
    "Unsupported",
    "WaitGroup",
    "WouldBlock",
    "blocking",
    "dump",
    "exceptions_count",
    "go",
    "go_c",
    "go_with",
    "goid",
    "gosched",
    "has",
    "in_goroutine",
    "init",
    "library_path",
    "library_version",
    "lock_os_thread",
    "nanotime",
    "run_for",
    "select",
    "shutdown",
    "sleep",
    "stats",
    "thread_mode",
    "thread_mode_reason",
    "trace_log",
    "trace_region",
    "trace_ring",
    "trace_snapshot",
    "trace_start",
    "trace_stop",
    "wait",
]
