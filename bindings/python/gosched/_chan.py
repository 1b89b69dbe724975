"""Channels of Python objects, and select.

A ``gs_chan`` copies fixed-size elements. Each ``Chan`` is a C channel of 8-byte keys
plus a dict ``key -> object`` of the values in flight: the sender stores the object
under a free key, then sends the key; the receiver pops the object with the key it
got and frees the key. The dict holds the only reference the channel needs while the value travels (no
pickling, no copy, ``recv()`` returns the very object sent). A failed or abandoned send
removes its key again. Dropping the channel drops the values still buffered in it.

# The cost of one operation

Every operation is one ctypes call, which costs more than the channel's work in C,
so the Python around it is kept short:

- Keys are small numbers taken from a free list (``_free``) shared by every channel,
  and each key ``k`` has a constant 8-byte cell holding ``k``, with its ctypes
  pointer made once (``_kptr[k]``): a send passes that pointer, and builds no
  ``c_uint64``, no ``byref``, sets no value (together about 250 ns of an operation).
  The C side only reads the cell, during the call (a blocked sender's sudog points
  to it until a receiver has copied it). A key is taken by the sender and freed by
  the receiver after popping the value, by a send that failed, or when a channel is
  freed with values still in it. A key whose send raised between two slices of the
  main thread, or whose goroutine was abandoned parked, stays taken. The table keeps
  its high-water mark: about 100 bytes per value that was once in flight at the same
  time as the others.
- A receive writes the key into a cell taken from a pool (``_cells``) of
  ``(c_uint64, byref(...))`` pairs and given back after the call. A cell belongs to
  one operation from ``pop()`` to ``append()``: the C side writes it only during the
  call. A cell whose operation raised, or whose goroutine was abandoned while parked,
  is simply not given back.
- The first attempt is ``gs_chan_try_send``/``gs_chan_try_recv`` through the PyDLL
  handle (see ``_lib``), with the GIL kept: see *Calls made with the GIL held*. Only
  when it would block does the operation call the blocking function, through the
  CDLL handle (GIL released), on a goroutine inside ``_pystate.call``.

# Calls made with the GIL held

A C function called with the GIL held must never wait for anything another thread
or goroutine does (that one may need the GIL to do it), never park or switch
goroutines (the goroutine that runs next on this OS thread would run Python code
while this one still holds the GIL), and never call back into Python. The
non-blocking channel calls keep that: they take the channel's lock (which the C side
holds only for a few instructions, never across a park), copy 8 bytes, and at most
ready a parked party (``ready`` puts a goroutine on a run queue and may wake an idle
M, it never runs it here) or futex-wake a thread. The functions that may block are
``_lib.BLOCKING``, called through the CDLL handle only.
"""

from __future__ import annotations

import ctypes
import threading
from ctypes import byref, c_uint64
from typing import Any, Dict, Generic, Iterator, List, Literal, Optional, Sequence, Set, Tuple, TypeVar, Union


from . import _lib, _pystate, _signals
from ._errors import Closed, InvalidArgument, OutOfMemory
from ._runtime import check, to_ns

# Without argtypes (see _lib.raw): the handle travels as _lib.pointer_arg(handle).
_try_send = _lib.raw("gs_chan_try_send")
_try_recv = _lib.raw("gs_chan_try_recv")
_send = _lib.raw("gs_chan_send")
_recv = _lib.raw("gs_chan_recv")
_send_t = _lib.gs_chan_send_timeout
_recv_t = _lib.gs_chan_recv_timeout
_call = _pystate.call
_EAGAIN = _lib.GS_EAGAIN
_on_main = _signals.on_main_thread
_sliced = _signals.sliced
_ECLOSED = _lib.GS_ECLOSED

# The pool of receive cells (see *The cost of one operation*). list.pop/append are
# atomic under the GIL, so every thread and goroutine shares it.
_Cell = Tuple[c_uint64, Any]
_cells: List[_Cell] = []
_pop = _cells.pop
_push = _cells.append


def _cell() -> _Cell:
    """A new cell, for when the pool is empty."""
    c = c_uint64()
    return (c, byref(c))


# The keys (see *The cost of one operation*): _kptr[k] points to a cell that holds k;
# the free ones are in _free (atomic list operations, as for _cells).
_free: List[int] = []
_fpop = _free.pop
_fpush = _free.append
_kptr: List[Any] = [None]  # (key 0 is never used)
_karrs: List[Any] = []
_grow_lock = threading.Lock()
_CHUNK = 256


def _grow() -> int:
    """Makes ``_CHUNK`` more keys; returns one of them (taken), frees the others."""
    with _grow_lock:
        base = len(_kptr)
        arr = (c_uint64 * _CHUNK)(*range(base, base + _CHUNK))
        _karrs.append(arr)
        _kptr.extend(byref(arr, 8 * j) for j in range(_CHUNK))
        _free.extend(range(base + _CHUNK - 1, base, -1))
        return base


