//! The current M of this OS thread.
//!
//! # Thread-locals move
//!
//! A goroutine may resume on another M after any switch (`mcall`). The value read from
//! `CUR_M` belongs to the thread, not the goroutine, so code running on a goroutine's
//! stack must read it again after every call that can switch, never keep the M (or
//! the TLS address) across one. Functions that switch are `#[inline(never)]` so that
//! the compiler cannot keep a thread-local's address cached in a register across them.
//! Code on g0 never moves: g0 belongs to its M.

use super::m::M;
use core::cell::Cell;
use core::ptr::null_mut;

thread_local! {
    /// The M running on this thread; null on foreign threads.
    static CUR_M: Cell<*mut M> = const { Cell::new(null_mut()) };
}

/// The M of the calling thread, or null on a foreign thread.
///
/// Never inlined: the compiler assumes a function runs on one thread and may reuse a
/// thread-local's address computed before a switch; a call to this function computes
/// it afresh every time (a switch is an opaque call, so two calls are never merged).
#[inline(never)]
pub(crate) fn getm() -> *mut M {
    CUR_M.with(|c| c.get())
}

/// Binds `mp` to the calling thread (null unbinds).
#[inline]
pub(crate) fn setm(mp: *mut M) {
    CUR_M.with(|c| c.set(mp));
}
