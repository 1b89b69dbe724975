//! The runtime's entry points for the calling thread, which the C API calls: who is
//! calling (`caller`), starting goroutines (`go`), yielding and exiting, wiring a
//! goroutine to its thread, and running goroutines on the caller's thread (`main`).

use super::g::G;
use super::m::M;
use super::m::{m_left, mstart_common};
use super::newproc::{newproc, GoOpts};
use super::proc::{goexit1, gosched_m};
use super::proc::{mcall, mcall_with};
use super::sched::Runtime;
use super::tls::{getm, setm};
use crate::error::{Error, Result};
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

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
    super::tools::goexit_from_api();
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
        match super::sched::init(super::config::resolve_config(0, 0, 0, 0, 0)?) {
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
        // SAFETY: mp is ours, just made; made outside the lock (see MTools::hooks).
        super::tools::sync_trace_hook(unsafe { &*mp });
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
            // SAFETY: mp is this thread's M, alive until freed below.
            super::gstats::retire(unsafe { &*mp });
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

// ---------------------------------------------------------------------------------
// On behalf of whoever calls: the C API's calls, dispatched on the caller's kind

/// `Perm` unless the caller is a foreign thread (gs_wait, gs_shutdown, gs_run_for,
/// gs_main).
pub(crate) fn foreign_only() -> Result<()> {
    match caller() {
        Caller::Foreign => Ok(()),
        _ => Err(Error::Perm),
    }
}

/// Runs `f` with the caller's runtime: an M's own, or for a foreign thread the
/// published one, held with a foreign pass for the call. `NotInit` without one,
/// `Shutdown` (foreign thread) while one stops.
pub(crate) fn with_runtime<T>(f: impl FnOnce(&Runtime) -> T) -> Result<T> {
    match caller() {
        Caller::Foreign => {
            let fg = super::sched::enter_foreign()?;
            Ok(f(fg.rt()))
        }
        // SAFETY: m is this thread's M; its runtime outlives it.
        Caller::Goroutine(m, _) | Caller::G0(m) => Ok(f(unsafe { (*m).rt() })),
    }
}

/// gs_wait: a foreign thread waits until no goroutine is alive; a deadlock (with
/// GS_CFG_CHECKDEAD) is reported on stderr with a goroutine dump.
pub(crate) fn wait(timeout_ns: i64) -> Result<()> {
    foreign_only()?;
    let fg = super::sched::enter_foreign()?;
    let r = super::sched::wait_all(fg.rt(), timeout_ns);
    super::tools::joined();
    if r == Err(Error::Deadlock) {
        print_deadlock(fg.rt());
    }
    r
}

/// The report of gs_wait and gs_main when every goroutine is asleep (Go's message).
fn print_deadlock(rt: &Runtime) {
    let d = super::debug::dump(rt);
    eprint!("gosched: all goroutines are asleep - deadlock!\n\n{d}");
}

/// gs_shutdown, from a foreign thread.
pub(crate) fn shutdown() -> Result<u64> {
    foreign_only()?;
    let r = super::sched::shutdown();
    super::tools::joined();
    r
}

/// gs_run_for, from a foreign thread.
pub(crate) fn run_for(budget_ns: i64) -> Result<u64> {
    foreign_only()?;
    let fg = super::sched::enter_foreign()?;
    super::host::run_for(fg.rt(), budget_ns)
}

/// gs_main, from a foreign thread, with the deadlock report.
pub(crate) fn main_foreign(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    foreign_only()?;
    let r = main(f, arg);
    super::tools::joined();
    if r == Err(Error::Deadlock) {
        let rtp = super::sched::RT.load(Acquire);
        if !rtp.is_null() {
            // SAFETY: best effort: the runtime is alive unless shut down concurrently.
            print_deadlock(unsafe { &*rtp });
        }
    }
    r
}

/// gs_self: the calling goroutine's handle; null off-goroutine.
pub(crate) fn self_handle() -> *mut c_void {
    match caller() {
        // SAFETY: g is the running goroutine.
        Caller::Goroutine(_, g) => unsafe { (*g).handle() as *mut c_void },
        _ => null_mut(),
    }
}

/// gs_goid: the calling goroutine's id; 0 off-goroutine.
pub(crate) fn self_goid() -> u64 {
    match caller() {
        // SAFETY: g is the running goroutine.
        Caller::Goroutine(_, g) => unsafe { (*g).goid() },
        _ => 0,
    }
}

/// gs_should_yield: has the calling goroutine's time slice run out (sysmon's
/// preemption request)? False off-goroutine.
pub(crate) fn should_yield() -> bool {
    match caller() {
        Caller::Goroutine(m, _) => {
            // SAFETY: m is this thread's M; its p, if held, is ours.
            let pp = unsafe { (*m).p };
            // SAFETY: as above.
            !pp.is_null() && unsafe { (*pp).preempt.load(Relaxed) }
        }
        _ => false,
    }
}

/// gs_gosched: yields on a goroutine; elsewhere yields the thread and says `Perm`.
pub(crate) fn gosched_any() -> Result<()> {
    match caller() {
        Caller::Goroutine(m, _) => {
            gosched_with(m);
            Ok(())
        }
        _ => {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
            Err(Error::Perm)
        }
    }
}

/// gs_goexit: ends the calling goroutine; does nothing off-goroutine.
pub(crate) fn goexit_any() {
    if let Caller::Goroutine(..) = caller() {
        goexit();
    }
}

/// gs_lock_os_thread / gs_unlock_os_thread for the calling goroutine (`Perm`
/// off-goroutine).
pub(crate) fn lock_os_thread_self() -> Result<()> {
    match caller() {
        Caller::Goroutine(m, g) => lock_os_thread(m, g),
        _ => Err(Error::Perm),
    }
}

pub(crate) fn unlock_os_thread_self() -> Result<()> {
    match caller() {
        Caller::Goroutine(m, g) => {
            unlock_os_thread(m, g);
            Ok(())
        }
        _ => Err(Error::Perm),
    }
}

/// gs_sleep: parks a goroutine on a timer, sleeps any other thread.
pub(crate) fn sleep_any(ns: i64) {
    match caller() {
        // SAFETY: m is this thread's M.
        Caller::Goroutine(m, _) => super::timer::sleep(unsafe { (*m).rt() }, ns),
        _ => super::time::thread_sleep(ns),
    }
}

/// gs_park (`timeout_ns` < 0) and gs_park_timeout: `Perm` off-goroutine, `TimedOut`
/// when the time ran out.
pub(crate) fn park_any(
    unlockf: Option<super::g::UnlockFn>,
    lock: *mut c_void,
    reason: *const core::ffi::c_char,
    timeout_ns: i64,
) -> Result<()> {
    let Caller::Goroutine(m, _) = caller() else { return Err(Error::Perm) };
    if timeout_ns < 0 {
        // SAFETY: on a goroutine of m.
        unsafe { super::park::gopark_with(m, unlockf, lock, reason, true) };
        return Ok(());
    }
    // SAFETY: m is this thread's M.
    let rt = unsafe { (*m).rt() };
    if super::timer::park_timeout(rt, unlockf, lock, reason, timeout_ns) {
        Ok(())
    } else {
        Err(Error::TimedOut)
    }
}

/// gs_ready, from anywhere: `Shutdown` while the runtime stops.
#[inline(always)]
pub(crate) fn ready_any(handle: usize) -> Result<()> {
    match caller() {
        Caller::Foreign => {
            let fg = super::sched::enter_foreign()?;
            super::park::ready_handle(fg.rt(), null_mut(), handle)
        }
        Caller::Goroutine(m, _) | Caller::G0(m) => {
            // SAFETY: m is this thread's M.
            let rt = unsafe { (*m).rt() };
            if !rt.running() {
                return Err(Error::Shutdown);
            }
            super::park::ready_handle(rt, m, handle)
        }
    }
}

/// gs_entersyscall, gs_exitsyscall, gs_entersyscallblock: for a goroutine; nothing
/// off-goroutine.
pub(crate) fn entersyscall_any(block: bool) {
    if let Caller::Goroutine(m, g) = caller() {
        if block {
            super::syscall::entersyscallblock(m, g);
        } else {
            super::syscall::entersyscall(m, g);
        }
    }
}

pub(crate) fn exitsyscall_any() {
    if let Caller::Goroutine(m, g) = caller() {
        super::syscall::exitsyscall(m, g);
    }
}