class _ClosedMarker:
    """The value ``select`` gives for a receive case whose channel is closed and
    drained."""

    _instance: Optional["_ClosedMarker"] = None

    def __new__(cls) -> "_ClosedMarker":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "gosched.CLOSED"

    def __bool__(self) -> bool:
        return False


CLOSED = _ClosedMarker()


T = TypeVar("T")


class Chan(Generic[T]):
    """A channel carrying Python objects, like Go's ``make(chan T, capacity)``.

    Generic for type checkers: ``gosched.Chan[int]()`` (or ``ch: Chan[int] = Chan()``)
    makes ``send`` take, and ``recv`` return, an ``int``. At run time any object goes.

    Every method works from the main thread, Python threads and goroutines: on a
    goroutine a blocking call parks the goroutine only; on a thread it blocks the thread
    with the GIL released.
    """

    __slots__ = ("_h", "_hp", "_vals", "_cap", "__weakref__")

    def __init__(self, capacity: int = 0) -> None:
        if not isinstance(capacity, int) or capacity < 0:
            raise InvalidArgument(f"Chan: capacity must be an int >= 0, not {capacity!r}", _lib.GS_EINVAL)
        self._vals: Dict[int, T] = {}
        self._cap = capacity
        h = _lib.gs_chan_new(8, capacity)
        if not h:
            raise OutOfMemory(f"gs_chan_new(8, {capacity}) failed", _lib.GS_ENOMEM)
        self._h: Optional[int] = h
        self._hp = _lib.pointer_arg(h)

    def send(self, obj: T, timeout: Optional[float] = None) -> None:
        """Sends ``obj``, waiting for room (or a receiver) for up to ``timeout`` seconds
        (None: forever). Raises ``Closed`` if the channel is closed, ``Timeout``."""
        try:
            key = _fpop()
        except IndexError:
            key = _grow()
        self._vals[key] = obj
        p = _kptr[key]
        rc = _try_send(self._hp, p)
        if rc:
            rc = self._block(_send, _send_t, p, rc, timeout)
            if rc:
                self._vals.pop(key, None)
                _fpush(key)
                check(rc, "Chan.send")

    def _block(self, f: Any, f_t: Any, p: Any, rc: int, timeout: Optional[float]) -> int:
        """After a first attempt that gave ``rc``: if it would have blocked, the
        blocking call, ``f`` (untimed) or ``f_t`` (timed), on the cell pointer ``p``;
        returns its code."""
        if rc != _EAGAIN:
            return rc
        if _on_main():
            return _sliced(f_t, (self._h, p), to_ns(timeout))
        if timeout is None:
            r: int = _call(f, self._hp, p)
        else:
            r = _call(f_t, self._h, p, to_ns(timeout))
        return r

    def recv(self, timeout: Optional[float] = None) -> T:
        """Receives a value, waiting up to ``timeout`` seconds (None: forever). Raises
        ``Closed`` once the channel is closed and drained, ``Timeout``."""
        try:
            cp = _pop()
        except IndexError:
            cp = _cell()
        rc = _try_recv(self._hp, cp[1])
        if rc:
            rc = self._block(_recv, _recv_t, cp[1], rc, timeout)
            if rc:
                _push(cp)
                check(rc, "Chan.recv")
        key = cp[0].value
        _push(cp)
        obj = self._vals.pop(key)
        _fpush(key)  # (after the pop: the next owner of the key may use this channel)
        return obj

    def try_send(self, obj: T) -> bool:
        """Sends without blocking: True if sent, False if it would block. Raises
        ``Closed`` if the channel is closed."""
        try:
            key = _fpop()
        except IndexError:
            key = _grow()
        vals = self._vals
        vals[key] = obj
        rc = _try_send(self._hp, _kptr[key])
        if rc == 0:
            return True
        vals.pop(key, None)
        _fpush(key)
        if rc == _EAGAIN:
            return False
        check(rc, "Chan.try_send")
        return False

    def try_recv(self) -> Tuple[bool, Optional[T]]:
        """Receives without blocking: ``(True, value)``, or ``(False, None)`` if nothing
        is ready. Raises ``Closed`` once the channel is closed and drained."""
        try:
            cp = _pop()
        except IndexError:
            cp = _cell()
        rc = _try_recv(self._hp, cp[1])
        key = cp[0].value
        _push(cp)
        if rc == 0:
            obj = self._vals.pop(key)
            _fpush(key)
            return True, obj
        if rc == _EAGAIN:
            return False, None
        check(rc, "Chan.try_recv")
        return False, None

    def close(self) -> None:
        """Closes the channel: receivers drain what is buffered, then get ``Closed``;
        senders get ``Closed``. Raises ``AlreadyDone`` if it was closed already."""
        check(_lib.gs_chan_close(self._h), "Chan.close")

    @property
    def cap(self) -> int:
        """The capacity given at creation."""
        return self._cap

    def __len__(self) -> int:
        """Values buffered now."""
        return int(_lib.gs_chan_len(self._h))

    def __iter__(self) -> Iterator[T]:
        """Receives until the channel is closed and drained (Go's ``for v := range ch``)."""
        # recv() inlined: one Python call less per value. The loop keeps one cell of
        # its own (a generator runs on one thread at a time).
        hp = self._hp
        pop = self._vals.pop
        cell = c_uint64()
        p = byref(cell)
        while True:
            rc = _try_recv(hp, p)
            if rc:
                rc = self._block(_recv, _recv_t, p, rc, None)
                if rc:
                    if rc == _ECLOSED:
                        return
                    check(rc, "Chan.recv")
            key = cell.value
            obj = pop(key)
            _fpush(key)
            yield obj

    def __repr__(self) -> str:
        return f"<gosched.Chan cap={self._cap} len={len(self) if getattr(self, '_h', None) else '?'}>"

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h:
            self._h = None
            try:
                # GS_EBUSY (someone is still blocked on it, e.g. a goroutine abandoned by
                # shutdown) leaves the C channel allocated; nothing else can be done, and
                # the keys of its values stay taken.
                if _lib.gs_chan_free(h) == 0:
                    _free.extend(self._vals)
            except Exception:
                pass


