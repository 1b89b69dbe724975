//! Wait-queue entries (Go's sudog) and the queues of them.
//!
//! # Why sudogs
//!
//! A G and the objects it waits on are many-to-many: in a select one party waits on
//! several channels at once, and one channel has many waiters. So a waiting party is
//! not linked into a queue itself; one `Sudog` per (party, object) is. All sudogs of
//! one party point to its `Waiter` (waiter.rs). Both live in the frame of the blocking
//! call, on the party's own stack (a select with many cases keeps its sudogs in a
//! vector owned by that frame): no allocation per operation.
//!
//! # Ownership of a sudog
//!
//! - Owned by its party while it fills it in, then **queued**: its links (`next`,
//!   `prev`, `queued`) belong to the object's lock. `elem`, `success`, `ticket` are
//!   written by the party before it enqueues and by the single waker that dequeued it
//!   (under the lock, or after it, before the wakeup); the party reads them after it
//!   woke up. The wakeup (ready, or the futex word) orders these accesses.
//! - Back to its party once it woke up and took the sudog off any queue it is still
//!   on; only then may the frame end.
//!
//! # Parties inside an object
//!
//! A party that was taken off a queue may still touch the object after its waker
//! returned: a select locks every channel again to take its other sudogs off (pass 3
//! in select.rs), and a party whose timeout or shutdown won locks the object to leave
//! its queue, also when a waker unlinked its claimed sudog already. So an object is
//! busy (`WaitQ::busy`; the objects' `free` refuses with `Busy`) while one of its
//! queues holds a sudog, or counts in `inside` a sudog that left it but whose party
//! will come back. A sudog is counted (`counted`):
//! - a select's (`is_select`): from its push, whatever happens to it;
//! - another one: from the moment a waker unlinks it without winning it (its
//!   party's timeout or shutdown won, or it is a goroutine being abandoned).
//!
//! The count ends when its party (or gs_shutdown's purge) lets go of it with `leave`,
//! under the object's lock, as its last touch of the object: the lock's release store
//! is the last access, and `free` takes the lock before it looks. The sudog of a
//! plain waiter that its waker wins is never counted: a woken channel sender or
//! receiver and a woken wait group waiter return without touching the object, and a
//! woken mutex waiter, which competes for the mutex again, is covered by the state
//! word's WOKEN or LOCKED bit, set before the wakeup, until it has the lock or is
//! queued again (mutex.rs). So a send or receive that blocks or wakes a partner
//! counts nothing.
//!
//! The queue and `inside` change only under the object's lock, so `free` reads them
//! exactly.
//!
//! # Abandoned goroutines
//!
//! gs_shutdown abandons goroutines, and frees their stacks, with their sudogs still
//! queued. Once the Ms have left and every foreign pass is back (a gs_run_for's host
//! runner may run goroutines until then), shutdown walks the runtime's Gs: a G parked
//! by `block` (its park call is `commit_m`), or readied from there and not run since,
//! has the `Commit` in its frame, which names its sudogs and the locks of their
//! objects; each sudog still queued or counted
//! leaves the queue it records in `q` (`purge_abandoned` in waiter.rs), while the
//! stacks still exist, so that the objects can be freed afterwards. Foreign threads'
//! sudogs stay: those threads are woken and leave by themselves.

use super::waiter::{Ctx, Waiter};
use crate::loom::atomic::{AtomicPtr, AtomicU32};
use crate::runtime::sched::Runtime;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

/// A party waiting on one object. See *Ownership of a sudog*.
pub(crate) struct Sudog {
    /// Queue links; under the object's lock.
    pub(crate) next: *mut Sudog,
    pub(crate) prev: *mut Sudog,
    /// On a queue now; under the object's lock.
    pub(crate) queued: bool,
    /// The queue it was last put on (meaningful while `queued` or `counted`): for
    /// gs_shutdown's purge (see *Abandoned goroutines*).
    pub(crate) q: *const WaitQ,
    /// The party.
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
    /// Counted in `(*q).inside`; under the object's lock (see *Parties inside an
    /// object*).
    pub(crate) counted: bool,
    /// A select's sudog: its party locks the object again once woken, so it stays
    /// counted until the party's `leave` (Go's isSelect).
    pub(crate) is_select: bool,
    /// Goroutine sudogs: the goroutine's runtime.
    pub(crate) rt: *const Runtime,
}

