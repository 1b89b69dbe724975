//! sysmon: the monitor thread. It has no P and runs no goroutine.
//!
//! Every round (20 us, doubling after 50 idle rounds up to 10 ms) it:
//! - `retake`s: flags the P whose goroutine has run for more than `TIME_SLICE_NS`
//!   without a scheduling round, so that `gs_should_yield` tells it to yield
//!   (preemption is cooperative: C code has no stack-check prologue);
//! - prints a schedtrace line every `$GS_DEBUG=schedtrace=N` ms.
//! - retakes Ps that sit in a blocking call (`gs_entersyscall`) and hands them to
//!   another M when there is work for them (`handoffp`);
//! - polls the network if no M has for 10 ms;
//! - refreshes the coarse clock of `time::coarse_now`.
//!
//! When every P is idle it sleeps deeply on `sysmon_note` until `startm` wakes it, so
//! an idle runtime uses no CPU.
//!
//! # Time slices
//!
//! A P's time slice starts when it runs a G that does not inherit one (`execute`
//! bumps `schedtick`); a G taken from `runnext`, readied by the G that just blocked,
//! inherits it. When a slice has lasted `TIME_SLICE_NS`, `retake` sets `P::preempt`:
//! `gs_should_yield` then says yes, and the next `schedule` on that P ends the slice
//! even if the G that runs next would inherit it: the `runnext` G goes behind the ring
//! and a fair share of the global queue comes first. So two goroutines that hand the P
//! back and forth through `runnext` (a ping-pong over channels), which Go's sysmon
//! stops by preempting the running one, let the rest of the P's work run at least once
//! a slice. A slice also ends at an inherited turn that is the P's `INHERIT_MAX`-th
//! switch since the last such end, whatever the time: a pair turns in about 100 ns,
//! and without it the others would wait for sysmon, up to a whole slice plus
//! sysmon's sleep, in a machine that lets each thread run only part of the time even
//! longer. Sysmon polls the network when it ends a slice, so that a goroutine whose
//! fd became ready is queued by then, and while any P runs it sleeps at most
//! `SYSMON_BUSY_MAX_SLEEP_US`, so that a slice is noticed within that of its end.

use super::p::{Pstatus, P};
use super::sched::Runtime;
use super::time::{nanotime, thread_sleep};
use core::sync::atomic::Ordering::*;

/// A goroutine running this long without yielding is asked to yield. Go uses 10 ms.
pub(crate) const TIME_SLICE_NS: i64 = 10_000_000;
/// Switches of a P after which an inherited turn ends the time slice anyway (see
/// *Time slices*). Go has no such limit. 4096 turns of a channel ping-pong take 0.25
/// to 0.5 ms, far inside the slice. Ending a slice sends the runnext G behind the ring,
/// so a limit much lower turns the depth-first order of a spawning tree (each new
/// goroutine runs next) breadth-first, with many more goroutines and stacks alive at
/// once. A power of two (the check is a mask).
pub(crate) const INHERIT_MAX: u64 = 4096;
const SYSMON_MIN_SLEEP_US: i64 = 20;
const SYSMON_MAX_SLEEP_US: i64 = 10_000;
/// Idle rounds before the sleep starts doubling. Go uses 50 (1 ms at 20 us).
const SYSMON_IDLE_ROUNDS: u32 = 50;
/// Longest sleep while some P runs goroutines: how late a spent time slice may be
/// noticed (see *Time slices*). Go lets it grow to 10 ms.
const SYSMON_BUSY_MAX_SLEEP_US: i64 = 2_000;
/// A P in a blocking call without work is left alone this long. Go uses 10 ms.
const SYSCALL_RETAKE_IDLE_NS: i64 = 10_000_000;
/// How often fd registrations of parked waiters are renewed (see netpoll.rs).
const REVALIDATE_NS: i64 = 1_000_000_000;
/// Poll the network from sysmon if nobody has for this long. Go uses 10 ms.
const NETPOLL_FORCE_NS: i64 = 10_000_000;
/// While every P is idle, sysmon wakes this long after the next timer was due to
/// check that some M ran it (it should have: an M waits for it in the poller).
const TIMER_WATCH_SLACK_NS: i64 = 5_000_000;

