//! Goroutine counts by state without a scan: what gs_stats_get reports as
//! `runnable`, `waiting` and `in_syscall`, in O(Ps + Ms).
//!
//! # Counting at the transitions
//!
//! Every change of a G's state passes through one of the seams of *Where to hook
//! tools* (docs/internals.md): `leaveg` (Running or Syscall to Waiting, Runnable or
//! Dead), `set_runnable` (Waiting to Runnable), `entersyscall` / `exitsyscall`
//! (Running to Syscall and back). Each calls `moved(pp, from, to)`, which subtracts
//! one from the count of `from` and adds one to the count of `to` when those are
//! Waiting or Syscall, in the counters of `pp`: the P held by the thread making the
//! change, whose owner alone writes them (a relaxed load and store, no atomic
//! read-modify-write). A change made without a P (a foreign thread, a goroutine back
//! from a blocking call without a P, the poller's M between Ps) goes to `GLOBAL`
//! with `fetch_add`.
//!
//! Runnable is not counted, so that a yield, a spawn and `execute` cost nothing
//! here: runnable = alive - waiting - in a blocking call - running, where running is
//! the number of Ms whose current goroutine is Running (read from `allm` under the
//! scheduler lock: O(Ms), which is about the number of Ps plus the Ms in blocking
//! calls).
//!
//! A G parked on one P and readied on another adds one on the first and takes one
//! on the second: a single P's count means nothing, the sum over every P and
//! `GLOBAL` is the number of Gs in that state. `counts` adds them up without
//! stopping anyone, so it may be a moment old, as a scan was; a sum caught between
//! the two halves of a transition is clamped at 0.

use super::g::Gstatus;
use super::p::P;
use super::sched::Runtime;
use core::sync::atomic::AtomicI64;
use core::sync::atomic::Ordering::Relaxed;

/// The counted states, by index: Waiting, Syscall.
pub(crate) const NSTATES: usize = 2;

/// Per-P counters (a field of `P`). Owner of the P only writes; anyone reads.
pub(crate) type Counts = [AtomicI64; NSTATES];

/// A fresh set of counters.
pub(crate) const fn new_counts() -> Counts {
    [AtomicI64::new(0), AtomicI64::new(0)]
}

/// The changes made without a P. Any thread, atomic adds.
static GLOBAL: Counts = new_counts();

#[inline(always)]
const fn index(s: Gstatus) -> Option<usize> {
    match s {
        Gstatus::Waiting => Some(0),
        Gstatus::Syscall => Some(1),
        _ => None,
    }
}

/// Records that a G moved from `from` to `to`, on `pp` (the P the calling thread
/// holds) or, when null, in `GLOBAL`. With constant states (every caller's), this is
/// nothing for a yield or an end, one load and one store for a park, a wakeup or a
/// blocking call.
#[inline(always)]
pub(crate) fn moved(pp: *const P, from: Gstatus, to: Gstatus) {
    if pp.is_null() {
        moved_global(from, to);
        return;
    }
    // SAFETY: the calling thread holds pp (see the callers), so it is alive and its
    // counters are ours to write.
    let c = unsafe { &(*pp).gcounts };
    if let Some(i) = index(from) {
        c[i].store(c[i].load(Relaxed) - 1, Relaxed);
    }
    if let Some(i) = index(to) {
        c[i].store(c[i].load(Relaxed) + 1, Relaxed);
    }
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

/// `moved` on the P of the calling thread's M (none on a foreign thread).
#[inline(always)]
pub(crate) fn moved_here(from: Gstatus, to: Gstatus) {
    let mp = super::tls::getm();
    // SAFETY: the thread's own M; its P field is its own.
    let pp = if mp.is_null() { core::ptr::null() } else { unsafe { (*mp).p.cast_const() } };
    moved(pp, from, to);
}

/// Forgets the changes made without a P (a new runtime: its Ps start at 0 too).
pub(crate) fn reset() {
    for c in &GLOBAL {
        c.store(0, Relaxed);
    }
}

/// Goroutines runnable, waiting and in a blocking call: O(Ps + Ms).
pub(crate) fn counts(rt: &Runtime) -> (u64, u64, u64) {
    let sum = |i: usize| {
        let v = GLOBAL[i].load(Relaxed) + rt.allp.iter().map(|p| p.gcounts[i].load(Relaxed)).sum::<i64>();
        v.max(0) as u64
    };
    let (waiting, syscall) = (sum(0), sum(1));
    let mut running = 0u64;
    {
        let s = rt.lock();
        for &mp in s.allm.iter() {
            // SAFETY: Ms in allm are alive while the lock is held; Gs are never freed
            // while the runtime lives.
            let gp = unsafe { (*mp).curg.load(Relaxed) };
            // SAFETY: as above.
            if !gp.is_null() && unsafe { (*gp).status() } == Gstatus::Running {
                running += 1;
            }
        }
    }
    let alive = rt.live_goroutines();
    (alive.saturating_sub(waiting + syscall + running), waiting, syscall)
}
