//! Parking and readying goroutines (Go's gopark / park_m / goready): `gopark`,
//! `park_m`, `ready` (a G back to a run queue).
//!
//! # Who may ready a waiting G
//!
//! `park_m` marks the G `Waiting` on g0 and only then runs `unlockf(g, lock)`, so a
//! waker that acquires `lock` after `unlockf` released it always finds the G fully
//! parked: "check condition, enqueue self, release lock, sleep" has no lost wakeup.
//!
//! Exactly one party readies a waiting G:
//! - Parks made by the runtime's own objects (channels, mutexes, sleeps): the object's
//!   protocol picks the waker (it dequeues the G under its lock). `gs_ready` refuses
//!   them: their `park_token` is 0.
//! - Parks made through `gs_park`: `park_token` holds the goid while the G is
//!   readiable. `gs_ready`, a timeout, and `park_m` itself (when `unlockf` says no)
//!   each try to swap it to 0; only the winner moves the G on. A stale handle carries
//!   an old goid and never matches.
//!
//! # Parks that do more after the user's unlockf
//!
//! The token is published before `unlockf` runs, so a `gs_ready` may win it while
//! `park_m` is still in `unlockf`. For a plain `gs_park` that is fine: once the user's
//! unlockf has returned, `park_m` never touches the G again. `gs_park_timeout` arms
//! its timer after the user's unlockf, with the timer in the parked goroutine's frame:
//! a G readied and running meanwhile would leave that frame while the timer is armed
//! in it. Such a park sets `G::parking` to `PARKING_COMMIT` before switching; a winner
//! of the token that finds it so does not queue the G but swaps it to
//! `PARKING_READIED`, and `park_m` resumes the G itself once its commit is over
//! (`commit_done`). Exactly one of the two queues the G.

use super::g::GFLAG_HOST;
use super::g::{Gstatus, UnlockFn, WakeParam, G};
use super::m::M;
use super::proc::wakep;
use super::proc::{execute, schedule};
use super::sched::Runtime;
use super::tls::getm;
use crate::error::{Error, Result};
use crate::loom::atomic::{AtomicU32, AtomicU64};
use core::ffi::{c_char, c_void};
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

/// `G::parking`: no commit in progress.
pub(crate) const PARKING_NONE: u32 = 0;
/// `G::parking`: park_m is running the commit of a park that needs it.
pub(crate) const PARKING_COMMIT: u32 = 1;
/// `G::parking`: the token was won during the commit; park_m resumes the G.
pub(crate) const PARKING_READIED: u32 = 2;

/// The hand-over of a G parked through gs_park, between park_m and whoever readies it
/// (gs_ready, a timeout), written once: a view of the G's two words `park_token` and
/// `parking` (see *Who may ready a waiting G* and *Parks that do more*). The loom
/// model at the end of this file checks that, in every interleaving of park_m with
/// two wakers, exactly one party moves the G on.
pub(crate) struct ParkToken<'a> {
    token: &'a AtomicU64,
    parking: &'a AtomicU32,
}

impl<'a> ParkToken<'a> {
    pub(crate) fn new(token: &'a AtomicU64, parking: &'a AtomicU32) -> ParkToken<'a> {
        ParkToken { token, parking }
    }

    /// Not readiable. By the G's owner (newproc).
    #[inline]
    pub(crate) fn clear(&self) {
        self.token.store(0, Relaxed);
    }

    /// Asks for a commit: park_m does work after the user's unlockf, and no waker may
    /// queue the G before it is done. By the G itself, before it switches.
    #[inline]
    pub(crate) fn begin_commit(&self) {
        self.parking.store(PARKING_COMMIT, Relaxed);
    }

    /// park_m: true if the G asked for a commit.
    #[inline]
    pub(crate) fn committing(&self) -> bool {
        self.parking.load(Relaxed) == PARKING_COMMIT
    }

    /// park_m: from here on the G may be readied through its handle.
    #[inline]
    pub(crate) fn publish(&self, goid: u64) {
        self.token.store(goid, Release); // store-release: the park is visible to the winner
    }

    /// Wins the right to move the G on: true for the single winner among gs_ready, a
    /// timeout and park_m itself (its unlockf said no). A stale goid never wins.
    #[inline]
    pub(crate) fn win(&self, goid: u64) -> bool {
        self.token.compare_exchange(goid, 0, AcqRel, Relaxed).is_ok()
    }

    /// The winner, if it is not park_m: true if it must queue the G; false if the G's
    /// commit still runs, and park_m resumes the G when it ends (`end_commit`).
    #[inline]
    pub(crate) fn hand_over(&self) -> bool {
        // Winning the token (acquire) made the G's PARKING_COMMIT, if set, visible.
        !(self.parking.load(Acquire) == PARKING_COMMIT
            && self.parking.compare_exchange(PARKING_COMMIT, PARKING_READIED, AcqRel, Acquire).is_ok())
    }

    /// park_m, at the end of the commit: true if a winner left the G to it.
    #[inline]
    pub(crate) fn end_commit(&self) -> bool {
        self.parking.swap(PARKING_NONE, AcqRel) == PARKING_READIED
    }
}

