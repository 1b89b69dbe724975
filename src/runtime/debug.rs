//! Introspection: the numbers of gs_stats and the goroutine dump of gs_dump.
//! Both read shared state without stopping the world: each number is a snapshot that
//! may be a moment old, as Go's are.

use super::g::Gstatus;
use super::sched::Runtime;
use crate::error::Error;
use core::sync::atomic::Ordering::*;

/// The fields of `gs_stats`, in core form.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct Stats {
    pub(crate) goroutines: u64,
    pub(crate) runnable: u64,
    pub(crate) waiting: u64,
    pub(crate) in_syscall: u64,
    pub(crate) procs: u32,
    pub(crate) idle_procs: u32,
    pub(crate) threads: u32,
    pub(crate) idle_threads: u32,
    pub(crate) spinning_threads: u32,
    pub(crate) global_runq: u64,
    pub(crate) spawned_total: u64,
    pub(crate) switches_total: u64,
    pub(crate) steals_total: u64,
    pub(crate) netpoll_waiters: u64,
    pub(crate) timers: u64,
}

pub(crate) fn stats(rt: &Runtime) -> Stats {
    let mut st = Stats::default();
    (st.runnable, st.waiting, st.in_syscall) = super::gstats::counts(rt);
    st.goroutines = rt.live_goroutines();
    st.procs = rt.allp.len() as u32;
    st.idle_procs = rt.npidle.load(Relaxed);
    st.threads = rt.nm_alive.load(Relaxed);
    st.spinning_threads = rt.nmspinning.load(Relaxed);
    {
        let s = rt.lock();
        st.idle_threads = s.midle.len() as u32;
    }
    st.global_runq = rt.runqsize.load(Relaxed) as u64;
    for p in rt.allp.iter() {
        st.spawned_total += p.spawned.load(Relaxed);
        st.switches_total += p.switches.load(Relaxed);
        st.steals_total += p.steals.load(Relaxed);
    }
    st.spawned_total += rt.spawned_foreign.load(Relaxed);
    st.switches_total += rt.host_switches.load(Relaxed);
    st.timers = rt.allp.iter().map(|p| p.ntimers.load(Relaxed) as u64).sum();
    st.netpoll_waiters = rt.netpoll.waiters.load(Relaxed);
    st
}

/// Writes a goroutine dump like Go's on SIGQUIT: one block per live goroutine with
/// id, name, state, wait reason and how long it has waited, and its stack's
/// committed pages.
pub(crate) fn dump(rt: &Runtime) -> String {
    let now = super::time::coarsetime();
    let st = stats(rt);
    let mut out = format!(
        "gosched: {} goroutines, {} procs ({} idle), {} threads\n",
        st.goroutines, st.procs, st.idle_procs, st.threads
    );
    for p in rt.allp.iter() {
        out.push_str(&format!("P{} {:?} runq={}\n", p.id, p.status(), p.runq.len()));
    }
    {
        let s = rt.lock();
        for &mp in s.allm.iter() {
            // SAFETY: Ms in allm are alive while the lock is held.
            let m = unsafe { &*mp };
            let state = if m.in_syscall.load(Relaxed) {
                "in a blocking call"
            } else if m.idle.load(Relaxed) {
                "idle"
            } else {
                "running"
            };
            out.push_str(&format!("M{} tid={} {}\n", m.id, m.tid.load(Relaxed), state));
        }
    }
    out.push('\n');
    rt.allgs.for_each(|g| {
        let status = g.status();
        if matches!(status, Gstatus::Dead | Gstatus::Idle) {
            return;
        }
        let name = g.name_string();
        out.push_str(&format!("goroutine {}", g.goid()));
        if !name.is_empty() {
            out.push_str(&format!(" \"{name}\""));
        }
        out.push_str(&format!(" [{}", status.name()));
        if status == Gstatus::Waiting {
            let r = g.waitreason.load(Relaxed);
            let reason = if r.is_null() {
                "park".to_string()
            } else {
                // SAFETY: the reason string must stay valid while parked (gs_park in gosched.h).
                unsafe { core::ffi::CStr::from_ptr(r) }.to_string_lossy().into_owned()
            };
            let since = g.waitsince.load(Relaxed) as i64;
            let mins = (now - since).max(0) / 60_000_000_000;
            let ms = (now - since).max(0) / 1_000_000;
            out.push_str(&format!(", {reason}, {ms} ms"));
            if mins > 0 {
                out.push_str(&format!(" ({mins} minutes)"));
            }
        }
        out.push_str("]:\n");
        out.push_str(&format!("\tentry {:#x}\n", g.startfn));
        // The owner may swap the stack only once the G is dead; a G that dies meanwhile
        // leaves a range that mincore reports as unmapped or released.
        // SAFETY: a plain read of two words of a G that stays allocated.
        let (lo, hi) =
            unsafe { (core::ptr::read_volatile(&g.stack.lo), core::ptr::read_volatile(&g.stack.hi)) };
        if let Some(used) = super::stackuse::committed(lo, hi) {
            out.push_str(&format!("\tstack {} KiB committed of {} KiB\n", used / 1024, (hi - lo) / 1024));
        }
        out.push('\n');
    });
    out
}

/// Writes `text` whole to `fd`, for gs_dump: a reader that is gone gives -EPIPE, not
/// SIGPIPE (see *SIGPIPE* in signal.rs); a full non-blocking fd is waited for (a
/// goroutine parks, a thread polls). Returns 0 or a negative code.
pub(crate) fn write_all(fd: i32, text: &[u8]) -> i32 {
    let mut b = text;
    while !b.is_empty() {
        let n = super::signal::write_nosigpipe(fd, b.as_ptr(), b.len());
        if n >= 0 {
            b = &b[n as usize..];
            continue;
        }
        match -n as i32 {
            libc::EINTR => {}
            libc::EAGAIN => {
                if let Err(e) = super::fdwait::wait_fd_any(fd, super::netpoll::GS_POLLOUT, -1) {
                    return e.to_code();
                }
            }
            libc::EBADF => return Error::Inval.to_code(),
            e => return -e,
        }
    }
    0
}
