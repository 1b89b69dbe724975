//! Wait-queue entries (Go's sudog) and the queues of them.
//!
//! # Why sudogs
//!
//! A G and the objects it waits on are many-to-many: in a select one party waits on
//! several channels at once, and one channel has many waiters. So a waiting party is
//! not linked into a queue itself; one `Sudog` per (party, object) is. All sudogs of
//! one party point to its `Waiter` (waiter.rs), which lives on the party's stack.
//!
//! # Ownership of a sudog
//!
//! - Free: in the calling thread's cache or the central pool (`acquire`/`release`).
//! - Owned by its party while it fills it in, then **queued**: its links (`next`,
//!   `prev`, `queued`) belong to the object's lock. `elem`, `success`, `ticket` are
//!   written by the party before it enqueues and by the single waker that dequeued it
//!   (under the lock, or after it, before the wakeup); the party reads them after it
//!   woke up. The wakeup (ready, or the futex word) orders these accesses.
//! - Back to its party, which releases it to the pool after it woke up and removed
//!   it from any queue it is still on.
//!
//! # Stale sudogs
//!
//! Sudog memory is never freed (like Go's, it comes from a pool), but a goroutine
//! waiter's `Waiter` and `elem` live on the goroutine's stack, which gs_shutdown frees.
//! `gen` records the runtime generation at enqueue time; `runtime_stopped` bumps
//! `GEN` after every M left. A goroutine sudog of an older generation is *stale*: it is
//! unlinked and never followed (its memory stays in no pool: a few bytes leak per
//! goroutine abandoned while blocked). Foreign threads' sudogs are never stale: the
//! threads are woken at shutdown and remove their sudogs themselves.

use super::waiter::{Ctx, Waiter};
use crate::runtime::sched::Runtime;
use core::cell::Cell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};

/// Runtime generation: bumped by gs_shutdown once the Ms have left (`runtime_stopped`).
static GEN: AtomicU64 = AtomicU64::new(1);

/// The current runtime generation. SeqCst: pairs with the store of `RT` that follows
/// the bump in gs_shutdown, so a thread that saw no runtime sees the new generation.
#[inline]
pub(crate) fn current_gen() -> u64 {
    GEN.load(SeqCst)
}

pub(crate) fn bump_gen() {
    GEN.fetch_add(1, SeqCst);
}

/// A party waiting on one object. See *Ownership of a sudog*.
pub(crate) struct Sudog {
    /// Queue links; under the object's lock.
    pub(crate) next: *mut Sudog,
    pub(crate) prev: *mut Sudog,
    /// On a queue now; under the object's lock.
    pub(crate) queued: bool,
    /// The party; followed only if the sudog is not stale.
    pub(crate) waiter: *const Waiter,
    /// Channel ops: the value to send, or where to receive (null when elem_size is 0).
    pub(crate) elem: *mut u8,
    /// Select: index of the case.
    pub(crate) idx: usize,
    /// A goroutine's sudog (else a foreign thread's).
    pub(crate) goroutine: bool,
    /// The waker must win `Waiter::done` first (see *Claims* in mod.rs).
    pub(crate) claim: bool,
    /// Channels: woken by a communication (true) or by close (false).
    pub(crate) success: bool,
    /// Mutex: the lock was handed to this waiter.
    pub(crate) ticket: bool,
    /// Mutex: when the party started waiting (nanotime).
    pub(crate) waitstart: i64,
    /// Goroutine sudogs: generation and runtime at enqueue time (see *Stale sudogs*).
    pub(crate) gen: u64,
    pub(crate) rt: *const Runtime,
}

impl Sudog {
    const EMPTY: Sudog = Sudog {
        next: null_mut(),
        prev: null_mut(),
        queued: false,
        waiter: core::ptr::null(),
        elem: null_mut(),
        idx: 0,
        goroutine: false,
        claim: false,
        success: false,
        ticket: false,
        waitstart: 0,
        gen: 0,
        rt: core::ptr::null(),
    };
}

