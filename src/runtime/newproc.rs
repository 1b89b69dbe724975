//! Creating goroutines (Go's newproc): a G from the free list of dead Gs or a new
//! one, its stack from the stack cache, its first frame, and its place in the run
//! queue; and giving a dead G and its stack back (`gfput`). The free lists
//! themselves are freelist.rs.

use super::context::gostartcall;
use super::g::{Gstatus, ARGS_INLINE, G, GFLAG_ARGS, GFLAG_HOST, GFLAG_MAIN};
use super::m::M;
use super::p::P;
use super::proc::{goexit1, wakep};
use super::sched::{Runtime, GOIDGEN};
use crate::error::{Error, Result};
use core::ffi::{c_char, c_void};
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

/// goids taken from the global generator at once by a P. Go uses 16.
const GOID_BATCH: u64 = 16;

/// Options of a new goroutine (from gs_go_with and gs_go_copy).
pub(crate) struct GoOpts {
    pub(crate) stack_size: usize,
    pub(crate) name: *const c_char,
    pub(crate) flags: u32,
    pub(crate) main_m: *mut M,
    /// Start arguments to copy (gs_go_copy): `argsize` bytes at `args`, at most
    /// `ARGS_MAX`; 0 to pass `arg` as is. See *Copied arguments* in g.rs.
    pub(crate) args: *const u8,
    pub(crate) argsize: usize,
}

/// Largest argument block gs_go_copy copies (it ends up on the goroutine's stack).
pub(crate) const ARGS_MAX: usize = 4096;

impl GoOpts {
    pub(crate) const DEFAULT: GoOpts = GoOpts {
        stack_size: 0,
        name: core::ptr::null(),
        flags: 0,
        main_m: null_mut(),
        args: core::ptr::null(),
        argsize: 0,
    };
}

/// Creates a goroutine running `f(arg)` and makes it runnable (Go's newproc).
/// From a goroutine or g0 (`mp` non-null with a P) it goes to the P's runnext;
/// from a foreign thread to the global queue. Returns its goid.
pub(crate) fn newproc(
    rt: &Runtime,
    mp: *mut M,
    f: unsafe extern "C" fn(*mut c_void),
    arg: *mut c_void,
    opts: &GoOpts,
) -> Result<u64> {
    // SAFETY: mp, if non-null, is the calling thread's M; its p is ours.
    let pp: *mut P = if mp.is_null() { null_mut() } else { unsafe { (*mp).p } };
    // Every live goroutine will need a stack: make sure the slabs can give one now,
    // so that running out is an error here rather than a crash when it first runs.
    let alive = rt.goroutine_started(pp);
    if let Err(e) = rt.stacks.reserve(alive as usize) {
        rt.goroutine_ended(pp);
        return Err(e);
    }
    let own_stack =
        if opts.stack_size != 0 && super::stack::round_page(opts.stack_size) != rt.stacks.default_size {
            match rt.stacks.alloc(opts.stack_size) {
                Ok(st) => Some(st),
                Err(e) => {
                    rt.goroutine_ended(pp);
                    return Err(e);
                }
            }
        } else {
            None
        };
    let gp = match gfget(rt, pp) {
        Ok(g) => g,
        Err(e) => {
            if let Some(st) = own_stack {
                rt.stacks.free(st);
            }
            rt.goroutine_ended(pp);
            return Err(e);
        }
    };
    // SAFETY: gfget gave us a dead G nobody else references; we own it until runqput.
    let g = unsafe { &mut *gp };
    let goid = if pp.is_null() {
        GOIDGEN.fetch_add(1, Relaxed)
    } else {
        // SAFETY: we hold pp.
        let l = unsafe { (*pp).local() };
        if l.goidcache == l.goidcacheend {
            l.goidcache = GOIDGEN.fetch_add(GOID_BATCH, Relaxed);
            l.goidcacheend = l.goidcache + GOID_BATCH;
        }
        let id = l.goidcache;
        l.goidcache += 1;
        id
    };
    g.goid.store(goid, Relaxed);
    g.flags = opts.flags;
    // A dead G has no name and no main M (gfput, goexit0): only set them if asked,
    // which leaves the G's third 64 bytes untouched.
    if !opts.name.is_null() {
        g.set_name(opts.name);
    }
    g.startfn = f as usize;
    g.startarg = arg as usize;
    if !opts.main_m.is_null() {
        g.main_m = opts.main_m;
        g.flags |= GFLAG_MAIN;
    }
    g.lockedm = null_mut();
    g.lockcount = 0;
    g.parktoken().clear();
    g.waitreason.store(null_mut(), Relaxed);
    g.sched_sp = 0; // laid out by gstart when it first runs
    if let Some(st) = own_stack {
        g.stack = st;
    }
    if opts.argsize != 0 {
        copyargs(rt, pp, g, opts.args, opts.argsize);
    }
    // What the creator did so far happens before the goroutine starts (tools.rs).
    super::tools::release(gp as usize);
    if super::trace::on() {
        super::trace::go_create(g);
    }
    g.status.store(Gstatus::Runnable as u32, Release);
    // Host and GS_GO_GIL goroutines, in one branch (see gil.rs).
    if super::gil::special(g.flags) {
        if g.flags & GFLAG_HOST != 0 {
            super::host::hostrunqput(rt, gp);
            return Ok(goid);
        }
        super::gil::note_marked();
        if !pp.is_null() && super::gil::skip_wakep(g, mp) {
            // SAFETY: we hold pp.
            let p = unsafe { &*pp };
            p.spawned.store(p.spawned.load(Relaxed) + 1, Relaxed);
            p.runq.runqput(gp, true, rt);
            return Ok(goid);
        }
    }
    if pp.is_null() {
        rt.spawned_foreign.fetch_add(1, Relaxed);
        let mut s = rt.lock();
        rt.globrunqput(&mut s, gp);
    } else {
        // SAFETY: we hold pp.
        let p = unsafe { &*pp };
        p.spawned.store(p.spawned.load(Relaxed) + 1, Relaxed);
        p.runq.runqput(gp, true, rt);
    }
    wakep(rt);
    Ok(goid)
}

