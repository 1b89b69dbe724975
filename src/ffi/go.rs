//! Goroutines: gs_go, gs_go_with, gs_gosched, gs_goexit, gs_self,
//! gs_goid, gs_lock_os_thread, gs_unlock_os_thread, gs_should_yield; and
//! gs_go_copy, gs_go_copy_with (arguments copied into the goroutine, as Go's `go`);
//! the `_sized` twins of the functions that take a gs_go_opts.

use super::lifecycle::gs_fn;
use super::{ffi_boundary, PANIC_CODE};
use crate::error::Error;
use crate::runtime::entry::{self};
use crate::runtime::newproc::{self, GoOpts};
use crate::runtime::stack;
use core::ffi::{c_char, c_int};

/// Opaque goroutine handle. Generation-checked: the handle of an exited goroutine
/// names nobody, even after its memory is reused. (Not `repr(C)`, so that the header
/// declares it opaque: C code never looks inside.)
pub struct gs_g {
    _private: [u8; 0],
}

/// Options for gs_go_with. Grows only by appended fields ("Growing the public
/// structs" at the top of this header).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct gs_go_opts {
    /// 0 -> runtime default; else 16 KiB to 1 GiB.
    pub stack_size: usize,
    /// Copied; shown in dumps and traces; may be NULL.
    pub name: *const c_char,
    /// GS_GO_* bit flags.
    pub flags: u32,
}

// SAFETY: flags is the last of the 0.1 fields; they are integers and a raw pointer.
unsafe impl crate::abi::Extensible for gs_go_opts {
    const BASE_LEN: usize = core::mem::offset_of!(gs_go_opts, flags) + core::mem::size_of::<u32>();
}

/// gs_go_opts.flags: run this goroutine only on the host thread (see gs_run_for).
pub const GS_GO_HOST: u32 = 0x1;

/// gs_go_opts.flags: this goroutine runs only while holding a lock that one thread
/// at a time holds (an interpreter lock such as CPython's GIL), as do the other
/// goroutines so marked. A marked goroutine that readies (or starts) a marked one
/// puts it in its P's run-next slot without waking another P: the other P's thread
/// would only wait for the lock the readier holds. The readied goroutine runs when
/// the readier blocks or yields, or, if the readier stays in a call that does not
/// give up the P (a sleep that releases the lock, say), is taken by another P
/// within a few sysmon rounds (at most about 2 ms). Unmarked goroutines, and
/// marked ones readied by unmarked goroutines or foreign threads, are scheduled as
/// usual.
pub const GS_GO_GIL: u32 = 0x2;

/// The flags gs_go_with accepts.
const GO_FLAGS_SUPPORTED: u32 = GS_GO_HOST | GS_GO_GIL;

/// Starts fn(arg) as a goroutine. From a goroutine, inside an unlockf or from a
/// foreign thread.
///
/// Returns the new goroutine's id (> 0); GS_EINVAL for a NULL fn; GS_ENOMEM if no
/// goroutine or stack can be made; GS_ENOTINIT without a runtime; GS_ESHUTDOWN while
/// gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_go(fn_: gs_fn, arg: *mut core::ffi::c_void) -> i64 {
    ffi_boundary!(PANIC_CODE as i64, {
        let Some(f) = fn_ else { return Error::Inval.to_code() as i64 };
        match entry::go(f, arg, &GoOpts::DEFAULT) {
            Ok(id) => id as i64,
            Err(e) => e.to_code() as i64,
        }
    })
}

/// gs_go with options (stack size, name, flags); opts may be NULL (the defaults).
/// Reads the fields of gs_go_opts version 0.1 only, whatever header the caller was
/// built against (see "Growing the public structs"; gs_go_with_sized reads the rest).
///
/// Returns the new goroutine's id (> 0); GS_EINVAL for a NULL fn, unknown flags or a
/// stack_size other than 0 outside 16 KiB to 1 GiB; GS_ENOMEM, GS_ENOTINIT and
/// GS_ESHUTDOWN as gs_go.
#[no_mangle]
pub extern "C" fn gs_go_with(fn_: gs_fn, arg: *mut core::ffi::c_void, opts: *const gs_go_opts) -> i64 {
    ffi_boundary!(PANIC_CODE as i64, { go_with(fn_, arg, opts, None) })
}

