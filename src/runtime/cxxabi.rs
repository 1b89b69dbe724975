//! Per-goroutine C++ exception state.
//!
//! # Exception state
//!
//! The Itanium C++ ABI (libstdc++'s libsupc++ and LLVM's libc++abi alike) keeps, per
//! thread, the stack of exceptions being handled and the count of exceptions thrown
//! but not yet caught: `__cxa_eh_globals { caughtExceptions, uncaughtExceptions }`,
//! whose address `__cxa_get_globals()` returns. `throw;`, `std::current_exception()`
//! and `std::uncaught_exceptions()` read it; `__cxa_begin_catch` / `__cxa_end_catch`
//! push and pop it. A goroutine that switches inside a `catch` handler, or in a
//! destructor run during unwinding, leaves its entries there, where the next
//! goroutine on that thread would find (and pop, and free) them, while it may resume
//! on another thread with that thread's state. So the state belongs to goroutines:
//!
//! 1. On g0 the thread's state is empty. A thread that becomes an M (a worker, the
//!    caller of gs_main, the host thread in gs_run_for) sets its own state aside in
//!    the M (`enter_thread`) and gets it back when it leaves the scheduler
//!    (`leave_thread`): a gs_run_for called inside a handler finds its exception
//!    again, and its goroutines do not see it.
//! 2. `leaveg`: a G that leaves with a non-empty state takes it along, into its
//!    `GExt` (`GFLAG_CXA`), and the thread's is emptied. A G that ended (`Dead`:
//!    gs_goexit inside a handler, or in a destructor during unwinding) leaves its
//!    exceptions behind: they are never destroyed (leaked, as no handler will end),
//!    and the thread's state is emptied for the next G.
//! 3. `execute`: a G with `GFLAG_CXA` has its state installed on the thread.
//!
//! The address returned by `__cxa_get_globals` is the thread's own and never changes,
//! so each M asks once, when it starts, and keeps it (`M::cxa`). The function is
//! looked up at run time in the global symbol scope: in a program without a C++
//! runtime (or one loaded after the M started), `M::cxa` points at `NO_CXX`, an
//! always-empty state nobody writes, so that `leaveg` reads the same two words either
//! way. The tests are folded into those of the tools (runtime/tools.rs): `leaveg`
//! and `execute` each take one predictable branch for both (`pending` here, a test of
//! `G::flags` there), and only a non-empty state or a tool leads to the slow path.
//!
//! The ARM EH ABI (32-bit ARM) adds a third field; the targets built here have two.

use super::g::{Gstatus, G, GFLAG_CXA};
use super::m::M;
use core::cell::UnsafeCell;
use core::ffi::{c_uint, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering::*};

/// The first two fields of `__cxa_eh_globals`, in both C++ runtimes.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct EhState {
    /// `caughtExceptions`: the innermost exception being handled, linked to the others.
    caught: *mut c_void,
    /// `uncaughtExceptions`: thrown and not yet caught (unwinding).
    uncaught: c_uint,
}

impl Default for EhState {
    fn default() -> EhState {
        EhState { caught: null_mut(), uncaught: 0 }
    }
}

type GetGlobals = unsafe extern "C" fn() -> *mut EhState;

/// The state `M::cxa` points at while the thread has no C++ runtime: always empty.
struct NoCxx(UnsafeCell<EhState>);

// SAFETY: nobody writes through the pointer (every write to `*M::cxa` is preceded by
// a test that it is not `none()`, or by finding it non-empty, which NO_CXX never is);
// the reads of `pending` see the constant empty state.
unsafe impl Sync for NoCxx {}

static NO_CXX: NoCxx = NoCxx(UnsafeCell::new(EhState { caught: null_mut(), uncaught: 0 }));

/// `M::cxa` of a thread without a C++ runtime (see *Exception state*).
pub(crate) fn none() -> *mut EhState {
    NO_CXX.0.get()
}

