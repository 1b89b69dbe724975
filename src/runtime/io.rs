//! The blocking calls of the C API on top of poll descriptors (Go's internal/poll):
//! `read`, `write`, `accept`, `connect`, `close`. Each tries its system call
//! without blocking and, on EAGAIN, waits for the fd (`netpoll::wait_fd` on a
//! goroutine, poll(2) on a foreign thread) and tries again (`retry_io`). How these
//! calls notice an fd closed behind the runtime's back is *Fds closed behind our
//! back* in netpoll.rs.

use super::entry::{caller, Caller};
use super::fdwait::{poll_thread, wait_fd};
use super::netpoll::{evict, is_nonblock, with_caller_rt, GS_POLLIN, GS_POLLOUT, KIND_SOCKET};
use crate::error::{errno, Error, Result};
use core::sync::atomic::{AtomicI64, Ordering::*};

/// Waits without confirming readiness: for gs_read and friends, which retry their
/// system call anyway.
fn wait_fd_io(fd: i32, events: u32) -> Result<u32> {
    match caller() {
        // SAFETY: m is this thread's M.
        Caller::Goroutine(m, _) => wait_fd(unsafe { (*m).rt() }, fd, events, -1),
        _ => poll_thread(fd, events, -1),
    }
}

/// The result of a system call that returns >= 0 or -1 with errno, as the count or
/// `-errno`. Call it on the call's result at once (see `crate::error::errno`).
#[inline(always)]
fn sys(r: isize) -> isize {
    if r < 0 {
        -(errno() as isize)
    } else {
        r
    }
}

/// Runs `op` (a non-blocking system call, returning >= 0 or `-errno`) until it does
/// not say EAGAIN, waiting for `events` in between. Returns its result or `-errno`.
fn retry_io(fd: i32, events: u32, mut op: impl FnMut() -> isize) -> i64 {
    loop {
        let r = op();
        if r >= 0 {
            return r as i64;
        }
        let e = -r as i32;
        if e == libc::EINTR {
            continue;
        }
        if e != libc::EAGAIN && e != libc::EWOULDBLOCK {
            return r as i64;
        }
        if let Err(err) = wait_fd_io(fd, events) {
            return err.to_code() as i64;
        }
    }
}

/// How a goroutine's calls on an fd are made (see *Fds closed behind our back*).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Io {
    /// recv/send with MSG_DONTWAIT: a socket.
    Socket,
    /// read/write: the fd is non-blocking, or a thread's call may block.
    Plain,
}

/// Gets `fd` ready for a goroutine's calls: armed in the poller, non-blocking where
/// that matters (always, with `need_nonblock`), renewed if the number names a new
/// file. A foreign thread's calls may block: nothing to do for them.
fn prepare(fd: i32, need_nonblock: bool) -> Result<Io> {
    if fd < 0 {
        return Err(Error::Inval);
    }
    let Caller::Goroutine(m, _) = caller() else { return Ok(Io::Plain) };
    // SAFETY: m is this thread's M; its runtime outlives it.
    let rt = unsafe { (*m).rt() };
    let np = &rt.netpoll;
    let pd = np.pd(fd)?;
    np.arm(fd, pd)?;
    if pd.kind.load(Acquire) == KIND_SOCKET && !need_nonblock {
        return Ok(Io::Socket);
    }
    if !is_nonblock(fd)? {
        np.renew(rt, fd, pd)?; // armed non-blocking before: a new file
    }
    Ok(if pd.kind.load(Acquire) == KIND_SOCKET { Io::Socket } else { Io::Plain })
}

/// The calling goroutine's fd names something else than a socket now (ENOTSOCK):
/// renew it, so that a plain call on it does not block. Errors show in that call.
fn renew_after_enotsock(fd: i32) {
    if let Caller::Goroutine(m, _) = caller() {
        // SAFETY: m is this thread's M; its runtime outlives it.
        let rt = unsafe { (*m).rt() };
        if let Ok(pd) = rt.netpoll.pd(fd) {
            let _ = rt.netpoll.renew(rt, fd, pd);
        }
    }
}

/// gs_read.
pub(crate) fn read(fd: i32, buf: *mut u8, n: usize) -> i64 {
    let io = match prepare(fd, false) {
        Ok(io) => io,
        Err(e) => return e.to_code() as i64,
    };
    // SAFETY: the caller passes a buffer of n bytes (API contract).
    let plain = || sys(unsafe { libc::read(fd, buf.cast(), n) });
    retry_io(fd, GS_POLLIN, || {
        if io == Io::Plain {
            return plain();
        }
        // SAFETY: as above.
        let r = sys(unsafe { libc::recv(fd, buf.cast(), n, libc::MSG_DONTWAIT) });
        if r != -(libc::ENOTSOCK as isize) {
            return r;
        }
        renew_after_enotsock(fd);
        plain()
    })
}

