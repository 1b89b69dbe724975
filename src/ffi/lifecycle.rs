//! Lifecycle: gs_init, gs_init_sized, gs_main, gs_wait, gs_shutdown, gs_version,
//! and gs_strerror from Conventions.

use super::{code, ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::runtime::{config, entry, sched};
use core::ffi::{c_char, c_int, c_void};

/// Runtime configuration for gs_init. Zero fields take their defaults. Grows only by
/// appended fields ("Growing the public structs" at the top of this header).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct gs_config {
    /// Ps; 0 -> $GS_MAXPROCS, else the CPUs this process may use (affinity mask and
    /// cgroup CPU quota). At most 1024.
    pub nprocs: u32,
    /// Default goroutine stack; 0 -> $GS_STACK_SIZE, else 256 KiB. 16 KiB to 1 GiB.
    pub stack_size: usize,
    /// Cap on Ms (OS threads running goroutines, gs_main callers included); 0 ->
    /// 10000. A thread wired to a goroutine (gs_lock_os_thread) counts, and one thread
    /// always stays unwired (the lock that would take it gives GS_EAGAIN). When the
    /// cap is reached and every thread is in a blocking call or waits for its wired
    /// goroutine, the others wait for one to come back, and the runtime says so on
    /// stderr.
    pub max_threads: u32,
    /// GS_CFG_* bit flags, 0 for defaults.
    pub flags: u32,
}

// SAFETY: the 0.1 fields are all of the struct, integers only.
unsafe impl crate::abi::Extensible for gs_config {
    const BASE_LEN: usize = core::mem::offset_of!(gs_config, flags) + core::mem::size_of::<u32>();
}

/// gs_config.flags: gs_wait and gs_main return GS_EDEADLK (after a goroutine dump on
/// stderr) when every goroutine is parked and nothing can wake them. The program
/// promises that no foreign thread will wake goroutines while it waits.
pub const GS_CFG_CHECKDEAD: u32 = 0x1;

/// Goroutine entry function.
pub type gs_fn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// Starts the runtime. `cfg` may be NULL (defaults). Adds SA_ONSTACK to the signal
/// handlers installed so far (see Signals at the top of this header). Of two racing
/// calls, one starts the runtime and the other gives GS_EALREADY.
///
/// Reads the fields of gs_config version 0.1 only, whatever header the caller was
/// built against (see "Growing the public structs"; gs_init_sized reads the rest).
///
/// Returns 0; GS_EALREADY if a runtime is running (also from a goroutine or inside an
/// unlockf); GS_EINVAL for a bad configuration (nothing is started); GS_ENOMEM if the
/// poller or the monitor thread cannot be made.
#[no_mangle]
pub extern "C" fn gs_init(cfg: *const gs_config) -> c_int {
    ffi_boundary!(PANIC_CODE, { init(cfg, None) })
}

/// gs_init for a caller that says how large its gs_config is: cfg_size is
/// sizeof(gs_config) as the caller was compiled (see "Growing the public structs" at
/// the top of this header). cfg may be NULL (defaults; cfg_size is then ignored).
///
/// Returns 0; GS_EALREADY if a runtime is running (also from a goroutine or inside an
/// unlockf); GS_EINVAL for a bad configuration as gs_init, a cfg_size below the end
/// of the 0.1 fields or above 4096, or a non-zero byte past this library's
/// sizeof(gs_config), a field of a later version that this library does not know
/// (nothing is started); GS_ENOMEM if the poller or the monitor thread cannot be made.
#[no_mangle]
pub extern "C" fn gs_init_sized(cfg: *const gs_config, cfg_size: usize) -> c_int {
    ffi_boundary!(PANIC_CODE, { init(cfg, Some(cfg_size)) })
}

