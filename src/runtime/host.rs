//! The host thread: goroutines that run only on the thread that called gs_init,
//! only inside `gs_run_for` (for game loops and GUI main threads).
//!
//! # Host goroutines
//!
//! A G spawned with `GS_GO_HOST` carries `GFLAG_HOST`. Whenever it becomes runnable
//! (newproc, ready, gosched) it goes to `sched.hostq`, never to a P's queue, so no
//! worker M ever runs it. `gs_run_for` turns the calling thread into a temporary M
//! without a P (`HostRunner`) whose `schedule` is `host_schedule`: it runs host Gs
//! from `hostq` one step at a time (a step lasts until the G parks, yields or ends)
//! and returns to `gs_run_for` when the queue is empty or the budget is spent. A step
//! is never started after the deadline, so a call overruns its budget by at most one
//! step. Without a P, whatever a host goroutine spawns or readies goes through the
//! global queue, and its timers live in P 0's heap.

use super::context::{gs_gogo, gs_mstart0};
use super::g::G;
use super::m::M;
use super::proc::execute;
use super::sched::Runtime;
use super::tls::{getm, setm};
use crate::error::{Error, Result};
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

/// Puts a runnable host G on the host queue. Can be executed by anyone.
pub(crate) fn hostrunqput(rt: &Runtime, gp: *mut G) {
    let mut s = rt.lock();
    // SAFETY: the caller owns gp and it is on no queue.
    unsafe { s.hostq.push_back(gp) };
    rt.hostq_len.store(s.hostq.len, Release);
}

/// gs_run_for: runs ready host goroutines on this (the gs_init) thread for up to
/// `budget_ns`; returns how many steps ran.
pub(crate) fn run_for(rt: &'static Runtime, budget_ns: i64) -> Result<u64> {
    // SAFETY: gettid has no preconditions.
    if unsafe { libc::gettid() } != rt.init_tid {
        return Err(Error::Perm);
    }
    if !getm().is_null() {
        return Err(Error::Perm);
    }
    if rt.hostq_len.load(Acquire) == 0 {
        return Ok(0);
    }
    let hm = {
        let mut s = rt.lock();
        if s.host_runner.is_null() {
            let m = M::new(rt, rt.mnext.fetch_add(1, Relaxed), false);
            // SAFETY: new M, ours.
            unsafe { (*m).host_runner = true };
            s.allm.push(m);
            s.host_runner = m;
        }
        s.host_runner
    };
    // SAFETY: the host runner M is used only by this thread, inside run_for.
    let m = unsafe { &mut *hm };
    m.host_deadline = super::time::nanotime().saturating_add(budget_ns.max(0));
    m.host_steps = 0;
    // SAFETY: gettid has no preconditions.
    m.tid.store(unsafe { libc::gettid() }, Relaxed);
    setm(hm);
    super::cxxabi::enter_thread(m);
    // SAFETY: runs host_schedule on this thread's stack until it gogo's back here.
    unsafe { gs_mstart0(&mut m.g0_sp, host_start, hm.cast()) };
    super::cxxabi::leave_thread(m);
    setm(null_mut());
    Ok(m.host_steps)
}

unsafe extern "C" fn host_start(arg: *mut c_void) -> ! {
    // SAFETY: arg is the host runner M of this thread.
    unsafe { host_schedule(&mut *arg.cast::<M>()) }
}

/// The scheduler of the host runner: the next host G, or back to gs_run_for.
/// Executed on the host runner's g0.
///
/// # Safety
/// On g0 of `m`, the host runner M of the calling thread, with no current goroutine.
pub(crate) unsafe fn host_schedule(m: &mut M) -> ! {
    let rt = m.rt();
    let out_of_time = super::time::nanotime() >= m.host_deadline;
    let gp = if !rt.running() || out_of_time {
        null_mut()
    } else {
        let mut s = rt.lock();
        let g = s.hostq.pop();
        rt.hostq_len.store(s.hostq.len, Release);
        g
    };
    if gp.is_null() {
        let sp = m.g0_sp;
        // SAFETY: g0_sp is the context saved by gs_mstart0 in run_for.
        unsafe { gs_gogo(sp) }
    }
    m.host_steps += 1;
    // SAFETY: we dequeued gp, so we own it; the host runner may run host Gs.
    unsafe { execute(m, gp, false) }
}
