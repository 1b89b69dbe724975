//! What the runtime tells the tools that watch a program: AddressSanitizer's and
//! ThreadSanitizer's fiber interfaces, and the happens-before edges of the hand-offs
//! the runtime makes on the user's behalf (for ThreadSanitizer and for Valgrind's
//! helgrind and drd).
//!
//! # Found at run time
//!
//! The library is the same with or without a tool. `probe` (at every `gs_init`, once
//! per process in effect) looks the sanitizers' entry points up with `dlsym`: they
//! exist only in a program built with `-fsanitize=address` or `=thread`, whose
//! runtime exports them. Valgrind is found by its client request. The result is one
//! word, `ACTIVE`; every hook below is one load and one predictable branch on it
//! when no tool is there.
//!
//! # Switches
//!
//! Every switch is g0 -> G (`execute`, then the G resumes in `mcall_with` or starts
//! in `gentry`) or G -> g0 (`mcall_with`, then g0 goes on in `leaveg`): see *Where to
//! hook tools* in docs/internals.md. Around each:
//!
//! - ASan: `__sanitizer_start_switch_fiber` just before, with the bounds of the
//!   stack switched to and the place to keep the fake stack of the one left (null
//!   when that one ends: its fake stack is freed); `__sanitizer_finish_switch_fiber`
//!   just after, on the new stack, with the fake stack kept when it was left. g0's
//!   bounds are what ASan reports the first time an M leaves g0. A goroutine's stack
//!   is unpoisoned when the goroutine ends (`gs_goexit` leaves poisoned frames).
//! - TSan: each G gets a fiber (`__tsan_create_fiber`, on its first run; destroyed
//!   when it ends), each M remembers its thread's own fiber for g0, and every switch
//!   is `__tsan_switch_to_fiber` without synchronisation, so that goroutines that run
//!   one after another on an M are not ordered by that.
//!
//! # Happens-before edges
//!
//! `release(a)` by one party and a later `acquire(a)` by another order everything the
//! first did before the release before everything the second does after the acquire
//! (`__tsan_release`/`__tsan_acquire`; Valgrind's `ANNOTATE_HAPPENS_BEFORE/AFTER`).
//! The runtime uses them where it hands something over:
//!
//! - a G: `newproc` and every waker (`set_runnable`) release the G, and so does the
//!   G when it leaves its M; the G acquires it each time it enters an M. g0 acquires
//!   it before running a `gs_park` unlockf, which acts for the G. A goroutine that
//!   ends releases its stack, and the g0 that gives the stack to a new goroutine
//!   acquires it. g0 releases nothing to the G it switches to, so goroutines that
//!   run one after another on an M are not ordered by that.
//! - an object: the object locks (`ObjLock`) acquire on lock and release on unlock; a
//!   goroutine that parks releases the locks it hands to g0 (which unlocks them for
//!   it); a waker releases the waiter it wakes, which acquires it on waking; a mutex's
//!   unlock and a wait group's add release the object, a lock and a wait's return
//!   acquire it.
//!
//! # The runtime's own memory accesses
//!
//! TSan sees the runtime's copies and allocations (through the C library functions
//! it intercepts), not the lock-free protocols that order them. So the runtime's
//! code is not checked: every C API call runs with TSan ignoring its memory accesses
//! (`ignored`, which `ffi_boundary!` runs each call through), and so does every thread the runtime starts,
//! for its life (g0 runs only runtime code). The synchronisation it reports above is
//! still seen. A goroutine's own code is checked: its fiber ignores nothing. Code of
//! the user's that the runtime calls on g0 (a `gs_park` unlockf) is not checked.
//!
//! Under Valgrind, whose tools see threads rather than fibers, the release of a G
//! when it leaves an M orders its next run, on another thread, after its last; and
//! g0 releases the G again after the switch (its saved context was written on the
//! way out) and acquires it before switching to it. helgrind and drd cannot see the
//! runtime's own synchronisation either: the memory only the runtime touches is
//! untracked (`Alloc`, the runtime's allocator, untracks every block it hands out
//! while Valgrind is there; `probe` untracks the library's writable data).