/// gs_init and gs_init_sized: `size` None reads the 0.1 fields.
fn init(cfg: *const gs_config, size: Option<usize>) -> c_int {
    let c = if cfg.is_null() {
        gs_config { nprocs: 0, stack_size: 0, max_threads: 0, flags: 0 }
    } else {
        // SAFETY: a non-NULL cfg points to the caller's gs_config, `size` bytes long
        // (its 0.1 fields with None): the API contract.
        match unsafe { crate::abi::read_struct(cfg, size) } {
            Ok(c) => c,
            Err(e) => return e.to_code(),
        }
    };
    code(config::resolve_config(c.nprocs, c.stack_size, c.max_threads, c.flags).and_then(sched::init))
}

/// Foreign thread: initializes the runtime with defaults if none runs (as
/// gs_init(NULL); also when a gs_shutdown finished meanwhile) and runs fn(arg) as a
/// goroutine; the calling thread works as an M until fn returns. Other goroutines
/// keep running.
///
/// Returns 0 once fn has returned; GS_EINVAL for a NULL fn; GS_EPERM from a goroutine
/// or inside an unlockf; GS_ENOMEM if the runtime or the goroutine cannot be made;
/// GS_ESHUTDOWN if gs_shutdown runs before fn returned (fn's goroutine is then
/// abandoned with the others); GS_EDEADLK (with GS_CFG_CHECKDEAD) after a goroutine
/// dump on stderr, when fn's goroutine is blocked with all the others.
#[no_mangle]
pub extern "C" fn gs_main(fn_: gs_fn, arg: *mut c_void) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        let Some(f) = fn_ else { return Error::Inval.to_code() };
        code(entry::main_foreign(f, arg))
    })
}

/// Foreign thread: blocks until no goroutine is alive. timeout_ns < 0 waits forever.
///
/// Returns 0; GS_ETIMEDOUT; GS_EPERM from a goroutine or inside an unlockf;
/// GS_ENOTINIT without a runtime (before gs_init, after gs_shutdown, in a forked
/// child); GS_ESHUTDOWN when gs_shutdown runs, before or during the wait; GS_EDEADLK
/// (with GS_CFG_CHECKDEAD) after a goroutine dump on stderr.
#[no_mangle]
pub extern "C" fn gs_wait(timeout_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, { code(entry::wait(timeout_ns)) })
}

/// Foreign thread: stops all Ms and frees the runtime. Goroutines that have not ended
/// are abandoned where they are (their calls never return); foreign threads blocked
/// in channels, select, mutexes and wait groups return GS_ESHUTDOWN. gs_init may be
/// called again afterwards. Of two racing calls, one shuts the runtime down and the
/// other waits for it, then gives GS_ENOTINIT. What an abandoned goroutine held stays
/// held, as with a thread that died: a mutex it locked (or that an unlock handed to
/// it), its read lock, a semaphore's weight; free those objects rather than wait on
/// them. Objects only waited on (channels, wait groups, a mutex it queued for) stay
/// usable: the abandoned waiter is taken off their queues.
///
/// Returns the number of goroutines abandoned (>= 0); GS_EPERM from a goroutine or
/// inside an unlockf; GS_ENOTINIT without a runtime.
#[no_mangle]
pub extern "C" fn gs_shutdown() -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match entry::shutdown() {
            Ok(n) => n.min(c_int::MAX as u64) as c_int,
            Err(e) => e.to_code(),
        }
    })
}

/// The library's version.
///
/// Returns a static string, e.g. "0.1.0".
#[no_mangle]
pub extern "C" fn gs_version() -> *const c_char {
    ffi_boundary!(c"".as_ptr(), { concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast() })
}

/// A message for a return code.
///
/// Returns a static English message for any GS_E* code or other negative errno value
/// (and "success" for a code >= 0); never NULL.
#[no_mangle]
pub extern "C" fn gs_strerror(code: c_int) -> *const c_char {
    ffi_boundary!(c"internal error".as_ptr(), { crate::error::strerror(code) })
}
