//! Run queues: the per-P lock-free ring (Go's `runq`) and the intrusive `GQueue`
//! that collects Gs made ready in a batch (netpoll, the host runner's queue).
//!
//! # The P's ring
//!
//! `LOCAL_RUNQ_LEN` slots, indexed by free-running u32 `head` and `tail`.
//! - Only the owner P writes `tail` (`runqput`), and takes from `head` (`runqget`)
//!   with a CAS, because stealers also advance `head`.
//! - Any P may steal (`runqgrab`): it reads a batch of slots, then CASes `head` past
//!   them; if the CAS fails the batch is discarded and retried.
//! - `runnext` holds a G readied by the running G; it runs next and inherits the time
//!   slice. Only the owner makes it non-null; stealers take it only with a CAS (and
//!   only when the victim seems stuck, see `runqgrab`). So an owner that finds it
//!   null may simply store a G there, and must swap or CAS only to replace or take a
//!   non-null one.
//! - A ring that nobody can steal from (`stealable` false: the runtime has a single
//!   P, and stealing needs a P of one's own) is used with plain loads and stores: its
//!   owner is the only party that touches it.
//!
//! A slot is written by the owner before the release-store of `tail` that publishes
//! it, and read by a stealer only between its acquire-load of `tail` and its CAS of
//! `head`; the owner cannot overwrite it before that CAS, since the ring is full.

use super::g::G;
use crate::loom::atomic::{AtomicPtr, AtomicU32, Ordering::*};
use core::ptr::null_mut;

/// Slots of a P's ring. Go uses 256.
#[cfg(not(loom))]
pub(crate) const LOCAL_RUNQ_LEN: usize = 256;
/// Shrunk under loom so that the models reach a full ring; the logic is unchanged.
#[cfg(loom)]
pub(crate) const LOCAL_RUNQ_LEN: usize = 4;

/// A FIFO of Gs linked through `schedlink`. Not synchronized: the owner (a P, or the
/// holder of `sched.lock`) has exclusive access.
pub(crate) struct GQueue {
    pub(crate) head: *mut G,
    pub(crate) tail: *mut G,
    pub(crate) len: usize,
}

// SAFETY: a GQueue is only reached through its owner (a lock or a P).
unsafe impl Send for GQueue {}

impl GQueue {
    pub(crate) const fn new() -> GQueue {
        GQueue { head: null_mut(), tail: null_mut(), len: 0 }
    }

    /// Appends `gp`.
    ///
    /// # Safety
    /// `gp` is a valid G owned by the caller and on no other queue.
    pub(crate) unsafe fn push_back(&mut self, gp: *mut G) {
        // SAFETY: the caller owns gp; tail (if any) is on this queue, which we own.
        unsafe {
            (*gp).schedlink = null_mut();
            if self.tail.is_null() {
                self.head = gp;
            } else {
                (*self.tail).schedlink = gp;
            }
        }
        self.tail = gp;
        self.len += 1;
    }

    /// Removes and returns the first G, or null.
    pub(crate) fn pop(&mut self) -> *mut G {
        let gp = self.head;
        if !gp.is_null() {
            // SAFETY: Gs on this queue are valid and owned by the queue's owner.
            unsafe {
                self.head = (*gp).schedlink;
                (*gp).schedlink = null_mut();
            }
            if self.head.is_null() {
                self.tail = null_mut();
            }
            self.len -= 1;
        }
        gp
    }
}

/// The ring and `runnext` of one P.
pub(crate) struct LocalRunq {
    head: AtomicU32,
    tail: AtomicU32,
    slots: [AtomicPtr<G>; LOCAL_RUNQ_LEN],
    runnext: AtomicPtr<G>,
    /// Other Ps may steal from this queue (see *The P's ring*). Constant.
    stealable: bool,
}

/// Where `runqput` sends half of a full ring (the global queue in the scheduler).
pub(crate) trait Overflow {
    /// Takes a batch of Gs, oldest first.
    fn push_batch(&self, batch: &[*mut G]);
}

impl LocalRunq {
    /// An empty queue; `stealable` when other Ps exist that may steal from it.
    pub(crate) fn new(stealable: bool) -> LocalRunq {
        LocalRunq {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: core::array::from_fn(|_| AtomicPtr::new(null_mut())),
            runnext: AtomicPtr::new(null_mut()),
            stealable,
        }
    }