use super::g::G;
use super::m::M;
use core::ffi::{c_char, c_void};
use core::ptr::null_mut;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize};
use std::sync::OnceLock;

/// `ACTIVE` bits.
const ASAN: u32 = 1;
const TSAN: u32 = 2;
const VALGRIND: u32 = 4;
/// Every tool's bit.
const TOOLS: u32 = ASAN | TSAN | VALGRIND;
/// Not a tool: the tracer is on (trace.rs keeps it with its own switch), so that the
/// waker's hooks (`ready_hooks`) test one word for a tool and the tracer.
const TRACE: u32 = 1 << 8;
/// TSan: the flag of `__tsan_switch_to_fiber` that makes the switch not synchronise.
const TSAN_NO_SYNC: u32 = 1;

/// Which tools are present, and `TRACE`; 0 almost always.
static ACTIVE: AtomicU32 = AtomicU32::new(0);

/// TSan's `Annotate*(file, line)` functions.
type AnnotateFn = unsafe extern "C" fn(*const c_char, i32);

/// The sanitizers' entry points that the running program has.
struct Api {
    start_switch: Option<unsafe extern "C" fn(*mut *mut c_void, *const c_void, usize)>,
    finish_switch: Option<unsafe extern "C" fn(*mut c_void, *mut *const c_void, *mut usize)>,
    unpoison: Option<unsafe extern "C" fn(*const c_void, usize)>,
    get_current_fiber: Option<unsafe extern "C" fn() -> *mut c_void>,
    create_fiber: Option<unsafe extern "C" fn(u32) -> *mut c_void>,
    destroy_fiber: Option<unsafe extern "C" fn(*mut c_void)>,
    switch_to_fiber: Option<unsafe extern "C" fn(*mut c_void, u32)>,
    set_fiber_name: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
    acquire: Option<unsafe extern "C" fn(*mut c_void)>,
    release: Option<unsafe extern "C" fn(*mut c_void)>,
    ignore_reads_begin: Option<AnnotateFn>,
    ignore_reads_end: Option<AnnotateFn>,
    ignore_writes_begin: Option<AnnotateFn>,
    ignore_writes_end: Option<AnnotateFn>,
}

static API: OnceLock<Api> = OnceLock::new();

/// Looks `name` up in the program and its libraries.
fn sym<T: Copy>(name: &core::ffi::CStr) -> Option<T> {
    debug_assert_eq!(size_of::<T>(), size_of::<usize>());
    // SAFETY: dlsym with a NUL-terminated name has no other precondition.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    // SAFETY: T is the function pointer type of the symbol's documented signature
    // (the sanitizers' public interface headers), of the size of a pointer.
    (!p.is_null()).then(|| unsafe { core::mem::transmute_copy::<*mut c_void, T>(&p) })
}

/// `probe` when the library is loaded, so that objects used before gs_init (by
/// foreign threads) are annotated too.
#[used]
#[link_section = ".init_array"]
static PROBE_AT_LOAD: extern "C" fn() = probe_at_load;

extern "C" fn probe_at_load() {
    probe();
}

