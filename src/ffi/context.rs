//! Cancellation contexts: gs_context_* (in the style of Go's context package).
//!
//! A context is canceled by gs_context_cancel, by its deadline, or when its parent is
//! canceled; then its done channel is closed (a receive on it returns GS_ECLOSED at
//! once, and a select chooses it) and gs_context_err tells why. The blocking calls
//! keep their timeout parameter; to make a wait also end on cancellation, select on
//! the done channel next to the operation:
//!
//!     gs_select_case cases[2] = {
//!         {.chan = jobs, .op = GS_RECV, .elem = &job},
//!         {.chan = gs_context_done(ctx), .op = GS_RECV, .elem = NULL},
//!     };
//!     if (gs_select(cases, 2, -1) == 1)
//!         return gs_context_err(ctx);   // GS_ECANCELED or GS_ETIMEDOUT
//!
//! Children must be freed before their parent (gs_context_free refuses a context
//! with children); freeing a context cancels it and its children.

use super::chan::gs_chan;
use super::{ffi_boundary, handle, PANIC_CODE};
use crate::error::Error;
use crate::sync::context::{Context, CtxKind};
use crate::sync::waiter::NEVER;
use core::ffi::{c_int, c_void};

/// Opaque context handle.
pub struct gs_context {
    _private: [u8; 0],
}

fn child(
    parent: *mut gs_context,
    kind: CtxKind,
    deadline: i64,
    key: *const c_void,
    value: *mut c_void,
    out: *mut *mut gs_context,
) -> c_int {
    if out.is_null() {
        return Error::Inval.to_code();
    }
    let p = match handle::<Context, _>(parent) {
        Ok(p) => p,
        Err(e) => return e,
    };
    match Context::new(p, kind, deadline, key, value) {
        Ok(c) => {
            // SAFETY: out is non-null and points to a handle the caller provides.
            unsafe { *out = c as *mut gs_context };
            0
        }
        Err(e) => e.to_code(),
    }
}

/// The background context (Go's context.Background): the root of every tree, never
/// canceled, without deadline or values; its done channel is NULL, which a select
/// never chooses. The same for every call; freeing it does nothing. Works without a
/// runtime.
///
/// Returns the background context.
#[no_mangle]
pub extern "C" fn gs_context_background() -> *mut gs_context {
    ffi_boundary!(core::ptr::null_mut(), { Context::background() as *mut gs_context })
}

/// Makes a child of parent that gs_context_cancel cancels (Go's WithCancel), and
/// stores it in *out. Canceled at once if parent is. Works without a runtime.
///
/// Returns 0; GS_EINVAL for a NULL out, or a parent that is NULL or not a live
/// context; GS_ENOMEM if memory runs out.
#[no_mangle]
pub extern "C" fn gs_context_with_cancel(parent: *mut gs_context, out: *mut *mut gs_context) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        child(parent, CtxKind::Cancel, NEVER, core::ptr::null(), core::ptr::null_mut(), out)
    })
}

/// Makes a child of parent that is also canceled, with GS_ETIMEDOUT (Go's
/// DeadlineExceeded), when gs_nanotime reaches deadline_ns (Go's WithDeadline), and
/// stores it in *out. If the parent's deadline is earlier, the child has the
/// parent's. A deadline already passed cancels it at once.
///
/// Returns 0; GS_EINVAL for a NULL out, or a parent that is NULL or not live;
/// GS_ENOTINIT without a runtime (for a deadline that needs a timer); GS_ESHUTDOWN
/// while gs_shutdown runs; GS_ENOMEM if memory runs out.
#[no_mangle]
pub extern "C" fn gs_context_with_deadline(
    parent: *mut gs_context,
    deadline_ns: i64,
    out: *mut *mut gs_context,
) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        child(parent, CtxKind::Cancel, deadline_ns.max(1), core::ptr::null(), core::ptr::null_mut(), out)
    })
}

/// gs_context_with_deadline(parent, gs_nanotime() + timeout_ns, out) (Go's
/// WithTimeout); timeout_ns <= 0 makes it canceled at once.
///
/// Returns 0; GS_EINVAL for a NULL out, or a parent that is NULL or not live;
/// GS_ENOTINIT without a runtime (for a deadline that needs a timer); GS_ESHUTDOWN
/// while gs_shutdown runs; GS_ENOMEM if memory runs out (as gs_context_with_deadline).
#[no_mangle]
pub extern "C" fn gs_context_with_timeout(
    parent: *mut gs_context,
    timeout_ns: i64,
    out: *mut *mut gs_context,
) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        let d = crate::runtime::time::nanotime().saturating_add(timeout_ns.max(0));
        child(parent, CtxKind::Cancel, d, core::ptr::null(), core::ptr::null_mut(), out)
    })
}