// ---------------------------------------------------------------------------------
// Wait queues

/// A FIFO of sudogs (Go's waitq), intrusive through `next`/`prev`.
/// Under the lock of the object that owns it. The ends are atomics (relaxed) only so
/// that fast paths may read `first` without the lock as a hint ("is anybody
/// waiting"), as Go's do; every change is made under the lock.
pub(crate) struct WaitQ {
    first: AtomicPtr<Sudog>,
    last: AtomicPtr<Sudog>,
}

impl WaitQ {
    pub(crate) const fn new() -> WaitQ {
        WaitQ { first: AtomicPtr::new(null_mut()), last: AtomicPtr::new(null_mut()) }
    }

    /// True if nobody waits. Under the lock exact; without it, a racy hint.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.first.load(Relaxed).is_null()
    }

    /// Appends `sg`.
    /// # Safety
    /// The object's lock is held; `sg` is valid and on no queue.
    pub(crate) unsafe fn push_back(&self, sg: *mut Sudog) {
        let last = self.last.load(Relaxed);
        // SAFETY: the caller's contract; queued sudogs are valid.
        unsafe {
            (*sg).next = null_mut();
            (*sg).prev = last;
            (*sg).queued = true;
            if last.is_null() {
                self.first.store(sg, Relaxed);
            } else {
                (*last).next = sg;
            }
        }
        self.last.store(sg, Relaxed);
    }

    /// Prepends `sg` (a waiter that already waited goes first, as Go's semaphores
    /// queue it "lifo").
    /// # Safety
    /// As `push_back`.
    pub(crate) unsafe fn push_front(&self, sg: *mut Sudog) {
        let first = self.first.load(Relaxed);
        // SAFETY: the caller's contract; queued sudogs are valid.
        unsafe {
            (*sg).prev = null_mut();
            (*sg).next = first;
            (*sg).queued = true;
            if first.is_null() {
                self.last.store(sg, Relaxed);
            } else {
                (*first).prev = sg;
            }
        }
        self.first.store(sg, Relaxed);
    }

    /// Takes the first sudog, or null. It may be stale or claimed by someone else:
    /// most callers want `dequeue`.
    /// # Safety
    /// The object's lock is held.
    pub(crate) unsafe fn pop_front(&self) -> *mut Sudog {
        let sg = self.first.load(Relaxed);
        if !sg.is_null() {
            // SAFETY: sg is queued, hence valid (sudog memory is never freed).
            unsafe { self.remove(sg) };
        }
        sg
    }

    /// Unlinks `sg`, which must be on this queue.
    /// # Safety
    /// The object's lock is held; `sg` is on this queue.
    pub(crate) unsafe fn remove(&self, sg: *mut Sudog) {
        // SAFETY: sg and its neighbours are queued here, so valid.
        unsafe {
            debug_assert!((*sg).queued, "WaitQ::remove: sudog not queued");
            let (p, n) = ((*sg).prev, (*sg).next);
            if p.is_null() {
                self.first.store(n, Relaxed);
            } else {
                (*p).next = n;
            }
            if n.is_null() {
                self.last.store(p, Relaxed);
            } else {
                (*n).prev = p;
            }
            (*sg).next = null_mut();
            (*sg).prev = null_mut();
            (*sg).queued = false;
        }
    }

    /// Takes the first sudog whose party we may wake, and wins its claim (Go's
    /// waitq.dequeue). Stale sudogs and those whose claim another waker or the
    /// party's timeout won are unlinked and skipped. Null if none is left.
    /// # Safety
    /// The object's lock is held.
    pub(crate) unsafe fn dequeue(&self, ctx: &mut Ctx) -> *mut Sudog {
        loop {
            // SAFETY: the lock is held.
            let sg = unsafe { self.pop_front() };
            if sg.is_null() {
                return sg;
            }
            // SAFETY: sudog memory is never freed; the waiter is followed only for a
            // live sudog (goroutine_live checks the generation first).
            unsafe {
                if (*sg).goroutine && !ctx.goroutine_live(&*sg) {
                    continue;
                }
                if (*sg).claim && (*(*sg).waiter).done.compare_exchange(0, 1, AcqRel, Relaxed).is_err() {
                    continue;
                }
            }
            return sg;
        }
    }

    /// True if a party that is not stale waits here (for the objects' `free`).
    /// # Safety
    /// The object's lock is held.
    pub(crate) unsafe fn has_live(&self, ctx: &mut Ctx) -> bool {
        let mut sg = self.first.load(Relaxed);
        while !sg.is_null() {
            // SAFETY: queued sudogs are valid.
            unsafe {
                if !(*sg).goroutine || ctx.goroutine_live(&*sg) {
                    return true;
                }
                sg = (*sg).next;
            }
        }
        false
    }
}

