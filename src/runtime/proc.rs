//! The scheduling loop: running goroutines (`schedule`, `execute`), finding work
//! (`findrunnable`, `stealwork`, the global queue), waking Ms and handing Ps off
//! (`wakep`, `handoffp`), wired goroutines (`stoplockedm`, `startlockedm`), and the
//! g0 halves of yield and exit (`mcall`, `gosched_m`, `goexit0`). Names and
//! structure follow Go's proc.go; creating goroutines is in newproc.rs, the M life
//! cycle in m.rs, parking and readying in park.rs.
//!
//! Functions suffixed `_m` run on g0 through `mcall`. The ownership rules are in
//! g.rs (*Ownership of a G*), p.rs (*Ownership of a P*) and sched.rs (*Spinning and
//! parking*, *Locks*).

use super::context::{gs_mcall, McallFn};
use super::g::{Gstatus, G, GFLAG_CXA, GFLAG_HOST, GFLAG_MAIN};
use super::m::M;
use super::m::{m_should_exit, mexit, startm, stopm_until_p};
use super::newproc::{gfput, gstart};
use super::p::{acquirep, releasep};
use super::p::{Pstatus, P};
use super::runq::GQueue;
use super::sched::Runtime;
use super::tls::getm;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

/// Every this many scheduling rounds, take a G from the global queue first so that
/// it cannot starve behind local work. Go uses 61.
const GLOBAL_RUNQ_CHECK_EVERY: u32 = 61;
/// Rounds of stealing over all Ps before giving up. Go uses 4.
const STEAL_TRIES: usize = 4;
// ---------------------------------------------------------------------------------
// Waking Ms and handing Ps around

/// Tries to add one more P to run goroutines: if a P is idle and no M is spinning,
/// starts a spinning M on it. See *Spinning and parking* in sched.rs.
/// Can be executed by anyone.
#[inline]
pub(crate) fn wakep(rt: &Runtime) {
    if rt.npidle.load(SeqCst) == 0 {
        return;
    }
    // Be conservative about spinning threads: only one at a time starts.
    if rt.nmspinning.load(SeqCst) != 0 || rt.nmspinning.compare_exchange(0, 1, SeqCst, Relaxed).is_err() {
        return;
    }
    startm(rt, null_mut(), true);
}

/// Hands off `pp` from an M that stops running goroutines (blocking call, locked M
/// waiting, M leaving): starts an M for it if it has work, else makes it idle.
/// Can be executed by anyone holding pp.
pub(crate) fn handoffp(rt: &Runtime, pp: *mut P) {
    // SAFETY: the caller holds pp.
    let p = unsafe { &*pp };
    if !p.runq.is_empty() || rt.runqsize.load(Acquire) != 0 {
        startm(rt, pp, false);
        return;
    }
    // No local work: start a spinning M only if nobody spins and no P is idle.
    if rt.nmspinning.load(SeqCst) + rt.npidle.load(SeqCst) == 0
        && rt.nmspinning.compare_exchange(0, 1, SeqCst, Relaxed).is_ok()
    {
        startm(rt, pp, true);
        return;
    }
    let mut s = rt.lock();
    if rt.runqsize.load(Acquire) != 0 && rt.running() {
        drop(s);
        startm(rt, pp, false);
        return;
    }
    let when = p.timer0_when.load(Acquire);
    rt.pidleput(&mut s, pp);
    drop(s);
    if when != 0 {
        // Its timers must still run: make sure a poller wakes up for them.
        super::netpoll::wake_netpoller(rt, when);
    }
}

// ---------------------------------------------------------------------------------
// The scheduling loop