impl Sudog {
    pub(crate) const EMPTY: Sudog = Sudog {
        next: null_mut(),
        prev: null_mut(),
        queued: false,
        q: core::ptr::null(),
        waiter: core::ptr::null(),
        elem: null_mut(),
        idx: 0,
        goroutine: false,
        claim: false,
        success: false,
        ticket: false,
        waitstart: 0,
        counted: false,
        is_select: false,
        rt: core::ptr::null(),
    };
}

// ---------------------------------------------------------------------------------
// Wait queues

/// A FIFO of sudogs (Go's waitq), intrusive through `next`/`prev`.
/// Under the lock of the object that owns it. The ends are atomics (relaxed) only so
/// that fast paths may read `first` without the lock as a hint ("is anybody
/// waiting"), as Go's do; every change is made under the lock. `inside` counts the
/// sudogs off the queue (or a select's) whose party will still touch the object (see
/// *Parties inside an object*); an atomic for the same reason, changed by a load and
/// a store under the lock.
pub(crate) struct WaitQ {
    first: AtomicPtr<Sudog>,
    last: AtomicPtr<Sudog>,
    inside: AtomicU32,
}

impl WaitQ {
    pub(crate) fn new() -> WaitQ {
        WaitQ {
            first: AtomicPtr::new(null_mut()),
            last: AtomicPtr::new(null_mut()),
            inside: AtomicU32::new(0),
        }
    }

    /// True while a party may still touch the object through this queue: one waits
    /// on it, or left it and will come back (see *Parties inside an object*).
    /// # Safety
    /// The object's lock is held.
    #[inline]
    pub(crate) unsafe fn busy(&self) -> bool {
        !self.is_empty() || self.inside.load(Relaxed) != 0
    }

    /// Counts `sg` in `inside`, unless it is counted already.
    /// # Safety
    /// The object's lock is held; `sg` is valid and was pushed on this queue.
    #[inline]
    unsafe fn count(&self, sg: *mut Sudog) {
        // SAFETY: the caller's contract.
        unsafe {
            if !(*sg).counted {
                (*sg).counted = true;
                self.inside.store(self.inside.load(Relaxed) + 1, Relaxed);
            }
        }
    }

    /// Ends the count of `sg` if it is counted here.
    /// # Safety
    /// The object's lock is held; `sg` is valid and was pushed on this queue.
    #[inline]
    unsafe fn uncount(&self, sg: *mut Sudog) {
        // SAFETY: the caller's contract.
        unsafe {
            if (*sg).counted {
                (*sg).counted = false;
                self.inside.store(self.inside.load(Relaxed) - 1, Relaxed);
            }
        }
    }

