//! Introspection: gs_stats_get, gs_dump.

use super::{ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::runtime::debug;
use crate::runtime::entry::{self};
use core::ffi::c_int;

/// Scheduler counters (a snapshot).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct gs_stats {
    /// alive (not dead)
    pub goroutines: u64,
    pub runnable: u64,
    /// parked
    pub waiting: u64,
    pub in_syscall: u64,
    pub procs: u32,
    pub idle_procs: u32,
    pub threads: u32,
    pub idle_threads: u32,
    pub spinning_threads: u32,
    pub global_runq: u64,
    pub spawned_total: u64,
    pub switches_total: u64,
    pub steals_total: u64,
    pub netpoll_waiters: u64,
    pub timers: u64,
}

/// Fills *out with a snapshot of the scheduler's counters. From a goroutine, inside
/// an unlockf or from a foreign thread.
///
/// Costs O(Ps + threads), whatever the number of goroutines: the counts of waiting
/// and in_syscall goroutines are kept per thread at each state change and added up
/// here, runnable is the rest of the live ones less those running on a thread (tens of
/// nanoseconds with a few Ps; no goroutine is visited; the scheduler's lock is held
/// for the length of the thread list). Each count is a snapshot that may be a moment
/// old. gs_dump, which lists every goroutine, costs O(goroutines).
///
/// Returns 0; GS_EINVAL for a NULL out; GS_ENOTINIT without a runtime; GS_ESHUTDOWN on
/// a foreign thread while gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_stats_get(out: *mut gs_stats) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if out.is_null() {
            return Error::Inval.to_code();
        }
        match entry::with_runtime(debug::stats) {
            Ok(s) => {
                let v = gs_stats {
                    goroutines: s.goroutines,
                    runnable: s.runnable,
                    waiting: s.waiting,
                    in_syscall: s.in_syscall,
                    procs: s.procs,
                    idle_procs: s.idle_procs,
                    threads: s.threads,
                    idle_threads: s.idle_threads,
                    spinning_threads: s.spinning_threads,
                    global_runq: s.global_runq,
                    spawned_total: s.spawned_total,
                    switches_total: s.switches_total,
                    steals_total: s.steals_total,
                    netpoll_waiters: s.netpoll_waiters,
                    timers: s.timers,
                };
                // SAFETY: out is non-NULL and points to a gs_stats (API contract).
                unsafe { out.write(v) };
                0
            }
            Err(e) => e.to_code(),
        }
    })
}

/// Writes a goroutine dump like Go's on SIGQUIT to fd: id, name, state, wait reason
/// and for how long, per goroutine, and how much of its stack is committed (the pages
/// it touched since its stack was made or last released: size stacks from this). A full non-blocking fd is waited for, as gs_write
/// waits. From a goroutine, inside an unlockf or from a foreign thread.
///
/// Returns 0; GS_EINVAL for a bad fd; GS_ENOTINIT without a runtime; GS_ESHUTDOWN on
/// a foreign thread while gs_shutdown runs; GS_ECANCELED or GS_EBUSY as gs_write,
/// for a goroutine waiting on a full fd; or another negative errno value of
/// write(2): -EPIPE when fd is a pipe or socket whose reader is gone (no SIGPIPE is
/// raised).
#[no_mangle]
pub extern "C" fn gs_dump(fd: c_int) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if fd < 0 {
            return Error::Inval.to_code();
        }
        let text = match entry::with_runtime(debug::dump) {
            Ok(t) => t,
            Err(e) => return e.to_code(),
        };
        debug::write_all(fd, text.as_bytes())
    })
}

pub use crate::runtime::debugger::DebugLayout;

/// cbindgen:ignore
///
/// Where the runtime keeps its goroutines, for debuggers: a version-stamped table of
/// addresses and field offsets that lets a debugger list the goroutines and unwind
/// the parked ones from memory alone, in a live process or a core file, without
/// debug information for the library. Not an API for programs: the gdb extension
/// shipped with the library (`gdb/gosched-gdb.py`) reads it; docs/debugging.md
/// describes it.
#[no_mangle]
#[used]
#[allow(non_upper_case_globals)]
pub static gs_debug_layout: DebugLayout = crate::runtime::debugger::debug_layout!();
