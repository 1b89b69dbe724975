//! Channels, select, wait groups, mutexes: gs_chan_*, gs_select.
//!
//! Channels are plain memory: gs_chan_new works without a runtime, and so does every
//! operation; a foreign thread that blocks without a runtime blocks as a plain thread.

use super::{code, ffi_boundary, handle, PANIC_CODE};
use crate::error::Error;
use crate::sync::chan::{self, Chan};
use crate::sync::select::{self, Case};
use core::ffi::{c_int, c_void};

/// Opaque channel handle (gs_chan_new).
pub struct gs_chan {
    _private: [u8; 0],
}

/// gs_select_case.op: send *elem.
pub const GS_SEND: c_int = 1;
/// gs_select_case.op: receive into elem.
pub const GS_RECV: c_int = 2;

const _: () = assert!(GS_SEND == select::OP_SEND && GS_RECV == select::OP_RECV);

/// One case of gs_select.
#[repr(C)]
pub struct gs_select_case {
    /// The channel; NULL: the case is never chosen (Go's nil channel) and is not
    /// checked further.
    pub chan: *mut gs_chan,
    /// GS_SEND or GS_RECV.
    pub op: c_int,
    /// Value to send / buffer to receive into (elem_size bytes; may be NULL only when
    /// elem_size is 0).
    pub elem: *mut c_void,
    /// Set by gs_select for the chosen case: 0, or GS_ECLOSED (a receive on a closed,
    /// drained channel, with elem zeroed; or a send on a closed channel).
    pub result: c_int,
}

const _: () = assert!(core::mem::size_of::<gs_select_case>() == core::mem::size_of::<Case>());
const _: () = assert!(core::mem::offset_of!(gs_select_case, chan) == core::mem::offset_of!(Case, chan));
const _: () = assert!(core::mem::offset_of!(gs_select_case, op) == core::mem::offset_of!(Case, op));
const _: () = assert!(core::mem::offset_of!(gs_select_case, elem) == core::mem::offset_of!(Case, elem));
const _: () = assert!(core::mem::offset_of!(gs_select_case, result) == core::mem::offset_of!(Case, result));

/// The channel behind a handle, if the handle and the element pointer are usable
/// (elem may be NULL only when elem_size is 0).
#[inline]
fn check<'a>(c: *const gs_chan, elem: *const c_void) -> Result<&'a Chan, c_int> {
    let ch = handle::<Chan, _>(c)?;
    if elem.is_null() && ch.esz != 0 {
        return Err(Error::Inval.to_code());
    }
    Ok(ch)
}

/// A timed call whose time is up reports `TimedOut`, also when it was 0 (a poll).
#[inline]
fn timed(r: crate::error::Result<()>) -> crate::error::Result<()> {
    match r {
        Err(Error::Again) => Err(Error::TimedOut),
        r => r,
    }
}

/// Creates a channel of elements of elem_size bytes (0 allowed: a signal channel)
/// with room for capacity buffered elements (0: unbuffered, every send waits for a
/// receiver). Works without a runtime: a channel is plain memory.
///
/// Returns the channel; NULL if elem_size exceeds 64 KiB (Go's limit), if
/// elem_size * capacity overflows or exceeds 1 TiB, or if memory runs out.
#[no_mangle]
pub extern "C" fn gs_chan_new(elem_size: usize, capacity: usize) -> *mut gs_chan {
    ffi_boundary!(core::ptr::null_mut(), { Chan::new(elem_size, capacity) as *mut gs_chan })
}

/// Sends elem_size bytes from elem, blocking until a receiver takes them or they fit
/// in the buffer: parks the calling goroutine, or blocks a foreign thread. Without a
/// runtime a foreign thread blocks as a plain thread; a goroutine still blocked when
/// gs_shutdown runs is abandoned.
///
/// Returns 0; GS_ECLOSED if c is (or gets) closed; GS_EINVAL if c is NULL or not a
/// live channel (freed: see gs_chan_free), or elem is NULL with a non-zero elem_size;
/// GS_EPERM if it would block on the scheduler's stack (inside an unlockf);
/// GS_ESHUTDOWN on a foreign thread when gs_shutdown runs (before or while it waits).
/// The value was not sent unless it returned 0.
#[no_mangle]
pub extern "C" fn gs_chan_send(c: *mut gs_chan, elem: *const c_void) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match check(c, elem) {
            // SAFETY: elem has elem_size bytes (API contract).
            Ok(ch) => code(unsafe { chan::send(ch, elem.cast(), -1) }),
            Err(e) => e,
        }
    })
}

