"""The execution tracer and flight recorder (gs_trace_*): traces that the Perfetto UI
(ui.perfetto.dev) and chrome://tracing open; see docs/tracing.md."""

from __future__ import annotations

import contextlib
import os
from typing import IO, Iterator, Optional, Union

from . import _lib
from ._errors import InvalidArgument
from ._runtime import check

#: Where a trace goes: a path, a file object with a fileno(), or an fd.
Target = Union[str, "os.PathLike[str]", IO[bytes], int]

# The file trace_start opened or was given, kept open until trace_stop writes it.
_open: Optional[IO[bytes]] = None
_owned = False


def _fd(target: Target) -> "tuple[int, Optional[IO[bytes]], bool]":
    """(fd, file object, whether we opened it) for a target."""
    if isinstance(target, int):
        return target, None, False
    if isinstance(target, (str, os.PathLike)):
        f = open(target, "wb")
        return f.fileno(), f, True
    if hasattr(target, "fileno"):
        target.flush()
        return target.fileno(), target, False
    raise InvalidArgument(f"a trace goes to a path, a file or an fd, not {target!r}")


def trace_start(target: Target) -> None:
    """Traces every scheduling event until trace_stop(), which writes the trace to
    target (a path, a binary file or an fd) in the JSON Trace Event format
    (gs_trace_start). Busy if a trace or flight recorder runs already."""
    global _open, _owned
    fd, f, owned = _fd(target)
    try:
        check(_lib.gs_trace_start(fd, 0), "gs_trace_start")
    except BaseException:
        if owned and f is not None:
            f.close()
        raise
    _open, _owned = f, owned


def trace_stop() -> None:
    """Stops tracing; after trace_start, writes the trace (gs_trace_stop)."""
    global _open, _owned
    try:
        check(_lib.gs_trace_stop(), "gs_trace_stop")
    finally:
        if _owned and _open is not None:
            _open.close()
        _open, _owned = None, False


def trace_ring(nbytes: int) -> None:
    """Starts the flight recorder: each thread keeps its last nbytes of events
    (gs_trace_ring). Write them out with trace_snapshot()."""
    if not isinstance(nbytes, int) or nbytes <= 0:
        raise InvalidArgument(f"the ring size is a positive number of bytes, not {nbytes!r}")
    check(_lib.gs_trace_ring(nbytes), "gs_trace_ring")


def trace_snapshot(target: Target) -> None:
    """Writes what is traced so far (the flight recorder's last events) to target
    while tracing goes on (gs_trace_snapshot)."""
    fd, f, owned = _fd(target)
    try:
        check(_lib.gs_trace_snapshot(fd), "gs_trace_snapshot")
    finally:
        if owned and f is not None:
            f.close()


def _bytes(s: Union[str, bytes], what: str) -> bytes:
    if isinstance(s, str):
        return s.encode("utf-8")
    if isinstance(s, bytes):
        return s
    raise InvalidArgument(f"{what} must be str or bytes, not {s!r}")


@contextlib.contextmanager
def trace_region(name: Union[str, bytes]) -> Iterator[None]:
    """A region of the calling goroutine in the trace (Go's trace.WithRegion):

        with gosched.trace_region("load level"):
            ...
    """
    b = _bytes(name, "a region name")
    check(_lib.gs_trace_region_begin(b), "gs_trace_region_begin")
    try:
        yield
    finally:
        check(_lib.gs_trace_region_end(b), "gs_trace_region_end")


def trace_log(category: Union[str, bytes], message: Union[str, bytes]) -> None:
    """A log message in the trace (Go's trace.Log), named by its category."""
    check(_lib.gs_trace_log(_bytes(category, "a category"), _bytes(message, "a message")), "gs_trace_log")