/// Parks the calling goroutine. `user` parks (gs_park) are readiable by `gs_ready`
/// and give `unlockf` the G's handle; internal ones give it the `*mut G`.
/// Returns when readied, with the G's `param` (for the caller's protocol).
/// Executed on a goroutine.
///
/// # Safety
/// On a goroutine (not g0, not a foreign thread). `unlockf(gp, lock)` runs on g0
/// after the G is marked waiting and must not block; `lock` and `reason` must stay
/// valid until the G is readied.
#[inline(always)]
pub(crate) unsafe fn gopark(
    unlockf: Option<UnlockFn>,
    lock: *mut c_void,
    reason: *const c_char,
    user: bool,
) -> WakeParam {
    // SAFETY: forwarded contract.
    unsafe { gopark_with(getm(), unlockf, lock, reason, user) }
}

/// `gopark` for a caller that already read its M (`mp`: the calling thread's M,
/// running a goroutine).
///
/// # Safety
/// As `gopark`, and `mp` is the calling thread's M.
#[inline(always)]
pub(crate) unsafe fn gopark_with(
    mp: *mut super::m::M,
    unlockf: Option<UnlockFn>,
    lock: *mut c_void,
    reason: *const c_char,
    user: bool,
) -> WakeParam {
    // SAFETY: on a goroutine: mp and its curg are valid until we switch.
    let gp = unsafe { (*mp).curg() };
    // SAFETY: we are gp, the owner of these fields.
    unsafe {
        let g = &mut *gp;
        g.park.call = super::g::ParkCall { unlockf, lock };
        g.park_user = user;
        g.param = WakeParam::Readied;
        g.waitreason.store(reason as *mut c_char, Relaxed);
        g.waitsince.store(super::time::coarse_now() as u64, Relaxed);
        super::proc::mcall_with(mp, park_m);
        // Resumed, possibly on another M: re-read nothing from before the switch.
        (*gp).param
    }
}

/// g0 half of gopark.
unsafe extern "C" fn park_m(arg: *mut c_void) -> ! {
    let gp: *mut G = arg.cast();
    // SAFETY: gp was running on its M, recorded in g.m until we drop it below.
    let mp = unsafe { (*gp).m };
    // SAFETY: on g0 of mp, which was running gp.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    super::proc::leaveg(m, g, Gstatus::Running, Gstatus::Waiting);
    let goid = g.goid();
    let user = g.park_user;
    // SAFETY: a running G has left its start arguments behind (gstart): `park` holds
    // the call written by gopark_with.
    let super::g::ParkCall { unlockf, lock } = unsafe { g.park.call };
    // Set by the G itself before it switched (see *Parks that do more*).
    let committing = g.parktoken().committing();
    if user {
        g.parktoken().publish(goid);
    }
    if let Some(f) = unlockf {
        let garg = if user { g.handle() as *mut c_void } else { gp.cast() };
        if user {
            super::tools::unlockf_for(gp);
        }
        // SAFETY: the unlockf contract (gs_park in gosched.h); it runs on g0 with the G parked.
        let keep_parked = unsafe { f(garg, lock) };
        // A winner of the token during the commit left the G to us. (A committing
        // park always has an unlockf: the commit is one.)
        // SAFETY: until end_commit, no waker queues the G, so it is still parked; Gs
        // stay allocated.
        let token = unsafe { &*gp }.parktoken();
        let mut resume = committing && token.end_commit();
        // Unless unlockf said no: resume at once, unless a gs_ready already took it.
        // If the swap wins, or for internal parks, the G is still ours.
        if !keep_parked && (!user || token.win(goid)) {
            if user {
                // SAFETY: the G is ours (we won its token).
                unsafe { (*gp).param = WakeParam::ResumedAtOnce };
            }
            resume = true;
        }
        if resume {
            // SAFETY: gp is ours and waiting; m holds a P.
            unsafe {
                set_runnable(&*gp);
                resume_now(mp, gp);
            }
        }
    }
    // SAFETY: on g0.
    unsafe { schedule(mp) }
}