/// One round of scheduling: find a runnable G and execute it. Never returns.
/// Executed on g0 of an M holding a P (or whose locked G is waiting).
///
/// On x86-64 this restarts g0's stack at its base and jumps into `schedule0`
/// without a `call`: see *Return prediction* in context.rs.
///
/// # Safety
/// On g0 of `mp`, the calling thread's M, with no current goroutine (its last one
/// was parked, queued or ended by the caller).
#[inline(always)]
pub(crate) unsafe fn schedule(mp: *mut M) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: we are on g0 of mp, whose frames above g0_sp (the context saved by
    // gs_mstart0) are intact and whose frames below it are abandoned: nothing
    // returns into them. The pushed 0 stands for a return address (schedule0 never
    // returns) and leaves rsp as at a function's entry; it also ends backtraces.
    unsafe {
        core::arch::asm!(
            "movq {sp}, %rsp",
            "pushq $0",
            "jmp {f}",
            sp = in(reg) (*mp).g0_sp,
            f = sym schedule0,
            in("rdi") mp,
            options(att_syntax, noreturn),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded contract.
    unsafe {
        schedule0(mp)
    }
}

/// The body of `schedule`.
unsafe extern "C" fn schedule0(mp: *mut M) -> ! {
    // SAFETY: mp is this thread's M; we are on its g0.
    let m = unsafe { &mut *mp };
    if m.host_runner {
        // SAFETY: on the host runner's g0.
        unsafe { super::host::host_schedule(m) }
    }
    let rt = m.rt();
    if !m.lockedg.is_null() {
        stoplockedm(m);
        let gp = m.lockedg;
        // SAFETY: startlockedm gave us the P and the runnable locked G.
        unsafe { execute(m, gp, false) }
    }
    loop {
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
        // SAFETY: we hold m.p.
        let pp = unsafe { &*m.p };
        let (gp, inherit) = 'pick: {
            // The time slice is spent: see *Time slices* in sysmon.rs.
            if pp.preempt.load(Relaxed) {
                let gp = end_slice(rt, pp);
                if !gp.is_null() {
                    break 'pick (gp, false);
                }
            }
            checktimers(pp);
            let mut gp = null_mut();
            let mut inherit = false;
            // Fairness: now and then take from the global queue first.
            if pp.schedtick.load(Relaxed) % GLOBAL_RUNQ_CHECK_EVERY == 0 && rt.runqsize.load(Relaxed) > 0 {
                let mut s = rt.lock();
                gp = rt.globrunqget(&mut s, pp, 1);
            }
            if gp.is_null() {
                (gp, inherit) = pp.runq.runqget();
            }
            if gp.is_null() {
                (gp, inherit) = findrunnable(m);
            }
            (gp, inherit)
        };
        // SAFETY: we hold m.p (findrunnable may have changed it).
        super::prefetch::upcoming(unsafe { &*m.p });
        if m.spinning {
            resetspinning(m);
        }
        // SAFETY: we dequeued gp, so we own it.
        let lockedm = unsafe { (*gp).lockedm };
        if !lockedm.is_null() && lockedm != mp {
            // Hand our P to the M that gp is wired to, and wait.
            startlockedm(m, gp);
            continue;
        }
        // SAFETY: we own gp and hold a P.
        unsafe { execute(m, gp, inherit) }
    }
}

/// The end of a time slice on `pp` (see *Time slices* in sysmon.rs): the G in runnext
/// goes behind the ring, the expired timers run (a G one readies takes runnext),
/// goroutines whose fds are ready are queued if nobody looked for a while, and a fair
/// share of the global queue comes first: returns its first G, to run now (the rest
/// joins the ring), or null to schedule as usual. Executed by the owner of `pp`, on
/// g0.
#[cold]
#[inline(never)]
fn end_slice(rt: &Runtime, pp: &P) -> *mut G {
    pp.runq.runnext_to_tail(rt);
    checktimers(pp);
    let np = &rt.netpoll;
    let last = np.lastpoll.load(Relaxed);
    if np.waiters.load(Relaxed) > 0 && last != 0 && super::time::nanotime() - last > NETPOLL_SLICE_NS {
        np.lastpoll.store(super::time::nanotime(), Relaxed);
        let list = super::netpoll::netpoll(rt, 0);
        injectglist(rt, list);
    }
    if rt.runqsize.load(Relaxed) == 0 {
        return null_mut();
    }
    let mut s = rt.lock();
    rt.globrunqget(&mut s, pp, 0)
}

/// At the end of a time slice, poll the network if nobody has for this long.
const NETPOLL_SLICE_NS: i64 = 1_000_000;

/// Runs `gp` on this M. `inherit` keeps the current time slice (gp came from runnext).
/// Executed on g0 of an M holding a P; never returns. The one place where a
/// goroutine enters an M (its counterpart is `leaveg`).
///
/// # Safety
/// On g0 of `m`, which holds a P; `gp` is runnable and owned by the caller (see
/// *Ownership of a G* in g.rs) and its context was saved by `mcall` or laid out by
/// `gostartcall`.
#[inline(always)]
pub(crate) unsafe fn execute(m: &mut M, gp: *mut G, inherit: bool) -> ! {
    // SAFETY: we own gp.
    let g = unsafe { &mut *gp };
    if g.sched_sp == 0 {
        gstart(m, g);
    }
    m.curg.store(gp, Relaxed);
    g.m = m;
    g.casgstatus(Gstatus::Runnable, Gstatus::Running);
    if !m.p.is_null() {
        // SAFETY: we hold m.p.
        let pp = unsafe { &*m.p };
        let switches = pp.switches.load(Relaxed) + 1;
        pp.switches.store(switches, Relaxed);
        if !inherit {
            pp.schedtick.store(pp.schedtick.load(Relaxed).wrapping_add(1), Relaxed);
            pp.preempt.store(false, Relaxed);
        } else if switches % super::sysmon::INHERIT_MAX == 0 {
            // An inherited turn every INHERIT_MAX switches ends the slice: a pair
            // that hands the P back and forth does that many in a row (see *Time
            // slices* in sysmon.rs). Counting switches, not turns in a row, costs
            // nothing more than the statistic already kept.
            pp.preempt.store(true, Relaxed);
        }
    } else {
        m.rt().host_switches.fetch_add(1, Relaxed);
    }
    // One branch for all: a G that carries C++ exception state, a tool present, or
    // the tracer on (both in the M's hooks word).
    if (g.flags & GFLAG_CXA) as usize | super::tools::hooks(m) != 0 {
        switch_in_slow(m, g);
    }
    // SAFETY: gp's context was saved by mcall or laid out by gostartcall.
    unsafe { gogo_jump(g.sched_sp) }
}

/// `execute`'s last step when a tool is present, the tracer is on or `g` has C++
/// exception state.
#[cold]
#[inline(never)]
fn switch_in_slow(m: &mut M, g: &mut G) {
    if super::trace::on() {
        super::trace::go_start(m, g);
    }
    super::cxxabi::enter(m, g);
    super::tools::switch_to_g(m, g);
}

/// `gs_gogo(sp)` by a jump rather than a call (see *Return prediction* in context.rs).
///
/// # Safety
/// `sp` is a context saved by `mcall`/`gs_ctx_swap` or laid out by `gostartcall`,
/// that nothing else resumes; the current stack is abandoned.
#[inline(always)]
unsafe fn gogo_jump(sp: usize) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's contract of gs_gogo; gs_gogo never returns, so no return
    // address is needed.
    unsafe {
        core::arch::asm!("jmp gs_gogo", in("rdi") sp, options(att_syntax, noreturn));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded contract.
    unsafe {
        gs_gogo(sp)
    }
}

/// Finds a runnable G, stealing from other Ps, else stops the M until there is work.
/// Returns the G and whether it inherits the time slice.
/// Executed on g0 of an M holding a P; may come back with another P.
/// Kept out of `schedule`, whose common path (a G in the local queue) stays short.
#[inline(never)]
fn findrunnable(m: &mut M) -> (*mut G, bool) {
    let rt = m.rt();
    'top: loop {
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
        // SAFETY: we hold m.p.
        let pp = unsafe { &*m.p };
        checktimers(pp);
        let (gp, inherit) = pp.runq.runqget();
        if !gp.is_null() {
            return (gp, inherit);
        }
        if rt.runqsize.load(Acquire) != 0 {
            let mut s = rt.lock();
            let gp = rt.globrunqget(&mut s, pp, 0);
            if !gp.is_null() {
                return (gp, false);
            }
        }
        // Poll the network without blocking, if some goroutine waits on an fd and no
        // M is blocked in the poller already.
        let np = &rt.netpoll;
        if np.waiters.load(Relaxed) > 0 && np.lastpoll.load(Relaxed) != 0 {
            let mut list = super::netpoll::netpoll(rt, 0);
            let gp = list.pop();
            if !gp.is_null() {
                injectglist(rt, list);
                return (gp, false);
            }
        }
        // Steal, if not too many Ms already spin: at most half the busy Ps.
        let procs = rt.allp.len() as u32;
        let busy = procs - rt.npidle.load(SeqCst).min(procs);
        if m.spinning || 2 * rt.nmspinning.load(SeqCst) < busy {
            if !m.spinning {
                m.spinning = true;
                rt.nmspinning.fetch_add(1, SeqCst);
                if super::trace::on() {
                    super::trace::mstate(
                        m,
                        super::trace::Ev::Spin,
                        rt.npidle.load(Relaxed),
                        rt.nmspinning.load(Relaxed),
                    );
                }
            }
            let gp = stealwork(m);
            if !gp.is_null() {
                return (gp, false);
            }
        }
        // Nothing: give up the P.
        let mut s = rt.lock();
        if !rt.running() {
            drop(s);
            continue 'top;
        }
        if rt.runqsize.load(Acquire) != 0 {
            let gp = rt.globrunqget(&mut s, pp, 0);
            return (gp, false);
        }
        let pp = releasep(m);
        rt.pidleput(&mut s, pp);
        drop(s);
        let was_spinning = m.spinning;
        if m.spinning {
            m.spinning = false;
            rt.nmspinning.fetch_sub(1, SeqCst);
            // Re-check all queues (see *Spinning and parking*).
            let mut work = rt.runqsize.load(SeqCst) != 0;
            if !work {
                work = rt.allp.iter().any(|p| !p.runq.is_empty());
            }
            if work {
                let pp = rt.pidleget(&mut rt.lock());
                if !pp.is_null() {
                    acquirep(m, pp);
                    if was_spinning {
                        m.spinning = true;
                        rt.nmspinning.fetch_add(1, SeqCst);
                    }
                    continue 'top;
                }
            }
        }
        // Block in the poller until an fd is ready or the next timer, if there is
        // anything to wait for and no other M does it.
        let np = &rt.netpoll;
        let poll_until = super::timer::timesleepuntil(rt);
        if (np.waiters.load(SeqCst) > 0 || poll_until != 0) && np.lastpoll.swap(0, SeqCst) != 0 {
            np.poll_until.store(poll_until, SeqCst);
            m.idle.store(true, Relaxed);
            let mut list =
                if m_should_exit(m) { GQueue::new() } else { super::netpoll::netpoll_until(rt, poll_until) };
            m.idle.store(false, Relaxed);
            np.poll_until.store(0, SeqCst);
            np.lastpoll.store(super::time::nanotime(), SeqCst);
            let pp = rt.pidleget(&mut rt.lock());
            if pp.is_null() {
                injectglist(rt, list);
            } else {
                acquirep(m, pp);
                rt.wake_sysmon(); // every P was idle: sysmon may sleep deeply
                                  // Run the expired timers we woke for, whichever P's heap holds them:
                                  // waiting for the steal phase would make a timer's wakeup depend on
                                  // this M being allowed to steal.
                let now = super::time::nanotime();
                for p2 in rt.allp.iter() {
                    super::timer::runtimers(p2, now, true);
                }
                let gp = list.pop();
                if !gp.is_null() {
                    injectglist(rt, list);
                    return (gp, false);
                }
                continue 'top;
            }
        } else if poll_until != 0 {
            let until = np.poll_until.load(SeqCst);
            if until == 0 || until > poll_until {
                np.wake();
            }
        }
        if super::trace::on() {
            super::trace::mstate(
                m,
                super::trace::Ev::MStop,
                rt.npidle.load(Relaxed),
                rt.nmspinning.load(Relaxed),
            );
        }
        stopm_until_p(m);
        if super::trace::on() {
            super::trace::mstate(
                m,
                super::trace::Ev::MWake,
                rt.npidle.load(Relaxed),
                rt.nmspinning.load(Relaxed),
            );
        }
    }
}