/// Finds the tools present. Executed when the library is loaded and by gs_init.
pub(crate) fn probe() {
    let api = API.get_or_init(|| Api {
        start_switch: sym(c"__sanitizer_start_switch_fiber"),
        finish_switch: sym(c"__sanitizer_finish_switch_fiber"),
        unpoison: sym(c"__asan_unpoison_memory_region"),
        get_current_fiber: sym(c"__tsan_get_current_fiber"),
        create_fiber: sym(c"__tsan_create_fiber"),
        destroy_fiber: sym(c"__tsan_destroy_fiber"),
        switch_to_fiber: sym(c"__tsan_switch_to_fiber"),
        set_fiber_name: sym(c"__tsan_set_fiber_name"),
        acquire: sym(c"__tsan_acquire"),
        release: sym(c"__tsan_release"),
        ignore_reads_begin: sym(c"AnnotateIgnoreReadsBegin"),
        ignore_reads_end: sym(c"AnnotateIgnoreReadsEnd"),
        ignore_writes_begin: sym(c"AnnotateIgnoreWritesBegin"),
        ignore_writes_end: sym(c"AnnotateIgnoreWritesEnd"),
    });
    let mut bits = 0;
    if api.start_switch.is_some() && api.finish_switch.is_some() && api.unpoison.is_some() {
        bits |= ASAN;
    }
    if api.get_current_fiber.is_some()
        && api.create_fiber.is_some()
        && api.destroy_fiber.is_some()
        && api.switch_to_fiber.is_some()
        && api.acquire.is_some()
        && api.release.is_some()
        && api.ignore_reads_begin.is_some()
        && api.ignore_reads_end.is_some()
        && api.ignore_writes_begin.is_some()
        && api.ignore_writes_end.is_some()
    {
        bits |= TSAN;
    }
    if super::valgrind::running() {
        bits |= VALGRIND;
        untrack_own_data();
    }
    // The tracer's bit stays as it is.
    let _ = ACTIVE.fetch_update(Relaxed, Relaxed, |a| Some((a & TRACE) | bits));
}

/// The tracer was switched on or off (`trace::on`). Executed by its start and stop.
pub(crate) fn set_trace(on: bool) {
    if on {
        ACTIVE.fetch_or(TRACE, Relaxed);
    } else {
        ACTIVE.fetch_and(!TRACE, Relaxed);
    }
}

/// Valgrind: untracks the writable segments of this library (its statics).
fn untrack_own_data() {
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, me: *mut c_void) -> i32 {
        // SAFETY: dl_iterate_phdr passes a valid info whose phdr array has
        // dlpi_phnum entries.
        unsafe {
            let i = &*info;
            let phdrs = core::slice::from_raw_parts(i.dlpi_phdr, i.dlpi_phnum as usize);
            let me = me as usize;
            let mine = phdrs.iter().any(|p| {
                let lo = i.dlpi_addr as usize + p.p_vaddr as usize;
                p.p_type == libc::PT_LOAD && lo <= me && me < lo + p.p_memsz as usize
            });
            if !mine {
                return 0;
            }
            for p in phdrs {
                if p.p_type == libc::PT_LOAD && p.p_flags & libc::PF_W != 0 {
                    super::valgrind::untrack(i.dlpi_addr as usize + p.p_vaddr as usize, p.p_memsz as usize);
                }
            }
            1
        }
    }
    // SAFETY: `each` only reads what dl_iterate_phdr gives it; ACTIVE is a static of
    // this library, which finds its own segments by it.
    unsafe { libc::dl_iterate_phdr(Some(each), ACTIVE.as_ptr().cast()) };
}

/// The runtime's allocator: the system's, and under Valgrind every block is untracked
/// by helgrind and drd (see *Happens-before edges*). The blocks the user reads and
/// writes (channel buffers) are copied by the runtime only. (Not the global
/// allocator in the loom build, whose models count their own allocations.)
#[cfg_attr(loom, allow(dead_code))]
pub(crate) struct Alloc;

// SAFETY: forwards to the system allocator, unchanged.
unsafe impl core::alloc::GlobalAlloc for Alloc {
    #[inline]
    unsafe fn alloc(&self, l: core::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { std::alloc::System.alloc(l) };
        untracked(p, l.size())
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, l: core::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { std::alloc::System.alloc_zeroed(l) };
        untracked(p, l.size())
    }
    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: core::alloc::Layout) {
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: core::alloc::Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let q = unsafe { std::alloc::System.realloc(p, l, new) };
        untracked(q, new)
    }
}

/// Valgrind: `[p, p + len)`, mapped by the runtime for itself (G segments), is
/// untracked as the allocator's blocks are.
pub(crate) fn runtime_memory(p: usize, len: usize) {
    let _ = untracked(p as *mut u8, len);
}