pub(crate) fn sysmon(rtp: *const Runtime) {
    // SAFETY: shutdown joins this thread before freeing the runtime.
    let rt = unsafe { &*rtp };
    let mut delay_us = SYSMON_MIN_SLEEP_US;
    let mut idle = 0u32;
    let mut last_trace = nanotime();
    let mut last_revalidate = nanotime();
    let mut gil_watch = super::gil::Watch::new(rt.allp.len());
    while rt.running() {
        if idle == 0 {
            delay_us = SYSMON_MIN_SLEEP_US;
        } else if idle > SYSMON_IDLE_ROUNDS {
            delay_us = (delay_us * 2).min(SYSMON_MAX_SLEEP_US);
        }
        let busy = (rt.npidle.load(Relaxed) as usize) < rt.allp.len();
        thread_sleep(if busy { delay_us.min(SYSMON_BUSY_MAX_SLEEP_US) } else { delay_us } * 1000);
        super::time::coarse_tick();
        let now = nanotime();
        if rt.npidle.load(SeqCst) as usize == rt.allp.len() {
            if rt.cfg.flags & super::config::CFG_CHECKDEAD != 0
                && !rt.deadlock.load(Relaxed)
                && super::proc::checkdead(rt)
            {
                super::sched::report_deadlock(rt);
            }
            // Every P idle: sleep until work appears (or the next trace line).
            rt.sysmon_wait.store(true, SeqCst);
            if rt.npidle.load(SeqCst) as usize == rt.allp.len() && rt.running() {
                let mut limit = if rt.schedtrace_ms > 0 {
                    (last_trace + rt.schedtrace_ms as i64 * 1_000_000 - now).max(0)
                } else {
                    -1
                };
                if rt.netpoll.waiters.load(Relaxed) > 0 {
                    // Wake once a second to renew fd registrations (see netpoll.rs).
                    limit = if limit < 0 { REVALIDATE_NS } else { limit.min(REVALIDATE_NS) };
                }
                // A safety net: an idle M waits in the poller for the next timer; be
                // up by then anyway, and wake one if none waits (see below).
                let next_timer = super::timer::timesleepuntil(rt);
                if next_timer != 0 {
                    let t = (next_timer - now).max(0) + TIMER_WATCH_SLACK_NS;
                    limit = if limit < 0 { t } else { limit.min(t) };
                }
                rt.sysmon_note.tsleep(limit);
            }
            rt.sysmon_wait.store(false, SeqCst);
            rt.sysmon_note.clear();
            idle = 0;
            // Every P idle, a timer due and no M waiting in the poller for it: start one.
            let next_timer = super::timer::timesleepuntil(rt);
            if next_timer != 0 && next_timer <= nanotime() && rt.netpoll.lastpoll.load(SeqCst) != 0 {
                super::netpoll::wake_netpoller(rt, next_timer);
            }
        }
        // Poll the network if nobody has for a while.
        let np = &rt.netpoll;
        let last = np.lastpoll.load(SeqCst);
        let now = nanotime();
        if np.waiters.load(Relaxed) > 0 && last != 0 && last + NETPOLL_FORCE_NS < now {
            let _ = np.lastpoll.compare_exchange(last, now, SeqCst, Relaxed);
            let list = super::netpoll::netpoll(rt, 0);
            if list.len > 0 {
                super::proc::injectglist(rt, list);
                idle = 0;
            }
        }
        if np.waiters.load(Relaxed) > 0 && nanotime() - last_revalidate >= REVALIDATE_NS {
            last_revalidate = nanotime();
            super::netpoll::revalidate_waiters(rt);
        }
        let (mut acted, ended_slice) = retake(rt, nanotime());
        acted |= gil_watch.watch(rt);
        if super::longrun::enabled() {
            super::longrun::check(rt, nanotime());
        }
        if ended_slice && np.waiters.load(Relaxed) > 0 && np.lastpoll.load(SeqCst) != 0 {
            // The P whose slice ended looks at the global queue next: put the
            // goroutines whose fds are ready there first.
            np.lastpoll.store(nanotime(), SeqCst);
            let list = super::netpoll::netpoll(rt, 0);
            if list.len > 0 {
                super::proc::injectglist(rt, list);
            }
        }
        if acted {
            idle = 0;
        } else {
            idle += 1;
        }
        if rt.schedtrace_ms > 0 && nanotime() - last_trace >= rt.schedtrace_ms as i64 * 1_000_000 {
            last_trace = nanotime();
            schedtrace(rt);
        }
    }
}

/// Retakes Ps blocked in calls and flags Ps whose goroutine overran its time slice.
/// Returns whether it did anything, and whether it ended a slice.
fn retake(rt: &Runtime, now: i64) -> (bool, bool) {
    let mut n = false;
    let mut ended = false;
    for pp in rt.allp.iter() {
        let status = pp.status();
        if status == Pstatus::Syscall {
            // Retake a P that stayed in the same blocking call for a whole sysmon tick.
            let t = pp.syscalltick.load(Relaxed);
            if pp.sysmon_syscalltick.load(Relaxed) != t {
                pp.sysmon_syscalltick.store(t, Relaxed);
                pp.sysmon_syscallwhen.store(now, Relaxed);
                continue;
            }
            // Not worth a thread switch if the P has no work, others can take new
            // work, and the call is young (Go's rule).
            if pp.runq.is_empty()
                && pp.timer0_when.load(Relaxed) == 0
                && rt.nmspinning.load(SeqCst) + rt.npidle.load(SeqCst) > 0
                && pp.sysmon_syscallwhen.load(Relaxed) + SYSCALL_RETAKE_IDLE_NS > now
            {
                continue;
            }
            if pp
                .status
                .compare_exchange(Pstatus::Syscall as u32, Pstatus::Idle as u32, SeqCst, Relaxed)
                .is_ok()
            {
                if super::trace::on() {
                    super::trace::sysmon(super::trace::Ev::Handoff, pp.id, 0);
                }
                super::proc::handoffp(rt, pp as *const P as *mut P);
                n = true;
            }
            continue;
        }
        if status != Pstatus::Running {
            continue;
        }
        let t = pp.schedtick.load(Relaxed);
        if pp.sysmon_tick.load(Relaxed) != t {
            pp.sysmon_tick.store(t, Relaxed);
            pp.sysmon_when.store(now, Relaxed);
        } else if now - pp.sysmon_when.load(Relaxed) >= TIME_SLICE_NS && !pp.preempt.load(Relaxed) {
            pp.preempt.store(true, Relaxed);
            if super::trace::on() {
                super::trace::sysmon(super::trace::Ev::Preempt, pp.id, 0);
            }
            n = true;
            ended = true;
        }
    }
    (n, ended)
}

/// Prints one line like Go's GODEBUG=schedtrace.
pub(crate) fn schedtrace(rt: &Runtime) {
    let st = super::debug::stats(rt);
    let mut line = format!(
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={} goroutines={} [",
        (nanotime() - rt.start_time) / 1_000_000,
        st.procs,
        st.idle_procs,
        st.threads,
        st.spinning_threads,
        st.idle_threads,
        st.global_runq,
        st.goroutines
    );
    for (i, p) in rt.allp.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(&p.runq.len().to_string());
    }
    line.push_str("]\n");
    // SAFETY: write(2) of a valid buffer.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}