/// Makes a child of parent that carries value under key (Go's WithValue), and
/// stores it in *out; gs_context_value on it or its descendants finds it (keys are
/// compared as pointers). It is canceled only with its parent (gs_context_cancel
/// refuses it). Works without a runtime.
///
/// Returns 0; GS_EINVAL for a NULL out, or a parent that is NULL or not live;
/// GS_ENOMEM if memory runs out.
#[no_mangle]
pub extern "C" fn gs_context_with_value(
    parent: *mut gs_context,
    key: *const c_void,
    value: *mut c_void,
    out: *mut *mut gs_context,
) -> c_int {
    ffi_boundary!(PANIC_CODE, { child(parent, CtxKind::Value, NEVER, key, value, out) })
}

/// Cancels ctx and every descendant not canceled yet, with GS_ECANCELED: their done
/// channels are closed. Canceling again does nothing. Never blocks; works anywhere.
///
/// Returns 0; GS_EINVAL for NULL, a context that is not live, the background
/// context, or a value context (canceled only with its parent, as in Go).
#[no_mangle]
pub extern "C" fn gs_context_cancel(ctx: *mut gs_context) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Context, _>(ctx) {
            Ok(c) if c.kind() == CtxKind::Cancel => {
                c.cancel();
                0
            }
            Ok(_) => Error::Inval.to_code(),
            Err(e) => e,
        }
    })
}

/// The done channel of ctx (elements of size 0), closed when ctx is canceled: for
/// gs_select or gs_chan_recv (which returns GS_ECLOSED once it is closed). Owned by
/// the context: do not close or free it. The blocking calls keep their timeout
/// parameter; a wait that must also end on cancellation selects on this channel:
///
///     gs_select_case cases[2] = {
///         {.chan = jobs, .op = GS_RECV, .elem = &job},
///         {.chan = gs_context_done(ctx), .op = GS_RECV, .elem = NULL},
///     };
///     if (gs_select(cases, 2, -1) == 1)
///         return gs_context_err(ctx);   // GS_ECANCELED or GS_ETIMEDOUT
///
/// Returns the channel; NULL for the background context (a select never chooses a
/// NULL channel), for NULL, and for a context that is not live.
#[no_mangle]
pub extern "C" fn gs_context_done(ctx: *mut gs_context) -> *mut gs_chan {
    ffi_boundary!(core::ptr::null_mut(), {
        match handle::<Context, _>(ctx) {
            Ok(c) => c.done() as *mut gs_chan,
            Err(_) => core::ptr::null_mut(),
        }
    })
}

/// Why ctx was canceled (Go's Err). Once it is not 0 it never changes.
///
/// Returns 0 while ctx is not canceled; GS_ECANCELED if it (or an ancestor) was
/// canceled; GS_ETIMEDOUT if its deadline (or an ancestor's) passed first; GS_EINVAL
/// for NULL or a context that is not live.
#[no_mangle]
pub extern "C" fn gs_context_err(ctx: *mut gs_context) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Context, _>(ctx) {
            Ok(c) => c.err(),
            Err(e) => e,
        }
    })
}

/// Stores ctx's deadline (gs_nanotime clock) in *out if it has one (Go's Deadline).
///
/// Returns 1 if it has a deadline (stored in *out); 0 if not (*out untouched);
/// GS_EINVAL for a NULL ctx or out, or a context that is not live.
#[no_mangle]
pub extern "C" fn gs_context_deadline(ctx: *mut gs_context, out: *mut i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if out.is_null() {
            return Error::Inval.to_code();
        }
        match handle::<Context, _>(ctx) {
            Ok(c) if c.deadline() == NEVER => 0,
            Ok(c) => {
                // SAFETY: non-null, the caller's.
                unsafe { *out = c.deadline() };
                1
            }
            Err(e) => e,
        }
    })
}

/// The value stored under key by the nearest gs_context_with_value on the way from
/// ctx up to the root (Go's Value).
///
/// Returns the value; NULL if no context on the way has key, and for NULL or a
/// context that is not live.
#[no_mangle]
pub extern "C" fn gs_context_value(ctx: *mut gs_context, key: *const c_void) -> *mut c_void {
    ffi_boundary!(core::ptr::null_mut(), {
        match handle::<Context, _>(ctx) {
            Ok(c) => c.value(key),
            Err(_) => core::ptr::null_mut(),
        }
    })
}

/// Cancels ctx (as gs_context_cancel, also for a value context) and frees it with
/// its done channel and deadline timer. Freeing the background context does nothing.
///
/// Returns 0 once freed; GS_EBUSY (ctx stays, canceled) while it has children that
/// are not freed, or a goroutine or thread is still inside its done channel (just
/// woken by the close: try again); GS_EINVAL for NULL or a context that is not live
/// (a freed handle is refused while in the quarantine described at gs_mutex_free);
/// GS_ESHUTDOWN while gs_shutdown runs (for a context with a deadline timer).
#[no_mangle]
pub extern "C" fn gs_context_free(ctx: *mut gs_context) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Context, _>(ctx) {
            // SAFETY: a live handle; the caller's own calls on it are over.
            Ok(_) => super::code(unsafe { Context::free(ctx as *mut Context) }),
            Err(e) => e,
        }
    })
}
