//! Every live channel, mutex and wait group, so that gs_shutdown can take the
//! goroutines it abandons off their queues (see *Abandoned goroutines* in sudog.rs).
//!
//! Each object starts with an `ObjHead` (the objects are `#[repr(C)]`), listed in a
//! slot of one of `SHARDS` tables chosen by address, under that shard's mutex; the
//! head keeps its slot number. `register` and `unregister` run at an object's new and
//! free only, never per operation, and touch only the table, not other objects
//! (which may be long out of cache).
//!
//! Lock order: a shard, then an object's lock (`purge`). `unregister` takes the shard
//! alone, after the object's own checks.
//!
//! fork(): the shards (and the foreign-waiter registry of parker.rs) are taken by a
//! `pthread_atfork` prepare handler and released in the parent and the child, so a
//! child never finds them held by a thread that does not exist there.

use super::chan::Chan;
use super::mutex::Mutex;
use super::waitgroup::WaitGroup;
use core::cell::Cell;
use core::ptr::null;

/// What an `ObjHead` is the head of.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjKind {
    Chan,
    Mutex,
    WaitGroup,
}

/// The first field of every object. `slot` is written under the shard's mutex.
pub(crate) struct ObjHead {
    kind: ObjKind,
    slot: Cell<u32>,
}

impl ObjHead {
    pub(crate) const fn new(kind: ObjKind) -> ObjHead {
        ObjHead { kind, slot: Cell::new(u32::MAX) }
    }
}

/// Shards, so that goroutines creating channels on several Ps rarely meet.
const SHARDS: usize = 16;

/// The objects of a shard: `objs[i]` is the object in slot i or null; `free` lists
/// the null slots.
struct Table {
    objs: Vec<*const ObjHead>,
    free: Vec<u32>,
}
struct Shard(parking_lot::Mutex<Table>);
// SAFETY: the table is only touched under the shard's mutex; objects unregister
// before they are freed.
unsafe impl Sync for Shard {}
// SAFETY: as above.
unsafe impl Send for Table {}

static REGISTRY: [Shard; SHARDS] =
    [const { Shard(parking_lot::Mutex::new(Table { objs: Vec::new(), free: Vec::new() })) }; SHARDS];

fn shard(h: *const ObjHead) -> &'static Shard {
    // Fibonacci hashing of the address; objects are at least 16 bytes apart.
    let i = ((h as usize >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (usize::BITS - 4)) % SHARDS;
    &REGISTRY[i]
}

/// Lists a new object.
/// # Safety
/// `h` heads a live object that stays at its address until `unregister`.
pub(crate) unsafe fn register(h: *const ObjHead) {
    ATFORK.call_once(|| {
        // SAFETY: the handlers are plain functions that only take and release our locks.
        unsafe { libc::pthread_atfork(Some(atfork_prepare), Some(atfork_release), Some(atfork_child)) };
    });
    let mut t = shard(h).0.lock();
    let slot = match t.free.pop() {
        Some(i) => {
            t.objs[i as usize] = h;
            i
        }
        None => {
            t.objs.push(h);
            (t.objs.len() - 1) as u32
        }
    };
    // SAFETY: the caller's contract: h heads a live object.
    unsafe { (*h).slot.set(slot) };
}

/// Unlists an object about to be freed.
/// # Safety
/// `h` was registered and is not unregistered yet.
pub(crate) unsafe fn unregister(h: *const ObjHead) {
    let mut t = shard(h).0.lock();
    // SAFETY: the caller's contract: h is listed, hence alive.
    let slot = unsafe { (*h).slot.get() };
    if t.objs.get(slot as usize).copied() != Some(h) {
        crate::runtime::throw::fatal("registry: unregistering an object that is not listed");
    }
    t.objs[slot as usize] = null();
    t.free.push(slot);
}

/// Takes every goroutine's sudog off every object's queues (gs_shutdown, once no M
/// runs goroutines). Returns how many.
pub(crate) fn purge_goroutines() -> usize {
    let mut n = 0;
    for s in REGISTRY.iter() {
        let t = s.0.lock();
        for &h in t.objs.iter().filter(|h| !h.is_null()) {
            // SAFETY: listed objects are alive; each kind heads its own type.
            unsafe {
                n += match (*h).kind {
                    ObjKind::Chan => (*(h as *const Chan)).purge_goroutines(),
                    ObjKind::Mutex => (*(h as *const Mutex)).purge_goroutines(),
                    ObjKind::WaitGroup => (*(h as *const WaitGroup)).purge_goroutines(),
                };
            }
        }
    }
    n
}

static ATFORK: std::sync::Once = std::sync::Once::new();

/// Before fork(): hold every registry lock, so that none is held mid-change.
extern "C" fn atfork_prepare() {
    for s in REGISTRY.iter() {
        core::mem::forget(s.0.lock());
    }
    super::parker::lock_for_fork();
}

/// After fork(), in the parent: release them.
extern "C" fn atfork_release() {
    super::parker::unlock_after_fork(false);
    for s in REGISTRY.iter() {
        // SAFETY: atfork_prepare took it on this thread and forgot the guard.
        unsafe { s.0.force_unlock() };
    }
}

/// After fork(), in the child: release them; the parent's foreign threads do not
/// exist here, so their registered waiters are forgotten.
extern "C" fn atfork_child() {
    super::parker::unlock_after_fork(true);
    for s in REGISTRY.iter() {
        // SAFETY: as above (the child's only thread is the one that forked).
        unsafe { s.0.force_unlock() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::sudog::Sudog;

    #[test]
    fn purge_takes_goroutines_off_and_leaves_threads() {
        let c = Chan::new(8, 0);
        assert!(!c.is_null());
        let mut sgs = [Sudog::EMPTY; 3];
        // SAFETY: the sudogs outlive their time on the queue; no other thread uses c.
        unsafe {
            let ch = &*c;
            sgs[0].goroutine = true;
            sgs[2].goroutine = true;
            ch.lock.lock();
            for s in sgs.iter_mut() {
                ch.recvq.push_back(s);
            }
            ch.lock.unlock();
            assert!(purge_goroutines() >= 2);
            assert!(!sgs[0].queued && !sgs[2].queued);
            assert!(sgs[1].queued, "a foreign thread's sudog stays");
            ch.lock.lock();
            ch.recvq.remove(&mut sgs[1]);
            ch.lock.unlock();
            Chan::free(c).unwrap();
        }
    }
}
