//! The execution tracer and flight recorder: gs_trace_*. See docs/tracing.md.

use super::{ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::runtime::trace::{self, Ev};
use core::ffi::{c_char, c_int, CStr};

/// Starts tracing the whole program into fd: every scheduling event (goroutines
/// created, started, blocked with their reason, readied by whom, ended; steals;
/// Ms spinning, parking and waking; sysmon's hand-offs and yield requests; timers;
/// blocking calls; regions and log messages) is kept in memory, per thread and
/// without locks, and written to fd by gs_trace_stop in the JSON Trace Event format,
/// which the Perfetto UI (ui.perfetto.dev) and chrome://tracing open. The fd stays
/// the caller's: it must be open for writing until gs_trace_stop returns.
/// `GS_TRACE=path` in the environment does the same into a file from gs_init to
/// gs_shutdown (or exit). Works with or without a runtime; from a goroutine or any
/// thread. flags must be 0.
///
/// Returns 0; GS_EINVAL for a negative fd or non-zero flags; GS_EBUSY if a trace or
/// a flight recorder runs already.
#[no_mangle]
pub extern "C" fn gs_trace_start(fd: c_int, flags: u32) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if fd < 0 || flags != 0 {
            return Error::Inval.to_code();
        }
        super::code(trace::start_fd(fd))
    })
}

/// Starts the flight recorder: each thread that records events keeps its last
/// `bytes` of them (rounded up to a power of two times 64 KiB, at most 256 MiB;
/// 32 bytes per event) in a ring, overwriting
/// the oldest, so memory stays bounded (bytes times the number of traced threads)
/// however long the program runs. gs_trace_snapshot writes what the rings hold;
/// gs_trace_stop ends recording. `GS_TRACE=ring:SIZE` (SIZE in bytes, or with a
/// k, m or g suffix) does the same at gs_init.
///
/// Returns 0; GS_EINVAL for bytes 0 or above 2^40; GS_EBUSY if a trace or a flight
/// recorder runs already.
#[no_mangle]
pub extern "C" fn gs_trace_ring(bytes: u64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if bytes == 0 || bytes > 1 << 40 {
            return Error::Inval.to_code();
        }
        super::code(trace::start_ring(bytes))
    })
}

/// Writes what is traced so far to fd, in the format of gs_trace_start, while
/// tracing goes on: the flight recorder's last events, or everything a
/// gs_trace_start session has recorded. Events being written by other threads at
/// that moment are left out whole, never torn. From a goroutine (a full
/// non-blocking fd is waited for, as gs_write waits) or any thread.
///
/// Returns 0; GS_EINVAL for a negative or bad fd, or when nothing is being traced;
/// or the negative errno value of write(2) (-EPIPE when fd is a pipe or socket whose
/// reader is gone; no SIGPIPE is raised).
#[no_mangle]
pub extern "C" fn gs_trace_snapshot(fd: c_int) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if fd < 0 {
            return Error::Inval.to_code();
        }
        match trace::snapshot(fd) {
            Ok(()) => 0,
            Err(e) => e,
        }
    })
}

/// Stops tracing. After gs_trace_start (or GS_TRACE=path), writes the trace to its
/// fd (or file); after gs_trace_ring, drops the rings' contents (take a
/// gs_trace_snapshot first to keep them).
///
/// Returns 0; GS_EINVAL when nothing is being traced; or the negative errno value of
/// the failed open(2) or write(2) (-EPIPE when the fd is a pipe or socket whose
/// reader is gone; no SIGPIPE is raised).
#[no_mangle]
pub extern "C" fn gs_trace_stop() -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match trace::stop() {
            Ok(()) => 0,
            Err(e) => e,
        }
    })
}

/// The bytes of a C string argument, or GS_EINVAL for NULL.
fn arg_bytes<'a>(s: *const c_char) -> Result<&'a [u8], c_int> {
    if s.is_null() {
        return Err(Error::Inval.to_code());
    }
    // SAFETY: a non-NULL argument is a NUL-terminated string (API contract).
    Ok(unsafe { CStr::from_ptr(s) }.to_bytes())
}

/// Marks the beginning of a region named `name` in the calling goroutine (Go's
/// trace.WithRegion): the trace shows it as a slice from here to the matching
/// gs_trace_region_end, on its own track. Costs one load when nothing is traced.
/// Names longer than 264 bytes are cut.
///
/// Returns 0; GS_EINVAL for a NULL name.
#[no_mangle]
pub extern "C" fn gs_trace_region_begin(name: *const c_char) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match arg_bytes(name) {
            Ok(b) => {
                trace::user(Ev::RegionBegin, b);
                0
            }
            Err(e) => e,
        }
    })
}

/// Ends the region named `name` begun by gs_trace_region_begin in the calling
/// goroutine (regions nest; end them in reverse order).
///
/// Returns 0; GS_EINVAL for a NULL name.
#[no_mangle]
pub extern "C" fn gs_trace_region_end(name: *const c_char) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match arg_bytes(name) {
            Ok(b) => {
                trace::user(Ev::RegionEnd, b);
                0
            }
            Err(e) => e,
        }
    })
}

/// Records a log message in the trace (Go's trace.Log): an instant event on the
/// caller's track named `category`, with `message` in its arguments. Category and
/// message together are cut at 263 bytes. Costs one load when nothing is traced.
///
/// Returns 0; GS_EINVAL for a NULL category or message.
#[no_mangle]
pub extern "C" fn gs_trace_log(category: *const c_char, message: *const c_char) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        let (c, m) = match (arg_bytes(category), arg_bytes(message)) {
            (Ok(c), Ok(m)) => (c, m),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        trace::log(c, m);
        0
    })
}
