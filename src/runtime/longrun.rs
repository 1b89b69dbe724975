//! The long-running goroutine detector (`GS_DEBUG=longrun=MS`): sysmon reports a
//! goroutine that has run MS milliseconds without a scheduling point, on stderr and
//! as a trace event (trace.rs, `long-running G<id>`).
//!
//! A P passes a scheduling point whenever `execute` runs a goroutine on it, which
//! counts in `P::switches` (a yield, a park, a blocking call's return through the
//! scheduler). Sysmon, on each of its rounds, notes per P the count and since when
//! it has not changed while the P is Running; once that lasts MS, it names the
//! goroutine its M runs and reports it once for that stretch. The goroutine is
//! read through `P::m` and `M::curg` under the scheduler lock (Ms stay allocated
//! while they are in `allm`; Gs while the runtime lives). Its backtrace is not
//! taken: that would mean stopping a thread that runs user code at an unknown
//! point (a signal), which the runtime does not do; the report says where to look
//! instead (`gs_dump`, a debugger).
//!
//! Costs nothing when off: sysmon checks one word per round.

use super::p::Pstatus;
use super::sched::Runtime;
use core::sync::atomic::AtomicI64;
use core::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// The threshold in nanoseconds; 0: off. Set at gs_init from GS_DEBUG.
static LONGRUN_NS: AtomicI64 = AtomicI64::new(0);

/// Per P: the switch count seen, since when, and whether this stretch was reported.
/// Sysmon only (the lock is never contended).
static SEEN: Mutex<Vec<(u64, i64, bool)>> = Mutex::new(Vec::new());

/// Reads `longrun=MS` from GS_DEBUG (at gs_init); 0 or absent: off.
pub(crate) fn from_env() {
    let ms = std::env::var("GS_DEBUG")
        .ok()
        .and_then(|v| {
            v.split(',').find_map(|kv| kv.trim().strip_prefix("longrun=").and_then(|n| n.parse::<i64>().ok()))
        })
        .unwrap_or(0);
    LONGRUN_NS.store(ms.clamp(0, i64::MAX / 1_000_000) * 1_000_000, Relaxed);
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
        *seen = vec![(u64::MAX, now, false); rt.allp.len()];
    }
    for (pp, st) in rt.allp.iter().zip(seen.iter_mut()) {
        let sw = pp.switches.load(Relaxed);
        if pp.status() != Pstatus::Running || sw != st.0 {
            *st = (sw, now, false);
            continue;
        }
        if st.2 || now - st.1 < limit {
            continue;
        }
        st.2 = true;
        report(rt, pp, now - st.1);
    }
}

/// Names the goroutine running on `pp` and reports it.
#[cold]
fn report(rt: &Runtime, pp: &super::p::P, ran_ns: i64) {
    let (goid, name, mid) = {
        let s = rt.lock();
        let mp = pp.m.load(Relaxed);
        if mp.is_null() || !s.allm.contains(&mp) {
            return;
        }
        // SAFETY: mp is in allm, so alive while the lock is held.
        let m = unsafe { &*mp };
        let gp = m.curg();
        if gp.is_null() {
            return;
        }
        // SAFETY: Gs are never freed while the runtime lives.
        let g = unsafe { &*gp };
        (g.goid(), g.name_string(), m.id)
    };
    let named = if name.is_empty() { String::new() } else { format!(" \"{name}\"") };
    eprintln!(
        "gosched: goroutine {goid}{named} has run {} ms without a scheduling point (P{}, M{mid}); \
         no backtrace is taken from a running goroutine: gs_dump or a debugger (docs/debugging.md) shows where it is",
        ran_ns / 1_000_000,
        pp.id
    );
    if super::trace::on() {
        super::trace::longrun(pp.id, goid, ran_ns as u64);
    }
}