/// gs_go_with for a caller that says how large its gs_go_opts is: opts_size is
/// sizeof(gs_go_opts) as the caller was compiled (see "Growing the public structs"
/// at the top of this header). opts may be NULL (defaults; opts_size is then ignored).
///
/// Returns the new goroutine's id (> 0); GS_EINVAL for a NULL fn, unknown flags, a
/// stack_size other than 0 outside 16 KiB to 1 GiB, an opts_size below the end of the
/// 0.1 fields or above 4096, or a non-zero byte past this library's
/// sizeof(gs_go_opts), a field of a later version that this library does not know;
/// GS_ENOMEM, GS_ENOTINIT and GS_ESHUTDOWN as gs_go.
#[no_mangle]
pub extern "C" fn gs_go_with_sized(
    fn_: gs_fn,
    arg: *mut core::ffi::c_void,
    opts: *const gs_go_opts,
    opts_size: usize,
) -> i64 {
    ffi_boundary!(PANIC_CODE as i64, { go_with(fn_, arg, opts, Some(opts_size)) })
}

/// gs_go_with and gs_go_with_sized: `size` None reads the 0.1 fields.
fn go_with(fn_: gs_fn, arg: *mut core::ffi::c_void, opts: *const gs_go_opts, size: Option<usize>) -> i64 {
    let Some(f) = fn_ else { return Error::Inval.to_code() as i64 };
    match go_opts(opts, size).and_then(|o| entry::go(f, arg, &o)) {
        Ok(id) => id as i64,
        Err(e) => e.to_code() as i64,
    }
}

/// Largest argument block gs_go_copy copies, in bytes.
pub const GS_GO_COPY_MAX: usize = 4096;
const _: () = assert!(GS_GO_COPY_MAX == newproc::ARGS_MAX);

/// Starts fn(p) as a goroutine, where p points to the goroutine's own copy of the
/// `size` bytes at `arg`, as Go's `go f(x, y)` copies its arguments: 16-byte aligned,
/// writable, on the goroutine's stack until it ends. The caller's block may be reused
/// as soon as the call returns; nothing is allocated on the heap. size 0 passes NULL.
///
/// Returns the new goroutine's id (> 0); GS_EINVAL for a NULL fn, size >
/// GS_GO_COPY_MAX, or a NULL arg with size > 0; GS_ENOMEM, GS_ENOTINIT and
/// GS_ESHUTDOWN as gs_go.
#[no_mangle]
pub extern "C" fn gs_go_copy(fn_: gs_fn, arg: *const core::ffi::c_void, size: usize) -> i64 {
    ffi_boundary!(PANIC_CODE as i64, { go_copy_with(fn_, arg, size, core::ptr::null(), None) })
}

/// gs_go_copy with options, as gs_go_with (the 0.1 fields of opts only); opts may
/// be NULL.
///
/// Returns the new goroutine's id (> 0); GS_EINVAL for what gs_go_copy or gs_go_with
/// refuse; GS_ENOMEM, GS_ENOTINIT and GS_ESHUTDOWN as gs_go.
#[no_mangle]
pub extern "C" fn gs_go_copy_with(
    fn_: gs_fn,
    arg: *const core::ffi::c_void,
    size: usize,
    opts: *const gs_go_opts,
) -> i64 {
    ffi_boundary!(PANIC_CODE as i64, { go_copy_with(fn_, arg, size, opts, None) })
}

/// gs_go_copy_with for a caller that says how large its gs_go_opts is, as
/// gs_go_with_sized; opts may be NULL.
///
/// Returns the new goroutine's id (> 0); GS_EINVAL for what gs_go_copy or
/// gs_go_with_sized refuse; GS_ENOMEM, GS_ENOTINIT and GS_ESHUTDOWN as gs_go.
#[no_mangle]
pub extern "C" fn gs_go_copy_with_sized(
    fn_: gs_fn,
    arg: *const core::ffi::c_void,
    size: usize,
    opts: *const gs_go_opts,
    opts_size: usize,
) -> i64 {
    ffi_boundary!(PANIC_CODE as i64, { go_copy_with(fn_, arg, size, opts, Some(opts_size)) })
}

/// gs_go_copy, gs_go_copy_with and gs_go_copy_with_sized.
fn go_copy_with(
    fn_: gs_fn,
    arg: *const core::ffi::c_void,
    size: usize,
    opts: *const gs_go_opts,
    opts_size: Option<usize>,
) -> i64 {
    let Some(f) = fn_ else { return Error::Inval.to_code() as i64 };
    if size > GS_GO_COPY_MAX || (size != 0 && arg.is_null()) {
        return Error::Inval.to_code() as i64;
    }
    let r = go_opts(opts, opts_size).and_then(|mut o| {
        o.args = arg.cast();
        o.argsize = size;
        entry::go(f, core::ptr::null_mut(), &o)
    });
    match r {
        Ok(id) => id as i64,
        Err(e) => e.to_code() as i64,
    }
}