/// gs_write: writes all `n` bytes across partial writes, or fails. A reader that is
/// gone gives -EPIPE, not SIGPIPE (see *SIGPIPE* in signal.rs).
pub(crate) fn write(fd: i32, buf: *const u8, n: usize) -> i64 {
    let io = match prepare(fd, false) {
        Ok(io) => io,
        Err(e) => return e.to_code() as i64,
    };
    let mut done = 0usize;
    while done < n {
        // SAFETY: [buf+done, buf+n) is within the caller's buffer.
        let at = unsafe { buf.add(done) };
        let r = retry_io(fd, GS_POLLOUT, || {
            if io == Io::Socket {
                let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
                // SAFETY: as above.
                let r = sys(unsafe { libc::send(fd, at.cast(), n - done, flags) });
                if r != -(libc::ENOTSOCK as isize) {
                    return r;
                }
                renew_after_enotsock(fd);
            }
            super::signal::write_nosigpipe(fd, at, n - done)
        });
        if r < 0 {
            return r;
        }
        done += r as usize;
    }
    n as i64
}

/// After accept fails with EMFILE/ENFILE, wait this long (doubling to the max) before
/// reporting it, so that a retry loop does not spin. Go's http server uses 5 ms..1 s.
const ACCEPT_BACKOFF_MIN_NS: i64 = 5_000_000;

const ACCEPT_BACKOFF_MAX_NS: i64 = 1_000_000_000;

static ACCEPT_BACKOFF: AtomicI64 = AtomicI64::new(0);

/// gs_accept: the new fd is non-blocking and close-on-exec.
pub(crate) fn accept(fd: i32, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) -> i64 {
    if let Err(e) = prepare(fd, true) {
        return e.to_code() as i64;
    }
    let r = retry_io(fd, GS_POLLIN, || {
        // SAFETY: addr/len are the caller's (may be NULL, as accept4 allows).
        sys(unsafe { libc::accept4(fd, addr, len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) } as isize)
    });
    if r >= 0 {
        with_caller_rt(|rt| rt.netpoll.forget(rt, r as i32));
    }
    if r == -(libc::EMFILE as i64) || r == -(libc::ENFILE as i64) {
        let b = ACCEPT_BACKOFF.load(Relaxed);
        let b = if b == 0 { ACCEPT_BACKOFF_MIN_NS } else { (b * 2).min(ACCEPT_BACKOFF_MAX_NS) };
        ACCEPT_BACKOFF.store(b, Relaxed);
        sleep_any(b);
    } else if r >= 0 {
        ACCEPT_BACKOFF.store(0, Relaxed);
    }
    r
}

/// Sleeps the caller: parks a goroutine, or sleeps the thread.
pub(crate) fn sleep_any(ns: i64) {
    match caller() {
        // SAFETY: m is this thread's M.
        Caller::Goroutine(m, _) => super::timer::sleep(unsafe { (*m).rt() }, ns),
        _ => super::time::thread_sleep(ns),
    }
}

/// gs_connect: non-blocking connect, wait for writability, then SO_ERROR.
pub(crate) fn connect(fd: i32, addr: *const libc::sockaddr, len: libc::socklen_t) -> i64 {
    if addr.is_null() {
        return Error::Inval.to_code() as i64;
    }
    // A socket being connected is a new file: whatever its number's PollDesc says
    // belongs to an older file closed with close(2).
    if fd >= 0 {
        with_caller_rt(|rt| rt.netpoll.forget(rt, fd));
    }
    if let Err(e) = prepare(fd, true) {
        return e.to_code() as i64;
    }
    // SAFETY: addr/len describe the caller's address.
    let r = unsafe { libc::connect(fd, addr, len) };
    if r == 0 {
        return 0;
    }
    let e = errno();
    if e != libc::EINPROGRESS && e != libc::EINTR && e != libc::EAGAIN {
        return -(e as i64);
    }
    if let Err(err) = wait_fd_io(fd, GS_POLLOUT) {
        return err.to_code() as i64;
    }
    let mut soerr: libc::c_int = 0;
    let mut l = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid out-parameters.
    if unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut soerr as *mut libc::c_int).cast(),
            &mut l,
        )
    } < 0
    {
        return -(errno() as i64);
    }
    -(soerr as i64)
}

/// gs_close: wakes the fd's waiters with GS_ECANCELED, disarms it, closes it.
pub(crate) fn close(fd: i32) -> i64 {
    if fd < 0 {
        return Error::Inval.to_code() as i64;
    }
    evict(fd);
    // SAFETY: closing the caller's fd.
    if unsafe { libc::close(fd) } < 0 {
        return -(errno() as i64);
    }
    0
}