    /// The party's last touch of the object through `sg`: takes it off this queue if
    /// it is still on it, and ends its count (see *Parties inside an object*).
    /// Executed by the sudog's party, or by gs_shutdown's purge for an abandoned one.
    /// # Safety
    /// The object's lock is held; `sg` is valid and was pushed on this queue.
    pub(crate) unsafe fn leave(&self, sg: *mut Sudog) {
        // SAFETY: the caller's contract.
        unsafe {
            if (*sg).queued {
                self.remove(sg);
            }
            self.uncount(sg);
        }
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
            (*sg).q = self;
            if (*sg).is_select {
                self.count(sg);
            }
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
            (*sg).q = self;
            (*sg).queued = true;
            if (*sg).is_select {
                self.count(sg);
            }
            if first.is_null() {
                self.last.store(sg, Relaxed);
            } else {
                (*first).prev = sg;
            }
        }
        self.first.store(sg, Relaxed);
    }

    /// Takes the first sudog, or null. Its party may be claimed by someone else:
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
    /// waitq.dequeue). Sudogs whose claim another waker or the party's timeout won,
    /// and goroutines we may not wake (see `Ctx::goroutine_live`), are unlinked and
    /// skipped; they are counted in `inside` until their party (or the purge) lets go
    /// with `leave` (see *Parties inside an object*). Null if none is left.
    /// # Safety
    /// The object's lock is held.
    #[inline(always)]
    pub(crate) unsafe fn dequeue(&self, ctx: &mut Ctx) -> *mut Sudog {
        loop {
            // SAFETY: the lock is held.
            let sg = unsafe { self.pop_front() };
            if sg.is_null() {
                return sg;
            }
            // SAFETY: a queued sudog and its waiter are alive (see *Ownership*).
            unsafe {
                if ((*sg).goroutine && !ctx.goroutine_live(&*sg))
                    || ((*sg).claim && (*(*sg).waiter).done.compare_exchange(0, 1, AcqRel, Relaxed).is_err())
                {
                    self.count(sg);
                    continue;
                }
            }
            return sg;
        }
    }

    /// `dequeue`, but only while the first sudog satisfies `pred` (a weighted
    /// semaphore grants strictly in order: a large request at the head keeps the
    /// smaller ones behind it waiting). Sudogs whose claim was lost are skipped as in
    /// `dequeue`, and the next one is tested. Null if the queue is empty or its
    /// head does not satisfy `pred`.
    /// # Safety
    /// The object's lock is held.
    pub(crate) unsafe fn dequeue_if(&self, ctx: &mut Ctx, pred: impl Fn(&Sudog) -> bool) -> *mut Sudog {
        loop {
            let first = self.first.load(Relaxed);
            // SAFETY: a queued sudog is alive (see *Ownership*); the lock is held.
            if first.is_null() || !pred(unsafe { &*first }) {
                return null_mut();
            }
            // SAFETY: the lock is held.
            let sg = unsafe { self.pop_front() };
            // SAFETY: as in `dequeue`.
            unsafe {
                if ((*sg).goroutine && !ctx.goroutine_live(&*sg))
                    || ((*sg).claim && (*(*sg).waiter).done.compare_exchange(0, 1, AcqRel, Relaxed).is_err())
                {
                    self.count(sg);
                    continue;
                }
            }
            return sg;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(store: &mut [Sudog; 5]) -> Vec<*mut Sudog> {
        store.iter_mut().map(|s| s as *mut Sudog).collect()
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
        let mut store = [Sudog::EMPTY; 5];
        let s = mk(&mut store);
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
        }
    }

    #[test]
    fn waitq_remove_from_middle_head_and_tail_keeps_links() {
        let mut store = [Sudog::EMPTY; 5];
        let s = mk(&mut store);
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
        }
    }
}

