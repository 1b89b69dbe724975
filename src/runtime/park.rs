//! Parking and readying goroutines (Go's gopark / park_m / goready).
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

use super::g::{Gstatus, UnlockFn, G};
use super::proc::{execute, schedule};
use super::sched::Runtime;
use super::tls::getm;
use crate::error::{Error, Result};
use core::ffi::{c_char, c_void};
use core::sync::atomic::Ordering::*;

/// `G::parking`: no commit in progress.
pub(crate) const PARKING_NONE: u32 = 0;
/// `G::parking`: park_m is running the commit of a park that needs it.
pub(crate) const PARKING_COMMIT: u32 = 1;
/// `G::parking`: the token was won during the commit; park_m resumes the G.
pub(crate) const PARKING_READIED: u32 = 2;

/// `G::param` of a user park resumed because its unlockf returned false (the winner
/// of the park token was park_m itself, not a gs_ready or a timeout).
pub(crate) const PARAM_RESUMED_AT_ONCE: usize = 2;

/// Parks the calling goroutine. `user` parks (gs_park) are readiable by `gs_ready`
/// and give `unlockf` the G's handle; internal ones give it the `*mut G`.
/// Returns when readied, with the G's `param` (for the caller's protocol).
/// Executed on a goroutine.
#[inline(always)]
pub(crate) unsafe fn gopark(
    unlockf: Option<UnlockFn>,
    lock: *mut c_void,
    reason: *const c_char,
    user: bool,
) -> usize {
    // SAFETY: forwarded contract.
    unsafe { gopark_m(getm(), unlockf, lock, reason, user) }
}

/// `gopark` for a caller that already read its M (`mp`: the calling thread's M,
/// running a goroutine).
#[inline(always)]
pub(crate) unsafe fn gopark_m(
    mp: *mut super::m::M,
    unlockf: Option<UnlockFn>,
    lock: *mut c_void,
    reason: *const c_char,
    user: bool,
) -> usize {
    // SAFETY: on a goroutine: mp and its curg are valid until we switch.
    let gp = unsafe { (*mp).curg() };
    // SAFETY: we are gp, the owner of these fields.
    unsafe {
        let g = &mut *gp;
        g.park.call = super::g::ParkCall { unlockf, lock };
        g.park_user = user;
        g.param = 0;
        g.waitreason.store(reason as *mut c_char, Relaxed);
        g.waitsince.store(super::time::coarse_now() as u64, Relaxed);
        super::proc::mcall_m(mp, park_m);
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
    super::proc::switched_out(g);
    g.casgstatus(Gstatus::Running, Gstatus::Waiting);
    super::proc::dropg(m, g);
    let goid = g.goid();
    let user = g.park_user;
    // SAFETY: a running G has left its start arguments behind (gstart): `park` holds
    // the call written by gopark_m.
    let super::g::ParkCall { unlockf, lock } = unsafe { g.park.call };
    // Set by the G itself before it switched (see *Parks that do more*).
    let committing = g.parking.load(Relaxed) == PARKING_COMMIT;
    if user {
        g.park_token.store(goid, Release); // from here on gs_ready may take it
    }
    if let Some(f) = unlockf {
        let garg = if user { g.handle() as *mut c_void } else { gp.cast() };
        // SAFETY: the unlockf contract (API.md); it runs on g0 with the G parked.
        let keep_parked = unsafe { f(garg, lock) };
        // A winner of the token during the commit left the G to us. (A committing
        // park always has an unlockf: the commit is one.)
        // SAFETY: until commit_done, no waker queues the G, so it is still parked.
        let mut resume = committing && unsafe { commit_done(gp) };
        // Unless unlockf said no: resume at once, unless a gs_ready already took it.
        // SAFETY: if the swap wins, or for internal parks, the G is still ours.
        if !keep_parked && (!user || unsafe { &*gp }.park_token.compare_exchange(goid, 0, AcqRel, Relaxed).is_ok()) {
            if user {
                // SAFETY: the G is ours (we won its token).
                unsafe { (*gp).param = PARAM_RESUMED_AT_ONCE };
            }
            resume = true;
        }
        if resume {
            // SAFETY: gp is ours and waiting; m holds a P.
            unsafe {
                (*gp).casgstatus(Gstatus::Waiting, Gstatus::Runnable);
                resume_now(mp, gp);
            }
        }
    }
    // SAFETY: on g0.
    unsafe { schedule(mp) }
}

/// Ends the commit of a park that needs one: true if the token was won meanwhile,
/// so that the G is ours to resume. Executed by park_m.
/// # Safety
/// `gp` is parked by park_m, which ran its commit.
unsafe fn commit_done(gp: *mut G) -> bool {
    // SAFETY: Gs stay allocated; the swap is the hand-over with the waker.
    unsafe { (*gp).parking.swap(PARKING_NONE, AcqRel) == PARKING_READIED }
}

/// Readies `gp`, parked through gs_park, whose park token the caller just won: queues
/// it, or leaves it to park_m if its commit is still running.
/// Can be executed by anyone.
pub(crate) fn ready_won(rt: &Runtime, mp: *mut super::m::M, gp: *mut G, next: bool) {
    // SAFETY: Gs stay allocated. Winning the token (acquire) made the G's
    // PARKING_COMMIT, if set, visible.
    let parking = unsafe { &(*gp).parking };
    if parking.load(Acquire) == PARKING_COMMIT
        && parking.compare_exchange(PARKING_COMMIT, PARKING_READIED, AcqRel, Acquire).is_ok()
    {
        return; // park_m resumes it after the commit
    }
    super::proc::ready_m(rt, mp, gp, next);
}

/// Runs `gp` on this M right away, in the current time slice.
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
    if g.park_token.compare_exchange(goid, 0, AcqRel, Relaxed).is_err() {
        return Err(Error::Inval);
    }
    ready_won(rt, mp, gp, true);
    Ok(())
}