/// Valgrind: a runtime object in a frame on the user's stack (a blocked foreign
/// thread's `Waiter`) is the runtime's until `user_memory_again`.
pub(crate) fn runtime_memory_in_frame(p: usize, len: usize) {
    if active() & VALGRIND != 0 {
        super::valgrind::untrack(p, len);
    }
}

/// Valgrind: the frame of `runtime_memory_in_frame` ends; its memory is the user's.
pub(crate) fn user_memory_again(p: usize, len: usize) {
    if active() & VALGRIND != 0 {
        super::valgrind::track(p, len);
    }
}

/// True when a thread checker watches: the runtime then skips its deliberately racy
/// reads (prefetch.rs), which it would report.
#[inline(always)]
pub(crate) fn no_racy_reads() -> bool {
    active() & VALGRIND != 0
}

#[inline(always)]
fn untracked(p: *mut u8, len: usize) -> *mut u8 {
    if active() & VALGRIND != 0 && !p.is_null() {
        super::valgrind::untrack(p as usize, len);
    }
    p
}

#[inline(always)]
fn active() -> u32 {
    ACTIVE.load(Relaxed)
}

/// Non-zero when any tool is present (`ACTIVE`; the switch paths read their M's
/// copy, `hooks`, fold it with their other tests into one branch and call the hooks
/// above from a cold path).
#[inline(always)]
pub(crate) fn present() -> usize {
    (active() & TOOLS) as usize
}

#[inline(always)]
fn api() -> &'static Api {
    // Set before ACTIVE is non-zero.
    API.get().expect("tools::probe runs before any hook")
}

/// A goroutine's state for the tools, kept outside the G (whose three cache lines
/// are full) in `GTOOLS`, by slot. Written only by the M running or switching the G.
#[derive(Clone, Copy)]
struct GTools {
    /// ASan's fake stack of the G while it is switched out.
    asan_fake: *mut c_void,
    /// TSan's fiber of the G; null until its first run.
    tsan_fiber: *mut c_void,
    /// Set by `goexit`: the next switch out is the G's last.
    exiting: bool,
}

impl GTools {
    const EMPTY: GTools = GTools { asan_fake: null_mut(), tsan_fiber: null_mut(), exiting: false };
}

/// Slots per segment of `GTOOLS`.
const GT_SEG: usize = 4096;
/// Segments of `GTOOLS`: enough for every slot a handle can name.
const GT_NSEGS: usize = (1 << super::g::SLOT_BITS) / GT_SEG;

/// `GTools` by G slot, in segments allocated when a tool first needs them.
static GTOOLS: [AtomicPtr<GTools>; GT_NSEGS] = [const { AtomicPtr::new(null_mut()) }; GT_NSEGS];

/// The tools' state of `g`. Only with a tool present.
fn gt(g: *const G) -> &'static mut GTools {
    // SAFETY: Gs stay allocated while anyone switches them; the slot is fixed.
    let slot = unsafe { (*g).slot } as usize;
    let seg = &GTOOLS[slot / GT_SEG];
    let mut p = seg.load(Acquire);
    if p.is_null() {
        let new = Box::into_raw(vec![GTools::EMPTY; GT_SEG].into_boxed_slice()).cast::<GTools>();
        p = match seg.compare_exchange(null_mut(), new, AcqRel, Acquire) {
            Ok(_) => new,
            Err(other) => {
                // SAFETY: ours, never published.
                drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(new, GT_SEG)) });
                other
            }
        };
    }
    // SAFETY: the entry of this slot, touched only by the M that owns the G now
    // (*Ownership of a G* in g.rs); segments are never freed.
    unsafe { &mut *p.add(slot % GT_SEG) }
}