/// Checks and converts the options of the gs_go_*with* functions (NULL: defaults);
/// `size` is the caller's sizeof(gs_go_opts), None for the 0.1 fields.
fn go_opts(opts: *const gs_go_opts, size: Option<usize>) -> Result<GoOpts, Error> {
    let mut o = GoOpts::DEFAULT;
    if !opts.is_null() {
        // SAFETY: a non-NULL opts points to the caller's gs_go_opts, `size` bytes long
        // (its 0.1 fields with None): the API contract.
        let u = unsafe { crate::abi::read_struct(opts, size) }?;
        if u.flags & !GO_FLAGS_SUPPORTED != 0 {
            return Err(Error::Inval);
        }
        if u.stack_size != 0 && !stack::valid_size(u.stack_size as u64) {
            return Err(Error::Inval);
        }
        o.stack_size = u.stack_size;
        o.name = u.name;
        o.flags = u.flags;
    }
    Ok(o)
}

/// Host thread only (the thread that called gs_init): runs ready GS_GO_HOST
/// goroutines on this thread until none is ready or the budget is spent. A step lasts
/// until the goroutine parks, yields or ends; no step starts after the budget, so the
/// call never blocks longer than the budget plus one step. A game calls it once per
/// frame.
///
/// Returns how many goroutine steps ran (>= 0); GS_EPERM on any other thread, on a
/// goroutine or inside an unlockf; GS_ENOTINIT without a runtime; GS_ESHUTDOWN while
/// gs_shutdown runs.
#[no_mangle]
pub extern "C" fn gs_run_for(budget_ns: i64) -> c_int {
    ffi_boundary!(PANIC_CODE, {
        match entry::run_for(budget_ns) {
            Ok(n) => n.min(c_int::MAX as u64) as c_int,
            Err(e) => e.to_code(),
        }
    })
}

/// Yields the processor to other goroutines.
///
/// Returns 0 on a goroutine; GS_EPERM off-goroutine (a foreign thread, or inside an
/// unlockf), after sched_yield().
#[no_mangle]
pub extern "C" fn gs_gosched() -> c_int {
    ffi_boundary!(PANIC_CODE, { super::code(entry::gosched_any()) })
}

/// Ends the calling goroutine now; returns only when called off-goroutine.
#[no_mangle]
pub extern "C" fn gs_goexit() {
    ffi_boundary!((), { entry::goexit_any() })
}

/// The calling goroutine's handle, for gs_ready.
///
/// Returns the handle; NULL off-goroutine (a foreign thread, or inside an unlockf).
#[no_mangle]
pub extern "C" fn gs_self() -> *mut gs_g {
    ffi_boundary!(core::ptr::null_mut(), { entry::self_handle().cast() })
}

/// The calling goroutine's id.
///
/// Returns the id (> 0); 0 off-goroutine.
#[no_mangle]
pub extern "C" fn gs_goid() -> i64 {
    ffi_boundary!(0, { entry::self_goid() as i64 })
}

/// Wires the calling goroutine to its OS thread (Go's LockOSThread); nests. Until the
/// matching gs_unlock_os_thread the goroutine runs only on this thread, and the
/// thread runs no other goroutine (it sleeps while the goroutine waits): the remedy
/// for code that needs a thread's identity across switching calls, such as
/// `__thread` and `thread_local` variables, errno kept across a call, pthread
/// mutexes and thread-affine libraries (OpenGL contexts, some GUI toolkits). A
/// locked goroutine costs a thread; prefer gs_key_create for per-goroutine values
/// (see "Thread-locals and errno" at the top of this header).
///
/// Returns 0; GS_EPERM off-goroutine (a foreign thread, or inside an unlockf);
/// GS_EAGAIN (and wires nothing) if every thread that gs_config.max_threads allows
/// would then be wired to a goroutine: a wired thread whose goroutine waits runs
/// nothing else, so one must stay free for the rest.
#[no_mangle]
pub extern "C" fn gs_lock_os_thread() -> c_int {
    ffi_boundary!(PANIC_CODE, { super::code(entry::lock_os_thread_self()) })
}

/// Undoes one gs_lock_os_thread; the goroutine may migrate when the count reaches 0.
/// Unlocking an unlocked goroutine does nothing.
///
/// Returns 0; GS_EPERM off-goroutine (a foreign thread, or inside an unlockf).
#[no_mangle]
pub extern "C" fn gs_unlock_os_thread() -> c_int {
    ffi_boundary!(PANIC_CODE, { super::code(entry::unlock_os_thread_self()) })
}

/// Whether the calling goroutine should yield (sysmon's preemption request).
///
/// Returns true once the calling goroutine has run for more than its time slice
/// (10 ms) without yielding; false off-goroutine.
#[no_mangle]
pub extern "C" fn gs_should_yield() -> bool {
    ffi_boundary!(false, { entry::should_yield() })
}

const _: () = assert!(GS_GO_HOST == crate::runtime::g::GFLAG_HOST);
const _: () = assert!(GS_GO_GIL == crate::runtime::g::GFLAG_GIL);
