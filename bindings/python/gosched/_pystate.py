"""Keeping the interpreter's per-thread state right while goroutines move between threads.

# The problem

CPython keeps the chain of running frames, the exception being handled, the recursion
depth and ``threading.local`` data in a *thread state* (``PyThreadState``). A ctypes
callback enters the interpreter through ``PyGILState_Ensure()``, which uses the thread
state recorded for the calling OS thread (in a thread-specific key, "autoTSS"), creating
one if there is none. A goroutine is a ctypes callback that may park in the middle of a
gosched call (with the GIL released) and resume later on another OS thread. Left alone:

- goroutine B starts on the thread where A is parked and runs on A's thread state, its
  frames pushed on top of A's suspended ones;
- A resumes on another thread and pops frames from a chain that B is using;
- the frame chains end up interleaved in a non-LIFO order and the process crashes later.

# The solution: one thread state per goroutine ("switch" mode, the default)

Every Python goroutine has a thread state of its own, and the OS thread's autoTSS slot is
kept pointing at the thread state of the goroutine *running* on that thread, or at
nothing:

1. The goroutine's entry is a ctypes callback. ``PyGILState_Ensure`` finds the slot empty
   (invariant below) and creates a fresh thread state for this goroutine. The first thing
   the Python entry does is ``gs_lock_os_thread()``: the goroutine is wired to this M.
2. Around every gosched call that can park or switch (``call()`` below) the goroutine
   empties the slot and unlocks itself from the thread; ctypes then releases the GIL and
   saves the thread state *in the goroutine's own C frame*. While it is parked, another
   goroutine starting on this thread finds the slot empty and gets its own thread state.
3. When the call returns - on whatever thread the goroutine resumed on - ctypes restores
   the goroutine's own thread state from that C frame and takes the GIL; the goroutine
   then locks itself to the new thread and puts its thread state in the new thread's slot.
4. When the goroutine's function returns, ``PyGILState_Release`` finds its thread state in
   the slot of the thread it ends on, and deletes it (which empties the slot).

Invariant: a thread's slot is non-empty only while a Python goroutine runs on it, and
then it holds that goroutine's thread state. Goroutines switch on the same OS thread, so
a channel hand-off between two Python goroutines costs a few microseconds (no OS thread
hand-off). Outside the gosched calls of this package the goroutine stays locked to its
thread, so a C function that parks on its own (one that calls gs_chan_recv, say) cannot
move it: it is then as safe as the "lock" mode below.

The slot is the pthread key that CPython uses for autoTSS. It is not part of the C API,
so it is *found* at start-up: the key whose value is this thread's thread state, checked
in a second thread, where emptying it must make ``PyGILState_GetThisThreadState()``
return NULL and restoring it must bring the thread state back. If any check fails, the
"lock" mode is used.

# The fallback: one OS thread per goroutine ("lock" mode)

Each Python goroutine calls ``gs_lock_os_thread()`` first and stays locked for its whole
life. A locked goroutine runs only on its M and that M runs nothing else, so the OS
thread's thread state belongs to that goroutine alone. Correct everywhere, but every
switch between Python goroutines is a hand-off between OS threads (tens of microseconds)
and every live Python goroutine holds an OS thread (``max_threads``, 10000 by default).
It is used when ``$GOSCHED_PYTHON_MODE=lock``, on non-CPython interpreters, on builds
without the GIL, under the debug memory allocator (``-X dev``, ``PYTHONMALLOC=debug``,
debug builds: it checks that the slot matches the thread state on every allocation,
which the switch above briefly violates), or if the autoTSS key is not found. Host
goroutines written in Python need the switch mode.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, List, Optional, Tuple

from . import _lib

MODE_SWITCH = "switch"
MODE_LOCK = "lock"
MODE_ENV = "GOSCHED_PYTHON_MODE"


class _GLocal(threading.local):
    """Per thread state, hence per goroutine (each goroutine has its own thread state).

    ``ts``: the goroutine's PyThreadState address, set at entry in switch mode; None on
    foreign threads, in lock mode, and for pinned goroutines. Whether a gosched call of
    the goroutine is in progress (its slot empty, itself unlocked) is ``rec.inside``.
    """

    ts: Optional[int] = None
    #: ``ts`` as an argument of the raw pthread_setspecific (``_lib.pointer_arg``);
    #: None whenever ``ts`` is.
    tsp: Any = None
    goroutine: bool = False
    #: The goroutine's _goroutine._State (its ``inside`` is what shutdown() reads).
    rec: Any = None


g = _GLocal()

#: The pthread key of CPython's autoTSS slot (switch mode), else None.
KEY: Optional[int] = None
#: MODE_SWITCH or MODE_LOCK once setup() ran.
mode: Optional[str] = None
#: Why the mode was chosen (shown by gosched.thread_mode_reason()).
reason: str = ""

_set = _lib.pthread_setspecific
_set_raw = _lib.pthread_setspecific_raw
_lock = _lib.raw("gs_lock_os_thread")
_unlock = _lib.raw("gs_unlock_os_thread")


def call(f: Callable[..., Any], *args: Any) -> Any:
    """Calls the blocking C function ``f`` (a CDLL function: the GIL is released) from
    any thread. On a goroutine in switch mode, empties the thread's autoTSS slot and
    unlocks the goroutine around the call, then re-locks it to the thread it resumed on
    and fills that thread's slot (see the module docs)."""
    # Two reads of the thread-local (about 50 ns each); the rest are slots of the
    # goroutine's record. ``rec.inside`` also stops a nested call from switching
    # twice.
    local = g
    tsp = local.tsp
    rec = local.rec
    if rec is None or rec.inside:
        return f(*args)
    rec.inside = True  # (shutdown() reads it: where the goroutine is)
    if tsp is None:  # lock mode or pinned: the goroutine stays on this thread
        try:
            return f(*args)
        finally:
            rec.inside = False
    key = KEY
    _set_raw(key, None)
    _unlock()
    try:
        return f(*args)
    finally:
        _lock()
        _set_raw(key, tsp)
        rec.inside = False


