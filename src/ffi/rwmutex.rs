//! Reader/writer mutexes: gs_rwmutex_* (Go's sync.RWMutex).
//!
//! Plain memory like gs_mutex: works without a runtime (a foreign thread that waits
//! then blocks as a plain thread).

use super::{code, ffi_boundary, handle, PANIC_CODE};
use crate::sync::rwmutex::RwMutex;
use core::ffi::c_int;

/// Opaque reader/writer mutex handle (Go's sync.RWMutex).
pub struct gs_rwmutex {
    _private: [u8; 0],
}

/// Creates an unlocked reader/writer mutex. Works without a runtime.
///
/// Returns the mutex; NULL if memory runs out.
#[no_mangle]
pub extern "C" fn gs_rwmutex_new() -> *mut gs_rwmutex {
    ffi_boundary!(core::ptr::null_mut(), { RwMutex::new() as *mut gs_rwmutex })
}

/// Locks rw for reading: any number of readers hold it together. A single atomic
/// operation unless a writer holds it or waits for it; then the caller waits (parks
/// a goroutine, blocks a foreign thread) until that writer unlocked. A waiting writer
/// keeps new readers out, so writers do not starve (Go's rule); a reader that
/// read-locks again while a writer waits therefore deadlocks, as in Go.
///
/// Returns 0; GS_EINVAL for NULL or an rwmutex that is not live (freed: see
/// gs_rwmutex_free); GS_EPERM inside an unlockf if a writer holds or waits for it
/// (nothing is locked); GS_ESHUTDOWN on a foreign thread when gs_shutdown runs
/// (nothing is locked).
#[no_mangle]
pub extern "C" fn gs_rwmutex_rlock(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => code(x.rlock()),
            Err(e) => e,
        }
    })
}

/// Locks rw for reading if no writer holds it or waits for it (Go's TryRLock).
/// Never blocks; works anywhere.
///
/// Returns 0; GS_EAGAIN if a writer holds it or waits for it; GS_EINVAL for NULL or
/// an rwmutex that is not live.
#[no_mangle]
pub extern "C" fn gs_rwmutex_tryrlock(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => code(x.try_rlock()),
            Err(e) => e,
        }
    })
}

/// Unlocks one reader; the last reader a waiting writer waits for lets it in. Any
/// goroutine or thread may read-unlock. Never blocks; works anywhere.
///
/// Returns 0; GS_EPERM if no reader holds rw (more read-unlocks than read-locks:
/// nothing changes, unless a writer locks rw at the same moment, which such a
/// misuse may leave waiting); GS_EINVAL for NULL or an rwmutex that is not live.
#[no_mangle]
pub extern "C" fn gs_rwmutex_runlock(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => code(x.runlock()),
            Err(e) => e,
        }
    })
}

/// Locks rw for writing: waits (parks a goroutine, blocks a foreign thread) for the
/// writer before it, then keeps new readers out and waits for the readers inside to
/// unlock. Not recursive.
///
/// Returns 0; GS_EINVAL for NULL or an rwmutex that is not live; GS_EPERM inside an
/// unlockf if it is held (nothing changes: there it only tries); GS_ESHUTDOWN on a
/// foreign thread when gs_shutdown runs (if it came while waiting for readers, rw is
/// left unusable: only the runtime's end follows).
#[no_mangle]
pub extern "C" fn gs_rwmutex_lock(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => code(x.lock()),
            Err(e) => e,
        }
    })
}

/// Locks rw for writing if nobody holds it (Go's TryLock). Never blocks; works
/// anywhere.
///
/// Returns 0; GS_EAGAIN if a reader or a writer holds it (or a writer waits);
/// GS_EINVAL for NULL or an rwmutex that is not live.
#[no_mangle]
pub extern "C" fn gs_rwmutex_trylock(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => code(x.try_lock()),
            Err(e) => e,
        }
    })
}

/// Unlocks the writer: the readers that waited meanwhile get in, then the next
/// writer. Any goroutine or thread may unlock. Never blocks; works anywhere.
///
/// Returns 0; GS_EPERM if no writer holds rw (nothing changes); GS_EINVAL for NULL
/// or an rwmutex that is not live.
#[no_mangle]
pub extern "C" fn gs_rwmutex_unlock(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => code(x.unlock()),
            Err(e) => e,
        }
    })
}

/// Frees rw.
///
/// Returns 0 once freed; GS_EBUSY (nothing is freed) while a reader or writer holds
/// it or a party waits on it (also for good once gs_shutdown abandoned goroutines
/// that held or waited for it: they stay counted in it); GS_EINVAL for NULL, and for
/// a handle that is not a live rwmutex's (freed already, or of another kind). A freed handle is refused
/// with GS_EINVAL while its memory is in the quarantine described at
/// gs_mutex_free; after that, using it is undefined behavior.
#[no_mangle]
pub extern "C" fn gs_rwmutex_free(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            // SAFETY: a live handle; the caller's own calls on it are over.
            Ok(_) => code(unsafe { RwMutex::free(rw as *mut RwMutex) }),
            Err(e) => e,
        }
    })
}
