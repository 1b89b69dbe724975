//! Timed forms of the wait group and mutex calls: gs_waitgroup_wait_timeout,
//! gs_mutex_lock_timeout (the C++ binding's `wait_for`/`wait_until` and
//! `try_lock_for`/`try_lock_until`, `std::timed_mutex`-style).

use super::sync::{gs_mutex, gs_waitgroup};
use super::{code, ffi_boundary, handle, PANIC_CODE};
use crate::sync::mutex::Mutex;
use crate::sync::waiter::deadline;
use crate::sync::waitgroup::WaitGroup;
use core::ffi::c_int;

/// gs_waitgroup_wait for at most timeout_ns nanoseconds (< 0: forever, as
/// gs_waitgroup_wait; 0: only checks the counter).
///
/// Returns 0 once the counter is 0; GS_ETIMEDOUT when timeout_ns passes first (the
/// counter is then above 0, and nothing else changed); GS_EINVAL for NULL or a wait
/// group that is not live (see gs_waitgroup_free); GS_EPERM if it would block inside an
/// unlockf; GS_ESHUTDOWN on a foreign thread when gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_waitgroup_wait_timeout(wg: *mut gs_waitgroup, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<WaitGroup, _>(wg) {
            Ok(w) => code(w.wait_until(deadline(timeout_ns))),
            Err(e) => e,
        }
    })
}

/// gs_mutex_lock waiting at most timeout_ns nanoseconds (< 0: forever, as
/// gs_mutex_lock; 0: one attempt that may still queue briefly behind waiters).
///
/// Returns 0 with m locked; GS_ETIMEDOUT when timeout_ns passes first (m was not
/// taken); GS_EINVAL for NULL or a mutex that is not live (see gs_mutex_free);
/// GS_EPERM if it would block inside an unlockf; GS_ESHUTDOWN on a foreign thread when
/// gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_mutex_lock_timeout(m: *mut gs_mutex, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Mutex, _>(m) {
            Ok(x) => code(x.lock_until(deadline(timeout_ns))),
            Err(e) => e,
        }
    })
}