/// Readies `gp`, parked through gs_park, whose park token the caller just won: queues
/// it, or leaves it to park_m if its commit is still running.
/// Can be executed by anyone.
pub(crate) fn ready_won(rt: &Runtime, mp: *mut super::m::M, gp: *mut G, next: bool) {
    // SAFETY: Gs stay allocated.
    if unsafe { &*gp }.parktoken().hand_over() {
        super::park::ready_with(rt, mp, gp, next);
    } // else park_m resumes it after the commit
}

/// Runs `gp` on this M right away, in the current time slice.
///
/// # Safety
/// On g0 of `mp`, which holds a P; `gp` is runnable, owned by the caller (taken off
/// every queue, or never put on one) and may run on `mp`.
unsafe fn resume_now(mp: *mut super::m::M, gp: *mut G) -> ! {
    // SAFETY: mp holds a P; gp is runnable and ours and may run here (it was running
    // on this M a moment ago, so a locked G is locked to this M).
    unsafe { execute(&mut *mp, gp, true) }
}

/// gs_ready: readies a G parked by `gs_park`, named by its handle.
/// `Inval` for a stale handle or a G that is not parked through gs_park.
/// Can be executed by anyone.
pub(crate) fn ready_handle(rt: &Runtime, mp: *mut super::m::M, h: usize) -> Result<()> {
    let gp = rt.allgs.lookup_handle(h);
    if gp.is_null() {
        return Err(Error::Inval);
    }
    // SAFETY: Gs are never freed while the runtime lives.
    let g = unsafe { &*gp };
    let goid = (h >> super::g::SLOT_BITS) as u64;
    if !g.parktoken().win(goid) {
        return Err(Error::Inval);
    }
    ready_won(rt, mp, gp, true);
    Ok(())
}

/// The one transition of a G from Waiting to Runnable, whoever readies it (`ready`,
/// `park_m` resuming a G whose unlockf said no, the poller's batch): the caller owns
/// the wakeup. See *Where to hook tools* in docs/internals.md.
#[inline(always)]
pub(crate) fn set_runnable(g: &G) {
    set_runnable_by(g, getm());
}

/// `set_runnable` by a thread whose M, `mp` (null: none), is at hand.
#[inline(always)]
fn set_runnable_by(g: &G, mp: *const M) {
    // A tool's release and the tracer's event.
    super::tools::ready_hooks(g);
    g.casgstatus(Gstatus::Waiting, Gstatus::Runnable);
    super::gstats::moved_by(mp, Gstatus::Waiting, Gstatus::Runnable);
}

/// Makes a waiting G runnable (Go's ready): into the current P's runnext if called on
/// an M with a P, else onto the global queue; then wakes an idle P.
/// The caller must be the single party allowed to ready `gp` (see g.rs).
/// Can be executed by anyone.
pub(crate) fn ready(rt: &Runtime, gp: *mut G, next: bool) {
    ready_with(rt, getm(), gp, next)
}

