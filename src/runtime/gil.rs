//! Goroutines that run under a lock one thread holds at a time (`GS_GO_GIL`, for
//! an interpreter lock such as CPython's GIL).
//!
//! # Why
//!
//! Only one such goroutine makes progress at a time, whatever the number of Ps. When
//! one readies another (a channel send to a waiting receiver), `ready` puts the
//! readied G in the P's `runnext` and wakes an idle P (`wakep`); that P's M steals
//! the G and starts it on its OS thread, where it at once waits for the lock that
//! the readier holds. The two threads then pass the lock back and forth through the
//! kernel: context switches and twice the CPU time for the same work, where one
//! thread running both goroutines in turn would switch in user space.
//!
//! # What changes for marked goroutines
//!
//! - A marked G readied or started by a marked G (the calling thread's current G)
//!   goes to the `runnext` of the caller's P, and no P is woken. It runs when the
//!   readier blocks or yields, on the same thread.
//! - The readier may instead stay in a call that keeps its P but releases the lock
//!   (a sleep, a socket read, a C library): the readied G must not wait for it.
//!   Sysmon watches for that: a running P whose switch count did not move for a
//!   whole sysmon round while it has queued work, with a P idle and no M spinning,
//!   gets an M woken (`watch`), which steals the work as usual. Sysmon's round is
//!   20 us while it acts and grows to at most `SYSMON_BUSY_MAX_SLEEP_US` (2 ms) while
//!   it does not, so a readied G waits at most about that long.
//!
//! Everything else is scheduled as before: unmarked goroutines, marked ones readied
//! from a foreign thread, by an unmarked goroutine or on g0. The test of the flag
//! shares the branch that already tests `GFLAG_HOST` in `ready` and `newproc`, so an
//! unmarked G costs nothing more; sysmon's watch runs only once a marked G was made.

use super::g::{G, GFLAG_GIL, GFLAG_HOST};
use super::m::M;
use super::p::{Pstatus, P};
use super::sched::Runtime;
use core::sync::atomic::{AtomicBool, Ordering::*};

/// Set once any runtime of the process made a marked G: sysmon's watch runs from then.
static USED: AtomicBool = AtomicBool::new(false);

/// Notes that a marked G is being made. Executed by newproc.
#[inline]
pub(crate) fn note_marked() {
    if !USED.load(Relaxed) {
        USED.store(true, Relaxed);
    }
}

/// Whether the caller, readying or starting `g` on `mp` (null: a foreign thread),
/// may skip `wakep`: `g` and `mp`'s current G are both marked and `mp` holds a P.
/// Executed by the caller of ready/newproc, which owns `g`.
#[cold]
#[inline(never)]
pub(crate) fn skip_wakep(g: &G, mp: *const M) -> bool {
    if g.flags & GFLAG_GIL == 0 || mp.is_null() {
        return false;
    }
    // SAFETY: mp is the calling thread's M: its curg is the calling goroutine (or
    // null on g0), alive while it runs, and its flags are set before it starts.
    unsafe {
        let m = &*mp;
        if m.p.is_null() {
            return false;
        }
        let cur = m.curg();
        !cur.is_null() && (*cur).flags & GFLAG_GIL != 0
    }
}

/// Whether `ready`/`newproc` must take their cold path for `g`'s flags.
#[inline(always)]
pub(crate) fn special(flags: u32) -> bool {
    flags & (GFLAG_HOST | GFLAG_GIL) != 0
}

/// Sysmon's memory of each P's switch count, for `watch`.
pub(crate) struct Watch {
    last: Vec<u64>,
}

impl Watch {
    pub(crate) fn new(nprocs: usize) -> Watch {
        Watch { last: vec![u64::MAX; nprocs] }
    }

    /// One sysmon round: wakes an M if a running P has queued work but ran no new G
    /// since the last round while a P is idle and no M spins (see the module docs).
    /// Returns whether it woke one. Executed by sysmon only.
    pub(crate) fn watch(&mut self, rt: &Runtime) -> bool {
        if !USED.load(Relaxed) {
            return false;
        }
        let mut woke = false;
        for (i, pp) in rt.allp.iter().enumerate() {
            let pp: &P = pp;
            let s = pp.switches.load(Relaxed);
            let stuck = s == self.last[i];
            self.last[i] = s;
            if !stuck || woke || pp.status() != Pstatus::Running || pp.runq.is_empty() {
                continue;
            }
            if rt.npidle.load(SeqCst) == 0 || rt.nmspinning.load(SeqCst) != 0 {
                continue;
            }
            super::proc::wakep(rt);
            woke = true;
        }
        woke
    }
}