/// Runs the expired timers of `pp`. Executed on g0 by the M holding pp.
#[inline]
fn checktimers(pp: &P) {
    let next = pp.timer0_when.load(Relaxed);
    if next != 0 {
        let now = super::time::nanotime();
        if next <= now {
            super::timer::runtimers(pp, now, false);
        }
    }
}

/// Puts a list of runnable Gs on the global queue and starts Ms for idle Ps to run
/// them (Go's injectglist). Can be executed by anyone.
pub(crate) fn injectglist(rt: &Runtime, mut list: GQueue) {
    let n = list.len;
    if n == 0 {
        return;
    }
    {
        let mut s = rt.lock();
        loop {
            let gp = list.pop();
            if gp.is_null() {
                break;
            }
            rt.globrunqput(&mut s, gp);
        }
    }
    let idle = rt.npidle.load(SeqCst) as usize;
    for _ in 0..n.min(idle) {
        startm(rt, null_mut(), false);
    }
}

/// Tries to steal a G from another P. Executed by an M holding a P, spinning.
fn stealwork(m: &mut M) -> *mut G {
    let rt = m.rt();
    // SAFETY: we hold m.p.
    let pp = unsafe { &*m.p };
    let n = rt.allp.len();
    let now = super::time::nanotime();
    for i in 0..STEAL_TRIES {
        let steal_runnext = i == STEAL_TRIES - 1;
        // SAFETY: we hold pp.
        let start = unsafe { pp.fastrand() } as usize % n;
        for k in 0..n {
            let p2 = &rt.allp[(start + k) % n];
            if core::ptr::eq(p2, pp) {
                continue;
            }
            // Run the other P's expired timers (its M may be blocked, or it is idle).
            if super::timer::runtimers(p2, now, true) {
                let (gp, _) = pp.runq.runqget();
                if !gp.is_null() {
                    return gp;
                }
            }
            if p2.status() == Pstatus::Idle {
                continue;
            }
            let gp = pp.runq.runqsteal(&p2.runq, steal_runnext && p2.status() == Pstatus::Running);
            if !gp.is_null() {
                pp.steals.store(pp.steals.load(Relaxed) + 1, Relaxed);
                if super::trace::on() {
                    super::trace::steal(m, p2.id, pp.runq.len() as u32 + 1);
                }
                return gp;
            }
        }
        if rt.runqsize.load(Acquire) != 0 {
            let mut s = rt.lock();
            let gp = rt.globrunqget(&mut s, pp, 0);
            if !gp.is_null() {
                return gp;
            }
        }
    }
    null_mut()
}

