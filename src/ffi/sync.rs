//! Channels, select, wait groups, mutexes: gs_waitgroup_*,
//! gs_mutex_*.
//!
//! Like channels, wait groups and mutexes are plain memory and work without a
//! runtime; a foreign thread that blocks without a runtime blocks as a plain thread.

use super::{code, ffi_boundary, handle, PANIC_CODE};
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
/// Returns 0; GS_EINVAL if the counter would go negative or above 2^62 - 1, leaving
/// it unchanged, or for NULL or a wait group that is not live (freed: see
/// gs_waitgroup_free).
#[no_mangle]
pub extern "C" fn gs_waitgroup_add(wg: *mut gs_waitgroup, delta: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<WaitGroup, _>(wg) {
            Ok(w) => code(w.add(delta)),
            Err(e) => e,
        }
    })
}

/// gs_waitgroup_add(wg, -1).
///
/// Returns 0; GS_EINVAL if the counter is 0 (it stays 0), or for NULL or a wait group
/// that is not live.
#[no_mangle]
pub extern "C" fn gs_waitgroup_done(wg: *mut gs_waitgroup) -> c_int {
    ffi_boundary!(PANIC_CODE, { gs_waitgroup_add(wg, -1) })
}

/// Blocks until the counter is 0 (at once if it is): parks the calling goroutine or
/// blocks a foreign thread, as gs_chan_send blocks. When it returns 0, the
/// gs_waitgroup_add or gs_waitgroup_done that released it no longer touches wg: the
/// waiter may free it at once.
///
/// Returns 0; GS_EINVAL for NULL or a wait group that is not live (see
/// gs_waitgroup_free); GS_EPERM if it would block inside an unlockf; GS_ESHUTDOWN on a
/// foreign thread when gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_waitgroup_wait(wg: *mut gs_waitgroup) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<WaitGroup, _>(wg) {
            Ok(w) => code(w.wait()),
            Err(e) => e,
        }
    })
}

/// Frees the wait group (whatever its counter).
///
/// Returns 0 once freed: no goroutine or thread touches wg any more. GS_EBUSY
/// (nothing is freed) while a goroutine or thread waits on wg, or the
/// gs_waitgroup_add that brought the counter to 0 is still releasing waiters (a
/// gs_waitgroup_wait that found the counter 0 may return meanwhile); goroutines that
/// gs_shutdown abandoned waiting on wg do not count once gs_shutdown returned.
/// GS_EINVAL for NULL, and for a handle that is not a live wait group's: one freed
/// already (a second gs_waitgroup_free included) or of another kind.
///
/// Using wg after it was freed gives GS_EINVAL as long as its memory is still the
/// runtime's: it is kept in a quarantine of the OS thread that freed it until that
/// thread has freed 64 more channels, mutexes or wait groups, or ended. After that the
/// memory may be malloc's again and a use of wg is undefined behavior, as is a call on
/// wg that runs concurrently with its gs_waitgroup_free (but of two gs_waitgroup_free
/// racing on wg, one returns 0 and the other GS_EINVAL).
#[no_mangle]
pub extern "C" fn gs_waitgroup_free(wg: *mut gs_waitgroup) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<WaitGroup, _>(wg) {
            // SAFETY: a live wait group's handle; the caller's own calls on it are
            // over (API contract).
            Ok(_) => code(unsafe { WaitGroup::free(wg as *mut WaitGroup) }),
            Err(e) => e,
        }
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
/// 1 ms behind newcomers (Go's starvation mode: then the lock goes to the waiters in
/// turn, goroutines and foreign threads alike, and newcomers queue behind them).
/// Blocks as gs_chan_send blocks. Not recursive: locking a mutex one holds deadlocks.
///
/// Returns 0; GS_EINVAL for NULL or a mutex that is not live (freed: see
/// gs_mutex_free); GS_EPERM if it would block inside an unlockf; GS_ESHUTDOWN on a
/// foreign thread when gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_mutex_lock(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Mutex, _>(m) {
            Ok(x) => code(x.lock()),
            Err(e) => e,
        }
    })
}

/// Locks m if it is free, as Go's TryLock. Never blocks; works anywhere.
///
/// Returns 0; GS_EAGAIN if it is held (or, in starvation mode, handed to a waiter that
/// has not run yet); GS_EINVAL for NULL or a mutex that is not live (see
/// gs_mutex_free).
#[no_mangle]
pub extern "C" fn gs_mutex_trylock(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Mutex, _>(m) {
            Ok(x) => code(x.trylock()),
            Err(e) => e,
        }
    })
}

/// Unlocks m, waking a waiter if there is one. Any goroutine or thread may unlock a
/// mutex another one locked (as in Go). Never blocks; works anywhere.
///
/// Returns 0; GS_EPERM if m is not locked (the mutex is unchanged); GS_EINVAL for
/// NULL or a mutex that is not live.
#[no_mangle]
pub extern "C" fn gs_mutex_unlock(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Mutex, _>(m) {
            Ok(x) => code(x.unlock()),
            Err(e) => e,
        }
    })
}

/// Frees m.
///
/// Returns 0 once freed: no goroutine or thread touches m any more. GS_EBUSY (nothing
/// is freed) while m is locked (a lock handed to a woken waiter included) or waited
/// on, or a waiter that an unlock woke has not yet taken it or queued again;
/// goroutines that gs_shutdown abandoned waiting on m do not count once gs_shutdown
/// returned. GS_EINVAL for NULL, and for a handle that is not a live mutex's: one
/// freed already (a second gs_mutex_free included) or of another kind.
///
/// Using m after it was freed gives GS_EINVAL as long as its memory is still the
/// runtime's: it is kept in a quarantine of the OS thread that freed it until that
/// thread has freed 64 more channels, mutexes or wait groups, or ended. After that the
/// memory may be malloc's again and a use of m is undefined behavior, as is a call on
/// m that runs concurrently with its gs_mutex_free (but of two gs_mutex_free racing
/// on m, one returns 0 and the other GS_EINVAL).
#[no_mangle]
pub extern "C" fn gs_mutex_free(m: *mut gs_mutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Mutex, _>(m) {
            // SAFETY: a live mutex's handle; the caller's own calls on it are over
            // (API contract).
            Ok(_) => code(unsafe { Mutex::free(m as *mut Mutex) }),
            Err(e) => e,
        }
    })
}