    /// True if the ring and runnext are empty (a racy snapshot for other Ps).
    /// Can be executed by any P.
    pub(crate) fn is_empty(&self) -> bool {
        // Read head, tail, runnext, then tail again, so that a G moved from runnext to
        // the ring in between is not missed (Go's runqempty).
        loop {
            let head = self.head.load(Acquire);
            let tail = self.tail.load(Acquire);
            let runnext = self.runnext.load(Acquire);
            if tail == self.tail.load(Acquire) {
                return head == tail && runnext.is_null();
            }
        }
    }

    /// Free slots in the ring. Exact for the owner P up to stealers, which only add
    /// room. Executed only by the owner P.
    pub(crate) fn room(&self) -> usize {
        let head = self.head.load(Acquire);
        let tail = self.tail.load(Relaxed);
        LOCAL_RUNQ_LEN - (tail.wrapping_sub(head) as usize).min(LOCAL_RUNQ_LEN)
    }

    /// Number of Gs in the ring plus runnext (a snapshot).
    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(Acquire);
        let tail = self.tail.load(Acquire);
        let n = tail.wrapping_sub(head) as usize;
        n.min(LOCAL_RUNQ_LEN) + usize::from(!self.runnext.load(Acquire).is_null())
    }

    /// Puts `gp` on the queue: into `runnext` if `next` (kicking the old runnext to the
    /// tail), else at the tail. A full ring sends half of itself plus the G to
    /// `overflow` (`runqputslow`).
    ///
    /// Executed only by the owner P.
    pub(crate) fn runqput(&self, mut gp: *mut G, next: bool, overflow: &dyn Overflow) {
        if next {
            let old = self.runnext.load(Relaxed);
            // A null runnext can only be filled by us, and without stealers nobody else
            // touches it: a store is enough (store-release, publishes gp). Else a
            // stealer may take the old one meanwhile: swap.
            let old = if old.is_null() || !self.stealable {
                self.runnext.store(gp, Release);
                old
            } else {
                self.runnext.swap(gp, AcqRel)
            };
            if old.is_null() {
                return;
            }
            gp = old; // kick the old runnext to the regular queue
        }
        loop {
            let head = self.head.load(Acquire); // load-acquire, synchronize with stealers
            let tail = self.tail.load(Relaxed); // only the owner writes tail
            if tail.wrapping_sub(head) < LOCAL_RUNQ_LEN as u32 {
                self.slots[tail as usize % LOCAL_RUNQ_LEN].store(gp, Relaxed);
                self.tail.store(tail.wrapping_add(1), Release); // store-release, makes the slot available
                return;
            }
            if self.runqputslow(gp, head, tail, overflow) {
                return;
            }
            // The ring is no longer full (a stealer took some); try again.
        }
    }

    /// Moves half of the full ring and `gp` to `overflow` in one batch.
    /// Executed only by the owner P.
    fn runqputslow(&self, gp: *mut G, head: u32, tail: u32, overflow: &dyn Overflow) -> bool {
        let n = tail.wrapping_sub(head) / 2;
        debug_assert_eq!(n as usize, LOCAL_RUNQ_LEN / 2, "runqputslow: queue is not full");
        let mut batch: [*mut G; LOCAL_RUNQ_LEN / 2 + 1] = [null_mut(); LOCAL_RUNQ_LEN / 2 + 1];
        for (i, b) in batch.iter_mut().enumerate().take(n as usize) {
            *b = self.slots[head.wrapping_add(i as u32) as usize % LOCAL_RUNQ_LEN].load(Relaxed);
        }
        if self.head.compare_exchange(head, head.wrapping_add(n), AcqRel, Relaxed).is_err() {
            return false; // cas-release, commits consume
        }
        batch[n as usize] = gp;
        // The CAS gave us these Gs; gp was ours.
        overflow.push_batch(&batch[..=n as usize]);
        true
    }

    /// Takes a G: runnext first, then the head of the ring. The bool is true when the
    /// G came from runnext and so inherits the current time slice.
    /// Executed only by the owner P.
    #[inline]
    pub(crate) fn runqget(&self) -> (*mut G, bool) {
        let next = self.runnext.load(Relaxed);
        // Only the owner may set runnext non-null, so a CAS is enough to take it (a
        // store, when nobody can steal).
        if !next.is_null() {
            if !self.stealable {
                self.runnext.store(null_mut(), Relaxed);
                return (next, true);
            }
            if self.runnext.compare_exchange(next, null_mut(), AcqRel, Relaxed).is_ok() {
                return (next, true);
            }
        }
        loop {
            let head = self.head.load(Acquire); // load-acquire, synchronize with other consumers
            let tail = self.tail.load(Relaxed);
            if tail == head {
                return (null_mut(), false);
            }
            let gp = self.slots[head as usize % LOCAL_RUNQ_LEN].load(Relaxed);
            if !self.stealable {
                self.head.store(head.wrapping_add(1), Release); // store-release for is_empty readers
                return (gp, false);
            }
            if self.head.compare_exchange(head, head.wrapping_add(1), AcqRel, Relaxed).is_ok() {
                return (gp, false); // cas-release, commits consume
            }
        }
    }

    /// Moves the G in `runnext`, if any, to the tail of the ring: it no longer runs
    /// next, in the current time slice, but behind every G already queued.
    /// Executed only by the owner P.
    pub(crate) fn runnext_to_tail(&self, overflow: &dyn Overflow) {
        let next = self.runnext.load(Relaxed);
        if next.is_null() {
            return;
        }
        let taken = if self.stealable {
            self.runnext.compare_exchange(next, null_mut(), AcqRel, Relaxed).is_ok()
        } else {
            self.runnext.store(null_mut(), Relaxed);
            true
        };
        if taken {
            self.runqput(next, false, overflow);
        }
    }

    /// The G `i` places after the head of the ring, or null (a snapshot: a stealer
    /// may take it meanwhile). Executed only by the owner P.
    #[inline(always)]
    pub(crate) fn peek(&self, i: u32) -> *mut G {
        let head = self.head.load(Relaxed);
        let tail = self.tail.load(Relaxed);
        if tail.wrapping_sub(head) <= i {
            return null_mut();
        }
        self.slots[head.wrapping_add(i) as usize % LOCAL_RUNQ_LEN].load(Relaxed)
    }

    /// Grabs half of this (victim) queue into `batch`, starting at `batch_head`;
    /// returns how many. `steal_runnext` allows taking the victim's runnext when its
    /// ring is empty.
    /// Can be executed by any P.
    pub(crate) fn runqgrab(&self, batch: &LocalRunq, batch_head: u32, steal_runnext: bool) -> u32 {
        loop {
            let head = self.head.load(Acquire); // load-acquire, synchronize with other consumers
            let tail = self.tail.load(Acquire); // load-acquire, synchronize with the producer
            let mut n = tail.wrapping_sub(head);
            n -= n / 2;
            if n == 0 {
                if steal_runnext {
                    let next = self.runnext.load(Acquire);
                    if !next.is_null() {
                        // The victim is probably about to run its runnext itself (it was
                        // readied by the G now finishing). Go sleeps 3us first so that a
                        // ping-pong pair is not split across Ps on every round.
                        #[cfg(not(loom))]
                        super::time::thread_sleep(3_000);
                        #[cfg(loom)]
                        crate::loom::yield_now();
                        if self.runnext.compare_exchange(next, null_mut(), AcqRel, Relaxed).is_err() {
                            continue;
                        }
                        batch.slots[batch_head as usize % LOCAL_RUNQ_LEN].store(next, Relaxed);
                        return 1;
                    }
                }
                return 0;
            }
            if n > (LOCAL_RUNQ_LEN / 2) as u32 {
                continue; // read inconsistent head and tail
            }
            for i in 0..n {
                let g = self.slots[head.wrapping_add(i) as usize % LOCAL_RUNQ_LEN].load(Relaxed);
                batch.slots[batch_head.wrapping_add(i) as usize % LOCAL_RUNQ_LEN].store(g, Relaxed);
            }
            if self.head.compare_exchange(head, head.wrapping_add(n), AcqRel, Relaxed).is_ok() {
                return n; // cas-release, commits consume
            }
        }
    }

    /// Steals half of `victim`'s Gs into this queue and returns one of them to run.
    /// Executed only by the owner P (of `self`).
    pub(crate) fn runqsteal(&self, victim: &LocalRunq, steal_runnext: bool) -> *mut G {
        let t = self.tail.load(Relaxed);
        let mut n = victim.runqgrab(self, t, steal_runnext);
        if n == 0 {
            return null_mut();
        }
        n -= 1;
        let gp = self.slots[t.wrapping_add(n) as usize % LOCAL_RUNQ_LEN].load(Relaxed);
        if n == 0 {
            return gp;
        }
        let h = self.head.load(Acquire); // load-acquire, synchronize with consumers
        debug_assert!(t.wrapping_sub(h).wrapping_add(n) < LOCAL_RUNQ_LEN as u32, "runqsteal: runq overflow");
        self.tail.store(t.wrapping_add(n), Release); // store-release, makes the Gs available
        gp
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::g::G;
    use std::cell::RefCell;

    struct VecOverflow(RefCell<Vec<*mut G>>);
    impl Overflow for VecOverflow {
        fn push_batch(&self, batch: &[*mut G]) {
            self.0.borrow_mut().extend_from_slice(batch);
        }
    }

    fn gs(n: usize) -> Vec<*mut G> {
        (0..n).map(|i| G::new_boxed(i as u32)).collect()
    }

    #[test]
    fn runqput_full_moves_half_to_global() {
        runqput_full_moves_half_to_global_in(true);
        runqput_full_moves_half_to_global_in(false);
    }

    fn runqput_full_moves_half_to_global_in(stealable: bool) {
        let q = LocalRunq::new(stealable);
        let ov = VecOverflow(RefCell::new(Vec::new()));
        let all = gs(LOCAL_RUNQ_LEN + 1);
        for &g in &all {
            q.runqput(g, false, &ov);
        }
        assert_eq!(ov.0.borrow().len(), LOCAL_RUNQ_LEN / 2 + 1);
        assert_eq!(q.len(), LOCAL_RUNQ_LEN / 2);
        // The batch is the oldest half, in order, then the new G.
        assert_eq!(ov.0.borrow()[0], all[0]);
        assert_eq!(*ov.0.borrow().last().unwrap(), all[LOCAL_RUNQ_LEN]);
        let mut seen = std::collections::HashSet::new();
        loop {
            let (g, _) = q.runqget();
            if g.is_null() {
                break;
            }
            assert!(seen.insert(g as usize));
        }
        for g in ov.0.borrow().iter() {
            assert!(seen.insert(*g as usize));
        }
        assert_eq!(seen.len(), all.len());
    }

    #[test]
    fn runnext_is_taken_first_and_kicks_old_one_to_tail() {
        runnext_is_taken_first_and_kicks_old_one_to_tail_in(true);
        runnext_is_taken_first_and_kicks_old_one_to_tail_in(false);
    }

    fn runnext_is_taken_first_and_kicks_old_one_to_tail_in(stealable: bool) {
        let q = LocalRunq::new(stealable);
        let ov = VecOverflow(RefCell::new(Vec::new()));
        let g = gs(3);
        q.runqput(g[0], false, &ov);
        q.runqput(g[1], true, &ov);
        q.runqput(g[2], true, &ov);
        assert_eq!(q.runqget(), (g[2], true));
        assert_eq!(q.runqget(), (g[0], false));
        assert_eq!(q.runqget(), (g[1], false));
        assert!(q.is_empty());
    }

    #[test]
    fn steal_takes_half_and_every_g_exactly_once_under_contention() {
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        use std::sync::Arc;
        const N: usize = 200_000;
        let victim = Arc::new(LocalRunq::new(true));
        let all: Vec<usize> = gs(N).into_iter().map(|g| g as usize).collect();
        let done = Arc::new(AtomicBool::new(false));
        let taken = Arc::new(AtomicUsize::new(0));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let victim = victim.clone();
                let done = done.clone();
                let taken = taken.clone();
                std::thread::spawn(move || {
                    let mine = LocalRunq::new(true);
                    let mut got = Vec::new();
                    loop {
                        let g = mine.runqsteal(&victim, false);
                        if !g.is_null() {
                            got.push(g as usize);
                            loop {
                                let (g, _) = mine.runqget();
                                if g.is_null() {
                                    break;
                                }
                                got.push(g as usize);
                            }
                        } else if done.load(Acquire) && victim.is_empty() {
                            break;
                        }
                    }
                    taken.fetch_add(got.len(), Relaxed);
                    got
                })
            })
            .collect();
        let ov = VecOverflow(RefCell::new(Vec::new()));
        let mut own = Vec::new();
        for (i, &g) in all.iter().enumerate() {
            victim.runqput(g as *mut G, false, &ov);
            if i % 3 == 0 {
                let (g, _) = victim.runqget();
                if !g.is_null() {
                    own.push(g as usize);
                }
            }
        }
        done.store(true, Release);
        let mut seen: Vec<usize> = own;
        seen.extend(ov.0.borrow().iter().map(|&g| g as usize));
        for t in thieves {
            seen.extend(t.join().unwrap());
        }
        loop {
            let (g, _) = victim.runqget();
            if g.is_null() {
                break;
            }
            seen.push(g as usize);
        }
        seen.sort_unstable();
        let mut expect = all.clone();
        expect.sort_unstable();
        assert_eq!(seen, expect, "every G must be taken exactly once");
        for g in all {
            // SAFETY: made by Box::into_raw in G::new_boxed.
            drop(unsafe { Box::from_raw(g as *mut G) });
        }
    }
}