/// The loom model of a select's wakeup (see src/loom.rs): a party waits on channels A
/// and B with claimed select sudogs; a waker of A, a waker of B (or the party's own
/// timeout) race to claim it, and a `free` of A races with all of them. Checks that
/// exactly one claim wins, that `free` never finds A idle while the party may still
/// touch it (pass 3 of select.rs locks A to take its sudog off), and that both
/// queues end empty and uncounted.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::ObjLock;
    use loom::sync::atomic::{AtomicBool, AtomicUsize};
    use loom::sync::{Arc, Notify};

    struct Obj {
        lock: ObjLock,
        q: WaitQ,
    }

    struct Shared {
        a: Obj,
        b: Obj,
        w: Waiter,
        sg: [core::cell::UnsafeCell<Sudog>; 2],
        woken: Notify,
        wins: AtomicUsize,
        a_freed: AtomicBool,
    }
    // SAFETY: the sudogs are touched under their object's lock, or by the party.
    unsafe impl Sync for Shared {}
    // SAFETY: as above.
    unsafe impl Send for Shared {}

    fn waker(sh: &Shared, o: &Obj) {
        let mut ctx = Ctx::new();
        o.lock.lock();
        // SAFETY: the object's lock is held.
        let sg = unsafe { o.q.dequeue(&mut ctx) };
        if !sg.is_null() {
            sh.wins.fetch_add(1, SeqCst);
            sh.w.fired.store(sg, Release);
        }
        // SAFETY: taken above.
        unsafe { o.lock.unlock() };
        if !sg.is_null() {
            sh.woken.notify();
        }
    }

    fn model(timeout: bool) {
        let mut b = loom::model::Builder::new();
        b.max_branches = 100_000;
        b.check(move || {
            let ctx = Ctx::new();
            let sh = Arc::new(Shared {
                a: Obj { lock: ObjLock::new(), q: WaitQ::new() },
                b: Obj { lock: ObjLock::new(), q: WaitQ::new() },
                w: Waiter::new(&ctx),
                sg: [core::cell::UnsafeCell::new(Sudog::EMPTY), core::cell::UnsafeCell::new(Sudog::EMPTY)],
                woken: Notify::new(),
                wins: AtomicUsize::new(0),
                a_freed: AtomicBool::new(false),
            });
            // Pass 2 of select: a claimed select sudog on each channel.
            for (i, o) in [&sh.a, &sh.b].into_iter().enumerate() {
                let sg = sh.sg[i].get();
                // SAFETY: no other thread exists yet; the lock is taken for form.
                unsafe {
                    (*sg).waiter = &sh.w;
                    (*sg).claim = true;
                    (*sg).is_select = true;
                    (*sg).idx = i;
                    o.lock.lock();
                    o.q.push_back(sg);
                    o.lock.unlock();
                }
            }
            let s1 = sh.clone();
            let t1 = loom::thread::spawn(move || waker(&s1, &s1.a));
            let s2 = sh.clone();
            let t2 = (!timeout).then(|| loom::thread::spawn(move || waker(&s2, &s2.b)));
            let s3 = sh.clone();
            let t3 = loom::thread::spawn(move || {
                // gs_chan_free(A): refuses while the queue is busy.
                s3.a.lock.lock();
                // SAFETY: locked.
                let busy = unsafe { s3.a.q.busy() };
                // SAFETY: taken above.
                unsafe { s3.a.lock.unlock() };
                if !busy {
                    s3.a_freed.store(true, SeqCst);
                }
            });
            // The party: (timeout) claims itself, or sleeps until a waker won it.
            if timeout && sh.w.done.compare_exchange(0, 1, AcqRel, Relaxed).is_ok() {
                sh.wins.fetch_add(1, SeqCst);
            } else {
                // (Notify may wake spuriously, as a futex may.)
                while sh.wins.load(SeqCst) == 0 {
                    sh.woken.wait();
                }
            }
            // Pass 3: off every queue and out of every count, under each lock.
            for (i, o) in [&sh.a, &sh.b].into_iter().enumerate() {
                o.lock.lock();
                if i == 0 {
                    assert!(!sh.a_freed.load(SeqCst), "A was freed while the select could still touch it");
                }
                // SAFETY: locked; the sudog was pushed on this queue.
                unsafe {
                    o.q.leave(sh.sg[i].get());
                    o.lock.unlock();
                }
            }
            t1.join().unwrap();
            if let Some(t) = t2 {
                t.join().unwrap();
            }
            t3.join().unwrap();
            assert_eq!(sh.wins.load(SeqCst), 1, "exactly one claim wins");
            // SAFETY: every thread has ended.
            unsafe {
                assert!(!sh.a.q.busy() && !sh.b.q.busy(), "a queue kept a sudog or a count");
            }
        });
    }

    #[test]
    fn loom_select_wakeup_and_free() {
        model(false);
    }

    #[test]
    fn loom_select_timeout_and_free() {
        model(true);
    }
}
