//! Goroutine counts by state without a scan: what gs_stats_get reports as
//! `runnable`, `waiting` and `in_syscall`, in O(Ps).
//!
//! # Counting at the transitions
//!
//! Every change of a G's state passes through one of the seams of *Where to hook
//! tools* (docs/internals.md): `newproc` (to Runnable), `execute` (Runnable to
//! Running), `leaveg` (Running or Syscall to Waiting, Runnable or Dead),
//! `set_runnable` (Waiting to Runnable), `entersyscall` / `exitsyscall` (Running to
//! Syscall and back). Each calls `moved(pp, from, to)`, which subtracts one from the
//! count of `from` and adds one to the count of `to`, in the counters of `pp`: the P
//! held by the thread making the change, whose owner alone writes them (a relaxed
//! load and store, no atomic read-modify-write). A change made without a P (a
//! foreign thread readying or starting a goroutine, a host goroutine of gs_run_for,
//! a goroutine back from a blocking call without a P) goes to `GLOBAL` with
//! `fetch_add`.
//!
//! A G made runnable on one P and run on another adds one on the first and takes one
//! on the second: a single P's count means nothing, the sum over every P and
//! `GLOBAL` is the number of Gs in that state. `counts` adds them up without
//! stopping anyone, so it may be a moment old, as a scan was; a sum caught between
//! the two halves of a transition is clamped at 0.

use super::g::Gstatus;
use super::p::P;
use super::sched::Runtime;
use core::sync::atomic::AtomicI64;
use core::sync::atomic::Ordering::Relaxed;

/// The counted states, by index: Runnable, Waiting, Syscall.
pub(crate) const NSTATES: usize = 3;

/// Per-P counters (a field of `P`). Owner of the P only writes; anyone reads.
pub(crate) type Counts = [AtomicI64; NSTATES];

/// A fresh set of counters.
pub(crate) const fn new_counts() -> Counts {
    [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)]
}

/// The changes made without a P. Any thread, atomic adds.
static GLOBAL: Counts = new_counts();

#[inline(always)]
const fn index(s: Gstatus) -> Option<usize> {
    match s {
        Gstatus::Runnable => Some(0),
        Gstatus::Waiting => Some(1),
        Gstatus::Syscall => Some(2),
        _ => None,
    }
}

/// Records that a G moved from `from` to `to`, on `pp` (the P the calling thread
/// holds) or, when null, in `GLOBAL`. With constant states (every caller's), this is
/// at most two loads and two stores.
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

/// Goroutines runnable, waiting and in a blocking call: O(Ps).
pub(crate) fn counts(rt: &Runtime) -> [u64; NSTATES] {
    let mut sum = [0i64; NSTATES];
    for (i, s) in sum.iter_mut().enumerate() {
        *s = GLOBAL[i].load(Relaxed) + rt.allp.iter().map(|p| p.gcounts[i].load(Relaxed)).sum::<i64>();
    }
    sum.map(|v| v.max(0) as u64)
}
