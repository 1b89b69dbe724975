//! The runtime's entry points for the calling thread, which the C API calls: who is
//! calling (`caller`), starting goroutines (`go`), yielding and exiting, wiring a
//! goroutine to its thread, and running goroutines on the caller's thread (`main`).

use super::g::G;
use super::m::M;
use super::newproc::{newproc, GoOpts};
use super::proc::{mcall, mcall_with};
use super::tls::{getm, setm};
use crate::error::{Error, Result};
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;
use super::m::{m_left, mstart_common};
use super::proc::{goexit1, gosched_m};

// ---------------------------------------------------------------------------------
// Entry points for the calling thread (used by the C API)

/// Where the caller runs.
pub(crate) enum Caller {
    /// On goroutine `g`'s stack, on M `m`.
    Goroutine(*mut M, *mut G),
    /// On an M's g0 (e.g. inside an unlockf callback).
    G0(*mut M),
    /// A thread that is not an M.
    Foreign,
}

#[inline]
pub(crate) fn caller() -> Caller {
    let mp = getm();
    if mp.is_null() {
        return Caller::Foreign;
    }
    // SAFETY: mp is this thread's M.
    let gp = unsafe { (*mp).curg() };
    if gp.is_null() {
        Caller::G0(mp)
    } else {
        Caller::Goroutine(mp, gp)
    }
}

/// gs_go / gs_go_with.
pub(crate) fn go(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void, opts: &GoOpts) -> Result<u64> {
    let mp = getm();
    if mp.is_null() {
        let fg = super::sched::enter_foreign()?;
        return newproc(fg.rt(), null_mut(), f, arg, opts);
    }
    // SAFETY: mp is this thread's M; its runtime outlives it.
    let rt = unsafe { (*mp).rt() };
    if !rt.running() {
        return Err(Error::Shutdown);
    }
    newproc(rt, mp, f, arg, opts)
}

/// gs_gosched on a goroutine.
#[inline(never)]
pub(crate) fn gosched() {
    // SAFETY: the caller checked that it runs on a goroutine.
    unsafe { mcall(gosched_m) };
}

/// gs_gosched on a goroutine of `mp` (the caller read its M already).
#[inline(always)]
pub(crate) fn gosched_with(mp: *mut M) {
    // SAFETY: the caller runs a goroutine on mp.
    unsafe { mcall_with(mp, gosched_m) };
}

/// gs_goexit on a goroutine.
pub(crate) fn goexit() -> ! {
    // SAFETY: the caller checked that it runs on a goroutine.
    unsafe { goexit1() }
}

/// gs_lock_os_thread on goroutine `gp` running on `mp`. `Again` if wiring it would
/// leave no thread for the rest: every M that `max_threads` allows would be locked,
/// and a locked M that waits for its goroutine runs nothing else, not even timers
/// (Go, with no such cap in practice, dies of "thread exhaustion" instead).
pub(crate) fn lock_os_thread(mp: *mut M, gp: *mut G) -> Result<()> {
    // SAFETY: gp runs on mp: both are ours.
    unsafe {
        if (*gp).lockcount == 0 {
            let rt = (*mp).rt();
            let locked = rt.nlocked.fetch_add(1, AcqRel) + 1;
            if locked >= rt.cfg.max_threads {
                rt.nlocked.fetch_sub(1, AcqRel);
                return Err(Error::Again);
            }
        }
        (*gp).lockcount += 1;
        (*gp).lockedm = mp;
        (*mp).lockedg = gp;
    }
    Ok(())
}

/// gs_unlock_os_thread on goroutine `gp` running on `mp`. Unlocking an unlocked G does
/// nothing, as in Go.
pub(crate) fn unlock_os_thread(mp: *mut M, gp: *mut G) {
    // SAFETY: gp runs on mp: both are ours.
    unsafe {
        if (*gp).lockcount == 0 {
            return;
        }
        (*gp).lockcount -= 1;
        if (*gp).lockcount == 0 {
            (*gp).lockedm = null_mut();
            (*mp).lockedg = null_mut();
            (*mp).rt().nlocked.fetch_sub(1, AcqRel);
        }
    }
}

/// gs_main: the calling (foreign) thread becomes an M and runs `f(arg)` as a goroutine
/// until it returns; other goroutines keep running.
pub(crate) fn main(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    let fg = loop {
        match super::sched::init(super::config::resolve_config(0, 0, 0, 0)?) {
            Ok(()) | Err(Error::Already) => {}
            Err(e) => return Err(e),
        }
        // A gs_shutdown that finished between the two left no runtime: start another,
        // as a call made after it would (GS_ENOTINIT is not one of gs_main's answers).
        match super::sched::enter_foreign() {
            Err(Error::NotInit) => continue,
            r => break r?,
        }
    };
    let rt = fg.rt();
    let mp = M::new(rt, rt.mnext.fetch_add(1, Relaxed), true);
    {
        let mut s = rt.lock();
        if !rt.running() {
            drop(s);
            // SAFETY: nobody else knows mp.
            drop(unsafe { Box::from_raw(mp) });
            return Err(Error::Shutdown);
        }
        s.allm.push(mp);
        rt.nm_alive.fetch_add(1, AcqRel);
    }
    let opts = GoOpts { main_m: mp, ..GoOpts::DEFAULT };
    if let Err(e) = newproc(rt, null_mut(), f, arg, &opts) {
        rt.lock().allm.retain(|&x| x != mp);
        // SAFETY: mp never ran; it was only on allm, which we just left.
        drop(unsafe { Box::from_raw(mp) });
        m_left(rt);
        return Err(e);
    }
    mstart_common(mp);
    // Back on this thread's own stack: the M has left the scheduler.
    // SAFETY: mp is this thread's M and no longer schedules.
    let done = unsafe {
        super::signal::mexit_signal_stack(&mut *mp);
        (*mp).main_done.load(Acquire)
    };
    let deadlock = !done && rt.deadlock.load(Acquire);
    setm(null_mut());
    {
        let mut s = rt.lock();
        if rt.running() {
            s.allm.retain(|&x| x != mp);
            drop(s);
            // SAFETY: removed from allm under the lock; goexit0 wakes a main M only
            // under that lock, so nobody references mp any more.
            drop(unsafe { Box::from_raw(mp) });
        }
        // Else shutdown frees it with the other Ms.
    }
    m_left(rt);
    drop(fg);
    if done {
        Ok(())
    } else if deadlock {
        Err(Error::Deadlock)
    } else {
        Err(Error::Shutdown)
    }
}