// ---------------------------------------------------------------------------------
// The pool: a cache per thread, and a central list

/// Sudogs a thread keeps; above, half go to the central list. Go keeps 128 per P.
const CACHE_MAX: usize = 128;
/// Moved between a cache and the central list at once; also the allocation batch.
const BATCH: usize = 32;

/// A list of free sudogs, linked through `next`.
struct FreeList {
    head: *mut Sudog,
    len: usize,
}

impl FreeList {
    fn push(&mut self, sg: *mut Sudog) {
        // SAFETY: sg is free and ours.
        unsafe { (*sg).next = self.head };
        self.head = sg;
        self.len += 1;
    }

    fn pop(&mut self) -> *mut Sudog {
        let sg = self.head;
        if !sg.is_null() {
            // SAFETY: free sudogs on the list are valid.
            self.head = unsafe { (*sg).next };
            self.len -= 1;
        }
        sg
    }
}

struct Central(parking_lot::Mutex<FreeList>);
// SAFETY: the list is only touched under the mutex; free sudogs belong to it.
unsafe impl Sync for Central {}

static CENTRAL: Central = Central(parking_lot::Mutex::new(FreeList { head: null_mut(), len: 0 }));

/// A thread's cache. Given back to the central list when the thread exits.
struct Cache(Cell<FreeList>);

impl Drop for Cache {
    fn drop(&mut self) {
        let mut l = self.0.replace(FreeList { head: null_mut(), len: 0 });
        let mut c = CENTRAL.0.lock();
        loop {
            let sg = l.pop();
            if sg.is_null() {
                break;
            }
            c.push(sg);
        }
    }
}

thread_local! {
    static CACHE: Cache = const { Cache(Cell::new(FreeList { head: null_mut(), len: 0 })) };
}

/// Fills `l` with a batch from the central list, or freshly allocated sudogs.
fn refill(l: &mut FreeList) {
    {
        let mut c = CENTRAL.0.lock();
        while l.len < BATCH {
            let sg = c.pop();
            if sg.is_null() {
                break;
            }
            l.push(sg);
        }
    }
    while l.len < BATCH {
        l.push(Box::into_raw(Box::new(Sudog::EMPTY)));
    }
}

/// A clean sudog (Go's acquireSudog). Never null (allocation failure aborts, as for
/// any Rust allocation). Not inlined: the cache is per thread (see tls.rs).
#[inline(never)]
pub(crate) fn acquire() -> *mut Sudog {
    let sg = CACHE
        .try_with(|c| {
            let mut l = c.0.replace(FreeList { head: null_mut(), len: 0 });
            if l.len == 0 {
                refill(&mut l);
            }
            let sg = l.pop();
            c.0.set(l);
            sg
        })
        .unwrap_or_else(|_| {
            // The thread is exiting (its cache is gone): use the central list.
            let sg = CENTRAL.0.lock().pop();
            if sg.is_null() {
                Box::into_raw(Box::new(Sudog::EMPTY))
            } else {
                sg
            }
        });
    // SAFETY: sg is free and now ours.
    unsafe { *sg = Sudog::EMPTY };
    sg
}