/// Receives one element into out (elem_size bytes), blocking until one is available,
/// as gs_chan_send blocks.
///
/// Returns 0; GS_ECLOSED once c is closed and its buffer drained (out is then zeroed,
/// Go's zero value); GS_EINVAL if c is NULL or not a live channel, or out is NULL
/// with a non-zero elem_size; GS_EPERM if it would block inside an unlockf;
/// GS_ESHUTDOWN on a foreign thread when gs_shutdown runs. Nothing was received unless
/// it returned 0.
#[no_mangle]
pub extern "C" fn gs_chan_recv(c: *mut gs_chan, out: *mut c_void) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match check(c, out) {
            // SAFETY: out has elem_size bytes (API contract).
            Ok(ch) => code(unsafe { chan::recv(ch, out.cast(), -1) }),
            Err(e) => e,
        }
    })
}

/// gs_chan_send without blocking. Works anywhere, including inside an unlockf.
///
/// Returns 0; GS_EAGAIN if no receiver waits and the buffer is full; GS_ECLOSED if c
/// is closed; GS_EINVAL as gs_chan_send.
#[no_mangle]
pub extern "C" fn gs_chan_try_send(c: *mut gs_chan, elem: *const c_void) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match check(c, elem) {
            // SAFETY: elem has elem_size bytes (API contract).
            Ok(ch) => code(unsafe { chan::send(ch, elem.cast(), 0) }),
            Err(e) => e,
        }
    })
}

/// gs_chan_recv without blocking. Works anywhere, including inside an unlockf.
///
/// Returns 0; GS_EAGAIN if nothing is available and c is not closed; GS_ECLOSED once
/// c is closed and drained (out zeroed); GS_EINVAL as gs_chan_recv.
#[no_mangle]
pub extern "C" fn gs_chan_try_recv(c: *mut gs_chan, out: *mut c_void) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match check(c, out) {
            // SAFETY: out has elem_size bytes (API contract).
            Ok(ch) => code(unsafe { chan::recv(ch, out.cast(), 0) }),
            Err(e) => e,
        }
    })
}

/// gs_chan_send giving up after timeout_ns. timeout_ns < 0 waits forever; 0 polls
/// like gs_chan_try_send but reports GS_ETIMEDOUT, as every timed call does when its
/// time is up.
///
/// Returns 0; GS_ETIMEDOUT (the value was not sent); GS_ECLOSED, GS_EINVAL, GS_EPERM
/// and GS_ESHUTDOWN as gs_chan_send.
#[no_mangle]
pub extern "C" fn gs_chan_send_timeout(c: *mut gs_chan, elem: *const c_void, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match check(c, elem) {
            // SAFETY: elem has elem_size bytes (API contract).
            Ok(ch) => code(timed(unsafe { chan::send(ch, elem.cast(), timeout_ns) })),
            Err(e) => e,
        }
    })
}

/// gs_chan_recv giving up after timeout_ns. timeout_ns < 0 waits forever; 0 polls
/// like gs_chan_try_recv but reports GS_ETIMEDOUT.
///
/// Returns 0; GS_ETIMEDOUT (nothing was received); GS_ECLOSED, GS_EINVAL, GS_EPERM
/// and GS_ESHUTDOWN as gs_chan_recv.
#[no_mangle]
pub extern "C" fn gs_chan_recv_timeout(c: *mut gs_chan, out: *mut c_void, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match check(c, out) {
            // SAFETY: out has elem_size bytes (API contract).
            Ok(ch) => code(timed(unsafe { chan::recv(ch, out.cast(), timeout_ns) })),
            Err(e) => e,
        }
    })
}