/// Copies a new G's start arguments to where they wait for `gstart`: into the G, or
/// when they do not fit there, to the top of a stack it gets now (see *Copied
/// arguments* in g.rs). Executed by newproc, which owns `g` and `pp` (if non-null).
fn copyargs(rt: &Runtime, pp: *mut P, g: &mut G, args: *const u8, n: usize) {
    debug_assert!(n <= ARGS_MAX);
    let at: *mut u8 = if n <= ARGS_INLINE {
        (&raw mut g.park.args).cast()
    } else {
        if g.stack.is_empty() {
            g.stack = stackalloc(rt, pp);
        }
        (g.stack.hi - args_span(n)) as *mut u8
    };
    // SAFETY: the caller's n readable bytes at args (API contract); `at` has room for n
    // bytes (ARGS_INLINE in the G, or the top of a stack nobody runs on yet).
    unsafe { core::ptr::copy_nonoverlapping(args, at, n) };
    g.argsize = n as u16;
    g.startarg = at as usize;
    g.flags |= GFLAG_ARGS;
}

/// Bytes that copied arguments of `n` bytes take at the top of a stack (the start
/// frame below them stays 16-byte aligned).
#[inline]
fn args_span(n: usize) -> usize {
    (n + 15) & !15
}

/// The P's own cache part of a free list (see freelist.rs), or none without a P.
///
/// # Safety
/// The caller holds `pp` (or it is null).
unsafe fn local<'a, T>(
    pp: *mut P,
    f: impl FnOnce(&'a mut super::p::PLocal) -> &'a mut Vec<T>,
) -> Option<&'a mut Vec<T>> {
    // SAFETY: the caller's contract.
    (!pp.is_null()).then(|| f(unsafe { (*pp).local() }))
}

