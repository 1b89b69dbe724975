//! The C API: the only place with `#[no_mangle]`. One file per group of functions.
//!
//! Every export has the same four steps: the boundary (`ffi_boundary!`, which turns a
//! Rust panic into an error instead of unwinding into C), argument checks, one call
//! into the core, and the mapping of the core's `Error` to a `GS_E*` code.

#![allow(non_camel_case_types)]
// The exports take raw pointers from C and dereference them after checking for NULL:
// that is the C API's contract (gosched.h), so they are safe Rust functions on purpose.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use crate::error::{Error, Result};
use core::ffi::c_int;

pub mod chan;
pub mod cond;
pub mod context;
pub mod debug;
pub mod gls;
pub mod go;
pub mod lifecycle;
pub mod netpoll;
pub mod once;
pub mod park;
pub mod rwmutex;
pub mod semaphore;
pub mod sync;
pub mod sync_timed;
pub mod syscall;
pub mod time;
pub mod timer;
pub mod trace;

/// Runs `$body`; a panic becomes `$on_panic` (after the panic message on stderr).
/// Under ThreadSanitizer, the runtime's memory accesses meanwhile are not checked
/// (see *The runtime's own memory accesses* in runtime/tools.rs).
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:block) => {{
        // The body twice: inline for the common case, and in a cold copy under TSan.
        if $crate::runtime::tools::tsan_present() {
            $crate::runtime::tools::ignored(move || {
                match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
                    Ok(v) => v,
                    Err(_) => $on_panic,
                }
            })
        } else {
            match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
                Ok(v) => v,
                Err(_) => $on_panic,
            }
        }
    }};
}
pub(crate) use ffi_boundary;

/// The object behind a C handle (gs_chan, gs_mutex, gs_waitgroup), or GS_EINVAL for
/// NULL and for a handle that is not a live object of that kind (freed, or another
/// kind's).
#[inline(always)]
pub(crate) fn handle<'a, T: crate::sync::Handle, H>(p: *const H) -> core::result::Result<&'a T, c_int> {
    // SAFETY: a non-NULL handle came from its kind's gs_*_new and its memory is still
    // the runtime's (the API contract: see the gs_*_free functions).
    unsafe { T::check(p.cast()) }.map_err(Error::to_code)
}

/// 0 or the error's code.
pub(crate) fn code(r: Result<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_code(),
    }
}

/// `rc`, after setting errno to `-rc` when it is a negative code: the I/O calls set
/// errno too, as their POSIX counterparts do. Called after the core call returned, so
/// on the thread the goroutine returns on (see "Thread-locals and errno" in gosched.h).
#[inline]
pub(crate) fn with_errno(rc: i64) -> i64 {
    if rc < 0 {
        crate::error::set_errno((-rc) as i32);
    }
    rc
}

/// The code a panic turns into: the runtime is in an unknown state.
pub(crate) const PANIC_CODE: c_int = Error::Inval.to_code();

/// Error codes as C sees them, for the Rust tests.
pub mod codes {
    use crate::error::Error;
    use core::ffi::c_int;
    pub const GS_EINVAL: c_int = Error::Inval.to_code();
    pub const GS_ENOMEM: c_int = Error::NoMem.to_code();
    pub const GS_EAGAIN: c_int = Error::Again.to_code();
    pub const GS_ETIMEDOUT: c_int = Error::TimedOut.to_code();
    pub const GS_EALREADY: c_int = Error::Already.to_code();
    pub const GS_EPERM: c_int = Error::Perm.to_code();
    pub const GS_ENOTINIT: c_int = Error::NotInit.to_code();
    pub const GS_ESHUTDOWN: c_int = Error::Shutdown.to_code();
    pub const GS_ECLOSED: c_int = Error::Closed.to_code();
    pub const GS_ECANCELED: c_int = Error::Canceled.to_code();
    pub const GS_EDEADLK: c_int = Error::Deadlock.to_code();
    pub const GS_EBUSY: c_int = Error::Busy.to_code();
}
