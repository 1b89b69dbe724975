//! Weighted semaphores: gs_semaphore_* (Go's golang.org/x/sync/semaphore).

use super::{code, ffi_boundary, handle, PANIC_CODE};
use crate::sync::semaphore::Semaphore;
use core::ffi::c_int;

/// Opaque weighted semaphore handle.
pub struct gs_semaphore {
    _private: [u8; 0],
}

/// Creates a weighted semaphore of capacity size, nothing held. Works without a
/// runtime.
///
/// Returns the semaphore; NULL if size <= 0 or memory runs out.
#[no_mangle]
pub extern "C" fn gs_semaphore_new(size: i64) -> *mut gs_semaphore {
    ffi_boundary!(core::ptr::null_mut(), {
        match Semaphore::new(size) {
            Ok(s) => s as *mut gs_semaphore,
            Err(_) => core::ptr::null_mut(),
        }
    })
}

/// Acquires weight n, waiting (parks a goroutine, blocks a foreign thread) until it
/// fits. Waiters are served in arrival order: a large request at the head keeps
/// later small ones waiting, so it is not starved.
///
/// Returns 0; GS_EINVAL for n < 0, n larger than the capacity (it could never be
/// granted), NULL or a semaphore that is not live; GS_EPERM inside an unlockf if it
/// would wait; GS_ESHUTDOWN on a foreign thread when gs_shutdown runs. Nothing is
/// held after an error.
#[no_mangle]
pub extern "C" fn gs_semaphore_acquire(s: *mut gs_semaphore, n: i64) -> c_int {
    gs_semaphore_acquire_timeout(s, n, -1)
}

/// gs_semaphore_acquire, giving up after timeout_ns nanoseconds (< 0: never; 0: only
/// tries, as gs_semaphore_tryacquire, but reports GS_ETIMEDOUT as every timed call
/// does).
///
/// Returns 0; GS_ETIMEDOUT when the time ran out first (or, for a timeout of 0, when
/// it does not fit at once); the other codes as gs_semaphore_acquire.
#[no_mangle]
pub extern "C" fn gs_semaphore_acquire_timeout(s: *mut gs_semaphore, n: i64, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Semaphore, _>(s) {
            Ok(x) => code(x.acquire(n, timeout_ns)),
            Err(e) => e,
        }
    })
}

/// Acquires weight n if it fits now and nobody waits (Go's TryAcquire). Never
/// blocks; works anywhere.
///
/// Returns 0; GS_EAGAIN if it does not fit or others wait; GS_EINVAL for n < 0, n
/// larger than the capacity, NULL or a semaphore that is not live.
#[no_mangle]
pub extern "C" fn gs_semaphore_tryacquire(s: *mut gs_semaphore, n: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Semaphore, _>(s) {
            Ok(x) => code(x.try_acquire(n)),
            Err(e) => e,
        }
    })
}

/// Releases weight n and grants the waiters that now fit, in order. Any goroutine or
/// thread may release. Never blocks; works anywhere.
///
/// Returns 0; GS_EPERM if n is more than is held (nothing changes); GS_EINVAL for
/// n < 0, NULL or a semaphore that is not live.
#[no_mangle]
pub extern "C" fn gs_semaphore_release(s: *mut gs_semaphore, n: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Semaphore, _>(s) {
            Ok(x) => code(x.release(n)),
            Err(e) => e,
        }
    })
}

/// The weight held now (a snapshot). Never blocks.
///
/// Returns the weight (>= 0); GS_EINVAL for NULL or a semaphore that is not live.
#[no_mangle]
pub extern "C" fn gs_semaphore_held(s: *mut gs_semaphore) -> i64 {
    ffi_boundary!(PANIC_CODE as i64, {
        match handle::<Semaphore, _>(s) {
            Ok(x) => x.held(),
            Err(e) => e as i64,
        }
    })
}

/// Frees s.
///
/// Returns 0 once freed; GS_EBUSY (nothing is freed) while weight is held or a party
/// waits; GS_EINVAL for NULL, and for a handle that is not a live semaphore's (freed
/// already, or of another kind); a freed handle is refused while in the quarantine
/// described at gs_mutex_free.
#[no_mangle]
pub extern "C" fn gs_semaphore_free(s: *mut gs_semaphore) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Semaphore, _>(s) {
            // SAFETY: a live handle; the caller's own calls on it are over.
            Ok(_) => code(unsafe { Semaphore::free(s as *mut Semaphore) }),
            Err(e) => e,
        }
    })
}
