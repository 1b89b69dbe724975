//! Goroutine-local storage: gs_key_create, gs_key_delete, gs_setspecific,
//! gs_getspecific (the goroutines' pthread_key_create, in place of `__thread`).

use super::{code, ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::runtime::gls;
use core::ffi::{c_int, c_void};

/// A goroutine-local storage key (gs_key_create). 0 is never a key.
pub type gs_key = u64;

/// Destructor of a goroutine-local value, called with the value when its goroutine
/// ends.
pub type gs_key_destructor = Option<unsafe extern "C" fn(value: *mut c_void)>;

/// How many keys may exist at once.
pub const GS_KEYS_MAX: u32 = 1024;
const _: () = assert!(GS_KEYS_MAX as usize == gls::KEYS_MAX);

/// Rounds of destructor calls when a goroutine ends (see gs_key_create).
pub const GS_KEY_DESTRUCTOR_ITERATIONS: u32 = 4;
const _: () = assert!(GS_KEY_DESTRUCTOR_ITERATIONS as usize == gls::DESTRUCTOR_ITERATIONS);

/// Creates a key for goroutine-local values (the goroutines' pthread_key_create):
/// each goroutine has its own value for it, NULL until it sets one with
/// gs_setspecific. Use it where a thread would use `__thread` or
/// pthread_setspecific: a goroutine moves between threads, and a thread runs many
/// goroutines (see "Thread-locals and errno" at the top of this header). Keys are
/// process-wide: any thread may create and delete them, with or without a runtime,
/// and they outlive gs_shutdown.
///
/// When a goroutine ends (its function returns, or it calls gs_goexit), each of its
/// non-NULL values of a key with a non-NULL `destructor` is set to NULL and
/// `destructor(value)` is called, on that goroutine (it may block, yield and use
/// every call a goroutine may), in the order of the keys' slots. If
/// destructors set values again, this repeats, GS_KEY_DESTRUCTOR_ITERATIONS rounds
/// at most; what is left then is dropped. Goroutines abandoned by gs_shutdown never
/// end: their destructors do not run.
///
/// Returns 0 and stores the new key in *key; GS_EINVAL for a NULL key; GS_EAGAIN if
/// GS_KEYS_MAX keys exist (delete one first).
#[no_mangle]
pub extern "C" fn gs_key_create(key: *mut gs_key, destructor: gs_key_destructor) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        if key.is_null() {
            return Error::Inval.to_code();
        }
        match gls::key_create(destructor) {
            Ok(k) => {
                // SAFETY: key is non-NULL and points to a gs_key (API contract).
                unsafe { key.write(k) };
                0
            }
            Err(e) => e.to_code(),
        }
    })
}

/// Deletes a key. Every goroutine's value for it is forgotten without a call to its
/// destructor (free them first if they need it); a destructor call already started
/// by an ending goroutine may still run. The key may be handed out again later as a
/// different key: the old one stays invalid.
///
/// Returns 0; GS_EINVAL if `key` is not a key that exists (never made, or deleted).
#[no_mangle]
pub extern "C" fn gs_key_delete(key: gs_key) -> c_int {
    ffi_boundary!(PANIC_CODE, { code(gls::key_delete(key)) })
}

/// Sets the calling goroutine's value for `key` (NULL clears it). The first value a
/// goroutine sets allocates its table of values (once per goroutine slot, kept for
/// the goroutines that reuse it).
///
/// Returns 0; GS_EINVAL if `key` is not a key that exists (checked first); GS_EPERM
/// off-goroutine (a foreign thread, or inside an unlockf), where pthread_setspecific
/// is the call to use.
#[no_mangle]
pub extern "C" fn gs_setspecific(key: gs_key, value: *const c_void) -> c_int {
    ffi_boundary!(PANIC_CODE, { code(gls::set(key, value.cast_mut())) })
}

/// The calling goroutine's value for `key`.
///
/// Returns the value; NULL if the goroutine set none (or set NULL), if `key` is not
/// a key that exists, and off-goroutine (a foreign thread, or inside an unlockf).
#[no_mangle]
pub extern "C" fn gs_getspecific(key: gs_key) -> *mut c_void {
    ffi_boundary!(core::ptr::null_mut(), { gls::get(key) })
}
