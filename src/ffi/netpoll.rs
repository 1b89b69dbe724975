//! Netpoll: gs_wait_fd, gs_read, gs_write, gs_accept, gs_connect,
//! gs_close. From a goroutine they park it until the fd is ready (epoll); from a
//! foreign thread they block the thread (poll(2)).

use super::{ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::runtime::{fdwait, io, netpoll};
use core::ffi::{c_int, c_void};

/// gs_wait_fd events: readable.
pub const GS_POLLIN: u32 = 0x1;
/// gs_wait_fd events: writable.
pub const GS_POLLOUT: u32 = 0x4;

const _: () = assert!(GS_POLLIN == netpoll::GS_POLLIN && GS_POLLOUT == netpoll::GS_POLLOUT);

/// Parks until fd is ready for events (GS_POLLIN | GS_POLLOUT); a foreign thread
/// blocks in poll(2). timeout_ns < 0 waits forever. A failure sets errno to -code as
/// well, on the thread the goroutine is on when the call returns.
///
/// Returns the ready events (> 0); GS_ETIMEDOUT; GS_ECANCELED if fd was gs_close'd
/// while the goroutine waited; GS_EINVAL for a bad fd or events; GS_EBUSY if another
/// goroutine already waits on the same fd in the same direction.
#[no_mangle]
pub extern "C" fn gs_wait_fd(fd: c_int, events: u32, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        let rc = match fdwait::wait_fd_any(fd, events, timeout_ns) {
            Ok(ev) => ev as c_int,
            Err(e) => e.to_code(),
        };
        super::with_errno(rc.into()) as c_int
    })
}

/// Reads up to n bytes, waiting until fd is readable (as gs_wait_fd). A failure sets
/// errno to -code as well (as gs_wait_fd).
///
/// Returns the count (0 at end of file); GS_EINVAL for a bad fd, or a NULL buf with
/// n > 0; GS_ECANCELED or GS_EBUSY as gs_wait_fd; or another negative errno value of
/// read(2) (recv(2) on a socket).
#[no_mangle]
pub extern "C" fn gs_read(fd: c_int, buf: *mut c_void, n: usize) -> isize {
    ffi_boundary!(PANIC_CODE as isize, {
        if buf.is_null() && n > 0 {
            return super::with_errno(Error::Inval.to_code().into()) as isize;
        }
        super::with_errno(io::read(fd, buf.cast(), n)) as isize
    })
}

/// Writes all n bytes (across partial writes, waiting until fd is writable as
/// gs_wait_fd) unless an error occurs. A failure sets errno to -code as well (as
/// gs_wait_fd).
///
/// Returns n; GS_EINVAL for a bad fd, or a NULL buf with n > 0; GS_ECANCELED or
/// GS_EBUSY as gs_wait_fd; or another negative errno value of write(2) (send(2) on a
/// socket): -EPIPE or -ECONNRESET when the reader is gone (no SIGPIPE is raised).
#[no_mangle]
pub extern "C" fn gs_write(fd: c_int, buf: *const c_void, n: usize) -> isize {
    ffi_boundary!(PANIC_CODE as isize, {
        if buf.is_null() && n > 0 {
            return super::with_errno(Error::Inval.to_code().into()) as isize;
        }
        super::with_errno(io::write(fd, buf.cast(), n)) as isize
    })
}

/// Accepts a connection, waiting until one arrives (as gs_wait_fd). Out of
/// descriptors (-EMFILE, -ENFILE), it waits a backoff (5 ms, doubling to 1 s) before
/// returning, so that a retry loop does not spin. A failure sets errno to -code as
/// well (as gs_wait_fd).
///
/// Returns the new fd (non-blocking, close-on-exec); GS_EINVAL for a bad listen_fd,
/// or when exactly one of addr and len is NULL; GS_ECANCELED or GS_EBUSY as
/// gs_wait_fd; or another negative errno value of accept4(2).
#[no_mangle]
pub extern "C" fn gs_accept(listen_fd: c_int, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if addr.is_null() != len.is_null() {
            return super::with_errno(Error::Inval.to_code().into()) as c_int;
        }
        super::with_errno(io::accept(listen_fd, addr, len)) as c_int
    })
}

/// Connects fd (made non-blocking) to addr, waiting for the connection (as
/// gs_wait_fd). A failure sets errno to -code as well (as gs_wait_fd).
///
/// Returns 0; GS_EINVAL for a bad fd or a NULL addr; GS_ECANCELED or GS_EBUSY as
/// gs_wait_fd; or another negative errno value of connect(2) or of the socket's
/// SO_ERROR (e.g. -ECONNREFUSED).
#[no_mangle]
pub extern "C" fn gs_connect(fd: c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> c_int {
    ffi_boundary!(PANIC_CODE, { super::with_errno(io::connect(fd, addr, len)) as c_int })
}

/// Wakes the goroutines waiting on fd (their calls give GS_ECANCELED), then closes
/// it. A failure sets errno to -code as well.
///
/// Returns 0; GS_EINVAL for a negative fd; or another negative errno value of
/// close(2) (-EBADF for an fd that is not open).
#[no_mangle]
pub extern "C" fn gs_close(fd: c_int) -> c_int {
    ffi_boundary!(PANIC_CODE, { super::with_errno(io::close(fd)) as c_int })
}