def call_hosting(f: Callable[..., Any], *args: Any) -> Any:
    """Calls ``f`` (gs_run_for) on a foreign thread that runs goroutines inside the call:
    the thread's own thread state leaves the slot for the duration, so host goroutines
    get thread states of their own."""
    if KEY is None:
        return f(*args)
    mine = _lib.PyThreadState_Get()
    _set(KEY, None)
    try:
        return f(*args)
    finally:
        _set(KEY, mine)


def enter_goroutine() -> None:
    """First code of every Python goroutine: wire it to this thread and remember its
    thread state."""
    _lock()
    g.goroutine = True
    if KEY is not None:
        g.ts = _lib.PyThreadState_Get()
        g.tsp = _lib.pointer_arg(g.ts)


def pin() -> None:
    """Keeps the calling goroutine on its current OS thread for the rest of its life."""
    if g.goroutine:
        g.ts = None
        g.tsp = None


def in_goroutine() -> bool:
    return g.goroutine


# ---------------------------------------------------------------------------------------
# Choosing the mode


def _debug_allocator() -> bool:
    if getattr(sys.flags, "dev_mode", False) or hasattr(sys, "gettotalrefcount"):
        return True
    return "debug" in os.environ.get("PYTHONMALLOC", "")


def _find_key() -> Tuple[Optional[int], str]:
    api = _lib.pythonapi
    if api is None:
        return None, "ctypes.pythonapi is not available"
    me = _lib.PyGILState_GetThisThreadState()
    if not me or me != _lib.PyThreadState_Get():
        return None, "the calling thread's thread state is not its autoTSS one"
    try:
        nkeys = int(os.sysconf("SC_THREAD_KEYS_MAX"))
    except (ValueError, OSError, AttributeError):
        nkeys = 128
    nkeys = max(0, min(nkeys if nkeys > 0 else 128, 1024))
    cands = [k for k in range(nkeys) if _lib.pthread_getspecific(k) == me]
    if not cands:
        return None, "no pthread key holds the thread state"
    found: List[int] = []

    def probe() -> None:
        ts = _lib.PyGILState_GetThisThreadState()
        if not ts:
            return
        ok = [k for k in cands if _lib.pthread_getspecific(k) == ts]
        if len(ok) != 1:
            return
        k = ok[0]
        _set(k, None)
        cleared = _lib.PyGILState_GetThisThreadState() is None
        _set(k, ts)
        restored = _lib.PyGILState_GetThisThreadState() == ts
        if cleared and restored:
            found.append(k)

    t = threading.Thread(target=probe, name="gosched-probe")
    t.start()
    t.join()
    if len(found) != 1:
        return None, "the autoTSS key did not pass the checks"
    return found[0], "autoTSS key found"


_probed_key: List[Optional[int]] = []


def autotss_key() -> Optional[int]:
    """The autoTSS slot's pthread key: KEY in switch mode; in lock mode it is looked for
    (once) on demand, where the interpreter allows it; None if it is not known."""
    if KEY is not None:
        return KEY
    if not _probed_key:
        ok = sys.implementation.name == "cpython" and not _debug_allocator()
        if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
            ok = False
        _probed_key.append(_find_key()[0] if ok else None)
    return _probed_key[0]


def setup() -> None:
    """Chooses the mode (once)."""
    global KEY, mode, reason
    if mode is not None:
        return
    forced = os.environ.get(MODE_ENV, "").strip().lower()
    if forced not in ("", MODE_SWITCH, MODE_LOCK):
        raise ValueError(f"${MODE_ENV} must be {MODE_SWITCH!r} or {MODE_LOCK!r}, not {forced!r}")
    why = ""
    key: Optional[int] = None
    if forced == MODE_LOCK:
        why = f"${MODE_ENV}={MODE_LOCK}"
    elif sys.implementation.name != "cpython":
        why = f"{sys.implementation.name} is not CPython"
    elif hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
        why = "the interpreter runs without the GIL"
    elif _debug_allocator():
        why = "the debug memory allocator checks the autoTSS slot on every allocation"
    else:
        key, why = _find_key()
    if key is None and forced == MODE_SWITCH:
        raise RuntimeError(f"gosched: ${MODE_ENV}={MODE_SWITCH} but it is not available: {why}")
    KEY = key
    mode = MODE_SWITCH if key is not None else MODE_LOCK
    reason = why