/// A G is made for `slot` (a new runtime's slots start again at 0): forget what the
/// tools knew of an earlier G there (one abandoned by gs_shutdown).
pub(crate) fn gnew(slot: u32) {
    let seg = GTOOLS[slot as usize / GT_SEG].load(Acquire);
    if !seg.is_null() {
        // SAFETY: no M runs the slot's new G yet; segments are never freed.
        unsafe { *seg.add(slot as usize % GT_SEG) = GTools::EMPTY };
    }
}

/// The bit of an M's `hooks` word that says the tracer is on (trace.rs); the
/// others are `ACTIVE`'s tools.
pub(crate) const HOOK_TRACE: usize = 1 << 16;

/// An M's state for the tools: its g0, the thread's own stack and fiber.
pub(crate) struct MTools {
    /// `ACTIVE` when the M was made (tools are found at gs_init, before any M), and
    /// `HOOK_TRACE` while the tracer is on: the switch paths test this word of their
    /// M, already at hand, rather than two statics, in the one branch they take when
    /// nothing watches. Written by the M's creator, then by the tracer's start and
    /// stop (`set_trace_hook`, over `allm` under the scheduler lock, after they
    /// switched `trace::on`): an M made under that lock reads `trace::on` in `new`;
    /// one made outside it reads it again when it joins `allm`. Relaxed: a switch
    /// that sees the change a moment late records one event more or less, as the
    /// tracer's own switch does.
    hooks: AtomicUsize,
    asan_fake: *mut c_void,
    g0_lo: usize,
    g0_size: usize,
    tsan_fiber: *mut c_void,
}

impl MTools {
    pub(crate) fn new() -> MTools {
        MTools {
            hooks: AtomicUsize::new(present() | trace_bit()),
            asan_fake: null_mut(),
            g0_lo: 0,
            g0_size: 0,
            tsan_fiber: null_mut(),
        }
    }
}

fn trace_bit() -> usize {
    if super::trace::on() {
        HOOK_TRACE
    } else {
        0
    }
}

/// Non-zero when any tool is present or the tracer is on, read from `m`: `present()`
/// and `HOOK_TRACE`, for the switch paths, which hold their M.
#[inline(always)]
pub(crate) fn hooks(m: &M) -> usize {
    m.tools.hooks.load(Relaxed)
}

/// Sets `m`'s `HOOK_TRACE` to `trace::on()`: by the tracer's start and stop for
/// every M of `allm`, and by whoever adds to `allm` an M made outside the scheduler
/// lock. The scheduler lock must be held.
pub(crate) fn sync_trace_hook(m: &M) {
    if super::trace::on() {
        m.tools.hooks.fetch_or(HOOK_TRACE, Relaxed);
    } else {
        m.tools.hooks.fetch_and(!HOOK_TRACE, Relaxed);
    }
}

/// g0 -> `g`, just before the switch (in `execute`). Executed on g0 of `m`.
#[inline(always)]
pub(crate) fn switch_to_g(m: &mut M, g: &mut G) {
    let a = active();
    if a & TOOLS != 0 {
        switch_to_g_slow(a, m, g);
    }
}

#[cold]
#[inline(never)]
fn switch_to_g_slow(a: u32, m: &mut M, g: &mut G) {
    if a & VALGRIND != 0 {
        super::valgrind::happens_after(g as *mut G as usize);
    }
    let api = api();
    // SAFETY: the entry points' documented contracts: a fiber created once per G and
    // destroyed once (gdead), switched to right before the switch; g's stack bounds.
    unsafe {
        if a & TSAN != 0 {
            if m.tools.tsan_fiber.is_null() {
                m.tools.tsan_fiber = (api.get_current_fiber.unwrap())();
            }
            let t = gt(g);
            if t.tsan_fiber.is_null() {
                t.tsan_fiber = (api.create_fiber.unwrap())(0);
                let name = g.name.load(Relaxed);
                if let (false, Some(f)) = (name.is_null(), api.set_fiber_name) {
                    f(t.tsan_fiber, name);
                }
            }
            (api.switch_to_fiber.unwrap())(t.tsan_fiber, TSAN_NO_SYNC);
        }
        if a & ASAN != 0 {
            (api.start_switch.unwrap())(&mut m.tools.asan_fake, g.stack.lo as *const c_void, g.stack.size());
        }
    }
}