#: A receive case of ``select``: ``(chan, "recv")``; chan None: never chosen.
RecvCase = Tuple[Optional[Chan[Any]], Literal["recv"]]
#: A send case of ``select``: ``(chan, "send", obj)``; chan None: never chosen.
SendCase = Tuple[Optional[Chan[Any]], Literal["send"], Any]
#: One case of ``select``.
Case = Union[RecvCase, SendCase]


def select(cases: Sequence[Case], timeout: Optional[float] = None) -> Tuple[int, Any]:
    """Waits until one of the cases can proceed and performs it (Go's ``select``).

    ``cases`` is a sequence of ``(chan, "recv")`` and ``(chan, "send", obj)``; a case
    whose chan is None is never chosen. Returns ``(index, value)``: ``value`` is the
    object received, ``gosched.CLOSED`` for a receive on a closed and drained channel,
    None for a send. ``timeout``: None waits forever; 0 polls and raises ``WouldBlock``
    if no case is ready; otherwise ``Timeout`` after that many seconds. A send case
    chosen on a closed channel raises ``Closed`` (Go panics there).
    """
    n = len(cases)
    arr = (_lib.gs_select_case * n)()
    cells = (c_uint64 * max(n, 1))()
    base = ctypes.addressof(cells)
    sends: List[Tuple[int, Chan[Any], int]] = []
    ops: List[str] = []
    chans: List[Optional[Chan[Any]]] = []
    raws: Set[int] = set()
    for i, case in enumerate(cases):
        if len(case) < 2:
            raise InvalidArgument(f"select: case {i} must be (chan, 'recv') or (chan, 'send', obj)", _lib.GS_EINVAL)
        ch, op = case[0], case[1]
        chans.append(ch)
        if op == "recv" and len(case) == 2:
            arr[i].op = _lib.GS_RECV
        elif op == "send" and len(case) == 3:
            arr[i].op = _lib.GS_SEND
        else:
            raise InvalidArgument(f"select: case {i} must be (chan, 'recv') or (chan, 'send', obj)", _lib.GS_EINVAL)
        ops.append(op)
        if ch is None:
            continue
        if not isinstance(ch, Chan):
            # A Timer, Ticker or Context: a library-owned channel of fire times (or the
            # done channel); the value received is the time, or CLOSED.
            raw = getattr(ch, "_raw_chan", None)
            if raw is None or op != "recv":
                raise InvalidArgument(f"select: case {i}: {ch!r} is not a gosched.Chan", _lib.GS_EINVAL)
            arr[i].chan = raw()
            arr[i].elem = base + 8 * i
            raws.add(i)
            continue
        arr[i].chan = ch._h
        arr[i].elem = base + 8 * i
        if op == "send":
            try:
                key = _fpop()
            except IndexError:
                key = _grow()
            ch._vals[key] = case[2]  # type: ignore[misc]  # (len(case) == 3 here)
            cells[i] = key
            sends.append((i, ch, key))
    try:
        ns = to_ns(timeout)
        if ns != 0 and _on_main():
            rc = _sliced(_lib.gs_select, (arr, n), ns)
        else:
            rc = _call(_lib.gs_select, arr, n, ns)
    except BaseException:
        # (Their keys are not given back: a case may have been performed just before.)
        for i, ch, key in sends:
            ch._vals.pop(key, None)
        raise
    for i, ch, key in sends:
        if i != rc or arr[i].result != 0:
            ch._vals.pop(key, None)
            _fpush(key)
    check(rc, "select")
    res = arr[rc].result
    if ops[rc] == "recv":
        if res == 0 and rc in raws:
            return rc, ctypes.c_int64(cells[rc]).value
        if res == 0:
            chan = chans[rc]
            assert chan is not None  # a None case is never chosen
            key = cells[rc]
            obj = chan._vals.pop(key)
            _fpush(key)
            return rc, obj
        if res == _ECLOSED:
            return rc, CLOSED
        check(res, "select")
        return rc, None
    if res != 0:
        check(res, f"select: send case {rc}")
    return rc, None
