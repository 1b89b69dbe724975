//! Reader/writer mutexes: gs_rwmutex_* (Go's sync.RWMutex).
//!
//! Plain memory like gs_mutex: works without a runtime (a foreign thread that waits
//! then blocks as a plain thread). The protocol (per-P reader slots, the writer's
//! gate, the reader bias) is described in src/sync/rwmutex.rs.

use super::{code, ffi_boundary, handle, PANIC_CODE};
use crate::sync::rwmutex::RwMutex;
use core::ffi::c_int;

/// Opaque reader/writer mutex handle (Go's sync.RWMutex).
pub struct gs_rwmutex {
    _private: [u8; 0],
}

/// Creates an unlocked reader/writer mutex. Works without a runtime. It takes about
/// 700 bytes: readers on different Ps count themselves on cache lines of their own
/// (8 of them; see gs_rwmutex_rlock).
///
/// Returns the mutex; NULL if memory runs out.
#[no_mangle]
pub extern "C" fn gs_rwmutex_new() -> *mut gs_rwmutex {
    ffi_boundary!(core::ptr::null_mut(), { RwMutex::new() as *mut gs_rwmutex })
}

/// Locks rw for reading: any number of readers hold it together. A goroutine counts
/// itself in its P's own slot of rw with a plain load and store (no locked
/// instruction, and no cache line shared with readers on other Ps), for the first 8
/// Ps; a foreign thread, and a goroutine on a P beyond those or inside
/// gs_entersyscall, uses one shared counter with atomic adds, as Go's readers do.
/// The slots need membarrier(2) (Linux 4.14); without it (or under a sanitizer or
/// Valgrind, or with GS_DEBUG=rwmutexslots=0) every reader uses the shared counter.
/// For a while after a writer, readers use the shared counter too (see
/// gs_rwmutex_lock). If a writer holds rw or waits for it, the caller waits (parks a
/// goroutine, blocks a foreign thread) until that writer unlocked. A waiting writer
/// keeps new readers out, so writers do not starve (Go's rule); a reader that
/// read-locks again while a writer waits therefore deadlocks, as in Go. On x86-64
/// the slot path of this function and of gs_rwmutex_runlock is inline (the end of
/// this header): about 12 instructions and no call.
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
/// nothing changes), as long as every read-lock counted in the caller's slot so far
/// was read-unlocked in that slot too; GS_EINVAL for NULL or an rwmutex that is not
/// live. Not detected (the call returns 0 and the count is low, so that a writer may
/// get in while a reader is inside): a read-unlock too many while another reader
/// holds rw (Go misses that too); two read-unlocks racing for one read-lock on
/// different Ps; and a read-unlock too many in a slot that is ahead, because readers
/// read-locked there and read-unlocked elsewhere (they were moved to another P or
/// entered gs_entersyscall inside the read section).
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
/// Cost: while readers use their P slots (the reader bias, on from gs_rwmutex_new),
/// the first writer revokes the bias with membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED),
/// which interrupts every CPU running a thread of the process: about 0.5 us on an
/// idle machine (measured: an uncontended gs_rwmutex_lock + gs_rwmutex_unlock costs
/// 540 ns with the fence each time, 13 ns with the bias as it is, against 9-10 ns
/// for Go's sync.RWMutex and for gosched's before the slots), more with many busy
/// threads. The bias then stays off for 9 times what the fence took, and readers use
/// the shared counter meanwhile; writers that come while it is off pay no fence unless
/// they find readers inside to wait for. Without membarrier there is no bias and
/// writers never fence (13 ns uncontended as well).
///
/// Returns 0; GS_EINVAL for NULL or an rwmutex that is not live; GS_EPERM inside an
/// unlockf if it is held (nothing changes: there it only tries); GS_ESHUTDOWN on a
/// foreign thread when gs_shutdown runs (nothing changes: readers that queued behind
/// it meanwhile get in).
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

/// Not for direct use: the slow half of the inline gs_rwmutex_rlock at the end of this
/// header, after it counted itself in its P's slot of rw, found a writer there (or the
/// reader bias off) and took its count back. Wakes a writer that waits for the readers
/// to leave, then read-locks as gs_rwmutex_rlock does.
///
/// Returns what gs_rwmutex_rlock returns: 0; GS_EINVAL for NULL or an rwmutex that is
/// not live; GS_EPERM inside an unlockf if a writer holds or waits for it (nothing is
/// locked); GS_ESHUTDOWN on a foreign thread when gs_shutdown runs (nothing is locked).
#[no_mangle]
pub extern "C" fn gs__rwmutex_rlock_slow(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => code(x.rlock_after_undo()),
            Err(e) => e,
        }
    })
}

/// Not for direct use: the slow half of the inline gs_rwmutex_runlock at the end of
/// this header, after it read-unlocked in its P's slot of rw and found a writer there:
/// lets the writer in if no reader is left.
///
/// Returns 0; GS_EINVAL for NULL or an rwmutex that is not live.
#[no_mangle]
pub extern "C" fn gs__rwmutex_departed(rw: *mut gs_rwmutex) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<RwMutex, _>(rw) {
            Ok(x) => {
                x.runlock_departed();
                0
            }
            Err(e) => e,
        }
    })
}
