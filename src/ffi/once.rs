//! gs_once_do (Go's sync.Once), on a caller-owned, statically initialisable gs_once.

use super::lifecycle::gs_fn;
use super::{code, ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::sync::once::Once;
use core::ffi::c_int;

/// A once: initialise it with GS_ONCE_INIT (all zero), e.g.
/// `static gs_once once = GS_ONCE_INIT;`, and never copy or move it once used. The
/// fields are private; `_state` is 2 once the function has returned (the inline
/// fast path of gs_once_do reads it). Layout fixed by abi/layout.txt.
#[repr(C)]
pub struct gs_once {
    pub _state: u32,
    pub _pad: u32,
    pub _private: [u64; 3],
}

// (Under loom the atomics are loom's, larger: the models use no onces.)
const _: () = assert!(cfg!(loom) || core::mem::size_of::<gs_once>() >= core::mem::size_of::<Once>());
const _: () = assert!(cfg!(loom) || core::mem::align_of::<gs_once>() >= core::mem::align_of::<Once>());
const _: () = assert!(core::mem::offset_of!(gs_once, _state) == 0 && crate::sync::once::DONE_OFFSET == 0);

/// Calls fn(arg) if no call of gs_once_do on once has called its function yet; all
/// other calls, concurrent ones included, wait (a goroutine parks, a foreign thread
/// blocks) until that function has returned, so that they all see its effects. After
/// that, a call is one atomic load, inline (see the end of this header). fn must not call gs_once_do on the same once (it
/// would wait for itself, as in Go). Works without a runtime.
///
/// Returns 0 once the function has returned (in this call or another); GS_EINVAL for
/// a NULL once or fn; GS_EPERM inside an unlockf if it would have to wait;
/// GS_ESHUTDOWN on a foreign thread when gs_shutdown runs while it waits.
#[no_mangle]
pub extern "C" fn gs_once_do(once: *mut gs_once, fn_: gs_fn, arg: *mut core::ffi::c_void) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        let Some(f) = fn_ else { return Error::Inval.to_code() };
        if once.is_null() {
            return Error::Inval.to_code();
        }
        // SAFETY: a gs_once is GS_ONCE_INIT (all zero, a fresh Once) or was used only
        // through gs_once_do, and is large and aligned enough (asserted above).
        let o = unsafe { &*(once as *const Once) };
        code(o.call(f, arg))
    })
}

/// True once the function of once has returned. Never blocks.
///
/// Returns true or false; false for NULL.
#[no_mangle]
pub extern "C" fn gs_once_done(once: *const gs_once) -> bool {
    ffi_boundary!(false, {
        if once.is_null() {
            return false;
        }
        // SAFETY: as in gs_once_do.
        unsafe { &*(once as *const Once) }.is_done()
    })
}