/// Loom models of the ring (see src/loom.rs): every interleaving of an owner and a
/// stealer, with a ring of `LOCAL_RUNQ_LEN` = 4 slots. Each ends by counting: every
/// G put in is taken out exactly once.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use std::cell::RefCell;

    struct VecOverflow(RefCell<Vec<usize>>);
    impl Overflow for VecOverflow {
        fn push_batch(&self, batch: &[*mut G]) {
            self.0.borrow_mut().extend(batch.iter().map(|&g| g as usize));
        }
    }

    /// Distinct fake G pointers (never dereferenced by the ring).
    fn fake(i: usize) -> *mut G {
        ((i + 1) * 64) as *mut G
    }

    fn drain(q: &LocalRunq, out: &mut Vec<usize>) {
        loop {
            let (g, _) = q.runqget();
            if g.is_null() {
                break;
            }
            out.push(g as usize);
        }
    }

    fn check_once(mut got: Vec<usize>, n: usize) {
        got.sort_unstable();
        let want: Vec<usize> = (0..n).map(|i| fake(i) as usize).collect();
        assert_eq!(got, want, "every G is taken exactly once");
    }

    /// The owner fills the ring past full (runqputslow moves half to the overflow)
    /// and takes from it while a stealer steals half.
    #[test]
    fn loom_runq_put_get_steal_each_g_once() {
        loom::model(|| {
            let victim = Arc::new(LocalRunq::new(true));
            let thief = {
                let victim = victim.clone();
                loom::thread::spawn(move || {
                    let mine = LocalRunq::new(true);
                    let mut got = Vec::new();
                    let g = mine.runqsteal(&victim, false);
                    if !g.is_null() {
                        got.push(g as usize);
                    }
                    drain(&mine, &mut got);
                    got
                })
            };
            let ov = VecOverflow(RefCell::new(Vec::new()));
            let n = LOCAL_RUNQ_LEN + 1;
            let mut got = Vec::new();
            for i in 0..n {
                victim.runqput(fake(i), false, &ov);
                if i == 1 {
                    let (g, _) = victim.runqget();
                    if !g.is_null() {
                        got.push(g as usize);
                    }
                }
            }
            got.extend(thief.join().unwrap());
            drain(&victim, &mut got);
            got.extend(ov.0.borrow().iter().copied());
            check_once(got, n);
        });
    }

    /// runnext: the owner replaces it and takes it while a stealer tries to take it
    /// (the last steal round), and the end of a time slice moves it to the ring.
    #[test]
    fn loom_runnext_owner_and_stealer_each_g_once() {
        loom::model(|| {
            let victim = Arc::new(LocalRunq::new(true));
            let ov = VecOverflow(RefCell::new(Vec::new()));
            victim.runqput(fake(0), true, &ov);
            let thief = {
                let victim = victim.clone();
                loom::thread::spawn(move || {
                    let mine = LocalRunq::new(true);
                    let mut got = Vec::new();
                    let g = mine.runqsteal(&victim, true);
                    if !g.is_null() {
                        got.push(g as usize);
                    }
                    drain(&mine, &mut got);
                    got
                })
            };
            victim.runqput(fake(1), true, &ov); // kicks fake(0) to the ring, if still there
            victim.runnext_to_tail(&ov);
            let mut got = Vec::new();
            drain(&victim, &mut got);
            got.extend(thief.join().unwrap());
            got.extend(ov.0.borrow().iter().copied());
            check_once(got, 2);
        });
    }

    /// Two stealers at once on a victim that keeps putting.
    #[test]
    fn loom_two_stealers_each_g_once() {
        loom::model(|| {
            let victim = Arc::new(LocalRunq::new(true));
            let ov = VecOverflow(RefCell::new(Vec::new()));
            victim.runqput(fake(0), false, &ov);
            victim.runqput(fake(1), false, &ov);
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let victim = victim.clone();
                    loom::thread::spawn(move || {
                        let mine = LocalRunq::new(true);
                        let mut got = Vec::new();
                        let g = mine.runqsteal(&victim, false);
                        if !g.is_null() {
                            got.push(g as usize);
                        }
                        drain(&mine, &mut got);
                        got
                    })
                })
                .collect();
            victim.runqput(fake(2), false, &ov);
            let mut got = Vec::new();
            for t in thieves {
                got.extend(t.join().unwrap());
            }
            drain(&victim, &mut got);
            got.extend(ov.0.borrow().iter().copied());
            check_once(got, 3);
        });
    }
}