/// Non-zero when the thread's state is not empty: `leaveg` must call `leave`. One
/// value to test, so that the caller can fold it with the tools' test.
#[inline(always)]
pub(crate) fn pending(m: &M) -> usize {
    // SAFETY: m.cxa is this thread's globals or NO_CXX, both always valid to read.
    let st = unsafe { &*m.cxa };
    st.caught as usize | st.uncaught as usize
}

/// `__cxa_get_globals` once found (0: not found yet).
static GET_GLOBALS: AtomicUsize = AtomicUsize::new(0);

/// The calling thread's `__cxa_eh_globals`, or null without a C++ runtime.
fn thread_globals() -> *mut EhState {
    let mut f = GET_GLOBALS.load(Acquire);
    if f == 0 {
        // SAFETY: dlsym with a NUL-terminated name has no other precondition.
        f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__cxa_get_globals".as_ptr()) } as usize;
        if f == 0 {
            return null_mut();
        }
        GET_GLOBALS.store(f, Release);
    }
    // SAFETY: f is `__cxa_get_globals`, `__cxa_eh_globals *(void)` in both C++
    // runtimes; it returns the calling thread's globals (allocating them on first use
    // in libc++abi).
    unsafe { core::mem::transmute::<usize, GetGlobals>(f)() }
}

/// A thread becomes M `m`: finds its exception state and sets it aside (rule 1).
/// Called on the thread, before it first runs the scheduler.
pub(crate) fn enter_thread(m: &mut M) {
    if m.cxa == none() {
        let globals = thread_globals();
        if globals.is_null() {
            return;
        }
        m.cxa = globals;
    }
    // SAFETY: m.cxa is this thread's globals (the thread of m never changes).
    unsafe {
        m.cxa_own = *m.cxa;
        *m.cxa = EhState::default();
    }
}

/// The thread of `m` leaves the scheduler: its own state comes back (rule 1).
pub(crate) fn leave_thread(m: &mut M) {
    if m.cxa != none() {
        // SAFETY: as in enter_thread; on g0 the state is empty (rule 1), nothing is lost.
        unsafe { *m.cxa = core::mem::take(&mut m.cxa_own) };
    }
}

/// Rule 2, for `leaveg`. Executed on g0 of `m`, just after `g` switched out.
#[inline(always)]
pub(crate) fn leave(m: &M, g: &mut G, to: Gstatus) {
    if pending(m) != 0 {
        leave_slow(m, g, to);
    }
}

#[cold]
#[inline(never)]
fn leave_slow(m: &M, g: &mut G, to: Gstatus) {
    // SAFETY: m.cxa is this thread's globals: NO_CXX is never non-empty (`leave`).
    let st = unsafe { core::mem::take(&mut *m.cxa) };
    if to == Gstatus::Dead {
        return; // its exceptions are left behind (rule 2)
    }
    let ext = m.rt().allgs.ext(g);
    // SAFETY: we own g (it just left this M), so its GExt is ours.
    unsafe { (*ext).cxa = st };
    g.flags |= GFLAG_CXA;
}

/// Rule 3, for `execute`. Executed on g0 of `m`, which is about to run `g`.
#[inline(always)]
pub(crate) fn enter(m: &mut M, g: &mut G) {
    if g.flags & GFLAG_CXA != 0 {
        enter_slow(m, g);
    }
}

#[cold]
#[inline(never)]
fn enter_slow(m: &mut M, g: &mut G) {
    if m.cxa == none() {
        // This M started before the C++ runtime was found (it came with a library
        // loaded later): find the thread's globals now.
        let globals = thread_globals();
        if globals.is_null() {
            super::throw::fatal("cxxabi: a goroutine's C++ exception state but no C++ runtime");
        }
        m.cxa = globals;
    }
    let ext = m.rt().allgs.ext(g);
    g.flags &= !GFLAG_CXA;
    // SAFETY: we own g and its GExt; m.cxa is this thread's globals, empty on g0.
    unsafe { *m.cxa = core::mem::take(&mut (*ext).cxa) };
}