/// On `g`, just after it entered its M (resumed in `mcall_with`, or started in
/// `gentry`). Executed on the goroutine's stack.
#[inline(always)]
pub(crate) fn entered_g(m: *mut M, g: *mut G) {
    let a = active();
    if a & TOOLS != 0 {
        entered_g_slow(a, m, g);
    }
}

#[cold]
#[inline(never)]
fn entered_g_slow(a: u32, m: *mut M, g: *mut G) {
    // SAFETY: g runs on m, the calling thread's M: both are ours.
    let (m, g) = unsafe { (&mut *m, &mut *g) };
    if a & ASAN != 0 {
        let mut lo: *const c_void = core::ptr::null();
        let mut size = 0usize;
        let fake = core::mem::replace(&mut gt(g).asan_fake, null_mut());
        // SAFETY: the switch that switch_to_g started has happened.
        unsafe { (api().finish_switch.unwrap())(fake, &mut lo, &mut size) };
        // What ASan took for the stack before: g0's, the thread's.
        m.tools.g0_lo = lo as usize;
        m.tools.g0_size = size;
    }
    if a & (TSAN | VALGRIND) != 0 {
        acquire_slow(a, g as *mut G as usize);
    }
}

/// `g` -> g0, just before the switch (in `mcall_with`). Executed on the goroutine.
#[inline(always)]
pub(crate) fn switch_to_g0(m: *mut M, g: *mut G) {
    let a = active();
    if a & TOOLS != 0 {
        switch_to_g0_slow(a, m, g);
    }
}

#[cold]
#[inline(never)]
fn switch_to_g0_slow(a: u32, m: *mut M, g: *mut G) {
    // SAFETY: g runs on m, the calling thread's M.
    let (m, g) = unsafe { (&mut *m, &mut *g) };
    if a & (TSAN | VALGRIND) != 0 {
        release_slow(a, g as *mut G as usize);
    }
    let api = api();
    // SAFETY: the entry points' contracts, as in switch_to_g_slow; g0's fiber and
    // bounds were recorded when this M switched to g.
    unsafe {
        if a & TSAN != 0 {
            (api.switch_to_fiber.unwrap())(m.tools.tsan_fiber, TSAN_NO_SYNC);
        }
        if a & ASAN != 0 {
            let t = gt(g);
            let save: *mut *mut c_void = if t.exiting { null_mut() } else { &mut t.asan_fake };
            (api.start_switch.unwrap())(save, m.tools.g0_lo as *const c_void, m.tools.g0_size);
        }
    }
}

/// On g0 of `m`, just after `g` left it (in `leaveg`).
#[inline(always)]
pub(crate) fn entered_g0(m: &mut M, g: &G) {
    let a = active();
    if a & (ASAN | VALGRIND) != 0 {
        entered_g0_slow(a, m, g);
    }
}

#[cold]
#[inline(never)]
fn entered_g0_slow(a: u32, m: &mut M, g: &G) {
    if a & ASAN != 0 {
        let fake = core::mem::replace(&mut m.tools.asan_fake, null_mut());
        // SAFETY: the switch that switch_to_g0 started has happened.
        unsafe { (api().finish_switch.unwrap())(fake, null_mut(), null_mut()) };
    }
    if a & VALGRIND != 0 {
        super::valgrind::happens_before(g as *const G as usize);
    }
}

/// g0 is about to run the user's unlockf of `g`'s `gs_park` (in `park_m`): what `g`
/// did before it parked happens before what the unlockf does for it (it typically
/// releases a lock `g` held).
#[inline(always)]
pub(crate) fn unlockf_for(g: *mut G) {
    acquire(g as usize);
}

