"""Exceptions: one ``gosched.Error`` subclass per GS_E* code of the C API."""

from __future__ import annotations

import errno
from typing import Dict, Optional, Type


class Error(Exception):
    """A libgosched call failed. ``code`` is the negative GS_E* value (0 if none)."""

    code: int = 0

    def __init__(self, message: str = "", code: Optional[int] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgument(Error, ValueError):
    """GS_EINVAL: bad argument, bad handle, or goroutine not parked."""

    code: int = -errno.EINVAL


class OutOfMemory(Error, MemoryError):
    """GS_ENOMEM: no memory, no stack, or no mapping left."""

    code: int = -errno.ENOMEM


class WouldBlock(Error):
    """GS_EAGAIN: a non-blocking operation would block."""

    code: int = -errno.EAGAIN


class Timeout(Error, TimeoutError):
    """GS_ETIMEDOUT: the timeout expired."""

    code: int = -errno.ETIMEDOUT


class AlreadyDone(Error):
    """GS_EALREADY: already initialized, or channel already closed."""

    code: int = -errno.EALREADY


class NotPermitted(Error):
    """GS_EPERM: not allowed from this context (e.g. gosched.wait() in a goroutine)."""

    code: int = -errno.EPERM


class NotInitialized(Error):
    """GS_ENOTINIT: the runtime is not initialized; call gosched.init() first."""

    code: int = -errno.ENXIO


class ShuttingDown(Error):
    """GS_ESHUTDOWN: the runtime is shutting down."""

    code: int = -errno.ESHUTDOWN


class Closed(Error):
    """GS_ECLOSED: the channel is closed (and, for a receive, drained)."""

    code: int = -errno.EPIPE


class Canceled(Error):
    """GS_ECANCELED: the fd was closed while a goroutine waited on it."""

    code: int = -errno.ECANCELED


class Deadlock(Error):
    """GS_EDEADLK: every goroutine is blocked and nothing can wake them."""

    code: int = -errno.EDEADLK


class Busy(Error):
    """GS_EBUSY: the object is in use."""

    code: int = -errno.EBUSY


class Unsupported(Error, NotImplementedError):
    """The loaded libgosched lacks a C function this call needs (older build)."""


_BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        OutOfMemory,
        WouldBlock,
        Timeout,
        AlreadyDone,
        NotPermitted,
        NotInitialized,
        ShuttingDown,
        Closed,
        Canceled,
        Deadlock,
        Busy,
    )
}


def class_for(code: int) -> Type[Error]:
    """The Error subclass for a GS_E* code (``Error`` itself for other codes)."""
    return _BY_CODE.get(code, Error)
