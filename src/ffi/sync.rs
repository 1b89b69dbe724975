//! API.md, section Channels, select, wait groups, mutexes: gs_waitgroup_*,
//! gs_mutex_*.
//!
//! Like channels, wait groups and mutexes are plain memory and work without a
//! runtime; a foreign thread that blocks without a runtime blocks as a plain thread.

use super::{code, ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::sync::mutex::Mutex;
use crate::sync::waitgroup::WaitGroup;
use core::ffi::c_int;

/// Opaque wait group handle (Go's sync.WaitGroup).
pub struct gs_waitgroup {
    _private: [u8; 0],
}

/// Opaque mutex handle (Go's sync.Mutex).
pub struct gs_mutex {
    _private: [u8; 0],
}

#[inline]
fn wgref<'a>(p: *mut gs_waitgroup) -> Option<&'a WaitGroup> {
    // SAFETY: a non-NULL handle came from gs_waitgroup_new and was not freed.
    (!p.is_null()).then(|| unsafe { &*(p as *const WaitGroup) })
}

#[inline]
fn mu_ref<'a>(p: *mut gs_mutex) -> Option<&'a Mutex> {
    // SAFETY: a non-NULL handle came from gs_mutex_new and was not freed.
    (!p.is_null()).then(|| unsafe { &*(p as *const Mutex) })
}

/// Creates a wait group with a counter of 0. Works without a runtime.
///
/// Returns the wait group; NULL if memory runs out.
#[no_mangle]
pub extern "C" fn gs_waitgroup_new() -> *mut gs_waitgroup {
    ffi_boundary!(core::ptr::null_mut(), { WaitGroup::new() as *mut gs_waitgroup })
}

/// Adds delta (which may be negative) to the counter; when it reaches 0, every
/// waiter is released. Never blocks; works anywhere.
///
/// Returns 0; GS_EINVAL if the counter would go negative (or overflow), leaving it
/// unchanged, or for NULL.
#[no_mangle]
pub extern "C" fn gs_waitgroup_add(wg: *mut gs_waitgroup, delta: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match wgref(wg) {
            Some(w) => code(w.add(delta)),
            None => Error::Inval.to_code(),
        }
    })
}

/// gs_waitgroup_add(wg, -1).
///
/// Returns 0; GS_EINVAL if the counter is 0 (it stays 0), or for NULL.
#[no_mangle]
pub extern "C" fn gs_waitgroup_done(wg: *mut gs_waitgroup) -> c_int {
    gs_waitgroup_add(wg, -1)
}

/// Blocks until the counter is 0 (at once if it is): parks the calling goroutine or
/// blocks a foreign thread, as gs_chan_send blocks.
///
/// Returns 0; GS_EINVAL for NULL; GS_EPERM if it would block inside an unlockf;
/// GS_ESHUTDOWN on a foreign thread when gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_waitgroup_wait(wg: *mut gs_waitgroup) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match wgref(wg) {
            Some(w) => code(w.wait()),
            None => Error::Inval.to_code(),
        }
    })
}

/// Frees the wait group. Goroutines that were abandoned waiting on it by gs_shutdown
/// do not count as waiting.
///
/// Returns 0; GS_EBUSY (and frees nothing) while someone waits on it; GS_EINVAL for
/// NULL.
#[no_mangle]
pub extern "C" fn gs_waitgroup_free(wg: *mut gs_waitgroup) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if wg.is_null() {
            return Error::Inval.to_code();
        }
        // SAFETY: a handle from gs_waitgroup_new, not freed yet (API contract).
        code(unsafe { WaitGroup::free(wg as *mut WaitGroup) })
    })
}

/// Creates an unlocked mutex. Works without a runtime.
///
/// Returns the mutex; NULL if memory runs out.
#[no_mangle]
pub extern "C" fn gs_mutex_new() -> *mut gs_mutex {
    ffi_boundary!(core::ptr::null_mut(), { Mutex::new() as *mut gs_mutex })
}

/// Locks m, blocking while it is held: a single atomic operation when it is free;
/// otherwise a goroutine spins briefly (with more than one P) and then parks, a
/// foreign thread blocks. Fair under contention: no waiter waits more than about
/// 1 ms behind newcomers (Go's starvation mode). Blocks as gs_chan_send blocks. Not
/// recursive: locking a mutex one holds deadlocks.
///
/// Returns 0; GS_EINVAL for NULL; GS_EPERM if it would block inside an unlockf;
/// GS_ESHUTDOWN on a foreign thread when gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_mutex_lock(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match mu_ref(m) {
            Some(x) => code(x.lock()),
            None => Error::Inval.to_code(),
        }
    })
}

/// Locks m if it is free. Never blocks; works anywhere.
///
/// Returns 0; GS_EAGAIN if it is held; GS_EINVAL for NULL.
#[no_mangle]
pub extern "C" fn gs_mutex_trylock(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match mu_ref(m) {
            Some(x) => code(x.trylock()),
            None => Error::Inval.to_code(),
        }
    })
}

/// Unlocks m, waking a waiter if there is one. Any goroutine or thread may unlock a
/// mutex another one locked (as in Go). Never blocks; works anywhere.
///
/// Returns 0; GS_EPERM if m is not locked (the mutex is unchanged); GS_EINVAL for
/// NULL.
#[no_mangle]
pub extern "C" fn gs_mutex_unlock(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match mu_ref(m) {
            Some(x) => code(x.unlock()),
            None => Error::Inval.to_code(),
        }
    })
}

/// Frees m. Goroutines that were abandoned waiting on it by gs_shutdown do not count
/// as waiting (but a mutex locked by one stays locked).
///
/// Returns 0; GS_EBUSY (and frees nothing) while it is locked or waited on;
/// GS_EINVAL for NULL.
#[no_mangle]
pub extern "C" fn gs_mutex_free(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if m.is_null() {
            return Error::Inval.to_code();
        }
        // SAFETY: a handle from gs_mutex_new, not freed yet (API contract).
        code(unsafe { Mutex::free(m as *mut Mutex) })
    })
}
