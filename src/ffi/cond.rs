//! Condition variables: gs_cond_* (Go's sync.Cond over a gs_mutex).
//!
//! The idiom, as in Go: lock the mutex, and while the condition does not hold, wait;
//! a wait may return without a signal having been meant for this waiter, so it is
//! always in a loop:
//!
//!     gs_mutex_lock(m);
//!     while (!ready)
//!         gs_cond_wait(c);
//!     ...
//!     gs_mutex_unlock(m);

use super::{code, ffi_boundary, handle, PANIC_CODE};
use crate::sync::cond::Cond;
use crate::sync::mutex::Mutex;
use core::ffi::c_int;

/// Opaque condition variable handle (Go's sync.Cond).
pub struct gs_cond {
    _private: [u8; 0],
}

/// Creates a condition variable over the mutex m (Go's NewCond(L)); m must outlive it.
/// Works without a runtime.
///
/// Returns the condition variable; NULL if m is NULL or not a live mutex, or if
/// memory runs out.
#[no_mangle]
pub extern "C" fn gs_cond_new(m: *mut super::sync::gs_mutex) -> *mut gs_cond {
    ffi_boundary!(core::ptr::null_mut(), {
        match handle::<Mutex, _>(m) {
            Ok(_) => Cond::new(m as *mut Mutex) as *mut gs_cond,
            Err(_) => core::ptr::null_mut(),
        }
    })
}

/// Unlocks c's mutex, which the caller holds, waits (parks a goroutine, blocks a
/// foreign thread) until gs_cond_signal or gs_cond_broadcast wakes it, and locks the
/// mutex again before it returns. A signal after the mutex was released is never
/// lost. For a wait that also ends on cancellation, see gs_context_done (a select on
/// the context's done channel and a channel the signaller sends on).
///
/// Returns 0 with the mutex held; GS_EPERM if the mutex is not locked or inside an
/// unlockf (nothing done); GS_EINVAL for NULL, a condition variable that is not live,
/// or one whose mutex was freed; GS_ESHUTDOWN on a foreign thread when gs_shutdown
/// runs (the mutex is then held only if locking it again still succeeded).
#[no_mangle]
pub extern "C" fn gs_cond_wait(c: *mut gs_cond) -> c_int {
    gs_cond_wait_timeout(c, -1)
}

/// gs_cond_wait, giving up after timeout_ns nanoseconds (< 0: never; 0: unlocks,
/// gives up at once and locks again).
///
/// Returns 0 with the mutex held; GS_ETIMEDOUT with the mutex held when the time ran
/// out first; the other codes as gs_cond_wait.
#[no_mangle]
pub extern "C" fn gs_cond_wait_timeout(c: *mut gs_cond, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Cond, _>(c) {
            Ok(x) => code(x.wait(timeout_ns)),
            Err(e) => e,
        }
    })
}

/// Wakes the longest-waiting party of c, if any (Go's Signal). The caller may hold
/// the mutex or not. Never blocks; works anywhere.
///
/// Returns 0; GS_EINVAL for NULL or a condition variable that is not live.
#[no_mangle]
pub extern "C" fn gs_cond_signal(c: *mut gs_cond) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Cond, _>(c) {
            Ok(x) => {
                x.signal();
                0
            }
            Err(e) => e,
        }
    })
}

/// Wakes every party waiting on c (Go's Broadcast). Never blocks; works anywhere.
///
/// Returns 0; GS_EINVAL for NULL or a condition variable that is not live.
#[no_mangle]
pub extern "C" fn gs_cond_broadcast(c: *mut gs_cond) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Cond, _>(c) {
            Ok(x) => {
                x.broadcast();
                0
            }
            Err(e) => e,
        }
    })
}

/// Frees c (not its mutex).
///
/// Returns 0 once freed; GS_EBUSY (nothing is freed) while a party waits on c, or a
/// timed-out waiter has not yet left it; GS_EINVAL for NULL, and for a handle that
/// is not a live condition variable's (freed already, or of another kind); a freed
/// handle is refused while in the quarantine described at gs_mutex_free.
#[no_mangle]
pub extern "C" fn gs_cond_free(c: *mut gs_cond) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Cond, _>(c) {
            // SAFETY: a live handle; the caller's own calls on it are over.
            Ok(_) => code(unsafe { Cond::free(c as *mut Cond) }),
            Err(e) => e,
        }
    })
}
