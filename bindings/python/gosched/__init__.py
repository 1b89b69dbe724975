"""gosched: goroutines, channels, select, wait groups and mutexes for Python, on the Go
scheduler rebuilt as a C library (libgosched), through ctypes.

    import gosched

    with gosched.Runtime(procs=2):
        ch = gosched.Chan()
        gosched.go(lambda: ch.send("hello"))
        print(ch.recv())

Python callables run as goroutines (``go``); every call works from the main thread, from
Python threads and from goroutines. Blocking calls park only the calling goroutine; on a
thread they block the thread with the GIL released.

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
    "wait",
]
