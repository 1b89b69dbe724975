//! Goroutine counts by state without a scan: what gs_stats_get reports as
//! `runnable`, `waiting` and `in_syscall`, in O(Ps + Ms).
//!
//! # Counting at the transitions
//!
//! Every change of a G's state passes through one of the seams of *Where to hook
//! tools* (docs/internals.md): `leaveg` (Running or Syscall to Waiting, Runnable or
//! Dead), `set_runnable` (Waiting to Runnable), `entersyscall` / `exitsyscall`
//! (Running to Syscall and back). Each calls `moved(m, from, to)` (`moved_by` when
//! the thread may have no M), which subtracts one from the count of `from` and adds
//! one to the count of `to` when those are Waiting or Syscall, in the counters of
//! `m`: the M of the thread making the change, which alone writes them (a relaxed
//! load and store, one `inc` or `dec` of memory on x86-64, no atomic
//! read-modify-write, and no test: the thread's M is at hand at every seam). A
//! change made by a thread that is no M (a foreign thread readying a goroutine)
//! goes to `GLOBAL` with `fetch_add`, and so do the counts of an M that leaves
//! `allm` (`retire`).
//!
//! Runnable is not counted, so that a yield, a spawn and `execute` cost nothing
//! here: runnable = alive - waiting - in a blocking call - running, where running is
//! the number of Ms whose current goroutine is Running. Both sums go over `allm`
//! under the scheduler lock: O(Ms), which is about the number of Ps plus the Ms in
//! blocking calls.
//!
//! A G parked by one M and readied by another adds one on the first and takes one
//! on the second: a single M's count means nothing, the sum over every M and
//! `GLOBAL` is the number of Gs in that state. `counts` adds them up without
//! stopping anyone, so it may be a moment old, as a scan was; a sum caught between
//! the two halves of a transition is clamped at 0.

use super::g::Gstatus;
use super::m::M;
use super::sched::Runtime;
use core::sync::atomic::AtomicI64;
use core::sync::atomic::Ordering::Relaxed;

/// The counted states, by index: Waiting, Syscall.
pub(crate) const NSTATES: usize = 2;

/// Per-M counters (a field of `M`). That M's thread only writes; anyone reads.
pub(crate) type Counts = [AtomicI64; NSTATES];

/// A fresh set of counters.
pub(crate) const fn new_counts() -> Counts {
    [AtomicI64::new(0), AtomicI64::new(0)]
}

/// The changes made by threads that are no M, and the counts of Ms gone. Any
/// thread, atomic adds.
static GLOBAL: Counts = new_counts();

#[inline(always)]
const fn index(s: Gstatus) -> Option<usize> {
    match s {
        Gstatus::Waiting => Some(0),
        Gstatus::Syscall => Some(1),
        _ => None,
    }
}

/// Records that a G moved from `from` to `to`, in the counters of `m`, the calling
/// thread's M. With constant states (every caller's), this is nothing for a yield or
/// an end, one `inc` or `dec` of memory for a park, a wakeup or a blocking call.
#[inline(always)]
pub(crate) fn moved(m: &M, from: Gstatus, to: Gstatus) {
    let c = &m.gcounts;
    if let Some(i) = index(from) {
        c[i].store(c[i].load(Relaxed) - 1, Relaxed);
    }
    if let Some(i) = index(to) {
        c[i].store(c[i].load(Relaxed) + 1, Relaxed);
    }
}

/// `moved` by a thread whose M is `mp`, or null for a thread that is no M (then in
/// `GLOBAL`).
#[inline(always)]
pub(crate) fn moved_by(mp: *const M, from: Gstatus, to: Gstatus) {
    if index(from).is_none() && index(to).is_none() {
        return;
    }
    if mp.is_null() {
        moved_global(from, to);
        return;
    }
    // SAFETY: mp is the calling thread's M (the callers'), alive while it runs.
    moved(unsafe { &*mp }, from, to);
}

#[cold]
#[inline(never)]
fn moved_global(from: Gstatus, to: Gstatus) {
    if let Some(i) = index(from) {
        GLOBAL[i].fetch_sub(1, Relaxed);
    }
    if let Some(i) = index(to) {
        GLOBAL[i].fetch_add(1, Relaxed);
    }
}

/// `m` leaves `allm` (a foreign thread's M, at the end of gs_main): its counts go to
/// `GLOBAL`, so that the sums stay whole. The scheduler lock must be held (the same
/// critical section removes `m`).
pub(crate) fn retire(m: &M) {
    for (g, c) in GLOBAL.iter().zip(m.gcounts.iter()) {
        g.fetch_add(c.swap(0, Relaxed), Relaxed);
    }
}

/// Forgets the changes made without an M (a new runtime: its Ms start at 0 too).
pub(crate) fn reset() {
    for c in &GLOBAL {
        c.store(0, Relaxed);
    }
}

/// Goroutines runnable, waiting and in a blocking call: O(Ms).
pub(crate) fn counts(rt: &Runtime) -> (u64, u64, u64) {
    let (mut waiting, mut syscall) = (GLOBAL[0].load(Relaxed), GLOBAL[1].load(Relaxed));
    let mut running = 0u64;
    {
        let s = rt.lock();
        for &mp in s.allm.iter() {
            // SAFETY: Ms in allm are alive while the lock is held.
            let m = unsafe { &*mp };
            waiting += m.gcounts[0].load(Relaxed);
            syscall += m.gcounts[1].load(Relaxed);
            let gp = m.curg.load(Relaxed);
            // SAFETY: Gs are never freed while the runtime lives.
            if !gp.is_null() && unsafe { (*gp).status() } == Gstatus::Running {
                running += 1;
            }
        }
    }
    let (waiting, syscall) = (waiting.max(0) as u64, syscall.max(0) as u64);
    let alive = rt.live_goroutines();
    (alive.saturating_sub(waiting + syscall + running), waiting, syscall)
}