/// The goroutine `g` is about to end (in `goexit1`, before its last switch).
/// Executed on the goroutine.
#[inline(always)]
pub(crate) fn goexit(g: *mut G) {
    let a = active();
    if a & TOOLS != 0 {
        // SAFETY: g is the calling goroutine.
        let g = unsafe { &mut *g };
        gt(g).exiting = true;
        if a & (TSAN | VALGRIND) != 0 {
            release_slow(a, g.stack.lo);
            release_slow(a, ENDED.as_ptr() as usize);
        }
    }
}

/// True under ThreadSanitizer: the C API then runs its calls through `ignored`.
#[inline(always)]
pub(crate) fn tsan_present() -> bool {
    active() & TSAN != 0
}

/// Runs `f` with TSan ignoring the current party's memory accesses (see *The
/// runtime's own memory accesses*). A cold copy of the call, so that without TSan
/// the C API's boundary costs one predictable branch.
#[cold]
#[inline(never)]
pub(crate) fn ignored<R>(f: impl FnOnce() -> R) -> R {
    ignore_begin();
    let r = f();
    ignore_end();
    r
}

#[cold]
#[inline(never)]
fn ignore_begin() {
    let api = api();
    // SAFETY: no precondition (file and line only label the annotation); balanced
    // by ignore_end.
    unsafe {
        (api.ignore_reads_begin.unwrap())(c"gosched".as_ptr(), 0);
        (api.ignore_writes_begin.unwrap())(c"gosched".as_ptr(), 0);
    }
}

#[cold]
#[inline(never)]
fn ignore_end() {
    let api = api();
    // SAFETY: after an ignore_begin of this party.
    unsafe {
        (api.ignore_writes_end.unwrap())(c"gosched".as_ptr(), 0);
        (api.ignore_reads_end.unwrap())(c"gosched".as_ptr(), 0);
    }
}

/// A thread the runtime started: TSan ignores its memory accesses for its life
/// (until `runtime_thread_end`).
pub(crate) fn runtime_thread() {
    if active() & TSAN != 0 {
        ignore_begin();
    }
}

/// A thread the runtime started is about to end.
pub(crate) fn runtime_thread_end() {
    if active() & TSAN != 0 {
        ignore_end();
    }
}

/// gs_goexit ends the calling goroutine inside the C API, whose `ignore_end` would come
/// only when the call returns: it ends here.
pub(crate) fn goexit_from_api() {
    if active() & TSAN != 0 {
        ignore_end();
    }
}

/// Released by every goroutine that ends, acquired by the calls that return once
/// goroutines have ended (`gs_wait`, `gs_main`, `gs_shutdown`): what the goroutines
/// did happens before those calls return.
static ENDED: AtomicU32 = AtomicU32::new(0);

/// A foreign thread returns from waiting for goroutines to end (gs_wait, gs_main,
/// gs_shutdown).
#[inline(always)]
pub(crate) fn joined() {
    acquire(ENDED.as_ptr() as usize);
}

/// `g` has ended and left its M (in `goexit0`): its fiber goes, its stack is clean.
/// Executed on g0.
#[inline(always)]
pub(crate) fn gdead(g: &mut G) {
    let a = active();
    if a & TOOLS != 0 {
        gdead_slow(a, g);
    }
}

#[cold]
#[inline(never)]
fn gdead_slow(a: u32, g: &mut G) {
    let t = gt(g);
    t.exiting = false;
    let api = api();
    // SAFETY: the fiber is not the current one (we are on g0's); the stack is the
    // dead G's, which nothing runs on.
    unsafe {
        if a & TSAN != 0 && !t.tsan_fiber.is_null() {
            (api.destroy_fiber.unwrap())(core::mem::replace(&mut t.tsan_fiber, null_mut()));
        }
        if a & ASAN != 0 && !g.stack.is_empty() {
            (api.unpoison.unwrap())(g.stack.lo as *const c_void, g.stack.size());
        }
    }
}

/// A stack is about to be given to a new goroutine (in `gstart`). Executed on g0.
#[inline(always)]
pub(crate) fn stack_reused(lo: usize) {
    let a = active();
    if a & (TSAN | VALGRIND) != 0 {
        acquire_slow(a, lo);
    }
}

