//! The error type of the core and the single table that maps it to `GS_E*` codes.
//!
//! Codes are negative POSIX errno values (the liburing convention), so they survive a
//! goroutine's migration between threads where C's `errno` would not.

use core::ffi::{c_char, c_int};

/// An error of the core. `to_code` gives its C value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// Bad argument: NULL function, bad handle, bad flags, goroutine not parked.
    Inval,
    /// No memory, no stack or no mapping left.
    NoMem,
    /// A non-blocking operation would block.
    Again,
    /// The timeout expired.
    TimedOut,
    /// Already initialized / already closed.
    Already,
    /// Not allowed from this context.
    Perm,
    /// The runtime is not initialized.
    NotInit,
    /// The runtime is shutting down.
    Shutdown,
    /// Channel closed.
    Closed,
    /// The fd was closed while a goroutine waited on it.
    Canceled,
    /// Every goroutine is blocked and nothing can wake them.
    Deadlock,
    /// The object is in use.
    Busy,
}

pub(crate) type Result<T> = core::result::Result<T, Error>;

/// The calling thread's `errno`, read right after the failed call that set it and
/// before anything that can switch goroutines.
///
/// errno is a thread-local, and a goroutine may resume on another thread after any
/// park (see *Thread-locals move* in runtime/tls.rs). Rust's standard library
/// declares `__errno_location` as a function whose result never changes, so code
/// that reads errno through it (`io::Error::last_os_error`) may compute the address
/// once and keep it across a park, then read the errno of the thread it left (seen:
/// `gs_read` returning connect's EINPROGRESS). This calls the libc crate's
/// declaration, which promises nothing, from a function that is never inlined.
#[inline(never)]
pub(crate) fn errno() -> i32 {
    // SAFETY: __errno_location returns the calling thread's errno slot, valid for the
    // thread's life.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno` (for the C calls that set it as well as
/// returning a code). Called after the last switch of the call, so that it is the
/// thread the goroutine returns on; never inlined, as `errno`.
#[inline(never)]
pub(crate) fn set_errno(v: i32) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = v };
}

impl Error {
    /// The `GS_E*` value of this error.
    pub(crate) const fn to_code(self) -> c_int {
        -(match self {
            Error::Inval => libc::EINVAL,
            Error::NoMem => libc::ENOMEM,
            Error::Again => libc::EAGAIN,
            Error::TimedOut => libc::ETIMEDOUT,
            Error::Already => libc::EALREADY,
            Error::Perm => libc::EPERM,
            Error::NotInit => libc::ENXIO,
            Error::Shutdown => libc::ESHUTDOWN,
            Error::Closed => libc::EPIPE,
            Error::Canceled => libc::ECANCELED,
            Error::Deadlock => libc::EDEADLK,
            Error::Busy => libc::EBUSY,
        })
    }
}

/// A static, NUL-terminated English message for `code` (a `GS_E*` value or any other
/// negative errno value). Never NULL.
pub(crate) fn strerror(code: c_int) -> *const c_char {
    macro_rules! s {
        ($lit:literal) => {
            concat!($lit, "\0").as_ptr().cast::<c_char>()
        };
    }
    if code >= 0 {
        return s!("success");
    }
    match -code {
        libc::EINVAL => s!("invalid argument (NULL function, bad handle, bad flags or goroutine not parked)"),
        libc::ENOMEM => s!("out of memory, stacks or mappings"),
        libc::EAGAIN => s!("operation would block"),
        libc::ETIMEDOUT => s!("timed out"),
        libc::EALREADY => s!("already initialized or already closed"),
        libc::EPERM => s!("not allowed from this context"),
        libc::ENXIO => s!("the gosched runtime is not initialized"),
        libc::ESHUTDOWN => s!("the gosched runtime is shutting down"),
        libc::EPIPE => s!("channel closed"),
        libc::ECANCELED => s!("the file descriptor was closed while waiting on it"),
        libc::EDEADLK => s!("all goroutines are asleep: deadlock"),
        libc::EBUSY => s!("the object is in use"),
        e => {
            // SAFETY: strerror returns a pointer to a string that lives at least until the
            // next call on this thread; glibc's messages for known errnos are static.
            let p = unsafe { libc::strerror(e) };
            if p.is_null() {
                s!("unknown error")
            } else {
                p
            }
        }
    }
}