/// Gives `sg` back (Go's releaseSudog). Not inlined, as `acquire`.
/// # Safety
/// `sg` came from `acquire`, is on no queue, and nobody will touch it any more.
#[inline(never)]
pub(crate) unsafe fn release(sg: *mut Sudog) {
    // SAFETY: the caller's contract.
    debug_assert!(unsafe { !(*sg).queued }, "release: sudog still queued");
    let r = CACHE.try_with(|c| {
        let mut l = c.0.replace(FreeList { head: null_mut(), len: 0 });
        l.push(sg);
        if l.len > CACHE_MAX {
            let mut cen = CENTRAL.0.lock();
            while l.len > CACHE_MAX / 2 {
                let s = l.pop();
                cen.push(s);
            }
        }
        c.0.set(l);
    });
    if r.is_err() {
        CENTRAL.0.lock().push(sg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk() -> Vec<*mut Sudog> {
        (0..5).map(|_| acquire()).collect()
    }

    fn order(q: &WaitQ) -> Vec<*mut Sudog> {
        let mut v = Vec::new();
        let mut sg = q.first.load(Relaxed);
        while !sg.is_null() {
            v.push(sg);
            // SAFETY: queued sudogs are valid.
            sg = unsafe { (*sg).next };
        }
        v
    }

    #[test]
    fn waitq_is_fifo_and_push_front_goes_first() {
        let s = mk();
        let q = WaitQ::new();
        // SAFETY: single-threaded test; the sudogs are ours.
        unsafe {
            q.push_back(s[0]);
            q.push_back(s[1]);
            q.push_front(s[2]);
            q.push_back(s[3]);
            assert_eq!(order(&q), vec![s[2], s[0], s[1], s[3]]);
            assert_eq!(q.pop_front(), s[2]);
            assert!(!(*s[2]).queued);
            assert_eq!(q.pop_front(), s[0]);
            assert_eq!(q.pop_front(), s[1]);
            assert_eq!(q.pop_front(), s[3]);
            assert!(q.pop_front().is_null());
            assert!(q.is_empty());
            for &x in &s {
                release(x);
            }
        }
    }

    #[test]
    fn waitq_remove_from_middle_head_and_tail_keeps_links() {
        let s = mk();
        let q = WaitQ::new();
        // SAFETY: single-threaded test; the sudogs are ours.
        unsafe {
            for &x in &s {
                q.push_back(x);
            }
            q.remove(s[2]);
            assert_eq!(order(&q), vec![s[0], s[1], s[3], s[4]]);
            q.remove(s[0]);
            q.remove(s[4]);
            assert_eq!(order(&q), vec![s[1], s[3]]);
            assert_eq!(q.last.load(Relaxed), s[3]);
            q.push_back(s[0]);
            assert_eq!(order(&q), vec![s[1], s[3], s[0]]);
            q.remove(s[1]);
            q.remove(s[3]);
            q.remove(s[0]);
            assert!(q.is_empty());
            assert!(q.last.load(Relaxed).is_null());
            for &x in &s {
                release(x);
            }
        }
    }

    #[test]
    fn pool_recycles_and_hands_out_clean_sudogs() {
        let a = acquire();
        // SAFETY: a is ours.
        unsafe {
            (*a).success = true;
            (*a).idx = 7;
            release(a);
        }
        let b = acquire();
        assert_eq!(a, b, "the thread cache is LIFO");
        // SAFETY: b is ours.
        unsafe {
            assert!(!(*b).success);
            assert_eq!((*b).idx, 0);
            release(b);
        }
        // Many at once: all distinct, and the cache overflows into the central list.
        let v: Vec<_> = (0..CACHE_MAX * 3).map(|_| acquire()).collect();
        let mut d = v.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), v.len());
        for x in v {
            // SAFETY: ours, on no queue.
            unsafe { release(x) };
        }
    }
}
