//! Park and ready: gs_park, gs_ready.

use super::go::gs_g;
use super::{code, ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::runtime::entry::{self};
use core::ffi::{c_char, c_int, c_void};

/// Called on the scheduler's stack after the goroutine is marked waiting; returning
/// false resumes the goroutine at once.
pub type gs_unlockf = Option<unsafe extern "C" fn(g: *mut gs_g, lock: *mut c_void) -> bool>;

/// Parks the calling goroutine until gs_ready. unlockf(g, lock), if not NULL, runs
/// after the goroutine is marked waiting; if it returns false the goroutine resumes
/// at once. reason (may be NULL) is shown in dumps and must stay valid while parked.
/// A handle names the goroutine, not one park: a gs_ready with a handle published for
/// an earlier park takes the goroutine as soon as it is marked waiting, before or
/// while unlockf runs; wakers must find the handle under the lock that unlockf
/// releases (what unlockf is for). A goroutine still parked when gs_shutdown runs is
/// abandoned: the call never returns.
///
/// Returns 0 when readied (or when unlockf returned false); GS_EPERM off-goroutine (a
/// foreign thread, or inside an unlockf).
#[no_mangle]
pub extern "C" fn gs_park(unlockf: gs_unlockf, lock: *mut c_void, reason: *const c_char) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        // SAFETY: gs_unlockf and UnlockFn have the same ABI (a gs_g* is passed as a
        // pointer-sized handle).
        let f: Option<crate::runtime::g::UnlockFn> = unsafe { core::mem::transmute(unlockf) };
        code(entry::park_any(f, lock, reason, -1))
    })
}

/// As gs_park, but gives up after timeout_ns nanoseconds (< 0: never; 0: unlockf
/// runs, then the goroutine resumes at once unless readied meanwhile).
///
/// Returns 0 when readied (or when unlockf returned false); GS_ETIMEDOUT when the time
/// ran out, exactly one of the two whatever races with gs_ready; GS_EPERM
/// off-goroutine (a foreign thread, or inside an unlockf).
#[no_mangle]
pub extern "C" fn gs_park_timeout(
    unlockf: gs_unlockf,
    lock: *mut c_void,
    reason: *const c_char,
    timeout_ns: i64,
) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        // SAFETY: as in gs_park.
        let f: Option<crate::runtime::g::UnlockFn> = unsafe { core::mem::transmute(unlockf) };
        code(entry::park_any(f, lock, reason, timeout_ns))
    })
}

/// Makes a goroutine parked by gs_park runnable. From a goroutine, inside an unlockf
/// or from a foreign thread.
///
/// Returns 0; GS_EINVAL, changing nothing, if g is NULL, stale, or not parked through
/// gs_park (running, runnable, already readied, timed out, exited, or parked by the
/// runtime in a channel, mutex, wait group, sleep or fd wait); GS_ENOTINIT without a
/// runtime; GS_ESHUTDOWN while gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_ready(g: *mut gs_g) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if g.is_null() {
            return Error::Inval.to_code();
        }
        code(entry::ready_any(g as usize))
    })
}