/// Closes c: blocked and later receivers drain the buffer, then get GS_ECLOSED;
/// blocked and later senders get GS_ECLOSED. Never blocks; works anywhere.
///
/// Returns 0; GS_EALREADY if c was closed already; GS_EINVAL for NULL or a channel
/// that is not live (see gs_chan_free).
#[no_mangle]
pub extern "C" fn gs_chan_close(c: *mut gs_chan) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Chan, _>(c) {
            Ok(ch) => code(chan::close(ch)),
            Err(e) => e,
        }
    })
}

/// The number of buffered elements.
///
/// Returns it (0 for NULL or a channel that is not live).
#[no_mangle]
pub extern "C" fn gs_chan_len(c: *const gs_chan) -> usize {
    ffi_boundary!(0, {
        match handle::<Chan, _>(c) {
            Ok(ch) => ch.len(),
            Err(_) => 0,
        }
    })
}

/// The buffer capacity given to gs_chan_new.
///
/// Returns it (0 for NULL or a channel that is not live).
#[no_mangle]
pub extern "C" fn gs_chan_cap(c: *const gs_chan) -> usize {
    ffi_boundary!(0, {
        match handle::<Chan, _>(c) {
            Ok(ch) => ch.cap,
            Err(_) => 0,
        }
    })
}

/// Frees c. Buffered values are dropped.
///
/// Returns 0 once freed: no goroutine or thread touches c any more. GS_EBUSY (nothing
/// is freed) while a goroutine or thread is blocked on c, or was woken from it and has
/// not yet let go of it: a gs_select woken through c (by a send, a receive or
/// gs_chan_close that returned already) until it has taken its other cases off their
/// channels, a timed-out or shut-down call until it has left c's queue; try again once
/// those calls returned: by then free succeeds. Goroutines that gs_shutdown abandoned
/// blocked on c do not count once gs_shutdown returned. GS_EINVAL for NULL, and for a
/// handle that is not a live channel's: one freed already (a second gs_chan_free
/// included) or of another kind.
///
/// Using c after it was freed, with any gs_chan_* function or in gs_select, gives
/// GS_EINVAL (gs_chan_len and gs_chan_cap: 0) as long as its memory is still the
/// runtime's: a freed channel is kept in a quarantine of the OS thread that freed it,
/// until that thread has freed 64 more channels, mutexes or wait groups, or ended.
/// After that the memory may be malloc's again and a use of c is undefined behavior,
/// as is a call on c that runs concurrently with its gs_chan_free (but of two
/// gs_chan_free racing on c, one returns 0 and the other GS_EINVAL). A ring of more
/// than 512 bytes is freed at once (the handle still gets GS_EINVAL while in
/// quarantine).
#[no_mangle]
pub extern "C" fn gs_chan_free(c: *mut gs_chan) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match handle::<Chan, _>(c) {
            // SAFETY: a live channel's handle; the caller's own calls on it are over
            // (API contract).
            Ok(_) => code(unsafe { Chan::free(c as *mut Chan) }),
            Err(e) => e,
        }
    })
}

/// Go's select over n cases: runs one ready case, chosen uniformly at random among
/// the ready ones, else waits for the first to become ready, blocking as
/// gs_chan_send does. Cases with a NULL channel are never chosen; with none left,
/// gs_select waits for the timeout, and forever if timeout_ns < 0 (Go's empty
/// select).
///
/// Returns the index of the case that fired, whose result field is set; GS_EAGAIN if
/// timeout_ns is 0 and none is ready; GS_ETIMEDOUT; GS_EINVAL for cases == NULL with
/// n > 0, an op other than GS_SEND/GS_RECV, a channel that is not live (freed: see
/// gs_chan_free) or a NULL elem (non-zero elem_size) in a case with a channel, or
/// n > 65536; GS_EPERM if it would block inside an unlockf; GS_ESHUTDOWN on a foreign
/// thread when gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_select(cases: *mut gs_select_case, n: usize, timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if cases.is_null() && n > 0 {
            return Error::Inval.to_code();
        }
        // SAFETY: cases points to n gs_select_case (API contract), laid out as Case.
        match unsafe { select::select(cases.cast::<Case>(), n, timeout_ns) } {
            Ok(i) => i as c_int,
            Err(e) => e.to_code(),
        }
    })
}
