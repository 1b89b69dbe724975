//! Blocking calls (Go's entersyscall / exitsyscall / entersyscallblock).
//!
//! A goroutine about to block in a call the runtime cannot see gives up its P
//! *lazily*: the P goes to `Pstatus::Syscall` and stays attached in `m.oldp`. If the
//! call returns quickly, `exitsyscall` takes the P back with one CAS. If not, sysmon
//! (`retake`, after at least one of its ticks, 20 us) CASes the P from Syscall to Idle
//! and hands it to another M (`handoffp`), so other goroutines keep running.
//! `entersyscallblock` hands the P off at once.
//!
//! While in the call, `m.p` is null: anything the goroutine does (gs_go, gs_ready)
//! goes through the global queue.

use super::g::{Gstatus, G};
use super::m::stopm_until_p;
use super::m::M;
use super::p::acquirep;
use super::p::Pstatus;
use super::proc::{handoffp, mcall, schedule};
use super::tls::getm;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

/// gs_entersyscall on goroutine `gp` running on `mp`.
pub(crate) fn entersyscall(mp: *mut M, gp: *mut G) {
    // SAFETY: gp runs on mp, which holds m.p: all ours.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    if m.p.is_null() {
        return; // nested or without a P: nothing to give up
    }
    // SAFETY: we hold m.p.
    let pp = unsafe { &*m.p };
    pp.syscalltick.store(pp.syscalltick.load(Relaxed).wrapping_add(1), Relaxed);
    if super::trace::on() {
        super::trace::syscall(m, g, true);
    }
    g.status.store(Gstatus::Syscall as u32, Release);
    super::gstats::moved(m, Gstatus::Running, Gstatus::Syscall);
    m.in_syscall.store(true, Relaxed);
    super::tls::set_p_slot(core::ptr::null());
    m.oldp = m.p;
    pp.m.store(null_mut(), Release);
    m.p = null_mut();
    pp.status.store(Pstatus::Syscall as u32, SeqCst); // sysmon may take it from here
}

/// gs_entersyscallblock: as entersyscall, then hand the P off at once.
pub(crate) fn entersyscallblock(mp: *mut M, gp: *mut G) {
    entersyscall(mp, gp);
    // SAFETY: mp is this thread's M.
    let m = unsafe { &mut *mp };
    let pp = m.oldp;
    // SAFETY: Ps live as long as the runtime.
    let p = (!pp.is_null()).then(|| unsafe { &*pp });
    if p.is_some_and(|p| {
        p.status.compare_exchange(Pstatus::Syscall as u32, Pstatus::Idle as u32, SeqCst, Relaxed).is_ok()
    }) {
        m.oldp = null_mut();
        handoffp(m.rt(), pp);
    }
}

/// gs_exitsyscall on goroutine `gp`: take back the old P, or any idle one, or queue
/// the goroutine and park the M.
#[inline(never)]
pub(crate) fn exitsyscall(mp: *mut M, gp: *mut G) {
    // SAFETY: gp runs on mp.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    if g.status() != Gstatus::Syscall {
        return; // not in a call (unbalanced exit): nothing to do
    }
    m.in_syscall.store(false, Relaxed);
    let rt = m.rt();
    let oldp = core::mem::replace(&mut m.oldp, null_mut());
    // Fast path: our P is still waiting for us.
    if !oldp.is_null()
        // SAFETY: Ps live as long as the runtime.
        && unsafe { &*oldp }
            .status
            .compare_exchange(Pstatus::Syscall as u32, Pstatus::Running as u32, SeqCst, Relaxed)
            .is_ok()
    {
        m.p = oldp;
        // SAFETY: as above; we own oldp again.
        unsafe { (*oldp).m.store(m, Release) };
        super::tls::set_p_slot(oldp);
        g.status.store(Gstatus::Running as u32, Release);
        super::gstats::moved(m, Gstatus::Syscall, Gstatus::Running);
        if super::trace::on() {
            super::trace::syscall(m, g, false);
        }
        return;
    }
    // Any idle P.
    if rt.npidle.load(SeqCst) > 0 {
        let pp = rt.pidleget(&mut rt.lock());
        if !pp.is_null() {
            acquirep(m, pp);
            g.status.store(Gstatus::Running as u32, Release);
            super::gstats::moved(m, Gstatus::Syscall, Gstatus::Running);
            if super::trace::on() {
                super::trace::syscall(m, g, false);
            }
            rt.wake_sysmon();
            return;
        }
    }
    // No P: queue the goroutine and park this M until it gets a P.
    // SAFETY: on the goroutine; exitsyscall0 runs on g0.
    unsafe { mcall(exitsyscall0) };
}

/// g0 half of a slow exitsyscall.
unsafe extern "C" fn exitsyscall0(arg: *mut c_void) -> ! {
    let gp: *mut G = arg.cast();
    let mp = getm();
    // SAFETY: on g0 of mp, which was running gp.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    let rt = m.rt();
    super::proc::leaveg(m, g, Gstatus::Syscall, Gstatus::Runnable);
    let pp = rt.pidleget(&mut rt.lock());
    if !pp.is_null() {
        acquirep(m, pp);
        // SAFETY: gp is ours and runnable; we hold a P.
        unsafe { super::proc::execute(m, gp, false) }
    }
    {
        let mut s = rt.lock();
        rt.globrunqput(&mut s, gp);
    }
    rt.wake_sysmon();
    if m.lockedg.is_null() {
        stopm_until_p(m);
    }
    // SAFETY: on g0 (a locked M waits in schedule for its G to come back).
    unsafe { schedule(mp) }
}
