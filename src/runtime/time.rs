//! Monotonic time.

use core::sync::atomic::{AtomicI64, Ordering::Relaxed};

/// `coarsetime` as of the last `coarse_tick`. Debuggers read it (gs_debug_layout).
pub(crate) static COARSE_NOW: AtomicI64 = AtomicI64::new(0);

/// Monotonic nanoseconds (CLOCK_MONOTONIC; vDSO, no syscall).
#[inline]
pub(crate) fn nanotime() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Sleeps the calling OS thread for `ns` nanoseconds (restarting on EINTR).
pub(crate) fn thread_sleep(ns: i64) {
    if ns <= 0 {
        return;
    }
    let mut ts = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        let mut rem = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: both timespecs are valid for the call.
        let r = unsafe { libc::nanosleep(&ts, &mut rem) };
        if r == 0 {
            return;
        }
        ts = rem;
    }
}

/// Coarse monotonic nanoseconds (CLOCK_MONOTONIC_COARSE: a few ms resolution, cheaper
/// than `nanotime`). For bookkeeping that only dumps read, such as wait durations.
#[inline]
pub(crate) fn coarsetime() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// A recent `coarsetime`, without reading the clock: sysmon refreshes it every round
/// (at most 10 ms apart while any P runs), and so does whoever wakes it from its deep
/// sleep. For timestamps of parked goroutines (`G::waitsince`), which only dumps read.
#[inline]
pub(crate) fn coarse_now() -> i64 {
    COARSE_NOW.load(Relaxed)
}

/// Refreshes `coarse_now`.
pub(crate) fn coarse_tick() {
    COARSE_NOW.store(coarsetime(), Relaxed);
}
