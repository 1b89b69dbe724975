//! Timers and tickers as channels, after-funcs: gs_timer_*, gs_ticker_*,
//! gs_after_func (Go's time.NewTimer, time.NewTicker, time.AfterFunc), with Go 1.23's
//! semantics: after gs_timer_stop or gs_timer_reset returns, no value of the old
//! arming is received.
//!
//! A timer's or ticker's channel carries an int64_t, the gs_nanotime at which it
//! fired, and is usable wherever a channel is, gs_select included. The idiom for a
//! blocking receive with a deadline, or for giving up on cancellation:
//!
//!     gs_timer *t;
//!     gs_timer_new(50 * 1000000LL, &t);
//!     int64_t v, when;
//!     gs_select_case cases[2] = {
//!         {.chan = c, .op = GS_RECV, .elem = &v},
//!         {.chan = gs_timer_chan(t), .op = GS_RECV, .elem = &when},
//!     };
//!     int i = gs_select(cases, 2, -1);   // 1: the timer fired first
//!     gs_timer_free(t);
//!
//! The channel belongs to the timer: do not close or free it. Freeing the timer
//! stops it first, waiting for a fire that is running: no send into freed memory
//! is ever pending. Timers need a running runtime; they die with it at gs_shutdown.

use super::chan::gs_chan;
use super::lifecycle::gs_fn;
use super::{ffi_boundary, handle, PANIC_CODE};
use crate::error::Error;
use crate::sync::timer::{Kindof, TimerChan};
use core::ffi::{c_int, c_void};

/// Opaque one-shot timer (or after-func) handle.
pub struct gs_timer {
    _private: [u8; 0],
}

/// Opaque ticker handle.
pub struct gs_ticker {
    _private: [u8; 0],
}

fn make(kind: Kindof, ns: i64, f: gs_fn, arg: *mut c_void, out: *mut *mut TimerChan) -> c_int {
    if out.is_null() {
        return Error::Inval.to_code();
    }
    match TimerChan::new(kind, ns, f, arg) {
        Ok(t) => {
            // SAFETY: out is non-null and points to a handle the caller provides.
            unsafe { *out = t };
            0
        }
        Err(e) => e.to_code(),
    }
}

fn of_kind<'a>(p: *const TimerChan, ticker: bool) -> Result<&'a TimerChan, c_int> {
    let t = handle::<TimerChan, _>(p)?;
    if (t.kind() == Kindof::Ticker) != ticker {
        return Err(Error::Inval.to_code());
    }
    Ok(t)
}

fn bool_code(r: crate::error::Result<bool>) -> c_int {
    match r {
        Ok(b) => b as c_int,
        Err(e) => e.to_code(),
    }
}

/// Creates a timer that sends the time on its channel once, ns nanoseconds from now
/// (ns <= 0: at once), and stores it in *out.
///
/// Returns 0; GS_EINVAL for a NULL out; GS_ENOTINIT without a runtime; GS_ESHUTDOWN
/// while gs_shutdown runs; GS_ENOMEM if memory runs out.
#[no_mangle]
pub extern "C" fn gs_timer_new(ns: i64, out: *mut *mut gs_timer) -> c_int {
    ffi_boundary!(PANIC_CODE, { make(Kindof::Timer, ns, None, core::ptr::null_mut(), out.cast()) })
}

/// Creates a timer that starts fn(arg) as a new goroutine once, ns nanoseconds from
/// now (Go's time.AfterFunc), and stores it in *out; gs_timer_stop prevents it,
/// gs_timer_reset arms it again, gs_timer_free frees it (the goroutine, once
/// started, is independent of it). It has no channel. If no goroutine can be made
/// when it fires (memory runs out), fn does not run.
///
/// Returns 0; GS_EINVAL for a NULL fn or out; GS_ENOTINIT without a runtime;
/// GS_ESHUTDOWN while gs_shutdown runs; GS_ENOMEM if memory runs out.
#[no_mangle]
pub extern "C" fn gs_after_func(ns: i64, fn_: gs_fn, arg: *mut c_void, out: *mut *mut gs_timer) -> c_int {
    ffi_boundary!(PANIC_CODE, { make(Kindof::AfterFunc, ns, fn_, arg, out.cast()) })
}

/// The channel of timer t (elements: int64_t, the gs_nanotime it fired at; capacity
/// 1), for gs_chan_recv or gs_select. Owned by the timer: do not close or free it.
/// A receive that gives up after 50 ms, in a select with other cases:
///
///     gs_timer *t;
///     gs_timer_new(50 * 1000000LL, &t);
///     int64_t v, when;
///     gs_select_case cases[2] = {
///         {.chan = c, .op = GS_RECV, .elem = &v},
///         {.chan = gs_timer_chan(t), .op = GS_RECV, .elem = &when},
///     };
///     int i = gs_select(cases, 2, -1);   // 1: the timer fired first
///     gs_timer_free(t);
///
/// Returns the channel; NULL for NULL, a timer that is not live, or an after-func.
#[no_mangle]
pub extern "C" fn gs_timer_chan(t: *mut gs_timer) -> *mut gs_chan {
    ffi_boundary!(core::ptr::null_mut(), {
        match of_kind(t.cast(), false) {
            Ok(x) => x.chan() as *mut gs_chan,
            Err(_) => core::ptr::null_mut(),
        }
    })
}