/// `ready` for a caller that already read its M (`mp`: the calling thread's M, or
/// null on a foreign thread).
#[inline]
pub(crate) fn ready_with(rt: &Runtime, mp: *mut M, gp: *mut G, next: bool) {
    // SAFETY: the caller owns the wakeup, so it owns gp until it is queued.
    let g = unsafe { &*gp };
    set_runnable_by(g, mp);
    // SAFETY: mp is the calling thread's M, if any; m.p is held by it.
    let pp = unsafe {
        if mp.is_null() || !std::ptr::eq((*mp).rt, rt) {
            null_mut()
        } else {
            (*mp).p
        }
    };
    // Host and GS_GO_GIL goroutines, in one branch (see gil.rs).
    if super::gil::special(g.flags) {
        if g.flags & GFLAG_HOST != 0 {
            super::host::hostrunqput(rt, gp);
            return;
        }
        if !pp.is_null() && super::gil::skip_wakep(g, mp) {
            // SAFETY: we hold pp.
            unsafe { (*pp).runq.runqput(gp, true, rt) };
            return;
        }
    }
    if pp.is_null() {
        let mut s = rt.lock();
        rt.globrunqput(&mut s, gp);
    } else {
        // SAFETY: we hold pp.
        unsafe { (*pp).runq.runqput(gp, next, rt) };
    }
    wakep(rt);
}

/// The loom model of `ParkToken` (see src/loom.rs): park_m of a park with or without
/// a commit, whose unlockf keeps the G parked or not, against gs_ready and a timeout.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::{AtomicBool, AtomicUsize};
    use loom::sync::Arc;

    const GOID: u64 = 7;

    struct Shared {
        token: AtomicU64,
        parking: AtomicU32,
        /// Parties that won the token, and parties that moved the G on (queued it,
        /// or resumed it).
        wins: AtomicUsize,
        moves: AtomicUsize,
        /// park_m is done with the G's frame (its commit, if any, is over): only
        /// then may anyone move the G on.
        parked: AtomicBool,
    }

    impl Shared {
        fn view(&self) -> ParkToken<'_> {
            ParkToken::new(&self.token, &self.parking)
        }
    }

    fn model(committing: bool, keep_parked: bool) {
        loom::model(move || {
            let sh = Arc::new(Shared {
                token: AtomicU64::new(0),
                parking: AtomicU32::new(PARKING_NONE),
                wins: AtomicUsize::new(0),
                moves: AtomicUsize::new(0),
                parked: AtomicBool::new(false),
            });
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let sh = sh.clone();
                    loom::thread::spawn(move || {
                        let t = sh.view();
                        if t.win(GOID) {
                            sh.wins.fetch_add(1, Relaxed);
                            if t.hand_over() {
                                assert!(sh.parked.load(Relaxed), "a waker queued the G during its commit");
                                sh.moves.fetch_add(1, Relaxed);
                            }
                        }
                    })
                })
                .collect();
            // The G, then park_m on its M (one thread).
            let t = sh.view();
            if committing {
                t.begin_commit();
            }
            let c = t.committing();
            if !c {
                // A plain park is done with the G once its token is published (the
                // user's unlockf does not touch the G's frame).
                sh.parked.store(true, Relaxed);
            }
            t.publish(GOID);
            // (the user's unlockf, then the commit, run here)
            if c {
                sh.parked.store(true, Relaxed);
            }
            let mut resume = c && t.end_commit();
            if !keep_parked && t.win(GOID) {
                sh.wins.fetch_add(1, Relaxed);
                resume = true;
            }
            if resume {
                sh.moves.fetch_add(1, Relaxed);
            }
            for w in wakers {
                w.join().unwrap();
            }
            let (wins, moves) = (sh.wins.load(Relaxed), sh.moves.load(Relaxed));
            assert!(wins <= 1, "two parties won the park token");
            assert_eq!(moves, wins, "the winner, or park_m for it, moves the G on exactly once");
            if !keep_parked {
                assert_eq!(wins, 1, "a park whose unlockf said no is resumed");
            }
        });
    }

    #[test]
    fn loom_park_token_plain() {
        model(false, true);
        model(false, false);
    }

    #[test]
    fn loom_park_token_committing() {
        model(true, true);
        model(true, false);
    }
}