/// Takes a dead G (without a stack) from the free lists, or allocates one (Go's
/// gfget + malg). Executed by the owner of `pp`, or by anyone if `pp` is null.
#[inline(always)]
fn gfget(rt: &Runtime, pp: *mut P) -> Result<*mut G> {
    // SAFETY: the caller holds pp.
    if let Some(g) = rt.gfree.get(unsafe { local(pp, |l| &mut l.gfree) }) {
        return Ok(g);
    }
    let gp = rt.allgs.alloc().ok_or(Error::NoMem)?;
    // The new G may end up on the global queue or free list: make room there now.
    // On failure it stays unused in its slot (it is dead and on no list).
    rt.reserve_gslots()?;
    Ok(gp)
}

/// Puts a dead G on the free lists and its stack in the stack cache (after giving
/// back pages it used deep down); stacks of their own mapping are unmapped.
/// Executed by the owner of `pp` (null for the host runner) on g0.
pub(crate) fn gfput(rt: &Runtime, pp: *mut P, gp: *mut G) {
    // SAFETY: gp is dead and ours (goexit0).
    let g = unsafe { &mut *gp };
    g.set_name(core::ptr::null());
    let st = core::mem::replace(&mut g.stack, super::stack::Stack::EMPTY);
    g.sched_sp = 0;
    if st.own_map {
        rt.stacks.free(st);
    } else if !st.is_empty() {
        st.release_deep(g.stack_lowest);
        // SAFETY: the caller holds pp.
        rt.stackfree.put(unsafe { local(pp, |l| &mut l.stackcache) }, st);
    }
    g.stack_lowest = usize::MAX;
    // SAFETY: the caller holds pp.
    rt.gfree.put(unsafe { local(pp, |l| &mut l.gfree) }, gp);
}

/// A default-size stack: from the stack caches, or a slab.
/// Executed by the owner of `pp` (or anyone if null).
#[inline(always)]
fn stackalloc(rt: &Runtime, pp: *mut P) -> super::stack::Stack {
    // SAFETY: the caller holds pp.
    if let Some(st) = rt.stackfree.get(unsafe { local(pp, |l| &mut l.stackcache) }) {
        return st;
    }
    match rt.stacks.alloc(0) {
        Ok(st) => st,
        Err(_) => super::throw::fatal("stackalloc: out of memory for a goroutine stack"),
    }
}

/// Gives a G that never ran its stack and first frame (Go allocates it in newproc;
/// we wait until the G first runs, so that a goroutine that finishes before the next
/// one starts hands its stack, still committed, to the next).
/// Executed on g0 by the M about to run gp.
#[inline]
pub(crate) fn gstart(m: &M, g: &mut G) {
    if g.stack.is_empty() {
        g.stack = stackalloc(m.rt(), m.p);
    }
    super::tools::stack_reused(g.stack.lo);
    let mut top = g.stack.hi;
    if g.flags & GFLAG_ARGS != 0 {
        g.flags &= !GFLAG_ARGS;
        let n = g.argsize as usize;
        top -= args_span(n);
        if n <= ARGS_INLINE {
            // SAFETY: newproc put n bytes in the G, and [top, top + n) is the top of the
            // G's own, unused stack.
            unsafe { core::ptr::copy_nonoverlapping(g.startarg as *const u8, top as *mut u8, n) };
        } // (bigger ones newproc already put at `top`)
        g.startarg = top;
    }
    // SAFETY: the stack is ours and unused above `top`, which is 16-byte aligned (hi
    // is page-aligned, args_span a multiple of 16). The entry function was checked
    // non-NULL by the C API.
    unsafe {
        let f: unsafe extern "C" fn(*mut c_void) = core::mem::transmute(g.startfn);
        g.sched_sp = if super::tools::wants_gentry() {
            // A tool must hear of the start on the new stack (see tools.rs).
            let top = top - super::tools::start_gap();
            gostartcall(top, super::tools::gentry, (g as *mut G).cast(), goexit1)
        } else {
            gostartcall(top, f, g.startarg as *mut c_void, goexit1)
        };
    }
    g.stack_lowest = g.sched_sp;
}