/// Stops t (Go 1.23's Timer.Stop): it will not fire, and a value it sent that was
/// not received yet is taken out of its channel, so none is received afterwards. An
/// after-func that has not started its goroutine never does.
///
/// Returns 1 if the call stopped it (it was armed, or its value was still in the
/// channel); 0 if it had fired and its value was received (or it was stopped
/// already); GS_EINVAL for NULL or a timer that is not live; GS_ESHUTDOWN while
/// gs_shutdown runs. After gs_shutdown the timer never fires again.
#[no_mangle]
pub extern "C" fn gs_timer_stop(t: *mut gs_timer) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match of_kind(t.cast(), false) {
            Ok(x) => bool_code(x.stop()),
            Err(e) => e,
        }
    })
}

/// Stops t as gs_timer_stop does and arms it again to fire ns nanoseconds from now
/// (ns <= 0: at once) (Go 1.23's Timer.Reset): the channel receives only the new
/// firing's value.
///
/// Returns 1 if t was armed (or its value still in the channel) before the call, 0
/// if not; GS_EINVAL for NULL or a timer that is not live; GS_ENOTINIT if its runtime
/// was shut down since it was made; GS_ESHUTDOWN while gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_timer_reset(t: *mut gs_timer, ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match of_kind(t.cast(), false) {
            Ok(x) => bool_code(x.reset(ns)),
            Err(e) => e,
        }
    })
}

/// Stops and frees t with its channel. Works after gs_shutdown too.
///
/// Returns 0 once freed: nothing sends into it or runs for it any more; GS_EBUSY
/// (t stays, stopped) while a goroutine or thread waits on its channel; GS_EINVAL for
/// NULL or a timer that is not live (a freed handle is refused while in the
/// quarantine described at gs_mutex_free); GS_ESHUTDOWN while gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_timer_free(t: *mut gs_timer) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match of_kind(t.cast(), false) {
            // SAFETY: a live handle; the caller's own calls on it are over.
            Ok(_) => super::code(unsafe { TimerChan::free(t as *mut TimerChan) }),
            Err(e) => e,
        }
    })
}

/// Creates a ticker that sends the time on its channel every period_ns nanoseconds
/// (Go's time.NewTicker), and stores it in *out. A receiver that is slow misses
/// ticks: the channel holds at most one, and the ticks that find it full are
/// dropped; the next tick comes at the next multiple of the period.
///
/// Returns 0; GS_EINVAL for period_ns <= 0 or a NULL out; GS_ENOTINIT without a
/// runtime; GS_ESHUTDOWN while gs_shutdown runs; GS_ENOMEM if memory runs out.
#[no_mangle]
pub extern "C" fn gs_ticker_new(period_ns: i64, out: *mut *mut gs_ticker) -> c_int {
    ffi_boundary!(PANIC_CODE, { make(Kindof::Ticker, period_ns, None, core::ptr::null_mut(), out.cast()) })
}

/// The channel of ticker t (elements: int64_t, capacity 1). Owned by the ticker: do
/// not close or free it.
///
/// Returns the channel; NULL for NULL or a ticker that is not live.
#[no_mangle]
pub extern "C" fn gs_ticker_chan(t: *mut gs_ticker) -> *mut gs_chan {
    ffi_boundary!(core::ptr::null_mut(), {
        match of_kind(t.cast(), true) {
            Ok(x) => x.chan() as *mut gs_chan,
            Err(_) => core::ptr::null_mut(),
        }
    })
}

/// Stops t (Go's Ticker.Stop): no more ticks, and a tick not received yet is taken
/// out of the channel.
///
/// Returns 0; GS_EINVAL for NULL or a ticker that is not live; GS_ESHUTDOWN while
/// gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_ticker_stop(t: *mut gs_ticker) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match of_kind(t.cast(), true) {
            Ok(x) => match x.stop() {
                Ok(_) => 0,
                Err(e) => e.to_code(),
            },
            Err(e) => e,
        }
    })
}

/// Stops t and starts it again with the period period_ns (Go's Ticker.Reset): the
/// next tick is period_ns from now.
///
/// Returns 0; GS_EINVAL for period_ns <= 0, NULL or a ticker that is not live;
/// GS_ENOTINIT if its runtime was shut down since it was made; GS_ESHUTDOWN while
/// gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_ticker_reset(t: *mut gs_ticker, period_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match of_kind(t.cast(), true) {
            Ok(x) => match x.reset(period_ns) {
                Ok(_) => 0,
                Err(e) => e.to_code(),
            },
            Err(e) => e,
        }
    })
}

/// Stops and frees t with its channel. Works after gs_shutdown too.
///
/// Returns 0 once freed; GS_EBUSY (t stays, stopped) while a goroutine or thread
/// waits on its channel; GS_EINVAL for NULL or a ticker that is not live;
/// GS_ESHUTDOWN while gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_ticker_free(t: *mut gs_ticker) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match of_kind(t.cast(), true) {
            // SAFETY: a live handle; the caller's own calls on it are over.
            Ok(_) => super::code(unsafe { TimerChan::free(t as *mut TimerChan) }),
            Err(e) => e,
        }
    })
}