/// The M found work while spinning: stop spinning, and if it was the last spinner,
/// wake another so that further work is picked up (Go's resetspinning).
fn resetspinning(m: &mut M) {
    let rt = m.rt();
    m.spinning = false;
    let prev = rt.nmspinning.fetch_sub(1, SeqCst);
    if prev == 1 {
        wakep(rt);
    }
}

/// Waits, without a P, until this M's locked G is runnable and handed to us with a P.
/// Executed on g0 of a locked M.
fn stoplockedm(m: &mut M) {
    let rt = m.rt();
    if !m.p.is_null() {
        let pp = releasep(m);
        handoffp(rt, pp);
    }
    m.waiting_locked.store(true, Relaxed);
    loop {
        // A stopping runtime is checked before every sleep, not only after a wakeup:
        // gs_shutdown's wakeup may have landed on the note while it still held
        // startlockedm's, so that the one sleep that took the P consumed both, and no
        // other comes. (Only then: a host M whose gs_main goroutine ended leaves
        // after a wakeup without a P, as before, so that it never leaves while a
        // startlockedm is handing it its locked goroutine.)
        if !rt.running() {
            // A P handed to us meanwhile leaves with the M (mexit gives it away).
            let pp = m.nextp.swap(null_mut(), Acquire);
            if !pp.is_null() {
                acquirep(m, pp);
            }
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
        m.park.sleep();
        m.park.clear();
        let pp = m.nextp.swap(null_mut(), Acquire);
        if !pp.is_null() {
            m.waiting_locked.store(false, Relaxed);
            acquirep(m, pp);
            return;
        }
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
    }
}

/// Hands our P to `gp`'s locked M (which will run gp) and waits for a P.
/// Executed on g0 of an M holding a P, which dequeued gp.
fn startlockedm(m: &mut M, gp: *mut G) {
    // SAFETY: we own gp; its lockedm is alive: an M never exits while it has a locked G,
    // except while the runtime stops (see mexit), and its memory stays until free_runtime.
    let lm = unsafe { &*(*gp).lockedm };
    let pp = releasep(m);
    lm.nextp.store(pp, Release);
    lm.park.wakeup();
    stopm_until_p(m);
}

// ---------------------------------------------------------------------------------
// The g0 halves of yield, park and exit

/// Switches from the current goroutine to g0 and runs `f(gp)` there (Go's mcall).
/// Executed on a goroutine's stack.
///
/// # Safety
/// On a goroutine of this thread's M. `f` never returns: it ends in `schedule` or
/// in resuming some context; the goroutine goes on when something resumes it.
#[inline(never)]
pub(crate) unsafe fn mcall(f: McallFn) {
    // SAFETY: forwarded contract.
    unsafe { mcall_with(getm(), f) }
}

/// `mcall` for a caller that already read its M (one thread-local read less).
/// `mp` must be the calling thread's M, running a goroutine.
///
/// # Safety
/// As `mcall`, and `mp` is the calling thread's M.
#[inline(always)]
pub(crate) unsafe fn mcall_with(mp: *mut M, f: McallFn) {
    // SAFETY: the caller is on a goroutine of mp, so its curg is valid; the context
    // is saved in curg.sched_sp before the switch.
    unsafe {
        let gp = (*mp).curg();
        // A tool present, or the tracer on (whose events are elsewhere: the tools'
        // hooks test their own bits, and the test here stays one compare).
        if super::tools::hooks(&*mp) != 0 {
            return mcall_tools(mp, gp, f);
        }
        gs_mcall(&mut (*gp).sched_sp, (*mp).g0_sp, f, gp.cast());
    }
}

/// `mcall_with` while a tool is present: tells it about both switches.
///
/// # Safety
/// As `mcall_with`; `gp` is the current goroutine of `mp`.
#[cold]
#[inline(never)]
unsafe fn mcall_tools(mp: *mut M, gp: *mut G, f: McallFn) {
    super::tools::switch_to_g0(mp, gp);
    // SAFETY: forwarded contract.
    unsafe { gs_mcall(&mut (*gp).sched_sp, (*mp).g0_sp, f, gp.cast()) };
    // Resumed, maybe on another M.
    super::tools::entered_g(getm(), gp);
}

/// Bookkeeping for a G that just switched out: stack depth and canary.
/// Executed on g0.
#[inline]
fn switched_out(g: &mut G) {
    if g.sched_sp < g.stack_lowest {
        g.stack_lowest = g.sched_sp;
    }
    if !g.stack.canary_ok() {
        super::signal::report_overflow_and_die(g);
    }
}

/// Detaches the current G from its M (Go's dropg).
#[inline]
fn dropg(m: &mut M, g: &mut G) {
    m.curg.store(null_mut(), Relaxed);
    g.m = null_mut();
}

/// The one place where a goroutine leaves its M, on g0 right after the switch: its
/// stack bookkeeping, its new status (`from` is Running, or Syscall for a goroutine
/// back from a blocking call; `to` says why it left: Waiting when it parked,
/// Runnable when it yielded, was preempted or waits for a P, Dead when it ended),
/// and its M forgets it. Its counterpart, where a goroutine enters an M, is
/// `execute`. See *Where to hook tools* in docs/internals.md.
#[inline(always)]
pub(crate) fn leaveg(m: &mut M, g: &mut G, from: Gstatus, to: Gstatus) {
    // One branch for all: C++ exception state on the thread, a tool present, or the
    // tracer on (both in the M's hooks word).
    if super::cxxabi::pending(m) | super::tools::hooks(m) != 0 {
        leaveg_slow(m, g, from, to);
    }
    switched_out(g);
    g.casgstatus(from, to);
    super::gstats::moved(m, from, to);
    dropg(m, g);
}

/// `leaveg`'s first step when a tool is present, the tracer is on or the thread has
/// C++ exception state.
#[cold]
#[inline(never)]
fn leaveg_slow(m: &mut M, g: &mut G, from: Gstatus, to: Gstatus) {
    super::tools::entered_g0(m, g);
    if super::trace::on() {
        super::trace::go_stop(m, g, from, to);
    }
    super::cxxabi::leave(m, g, to);
}

/// g0 half of gs_gosched: the G goes behind the other runnable ones.
/// Go puts it on the global queue; we do that only when the global queue has work
/// (so the G lines up behind it) and otherwise use the tail of our ring, which gives
/// the same order without the lock.
pub(crate) unsafe extern "C" fn gosched_m(arg: *mut c_void) -> ! {
    let gp: *mut G = arg.cast();
    // SAFETY: gp was running on its M, recorded in g.m until dropg.
    let mp = unsafe { (*gp).m };
    // SAFETY: on g0 of mp, which was running gp.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    leaveg(m, g, Gstatus::Running, Gstatus::Runnable);
    let rt = m.rt();
    if g.flags & GFLAG_HOST != 0 {
        super::host::hostrunqput(rt, gp);
        // SAFETY: on g0.
        unsafe { schedule(mp) }
    }
    // SAFETY: we hold m.p.
    let pp = unsafe { &*m.p };
    if pp.preempt.load(Relaxed) {
        // The slice ends (see *Time slices* in sysmon.rs): the G in runnext goes
        // behind the ring first, so that the yielding G still goes behind it.
        pp.runq.runnext_to_tail(rt);
    }
    if rt.runqsize.load(Relaxed) != 0 || !g.lockedm.is_null() {
        let mut s = rt.lock();
        rt.globrunqput(&mut s, gp);
    } else {
        pp.runq.runqput(gp, false, rt);
    }
    // SAFETY: on g0.
    unsafe { schedule(mp) }
}

/// Entered from the goexit trampoline when a goroutine's function returns, and from
/// gs_goexit. Executed on the dying goroutine's stack.
pub(crate) unsafe extern "C" fn goexit1() -> ! {
    let mp = getm();
    if mp.is_null() {
        // The function returned in a child forked from this goroutine, which has no
        // runtime (see *Fork* in fork.rs): its only thread ends, and with it the
        // process, as when the last thread returns from its start function.
        // SAFETY: exit may be called at any time.
        unsafe { libc::exit(0) }
    }
    // SAFETY: on a goroutine of mp, whose curg is the calling goroutine.
    if super::gls::goexit(unsafe { (*mp).curg() }) {
        // SAFETY: on a goroutine; destructors ran and may have moved it to another M,
        // which getm and mcall read again.
        super::tools::goexit(unsafe { (*getm()).curg() });
        // SAFETY: on a goroutine.
        unsafe { mcall(goexit0) };
    } else {
        // SAFETY: on a goroutine of mp, which nothing switched since getm.
        super::tools::goexit(unsafe { (*mp).curg() });
        // SAFETY: as above.
        unsafe { mcall_with(mp, goexit0) };
    }
    super::throw::fatal("goexit1: dead goroutine resumed")
}

/// g0 half of a goroutine's end: Dead, onto the free list, then schedule.
unsafe extern "C" fn goexit0(arg: *mut c_void) -> ! {
    let gp: *mut G = arg.cast();
    // SAFETY: gp was running on its M, recorded in g.m until dropg.
    let mp = unsafe { (*gp).m };
    // SAFETY: on g0 of mp, which was running gp.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    leaveg(m, g, Gstatus::Running, Gstatus::Dead);
    super::tools::gdead(g);
    let rt = m.rt();
    if m.lockedg == gp {
        // It ended wired to this M (lockedg is set while lockcount > 0): the M is
        // free again.
        m.lockedg = null_mut();
        rt.nlocked.fetch_sub(1, AcqRel);
    }
    g.lockedm = null_mut();
    g.lockcount = 0;
    g.waitreason.store(null_mut(), Relaxed);
    let host =
        if g.flags & GFLAG_MAIN != 0 { core::mem::replace(&mut g.main_m, null_mut()) } else { null_mut() };
    gfput(rt, m.p, gp);
    rt.goroutine_ended(m.p);
    if !host.is_null() {
        // gs_main's goroutine ended: let its thread leave.
        // SAFETY: the main M is alive until it leaves, which needs this flag.
        let h = unsafe { &*host };
        h.main_done.store(true, Release);
        // Wake it under the lock: a main M frees itself only after taking the lock.
        let mut s = rt.lock();
        s.midle.retain(|&x| x != host);
        h.park.wakeup();
        drop(s);
        rt.netpoll.wake(); // it may be the M blocked in the poller
    }
    // SAFETY: on g0.
    unsafe { schedule(mp) }
}

/// True when every goroutine is parked with nothing that could wake it (checked for
/// GS_CFG_CHECKDEAD): every P idle, no G runnable, running or in a blocking call.
/// Checked twice, 1 ms apart, so that a G caught between two states is not taken for
/// a deadlock.
pub(crate) fn checkdead(rt: &Runtime) -> bool {
    let once = || {
        if rt.ngoroutines.load(Acquire) == 0
            || rt.runqsize.load(Acquire) != 0
            || rt.hostq_len.load(Acquire) != 0
            || super::timer::timesleepuntil(rt) != 0
            || rt.netpoll.waiters.load(Acquire) != 0
            || rt.npidle.load(SeqCst) as usize != rt.allp.len()
        {
            return false;
        }
        let mut live = false;
        rt.allgs.for_each(|g| {
            if matches!(g.status(), Gstatus::Runnable | Gstatus::Running | Gstatus::Syscall) {
                live = true;
            }
        });
        !live
    };
    if !once() {
        return false;
    }
    super::time::thread_sleep(1_000_000);
    once()
}