/// A stack is about to be unmapped (`[lo, lo + size)`): ASan forgets its poison.
#[inline(always)]
pub(crate) fn stack_freed(lo: usize, size: usize) {
    if active() & ASAN != 0 {
        // SAFETY: the range is a stack of ours, still mapped.
        unsafe { (api().unpoison.unwrap())(lo as *const c_void, size) };
    }
}

/// The entry of a new goroutine while a tool is present: tells the tool, then runs
/// the goroutine's own function. `gstart` lays it out instead of the function.
///
/// # Safety
/// Started by `gs_gostart` on the stack of `gp`, the G that `gstart` prepared.
pub(crate) unsafe extern "C" fn gentry(gp: *mut c_void) {
    let gp: *mut G = gp.cast();
    // SAFETY: gp is the goroutine starting here; its start function and argument
    // are those newproc and gstart left, and nothing changed them since.
    unsafe {
        entered_g(super::tls::getm(), gp);
        let f: unsafe extern "C" fn(*mut c_void) = core::mem::transmute((*gp).startfn);
        f((*gp).startarg as *mut c_void)
    }
}

/// Bytes left unused at the top of a new goroutine's stack. Under Valgrind, whose
/// unwinder gives up on a stack whose pointer is within 512 bytes of its top (it
/// takes such limits for bogus and reports one frame), so that the reports of a
/// shallow goroutine would stop at the faulting function. Elsewhere nothing.
/// Called only on the `wants_gentry` path.
pub(crate) fn start_gap() -> usize {
    if active() & VALGRIND != 0 {
        VALGRIND_START_GAP
    } else {
        0
    }
}

/// See `start_gap`: more than Valgrind's 512, a multiple of 16.
const VALGRIND_START_GAP: usize = 1024;

/// True when goroutines must start through `gentry`.
#[inline(always)]
pub(crate) fn wants_gentry() -> bool {
    active() & (ASAN | TSAN | VALGRIND) != 0
}

/// The current party hands over what it did so far through `addr` (see
/// *Happens-before edges*).
#[inline(always)]
pub(crate) fn release(addr: usize) {
    let a = active();
    if a & (TSAN | VALGRIND) != 0 {
        release_slow(a, addr);
    }
}

/// A waker readies `g` (in `set_runnable`): `release(g)`, and the tracer's
/// `go_ready` event while it is on, behind one test.
#[inline(always)]
pub(crate) fn ready_hooks(g: &G) {
    let a = active();
    if a & (TSAN | VALGRIND | TRACE) != 0 {
        ready_hooks_slow(a, g);
    }
}

#[cold]
#[inline(never)]
fn ready_hooks_slow(a: u32, g: &G) {
    if a & (TSAN | VALGRIND) != 0 {
        release_slow(a, g as *const G as usize);
    }
    if super::trace::on() {
        super::trace::go_ready(g);
    }
}

/// The current party takes over what the last `release(addr)`s handed over.
#[inline(always)]
pub(crate) fn acquire(addr: usize) {
    let a = active();
    if a & (TSAN | VALGRIND) != 0 {
        acquire_slow(a, addr);
    }
}

#[cold]
#[inline(never)]
fn release_slow(a: u32, addr: usize) {
    if a & TSAN != 0 {
        // SAFETY: __tsan_release takes any address as a synchronisation object.
        unsafe { (api().release.unwrap())(addr as *mut c_void) };
    }
    if a & VALGRIND != 0 {
        super::valgrind::happens_before(addr);
    }
}

#[cold]
#[inline(never)]
fn acquire_slow(a: u32, addr: usize) {
    if a & TSAN != 0 {
        // SAFETY: as in release_slow.
        unsafe { (api().acquire.unwrap())(addr as *mut c_void) };
    }
    if a & VALGRIND != 0 {
        super::valgrind::happens_after(addr);
    }
}
