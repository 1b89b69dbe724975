//! The long-running goroutine detector (`GS_DEBUG=longrun=MS`): sysmon reports a
//! goroutine that has run MS milliseconds without a scheduling point, on stderr and
//! as a trace event (trace.rs, `long-running G<id>`).
//!
//! A P passes a scheduling point whenever `execute` runs a goroutine on it, which
//! counts in `P::switches` (a yield, a park, a blocking call's return through the
//! scheduler). Sysmon, on each of its rounds, notes per P the count and since when
//! it has not changed while the P is Running; once that lasts MS, it names the
//! goroutine its M runs and reports it once for that stretch, once its thread has
//! also spent MS/2 on the CPU since the stretch reached MS/2: on a loaded machine the
//! kernel may keep a thread that yields often off the CPU for longer than MS, and
//! that is not the goroutine's doing (a goroutine that runs while its thread gets
//! half of a CPU is reported after about 1.5 MS). The goroutine is
//! read through `P::m` and `M::curg` under the scheduler lock (Ms stay allocated
//! while they are in `allm`; Gs while the runtime lives). Its backtrace is taken
//! where that is safe, by a signal to its thread whose handler only copies the
//! frame-pointer chain inside the goroutine's stack (longrun_bt.rs, *Taking it*);
//! the report says why when there is none.
//!
//! Costs nothing when off: sysmon checks one word per round, and SIGURG keeps its
//! disposition.

use super::p::Pstatus;
use super::sched::Runtime;
use core::sync::atomic::AtomicI64;
use core::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// The threshold in nanoseconds; 0: off. Set at gs_init from GS_DEBUG or gs_config.
static LONGRUN_NS: AtomicI64 = AtomicI64::new(0);

/// Per P, sysmon's view of the current stretch without a scheduling point.
#[derive(Clone, Copy)]
struct Stretch {
    /// `P::switches` when it began, and when (nanotime).
    switches: u64,
    since: i64,
    /// The CPU time of the P's thread (its tid) at half the threshold: the stretch
    /// counts only if the thread ran, not if the kernel kept it off the CPU
    /// meanwhile (a loaded machine).
    half: Option<(i32, i64)>,
    reported: bool,
}

/// Sysmon only (the lock is never contended).
static SEEN: Mutex<Vec<Stretch>> = Mutex::new(Vec::new());

/// Sets the threshold at gs_init: `longrun=MS` of GS_DEBUG when present (0: off),
/// else `cfg_ms`, gs_config's `longrun_ms` (0: off). The environment wins, as Go's
/// GODEBUG wins over the settings a program was built with: whoever runs the
/// program can switch the detector on or off without a rebuild.
pub(crate) fn from_env(cfg_ms: u32) {
    let ms = std::env::var("GS_DEBUG")
        .ok()
        .and_then(|v| {
            v.split(',').find_map(|kv| kv.trim().strip_prefix("longrun=").and_then(|n| n.parse::<i64>().ok()))
        })
        .unwrap_or(i64::from(cfg_ms));
    LONGRUN_NS.store(ms.clamp(0, i64::MAX / 1_000_000) * 1_000_000, Relaxed);
    if ms > 0 {
        super::longrun_bt::install();
    }
    SEEN.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Whether the detector is on. Sysmon's one check per round.
#[inline]
pub(crate) fn enabled() -> bool {
    LONGRUN_NS.load(Relaxed) != 0
}

/// One round of sysmon at `now`. Executed by sysmon only.
pub(crate) fn check(rt: &Runtime, now: i64) {
    let limit = LONGRUN_NS.load(Relaxed);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.len() != rt.allp.len() {
        *seen = vec![Stretch { switches: u64::MAX, since: now, half: None, reported: false }; rt.allp.len()];
    }
    for (pp, st) in rt.allp.iter().zip(seen.iter_mut()) {
        let sw = pp.switches.load(Relaxed);
        if pp.status() != Pstatus::Running || sw != st.switches {
            *st = Stretch { switches: sw, since: now, half: None, reported: false };
            continue;
        }
        if st.reported || now - st.since < limit / 2 {
            continue;
        }
        let Some((g, tid)) = running_on(rt, pp) else { continue };
        let cpu = thread_cpu_ns(tid);
        match st.half {
            Some((t, c)) if t == tid => {
                // Since the half, the thread itself ran for another half.
                if now - st.since >= limit && cpu - c >= limit / 2 {
                    st.reported = true;
                    report(pp, g, tid, now - st.since);
                }
            }
            _ => st.half = Some((tid, cpu)),
        }
    }
}

/// The CPU time of thread `tid` of this process (Linux's per-thread CPU clock).
fn thread_cpu_ns(tid: i32) -> i64 {
    // The clock id of a thread's scheduler CPU time: MAKE_THREAD_CPUCLOCK(tid,
    // CPUCLOCK_SCHED) of the kernel's posix-timers.h.
    let clock = ((!(tid as libc::clockid_t)) << 3) | 6;
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec; a bad clock id only makes the call fail.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// The goroutine running on `pp` (id, name, M id) and its thread's tid.
fn running_on(rt: &Runtime, pp: &super::p::P) -> Option<((u64, String, u64), i32)> {
    let s = rt.lock();
    let mp = pp.m.load(Relaxed);
    if mp.is_null() || !s.allm.contains(&mp) {
        return None;
    }
    // SAFETY: mp is in allm, so alive while the lock is held.
    let m = unsafe { &*mp };
    let gp = m.curg();
    if gp.is_null() {
        return None;
    }
    // SAFETY: Gs are never freed while the runtime lives.
    let g = unsafe { &*gp };
    Some(((g.goid(), g.name_string(), m.id), m.tid.load(Relaxed)))
}

/// Reports goroutine `g` (id, name, M id), running on `pp` (thread `tid`) for
/// `ran_ns`, with its backtrace when it can be taken.
#[cold]
fn report(pp: &super::p::P, g: (u64, String, u64), tid: i32, ran_ns: i64) {
    let (goid, name, mid) = g;
    let named = if name.is_empty() { String::new() } else { format!(" \"{name}\"") };
    let head = format!(
        "gosched: goroutine {goid}{named} has run {} ms without a scheduling point (P{}, M{mid})",
        ran_ns / 1_000_000,
        pp.id
    );
    // One write, so that the lines stay together.
    let bt = super::longrun_bt::take(tid, goid);
    match &bt {
        Ok(frames) => eprint!("{head}; where it runs:\n{}", super::longrun_bt::lines(frames)),
        Err(why) => eprintln!("{head}; no backtrace: {why} (gs_dump or a debugger shows where it is)"),
    }
    if super::trace::on() {
        // The symbols, else the file name and offset, one per line.
        let short: Vec<String> = bt
            .iter()
            .flatten()
            .map(|f| {
                f.symbol
                    .clone()
                    .unwrap_or_else(|| f.module.rsplit('/').next().unwrap_or_default().to_string())
            })
            .collect();
        super::trace::longrun(pp.id, goid, ran_ns as u64, short.join("\n").as_bytes());
    }
}
