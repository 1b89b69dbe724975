//! Time: gs_nanotime, gs_sleep.

use super::{ffi_boundary, PANIC_CODE};
use crate::runtime::{entry, time};
use core::ffi::c_int;

/// The monotonic clock.
///
/// Returns nanoseconds since an arbitrary start (CLOCK_MONOTONIC).
#[no_mangle]
pub extern "C" fn gs_nanotime() -> i64 {
    ffi_boundary!(0, { time::nanotime() })
}

/// Sleeps for ns nanoseconds: parks the calling goroutine on a timer (ns <= 0 just
/// yields); off-goroutine, sleeps the thread (nanosleep). A goroutine still asleep
/// when gs_shutdown runs is abandoned.
///
/// Returns 0; nothing fails.
#[no_mangle]
pub extern "C" fn gs_sleep(ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        entry::sleep_any(ns);
        0
    })
}
