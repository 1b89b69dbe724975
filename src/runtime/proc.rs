//! The scheduler proper: creating goroutines (`newproc`), running them (`schedule`,
//! `execute`), finding work (`findrunnable`, `stealwork`), starting and stopping Ms
//! (`wakep`, `startm`, `newm`, `stopm`, `handoffp`), and the g0 halves of yield and
//! exit (`gosched_m`, `goexit0`). Names and structure follow Go's proc.go.
//!
//! Functions suffixed `_m` run on g0 through `mcall`. The ownership rules are in
//! g.rs (*Ownership of a G*), p.rs (*Ownership of a P*) and sched.rs (*Spinning and
//! parking*, *Locks*).

use super::context::{gostartcall, gs_gogo, gs_mcall, gs_mstart0, McallFn};
use super::g::{Gstatus, ARGS_INLINE, G, GFLAG_ARGS, GFLAG_HOST, GFLAG_MAIN};
use super::m::M;
use super::p::{Pstatus, P};
use super::runq::GQueue;
use super::sched::{Runtime, SchedLocked, GOIDGEN};
use super::tls::{getm, setm};
use crate::error::{Error, Result};
use core::ffi::{c_char, c_void};
use core::ptr::null_mut;
use core::sync::atomic::Ordering::*;

/// Every this many scheduling rounds, take a G from the global queue first so that
/// it cannot starve behind local work. Go uses 61.
const GLOBAL_RUNQ_CHECK_EVERY: u32 = 61;
/// Rounds of stealing over all Ps before giving up. Go uses 4.
const STEAL_TRIES: usize = 4;
/// A P keeps at most this many dead Gs; above, half go to the global list. Go: 64/32.
pub(crate) const GFREE_LOCAL_MAX: usize = 64;
const GFREE_BATCH: usize = 32;
/// goids taken from the global generator at once by a P. Go uses 16.
const GOID_BATCH: u64 = 16;
/// Timer slack of worker threads (the kernel's default is 50 us).
const TIMER_SLACK_NS: libc::c_ulong = 1_000;
/// Stack of a worker M's OS thread, where g0 (the scheduler and unlockf callbacks) runs.
const G0_STACK_SIZE: usize = 512 << 10;

/// Options of a new goroutine (from gs_go_with and gs_go_copy).
pub(crate) struct GoOpts {
    pub(crate) stack_size: usize,
    pub(crate) name: *const c_char,
    pub(crate) flags: u32,
    pub(crate) host_m: *mut M,
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
        host_m: null_mut(),
        args: core::ptr::null(),
        argsize: 0,
    };
}

// ---------------------------------------------------------------------------------
// Creating goroutines

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
    let own_stack = if opts.stack_size != 0 && super::stack::round_page(opts.stack_size) != rt.stacks.default_size {
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
    // A dead G has no name and no host M (gfput, goexit0): only set them if asked,
    // which leaves the G's third 64 bytes untouched.
    if !opts.name.is_null() {
        g.set_name(opts.name);
    }
    g.startfn = f as usize;
    g.startarg = arg as usize;
    if !opts.host_m.is_null() {
        g.host_m = opts.host_m;
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
    g.status.store(Gstatus::Runnable as u32, Release);
    if g.flags & GFLAG_HOST != 0 {
        super::host::hostrunqput(rt, gp);
        return Ok(goid);
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

/// Takes a dead G (without a stack) from pp's free list, the global one, or allocates
/// one (Go's gfget + malg). Executed by the owner of `pp`, or by anyone if `pp` is null.
fn gfget(rt: &Runtime, pp: *mut P) -> Result<*mut G> {
    if !pp.is_null() {
        // SAFETY: we hold pp.
        let l = unsafe { (*pp).local() };
        if l.gfree.is_empty() && rt.gfree_len.load(Relaxed) != 0 {
            let mut s = rt.lock();
            let n = s.gfree.len().min(GFREE_BATCH);
            let at = s.gfree.len() - n;
            l.gfree.extend(s.gfree.drain(at..));
            rt.gfree_len.store(s.gfree.len(), Relaxed);
        }
        if let Some(g) = l.gfree.pop() {
            return Ok(g);
        }
    } else if rt.gfree_len.load(Relaxed) != 0 {
        let mut s = rt.lock();
        let g = s.gfree.pop();
        rt.gfree_len.store(s.gfree.len(), Relaxed);
        if let Some(g) = g {
            return Ok(g);
        }
    }
    let gp = rt.allgs.alloc().ok_or(Error::NoMem)?;
    // The new G may end up on the global queue or free list: make room there now.
    // On failure it stays unused in its slot (it is dead and on no list).
    rt.reserve_gslots()?;
    Ok(gp)
}

/// Puts a dead G on pp's free list and its stack in pp's stack cache (after giving
/// back pages it used deep down); stacks of their own mapping are unmapped. Without
/// a P (the host runner), both go to the global lists.
/// Executed by the owner of `pp` on g0.
fn gfput(rt: &Runtime, pp: *mut P, gp: *mut G) {
    // SAFETY: gp is dead and ours (goexit0).
    let g = unsafe { &mut *gp };
    g.set_name(core::ptr::null());
    let st = core::mem::replace(&mut g.stack, super::stack::Stack::EMPTY);
    g.sched_sp = 0;
    if st.own_map {
        rt.stacks.free(st);
    } else if !st.is_empty() {
        st.release_deep(g.stack_lowest);
        stackfree(rt, pp, st);
    }
    g.stack_lowest = usize::MAX;
    if pp.is_null() {
        let mut s = rt.lock();
        if s.gfree.len() == s.gfree.capacity() {
            super::throw::fatal("gfput: more dead Gs than G slots reserved");
        }
        s.gfree.push(gp);
        rt.gfree_len.store(s.gfree.len(), Relaxed);
        return;
    }
    // SAFETY: we hold pp.
    let l = unsafe { (*pp).local() };
    l.gfree.push(gp);
    if l.gfree.len() >= GFREE_LOCAL_MAX {
        // Keep the most recently freed (cache-warm) half; the oldest go global.
        let mut s = rt.lock();
        if s.gfree.len() + (GFREE_LOCAL_MAX - GFREE_BATCH) > s.gfree.capacity() {
            super::throw::fatal("gfput: more dead Gs than G slots reserved");
        }
        s.gfree.extend(l.gfree.drain(..GFREE_LOCAL_MAX - GFREE_BATCH));
        rt.gfree_len.store(s.gfree.len(), Relaxed);
    }
}

/// A default-size stack: from pp's cache, the global cache, or a slab.
/// Executed by the owner of `pp` (or anyone if null).
fn stackalloc(rt: &Runtime, pp: *mut P) -> super::stack::Stack {
    if !pp.is_null() {
        // SAFETY: we hold pp.
        let l = unsafe { (*pp).local() };
        if let Some(st) = l.stackcache.pop() {
            return st;
        }
        if rt.stackfree_len.load(Relaxed) != 0 {
            let mut s = rt.lock();
            let n = s.stackfree.len().min(GFREE_BATCH);
            let at = s.stackfree.len() - n;
            l.stackcache.extend(s.stackfree.drain(at..));
            rt.stackfree_len.store(s.stackfree.len(), Relaxed);
            if let Some(st) = l.stackcache.pop() {
                return st;
            }
        }
    } else if rt.stackfree_len.load(Relaxed) != 0 {
        let mut s = rt.lock();
        let st = s.stackfree.pop();
        rt.stackfree_len.store(s.stackfree.len(), Relaxed);
        if let Some(st) = st {
            return st;
        }
    }
    match rt.stacks.alloc(0) {
        Ok(st) => st,
        Err(_) => super::throw::fatal("stackalloc: out of memory for a goroutine stack"),
    }
}

/// Returns a default-size stack to pp's cache (half of a full cache goes global).
fn stackfree(rt: &Runtime, pp: *mut P, st: super::stack::Stack) {
    if pp.is_null() {
        let mut s = rt.lock();
        s.stackfree.push(st);
        rt.stackfree_len.store(s.stackfree.len(), Relaxed);
        return;
    }
    // SAFETY: we hold pp.
    let l = unsafe { (*pp).local() };
    l.stackcache.push(st);
    if l.stackcache.len() >= GFREE_LOCAL_MAX {
        let mut s = rt.lock();
        let at = l.stackcache.len() - GFREE_BATCH;
        s.stackfree.extend(l.stackcache.drain(at..));
        rt.stackfree_len.store(s.stackfree.len(), Relaxed);
    }
}

/// Gives a G that never ran its stack and first frame (Go allocates it in newproc;
/// we wait until the G first runs, so that a goroutine that finishes before the next
/// one starts hands its stack, still committed, to the next).
/// Executed on g0 by the M about to run gp.
#[inline]
fn gstart(m: &M, g: &mut G) {
    if g.stack.is_empty() {
        g.stack = stackalloc(m.rt(), m.p);
    }
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
        g.sched_sp = gostartcall(top, f, g.startarg as *mut c_void, goexit1);
    }
    g.stack_lowest = g.sched_sp;
}

// ---------------------------------------------------------------------------------
// Waking Ms and handing Ps around

/// Tries to add one more P to run goroutines: if a P is idle and no M is spinning,
/// starts a spinning M on it. See *Spinning and parking* in sched.rs.
/// Can be executed by anyone.
#[inline]
pub(crate) fn wakep(rt: &Runtime) {
    if rt.npidle.load(SeqCst) == 0 {
        return;
    }
    // Be conservative about spinning threads: only one at a time starts.
    if rt.nmspinning.load(SeqCst) != 0
        || rt.nmspinning.compare_exchange(0, 1, SeqCst, Relaxed).is_err()
    {
        return;
    }
    startm(rt, null_mut(), true);
}

/// Schedules some M to run `pp` (an idle P if null; then, if none, does nothing).
/// `spinning` means the caller incremented nmspinning for the new M.
/// Can be executed by anyone.
pub(crate) fn startm(rt: &Runtime, mut pp: *mut P, spinning: bool) {
    let mut s = rt.lock();
    if pp.is_null() {
        pp = rt.pidleget(&mut s);
        if pp.is_null() {
            drop(s);
            if spinning {
                rt.nmspinning.fetch_sub(1, SeqCst);
            }
            return;
        }
    }
    if !rt.running() {
        rt.pidleput(&mut s, pp);
        drop(s);
        if spinning {
            rt.nmspinning.fetch_sub(1, SeqCst);
        }
        return;
    }
    let nmp = rt.mget(&mut s);
    match (!nmp.is_null()).then_some(nmp) {
        Some(nmp) => {
            // Hand over the P under sched.lock: an M woken for another reason (shutdown,
            // its gs_main goroutine ended) looks for it under the lock too, so the P is
            // never left behind in an M that leaves.
            // SAFETY: an idle M sleeps on its note; until woken, we own its handoff fields.
            unsafe {
                (*nmp).spinning = spinning;
                (*nmp).nextp.store(pp, Release);
                if (*nmp).is_host {
                    // A host M frees itself (gs_main returning) after taking the lock:
                    // wake it before we let go of the lock.
                    (*nmp).park.wakeup();
                    drop(s);
                } else {
                    drop(s);
                    // Worker Ms live until shutdown, which waits for us (see sched.rs).
                    (*nmp).park.wakeup();
                }
            }
        }
        None => {
            let ok = newm(rt, &mut s, pp, spinning);
            if !ok {
                // No M for pp (the cap on threads, or no thread could be made): its
                // work goes to the global queue, where any M looks, since an idle P's
                // queue is one nobody looks in; and the M blocked in the poller, if
                // any, looks again.
                // SAFETY: Ps live as long as the runtime; we hold pp.
                let p = unsafe { &*pp };
                loop {
                    let (gp, _) = p.runq.runqget();
                    if gp.is_null() {
                        break;
                    }
                    rt.globrunqput(&mut s, gp);
                }
                rt.pidleput(&mut s, pp);
                drop(s);
                if spinning {
                    rt.nmspinning.fetch_sub(1, SeqCst);
                }
                rt.netpoll.wake();
                return;
            }
            drop(s);
        }
    }
    rt.wake_sysmon();
}

/// Creates an M (an OS thread) that starts with `pp`. False if max_threads is reached
/// or the thread cannot be created. sched.lock must be held.
fn newm(rt: &Runtime, s: &mut SchedLocked, pp: *mut P, spinning: bool) -> bool {
    if rt.nm_alive.load(Acquire) >= rt.cfg.max_threads {
        warn_thread_cap(rt, s);
        return false;
    }
    let id = rt.mnext.fetch_add(1, Relaxed);
    let mp = M::new(rt, id, false);
    // SAFETY: mp is new and ours until its thread starts.
    unsafe {
        (*mp).spinning = spinning;
        (*mp).nextp.store(pp, Relaxed);
    }
    rt.nm_alive.fetch_add(1, AcqRel);
    let h = super::osthread::newosproc(&format!("gosched-m{id}"), G0_STACK_SIZE, |a| mstart(a as *mut M), mp as usize);
    match h {
        Ok(h) => {
            s.allm.push(mp);
            s.threads.push(h);
            true
        }
        Err(_) => {
            rt.nm_alive.fetch_sub(1, AcqRel);
            // SAFETY: the thread never started; nobody else knows mp.
            drop(unsafe { Box::from_raw(mp) });
            false
        }
    }
}

/// Says on stderr (at most every `THREAD_CAP_WARN_NS`) that goroutines wait for a
/// thread when the cap on Ms is reached and every M is stuck in a blocking call or
/// waits for its locked goroutine: nothing runs until one comes back, and a silent
/// hang is the worst way to find that out. (Ms busy running goroutines are the cap
/// working as asked: no warning.) sched.lock must be held.
fn warn_thread_cap(rt: &Runtime, s: &SchedLocked) {
    let (mut syscall, mut locked) = (0u32, 0u32);
    for &mp in s.allm.iter() {
        // SAFETY: Ms in allm are alive while the lock is held; the fields read are
        // hints written by their own threads.
        let m = unsafe { &*mp };
        if m.host_runner {
            continue;
        }
        if m.in_syscall.load(Relaxed) {
            syscall += 1;
        } else if m.waiting_locked.load(Relaxed) {
            locked += 1;
        } else {
            return; // an M that runs goroutines, or will: no starvation
        }
    }
    let now = super::time::nanotime();
    let last = rt.thread_cap_warned.load(Relaxed);
    if last != 0 && now - last < THREAD_CAP_WARN_NS {
        return;
    }
    rt.thread_cap_warned.store(now, Relaxed);
    let msg = format!(
        "gosched: warning: goroutines wait for a thread: all {} threads that gs_config.max_threads allows are busy ({} in blocking calls, {} waiting for goroutines locked to them)\n",
        rt.cfg.max_threads, syscall, locked
    );
    // SAFETY: write(2) of a valid buffer.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

/// The thread-cap warning is repeated at most this often.
const THREAD_CAP_WARN_NS: i64 = 10_000_000_000;

/// Thread body of a worker M.
fn mstart(mp: *mut M) {
    // SAFETY: mp is this thread's M from now on.
    let rt = unsafe { &*(*mp).rt };
    mstart_common(mp);
    // SAFETY: after mstart_common no one else uses mp on this thread's behalf; the
    // runtime is alive until nm_alive reaches 0.
    unsafe { super::signal::mexit_signal_stack(&mut *mp) };
    setm(null_mut());
    m_left(rt);
}

/// Binds `mp` to this thread, runs the scheduler on it until the M exits (mexit), and
/// returns. Used by worker threads and by gs_main's thread.
pub(crate) fn mstart_common(mp: *mut M) {
    setm(mp);
    // SAFETY: mp is this thread's M.
    unsafe {
        (*mp).tid.store(libc::gettid(), Relaxed);
        if !(*mp).is_host {
            // Timers fire from epoll/futex waits on this thread: the kernel's default
            // slack of 50 us would make every sleep that much late.
            libc::prctl(libc::PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0);
        }
        super::signal::minit_signal_stack(&mut *mp);
        gs_mstart0(&mut (*mp).g0_sp, mstart1, mp.cast());
    }
}

/// Notes that an M left; the last access of an exiting thread to its runtime.
pub(crate) fn m_left(rt: &Runtime) {
    rt.nm_alive.fetch_sub(1, AcqRel);
    rt.mexit_seq.fetch_add(1, Release);
    super::note::futex_wake(&rt.mexit_seq, i32::MAX);
}

/// First code on g0: take the P we were started with (or any), then schedule.
unsafe extern "C" fn mstart1(arg: *mut c_void) -> ! {
    let mp: *mut M = arg.cast();
    // SAFETY: mp is this thread's M.
    let m = unsafe { &mut *mp };
    let pp = m.nextp.swap(null_mut(), Acquire);
    if !pp.is_null() {
        acquirep(m, pp);
    } else {
        let rt = m.rt();
        let pp = rt.pidleget(&mut rt.lock());
        if !pp.is_null() {
            acquirep(m, pp);
        } else {
            stopm_until_p(m);
        }
    }
    // SAFETY: on g0 with a P.
    unsafe { schedule(mp) }
}

/// Binds `pp` to `m`.
pub(crate) fn acquirep(m: &mut M, pp: *mut P) {
    // SAFETY: pp was handed to us (idle list, nextp or a CAS on its status).
    let p = unsafe { &*pp };
    debug_assert!(m.p.is_null(), "acquirep: M already has a P");
    m.p = pp;
    p.m.store(m, Release);
    p.status.store(Pstatus::Running as u32, Release);
}

/// Unbinds and returns m's P.
pub(crate) fn releasep(m: &mut M) -> *mut P {
    let pp = m.p;
    debug_assert!(!pp.is_null(), "releasep: M has no P");
    // SAFETY: we hold pp.
    unsafe { (*pp).m.store(null_mut(), Release) };
    m.p = null_mut();
    pp
}

/// Hands off `pp` from an M that stops running goroutines (blocking call, locked M
/// waiting, M leaving): starts an M for it if it has work, else makes it idle.
/// Can be executed by anyone holding pp.
pub(crate) fn handoffp(rt: &Runtime, pp: *mut P) {
    // SAFETY: the caller holds pp.
    let p = unsafe { &*pp };
    if !p.runq.is_empty() || rt.runqsize.load(Acquire) != 0 {
        startm(rt, pp, false);
        return;
    }
    // No local work: start a spinning M only if nobody spins and no P is idle.
    if rt.nmspinning.load(SeqCst) + rt.npidle.load(SeqCst) == 0
        && rt.nmspinning.compare_exchange(0, 1, SeqCst, Relaxed).is_ok()
    {
        startm(rt, pp, true);
        return;
    }
    let mut s = rt.lock();
    if rt.runqsize.load(Acquire) != 0 && rt.running() {
        drop(s);
        startm(rt, pp, false);
        return;
    }
    let when = p.timer0_when.load(Acquire);
    rt.pidleput(&mut s, pp);
    drop(s);
    if when != 0 {
        // Its timers must still run: make sure a poller wakes up for them.
        super::netpoll::wake_netpoller(rt, when);
    }
}

/// Parks the calling M until it is given a P (true), or woken to leave (false:
/// shutdown, or the host M's main goroutine ended).
/// Executed on g0 by an M without a P.
pub(crate) fn stopm(m: &mut M) -> bool {
    let rt = m.rt();
    debug_assert!(m.p.is_null(), "stopm: holding a P");
    {
        let mut s = rt.lock();
        if m_should_exit(m) {
            return false;
        }
        // Goroutines on the global queue and a P for them, but nobody running them:
        // startm found no idle M and the cap on threads let it make none, so it queued
        // the P's goroutines globally and idled the P, for the next M that is free.
        // That may be this one, coming from startlockedm or a blocking call without
        // looking at the queue: take them rather than sleep beside them.
        if rt.runqsize.load(Acquire) != 0 {
            let pp = rt.pidleget(&mut s);
            if !pp.is_null() {
                drop(s);
                acquirep(m, pp);
                return true;
            }
        }
        rt.mput(&mut s, m);
        m.idle.store(true, Relaxed);
    }
    m.park.sleep();
    m.park.clear();
    m.idle.store(false, Relaxed);
    let mut pp = m.nextp.swap(null_mut(), Acquire);
    if pp.is_null() {
        // Woken without a P (shutdown, or our gs_main goroutine ended): under the lock,
        // either startm already gave us one (take it) or we are still on the idle list
        // (leave it, so that nobody gives us one any more).
        let mut s = rt.lock();
        pp = m.nextp.swap(null_mut(), Acquire);
        if pp.is_null() {
            let me = m as *mut M;
            s.midle.retain(|&x| x != me);
            return false;
        }
    }
    acquirep(m, pp);
    true
}

/// `stopm` until a P comes; leaves the M (mexit) when told to.
/// Executed on g0 by an M without a P.
pub(crate) fn stopm_until_p(m: &mut M) {
    loop {
        if stopm(m) {
            return;
        }
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) };
        }
    }
}

#[inline]
fn m_should_exit(m: &M) -> bool {
    !m.rt().running() || (m.is_host && (m.main_done.load(Acquire) || m.rt().deadlock.load(Acquire)))
}

/// Leaves the scheduler: gives the P away and returns from gs_mstart0 on this thread.
/// Executed on g0.
unsafe fn mexit(m: &mut M) -> ! {
    let rt = m.rt();
    if m.spinning {
        m.spinning = false;
        rt.nmspinning.fetch_sub(1, SeqCst);
    }
    if !m.p.is_null() {
        let pp = releasep(m);
        if rt.running() {
            handoffp(rt, pp);
        } else {
            let mut s = rt.lock();
            rt.pidleput(&mut s, pp);
        }
    }
    // This M may have been the one that waited in the poller for every P's timers
    // (gs_main's thread leaves from there): make sure another one does.
    let next = super::timer::timesleepuntil(rt);
    if next != 0 && rt.running() {
        super::netpoll::wake_netpoller(rt, next);
    }
    if !m.lockedg.is_null() {
        // SAFETY: the locked G is ours to unlock; it will be run by any M.
        unsafe {
            (*m.lockedg).lockedm = null_mut();
            (*m.lockedg).lockcount = 0;
        }
        m.lockedg = null_mut();
        rt.nlocked.fetch_sub(1, AcqRel);
    }
    let sp = m.g0_sp;
    // SAFETY: g0_sp is the context gs_mstart0 saved on this thread's stack.
    unsafe { gs_gogo(sp) }
}

// ---------------------------------------------------------------------------------
// The scheduling loop

/// One round of scheduling: find a runnable G and execute it. Never returns.
/// Executed on g0 of an M holding a P (or whose locked G is waiting).
///
/// On x86-64 this restarts g0's stack at its base and jumps into `schedule0`
/// without a `call`: see *Return prediction* in context.rs.
#[inline(always)]
pub(crate) unsafe fn schedule(mp: *mut M) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: we are on g0 of mp, whose frames above g0_sp (the context saved by
    // gs_mstart0) are intact and whose frames below it are abandoned: nothing
    // returns into them. The pushed 0 stands for a return address (schedule0 never
    // returns) and leaves rsp as at a function's entry; it also ends backtraces.
    unsafe {
        core::arch::asm!(
            "movq {sp}, %rsp",
            "pushq $0",
            "jmp {f}",
            sp = in(reg) (*mp).g0_sp,
            f = sym schedule0,
            in("rdi") mp,
            options(att_syntax, noreturn),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded contract.
    unsafe {
        schedule0(mp)
    }
}

/// The body of `schedule`.
unsafe extern "C" fn schedule0(mp: *mut M) -> ! {
    // SAFETY: mp is this thread's M; we are on its g0.
    let m = unsafe { &mut *mp };
    if m.host_runner {
        // SAFETY: on the host runner's g0.
        unsafe { super::host::host_schedule(m) }
    }
    let rt = m.rt();
    if !m.lockedg.is_null() {
        stoplockedm(m);
        let gp = m.lockedg;
        // SAFETY: startlockedm gave us the P and the runnable locked G.
        unsafe { execute(m, gp, false) }
    }
    loop {
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
        // SAFETY: we hold m.p.
        let pp = unsafe { &*m.p };
        let (gp, inherit) = 'pick: {
            // The time slice is spent: see *Time slices* in sysmon.rs.
            if pp.preempt.load(Relaxed) {
                let gp = end_slice(rt, pp);
                if !gp.is_null() {
                    break 'pick (gp, false);
                }
            }
            checktimers(pp);
            let mut gp = null_mut();
            let mut inherit = false;
            // Fairness: now and then take from the global queue first.
            if pp.schedtick.load(Relaxed) % GLOBAL_RUNQ_CHECK_EVERY == 0 && rt.runqsize.load(Relaxed) > 0 {
                let mut s = rt.lock();
                gp = rt.globrunqget(&mut s, pp, 1);
            }
            if gp.is_null() {
                (gp, inherit) = pp.runq.runqget();
            }
            if gp.is_null() {
                (gp, inherit) = findrunnable(m);
            }
            (gp, inherit)
        };
        // SAFETY: we hold m.p (findrunnable may have changed it).
        super::prefetch::upcoming(unsafe { &*m.p });
        if m.spinning {
            resetspinning(m);
        }
        // SAFETY: we dequeued gp, so we own it.
        let lockedm = unsafe { (*gp).lockedm };
        if !lockedm.is_null() && lockedm != mp {
            // Hand our P to the M that gp is wired to, and wait.
            startlockedm(m, gp);
            continue;
        }
        // SAFETY: we own gp and hold a P.
        unsafe { execute(m, gp, inherit) }
    }
}

/// The end of a time slice on `pp` (see *Time slices* in sysmon.rs): the G in runnext
/// goes behind the ring, the expired timers run (a G one readies takes runnext),
/// goroutines whose fds are ready are queued if nobody looked for a while, and a fair
/// share of the global queue comes first: returns its first G, to run now (the rest
/// joins the ring), or null to schedule as usual. Executed by the owner of `pp`, on
/// g0.
#[cold]
#[inline(never)]
fn end_slice(rt: &Runtime, pp: &P) -> *mut G {
    pp.runq.runnext_to_tail(rt);
    checktimers(pp);
    let np = &rt.netpoll;
    let last = np.lastpoll.load(Relaxed);
    if np.waiters.load(Relaxed) > 0 && last != 0 && super::time::nanotime() - last > NETPOLL_SLICE_NS {
        np.lastpoll.store(super::time::nanotime(), Relaxed);
        let list = super::netpoll::netpoll(rt, 0);
        injectglist(rt, list);
    }
    if rt.runqsize.load(Relaxed) == 0 {
        return null_mut();
    }
    let mut s = rt.lock();
    rt.globrunqget(&mut s, pp, 0)
}

/// At the end of a time slice, poll the network if nobody has for this long.
const NETPOLL_SLICE_NS: i64 = 1_000_000;

/// Runs `gp` on this M. `inherit` keeps the current time slice (gp came from runnext).
/// Executed on g0 of an M holding a P; never returns.
#[inline(always)]
pub(crate) unsafe fn execute(m: &mut M, gp: *mut G, inherit: bool) -> ! {
    // SAFETY: we own gp.
    let g = unsafe { &mut *gp };
    if g.sched_sp == 0 {
        gstart(m, g);
    }
    m.curg.store(gp, Relaxed);
    g.m = m;
    g.casgstatus(Gstatus::Runnable, Gstatus::Running);
    if !m.p.is_null() {
        // SAFETY: we hold m.p.
        let pp = unsafe { &*m.p };
        let switches = pp.switches.load(Relaxed) + 1;
        pp.switches.store(switches, Relaxed);
        if !inherit {
            pp.schedtick.store(pp.schedtick.load(Relaxed).wrapping_add(1), Relaxed);
            pp.preempt.store(false, Relaxed);
        } else if switches % super::sysmon::INHERIT_MAX == 0 {
            // An inherited turn every INHERIT_MAX switches ends the slice: a pair
            // that hands the P back and forth does that many in a row (see *Time
            // slices* in sysmon.rs). Counting switches, not turns in a row, costs
            // nothing more than the statistic already kept.
            pp.preempt.store(true, Relaxed);
        }
    } else {
        m.rt().host_switches.fetch_add(1, Relaxed);
    }
    // SAFETY: gp's context was saved by mcall or laid out by gostartcall.
    unsafe { gogo_jump(g.sched_sp) }
}

/// `gs_gogo(sp)` by a jump rather than a call (see *Return prediction* in context.rs).
#[inline(always)]
unsafe fn gogo_jump(sp: usize) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's contract of gs_gogo; gs_gogo never returns, so no return
    // address is needed.
    unsafe {
        core::arch::asm!("jmp gs_gogo", in("rdi") sp, options(att_syntax, noreturn));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded contract.
    unsafe {
        gs_gogo(sp)
    }
}

/// Finds a runnable G, stealing from other Ps, else stops the M until there is work.
/// Returns the G and whether it inherits the time slice.
/// Executed on g0 of an M holding a P; may come back with another P.
/// Kept out of `schedule`, whose common path (a G in the local queue) stays short.
#[inline(never)]
fn findrunnable(m: &mut M) -> (*mut G, bool) {
    let rt = m.rt();
    'top: loop {
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
        // SAFETY: we hold m.p.
        let pp = unsafe { &*m.p };
        checktimers(pp);
        let (gp, inherit) = pp.runq.runqget();
        if !gp.is_null() {
            return (gp, inherit);
        }
        if rt.runqsize.load(Acquire) != 0 {
            let mut s = rt.lock();
            let gp = rt.globrunqget(&mut s, pp, 0);
            if !gp.is_null() {
                return (gp, false);
            }
        }
        // Poll the network without blocking, if some goroutine waits on an fd and no
        // M is blocked in the poller already.
        let np = &rt.netpoll;
        if np.waiters.load(Relaxed) > 0 && np.lastpoll.load(Relaxed) != 0 {
            let mut list = super::netpoll::netpoll(rt, 0);
            let gp = list.pop();
            if !gp.is_null() {
                injectglist(rt, list);
                return (gp, false);
            }
        }
        // Steal, if not too many Ms already spin: at most half the busy Ps.
        let procs = rt.allp.len() as u32;
        let busy = procs - rt.npidle.load(SeqCst).min(procs);
        if m.spinning || 2 * rt.nmspinning.load(SeqCst) < busy {
            if !m.spinning {
                m.spinning = true;
                rt.nmspinning.fetch_add(1, SeqCst);
            }
            let gp = stealwork(m);
            if !gp.is_null() {
                return (gp, false);
            }
        }
        // Nothing: give up the P.
        let mut s = rt.lock();
        if !rt.running() {
            drop(s);
            continue 'top;
        }
        if rt.runqsize.load(Acquire) != 0 {
            let gp = rt.globrunqget(&mut s, pp, 0);
            return (gp, false);
        }
        let pp = releasep(m);
        rt.pidleput(&mut s, pp);
        drop(s);
        let was_spinning = m.spinning;
        if m.spinning {
            m.spinning = false;
            rt.nmspinning.fetch_sub(1, SeqCst);
            // Re-check all queues (see *Spinning and parking*).
            let mut work = rt.runqsize.load(SeqCst) != 0;
            if !work {
                work = rt.allp.iter().any(|p| !p.runq.is_empty());
            }
            if work {
                let pp = rt.pidleget(&mut rt.lock());
                if !pp.is_null() {
                    acquirep(m, pp);
                    if was_spinning {
                        m.spinning = true;
                        rt.nmspinning.fetch_add(1, SeqCst);
                    }
                    continue 'top;
                }
            }
        }
        // Block in the poller until an fd is ready or the next timer, if there is
        // anything to wait for and no other M does it.
        let np = &rt.netpoll;
        let poll_until = super::timer::timesleepuntil(rt);
        if (np.waiters.load(SeqCst) > 0 || poll_until != 0) && np.lastpoll.swap(0, SeqCst) != 0 {
            np.poll_until.store(poll_until, SeqCst);
            m.idle.store(true, Relaxed);
            let mut list =
                if m_should_exit(m) { GQueue::new() } else { super::netpoll::netpoll_until(rt, poll_until) };
            m.idle.store(false, Relaxed);
            np.poll_until.store(0, SeqCst);
            np.lastpoll.store(super::time::nanotime(), SeqCst);
            let pp = rt.pidleget(&mut rt.lock());
            if pp.is_null() {
                injectglist(rt, list);
            } else {
                acquirep(m, pp);
                rt.wake_sysmon(); // every P was idle: sysmon may sleep deeply
                // Run the expired timers we woke for, whichever P's heap holds them:
                // waiting for the steal phase would make a timer's wakeup depend on
                // this M being allowed to steal.
                let now = super::time::nanotime();
                for p2 in rt.allp.iter() {
                    super::timer::runtimers(p2, now, true);
                }
                let gp = list.pop();
                if !gp.is_null() {
                    injectglist(rt, list);
                    return (gp, false);
                }
                continue 'top;
            }
        } else if poll_until != 0 {
            let until = np.poll_until.load(SeqCst);
            if until == 0 || until > poll_until {
                np.wake();
            }
        }
        stopm_until_p(m);
    }
}

/// Runs the expired timers of `pp`. Executed on g0 by the M holding pp.
#[inline]
fn checktimers(pp: &P) {
    let next = pp.timer0_when.load(Relaxed);
    if next != 0 {
        let now = super::time::nanotime();
        if next <= now {
            super::timer::runtimers(pp, now, false);
        }
    }
}

/// Puts a list of runnable Gs on the global queue and starts Ms for idle Ps to run
/// them (Go's injectglist). Can be executed by anyone.
pub(crate) fn injectglist(rt: &Runtime, mut list: GQueue) {
    let n = list.len;
    if n == 0 {
        return;
    }
    {
        let mut s = rt.lock();
        loop {
            let gp = list.pop();
            if gp.is_null() {
                break;
            }
            rt.globrunqput(&mut s, gp);
        }
    }
    let idle = rt.npidle.load(SeqCst) as usize;
    for _ in 0..n.min(idle) {
        startm(rt, null_mut(), false);
    }
}

/// Tries to steal a G from another P. Executed by an M holding a P, spinning.
fn stealwork(m: &mut M) -> *mut G {
    let rt = m.rt();
    // SAFETY: we hold m.p.
    let pp = unsafe { &*m.p };
    let n = rt.allp.len();
    let now = super::time::nanotime();
    for i in 0..STEAL_TRIES {
        let steal_runnext = i == STEAL_TRIES - 1;
        // SAFETY: we hold pp.
        let start = unsafe { pp.fastrand() } as usize % n;
        for k in 0..n {
            let p2 = &rt.allp[(start + k) % n];
            if core::ptr::eq(p2, pp) {
                continue;
            }
            // Run the other P's expired timers (its M may be blocked, or it is idle).
            if super::timer::runtimers(p2, now, true) {
                let (gp, _) = pp.runq.runqget();
                if !gp.is_null() {
                    return gp;
                }
            }
            if p2.status() == Pstatus::Idle {
                continue;
            }
            let gp = pp.runq.runqsteal(&p2.runq, steal_runnext && p2.status() == Pstatus::Running);
            if !gp.is_null() {
                pp.steals.store(pp.steals.load(Relaxed) + 1, Relaxed);
                return gp;
            }
        }
        if rt.runqsize.load(Acquire) != 0 {
            let mut s = rt.lock();
            let gp = rt.globrunqget(&mut s, pp, 0);
            if !gp.is_null() {
                return gp;
            }
        }
    }
    null_mut()
}

/// The M found work while spinning: stop spinning, and if it was the last spinner,
/// wake another so that further work is picked up (Go's resetspinning).
fn resetspinning(m: &mut M) {
    let rt = m.rt();
    m.spinning = false;
    let prev = rt.nmspinning.fetch_sub(1, SeqCst);
    if prev == 1 {
        wakep(rt);
    }
}

/// Waits, without a P, until this M's locked G is runnable and handed to us with a P.
/// Executed on g0 of a locked M.
fn stoplockedm(m: &mut M) {
    let rt = m.rt();
    if !m.p.is_null() {
        let pp = releasep(m);
        handoffp(rt, pp);
    }
    m.waiting_locked.store(true, Relaxed);
    loop {
        // A stopping runtime is checked before every sleep, not only after a wakeup:
        // gs_shutdown's wakeup may have landed on the note while it still held
        // startlockedm's, so that the one sleep that took the P consumed both, and no
        // other comes. (Only then: a host M whose gs_main goroutine ended leaves
        // after a wakeup without a P, as before, so that it never leaves while a
        // startlockedm is handing it its locked goroutine.)
        if !rt.running() {
            // A P handed to us meanwhile leaves with the M (mexit gives it away).
            let pp = m.nextp.swap(null_mut(), Acquire);
            if !pp.is_null() {
                acquirep(m, pp);
            }
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
        m.park.sleep();
        m.park.clear();
        let pp = m.nextp.swap(null_mut(), Acquire);
        if !pp.is_null() {
            m.waiting_locked.store(false, Relaxed);
            acquirep(m, pp);
            return;
        }
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) }
        }
    }
}

/// Hands our P to `gp`'s locked M (which will run gp) and waits for a P.
/// Executed on g0 of an M holding a P, which dequeued gp.
fn startlockedm(m: &mut M, gp: *mut G) {
    // SAFETY: we own gp; its lockedm is alive (an M never exits while it has a locked G).
    let lm = unsafe { &*(*gp).lockedm };
    let pp = releasep(m);
    lm.nextp.store(pp, Release);
    lm.park.wakeup();
    stopm_until_p(m);
}

// ---------------------------------------------------------------------------------
// The g0 halves of yield, park and exit

/// Switches from the current goroutine to g0 and runs `f(gp)` there (Go's mcall).
/// Executed on a goroutine's stack.
#[inline(never)]
pub(crate) unsafe fn mcall(f: McallFn) {
    // SAFETY: forwarded contract.
    unsafe { mcall_m(getm(), f) }
}

/// `mcall` for a caller that already read its M (one thread-local read less).
/// `mp` must be the calling thread's M, running a goroutine.
#[inline(always)]
pub(crate) unsafe fn mcall_m(mp: *mut M, f: McallFn) {
    // SAFETY: the caller is on a goroutine of mp, so its curg is valid; the context
    // is saved in curg.sched_sp before the switch.
    unsafe {
        let gp = (*mp).curg();
        gs_mcall(&mut (*gp).sched_sp, (*mp).g0_sp, f, gp.cast());
    }
}

/// Bookkeeping for a G that just switched out: stack depth and canary.
/// Executed on g0.
#[inline]
pub(crate) fn switched_out(g: &mut G) {
    if g.sched_sp < g.stack_lowest {
        g.stack_lowest = g.sched_sp;
    }
    if !g.stack.canary_ok() {
        super::signal::report_overflow_and_die(g);
    }
}

/// Detaches the current G from its M (Go's dropg).
#[inline]
pub(crate) fn dropg(m: &mut M, g: &mut G) {
    m.curg.store(null_mut(), Relaxed);
    g.m = null_mut();
}

/// g0 half of gs_gosched: the G goes behind the other runnable ones.
/// Go puts it on the global queue; we do that only when the global queue has work
/// (so the G lines up behind it) and otherwise use the tail of our ring, which gives
/// the same order without the lock.
pub(crate) unsafe extern "C" fn gosched_m(arg: *mut c_void) -> ! {
    let gp: *mut G = arg.cast();
    // SAFETY: gp was running on its M, recorded in g.m until dropg.
    let mp = unsafe { (*gp).m };
    // SAFETY: on g0 of mp, which was running gp.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    switched_out(g);
    let rt = m.rt();
    g.casgstatus(Gstatus::Running, Gstatus::Runnable);
    dropg(m, g);
    if g.flags & GFLAG_HOST != 0 {
        super::host::hostrunqput(rt, gp);
        // SAFETY: on g0.
        unsafe { schedule(mp) }
    }
    // SAFETY: we hold m.p.
    let pp = unsafe { &*m.p };
    if pp.preempt.load(Relaxed) {
        // The slice ends (see *Time slices* in sysmon.rs): the G in runnext goes
        // behind the ring first, so that the yielding G still goes behind it.
        pp.runq.runnext_to_tail(rt);
    }
    if rt.runqsize.load(Relaxed) != 0 || !g.lockedm.is_null() {
        let mut s = rt.lock();
        rt.globrunqput(&mut s, gp);
    } else {
        pp.runq.runqput(gp, false, rt);
    }
    // SAFETY: on g0.
    unsafe { schedule(mp) }
}

/// Entered from the goexit trampoline when a goroutine's function returns, and from
/// gs_goexit. Executed on the dying goroutine's stack.
pub(crate) unsafe extern "C" fn goexit1() -> ! {
    if getm().is_null() {
        // The function returned in a child forked from this goroutine, which has no
        // runtime (see *Fork* in fork.rs): its only thread ends, and with it the
        // process, as when the last thread returns from its start function.
        // SAFETY: exit may be called at any time.
        unsafe { libc::exit(0) }
    }
    // SAFETY: on a goroutine.
    unsafe { mcall(goexit0) };
    super::throw::fatal("goexit1: dead goroutine resumed")
}

/// g0 half of a goroutine's end: Dead, onto the free list, then schedule.
unsafe extern "C" fn goexit0(arg: *mut c_void) -> ! {
    let gp: *mut G = arg.cast();
    // SAFETY: gp was running on its M, recorded in g.m until dropg.
    let mp = unsafe { (*gp).m };
    // SAFETY: on g0 of mp, which was running gp.
    let (m, g) = unsafe { (&mut *mp, &mut *gp) };
    switched_out(g);
    let rt = m.rt();
    g.casgstatus(Gstatus::Running, Gstatus::Dead);
    dropg(m, g);
    if m.lockedg == gp {
        // It ended wired to this M (lockedg is set while lockcount > 0): the M is
        // free again.
        m.lockedg = null_mut();
        rt.nlocked.fetch_sub(1, AcqRel);
    }
    g.lockedm = null_mut();
    g.lockcount = 0;
    g.waitreason.store(null_mut(), Relaxed);
    let host = if g.flags & GFLAG_MAIN != 0 { core::mem::replace(&mut g.host_m, null_mut()) } else { null_mut() };
    gfput(rt, m.p, gp);
    rt.goroutine_ended(m.p);
    if !host.is_null() {
        // gs_main's goroutine ended: let its thread leave.
        // SAFETY: the host M is alive until it leaves, which needs this flag.
        let h = unsafe { &*host };
        h.main_done.store(true, Release);
        // Wake it under the lock: a host M frees itself only after taking the lock.
        let mut s = rt.lock();
        s.midle.retain(|&x| x != host);
        h.park.wakeup();
        drop(s);
        rt.netpoll.wake(); // it may be the M blocked in the poller
    }
    // SAFETY: on g0.
    unsafe { schedule(mp) }
}

/// Makes a waiting G runnable (Go's ready): into the current P's runnext if called on
/// an M with a P, else onto the global queue; then wakes an idle P.
/// The caller must be the single party allowed to ready `gp` (see g.rs).
/// Can be executed by anyone.
pub(crate) fn ready(rt: &Runtime, gp: *mut G, next: bool) {
    ready_m(rt, getm(), gp, next)
}

/// `ready` for a caller that already read its M (`mp`: the calling thread's M, or
/// null on a foreign thread).
#[inline]
pub(crate) fn ready_m(rt: &Runtime, mp: *mut M, gp: *mut G, next: bool) {
    // SAFETY: the caller owns the wakeup, so it owns gp until it is queued.
    let g = unsafe { &*gp };
    g.casgstatus(Gstatus::Waiting, Gstatus::Runnable);
    if g.flags & GFLAG_HOST != 0 {
        super::host::hostrunqput(rt, gp);
        return;
    }
    // SAFETY: mp is the calling thread's M, if any; m.p is held by it.
    let pp = unsafe {
        if mp.is_null() || !std::ptr::eq((*mp).rt, rt) {
            null_mut()
        } else {
            (*mp).p
        }
    };
    if pp.is_null() {
        let mut s = rt.lock();
        rt.globrunqput(&mut s, gp);
    } else {
        // SAFETY: we hold pp.
        unsafe { (*pp).runq.runqput(gp, next, rt) };
    }
    wakep(rt);
}

/// True when every goroutine is parked with nothing that could wake it (checked for
/// GS_CFG_CHECKDEAD): every P idle, no G runnable, running or in a blocking call.
/// Checked twice, 1 ms apart, so that a G caught between two states is not taken for
/// a deadlock.
pub(crate) fn checkdead(rt: &Runtime) -> bool {
    let once = || {
        if rt.ngoroutines.load(Acquire) == 0
            || rt.runqsize.load(Acquire) != 0
            || rt.hostq_len.load(Acquire) != 0
            || super::timer::timesleepuntil(rt) != 0
            || rt.netpoll.waiters.load(Acquire) != 0
            || rt.npidle.load(SeqCst) as usize != rt.allp.len()
        {
            return false;
        }
        let mut live = false;
        rt.allgs.for_each(|g| {
            if matches!(g.status(), Gstatus::Runnable | Gstatus::Running | Gstatus::Syscall) {
                live = true;
            }
        });
        !live
    };
    if !once() {
        return false;
    }
    super::time::thread_sleep(1_000_000);
    once()
}

// ---------------------------------------------------------------------------------
// Entry points for the calling thread (used by the C API)

/// Where the caller runs.
pub(crate) enum Caller {
    /// On goroutine `g`'s stack, on M `m`.
    Goroutine(*mut M, *mut G),
    /// On an M's g0 (e.g. inside an unlockf callback).
    G0(*mut M),
    /// A thread that is not an M.
    Foreign,
}

#[inline]
pub(crate) fn caller() -> Caller {
    let mp = getm();
    if mp.is_null() {
        return Caller::Foreign;
    }
    // SAFETY: mp is this thread's M.
    let gp = unsafe { (*mp).curg() };
    if gp.is_null() {
        Caller::G0(mp)
    } else {
        Caller::Goroutine(mp, gp)
    }
}

/// gs_go / gs_go_with.
pub(crate) fn go(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void, opts: &GoOpts) -> Result<u64> {
    let mp = getm();
    if mp.is_null() {
        let fg = super::sched::enter_foreign()?;
        return newproc(fg.rt(), null_mut(), f, arg, opts);
    }
    // SAFETY: mp is this thread's M; its runtime outlives it.
    let rt = unsafe { (*mp).rt() };
    if !rt.running() {
        return Err(Error::Shutdown);
    }
    newproc(rt, mp, f, arg, opts)
}

/// gs_gosched on a goroutine.
#[inline(never)]
pub(crate) fn gosched() {
    // SAFETY: the caller checked that it runs on a goroutine.
    unsafe { mcall(gosched_m) };
}

/// gs_gosched on a goroutine of `mp` (the caller read its M already).
#[inline(always)]
pub(crate) fn gosched_on(mp: *mut M) {
    // SAFETY: the caller runs a goroutine on mp.
    unsafe { mcall_m(mp, gosched_m) };
}

/// gs_goexit on a goroutine.
pub(crate) fn goexit() -> ! {
    // SAFETY: the caller checked that it runs on a goroutine.
    unsafe { goexit1() }
}

/// gs_lock_os_thread on goroutine `gp` running on `mp`. `Again` if wiring it would
/// leave no thread for the rest: every M that `max_threads` allows would be locked,
/// and a locked M that waits for its goroutine runs nothing else, not even timers
/// (Go, with no such cap in practice, dies of "thread exhaustion" instead).
pub(crate) fn lock_os_thread(mp: *mut M, gp: *mut G) -> Result<()> {
    // SAFETY: gp runs on mp: both are ours.
    unsafe {
        if (*gp).lockcount == 0 {
            let rt = (*mp).rt();
            let locked = rt.nlocked.fetch_add(1, AcqRel) + 1;
            if locked >= rt.cfg.max_threads {
                rt.nlocked.fetch_sub(1, AcqRel);
                return Err(Error::Again);
            }
        }
        (*gp).lockcount += 1;
        (*gp).lockedm = mp;
        (*mp).lockedg = gp;
    }
    Ok(())
}

/// gs_unlock_os_thread on goroutine `gp` running on `mp`. Unlocking an unlocked G does
/// nothing, as in Go.
pub(crate) fn unlock_os_thread(mp: *mut M, gp: *mut G) {
    // SAFETY: gp runs on mp: both are ours.
    unsafe {
        if (*gp).lockcount == 0 {
            return;
        }
        (*gp).lockcount -= 1;
        if (*gp).lockcount == 0 {
            (*gp).lockedm = null_mut();
            (*mp).lockedg = null_mut();
            (*mp).rt().nlocked.fetch_sub(1, AcqRel);
        }
    }
}

/// gs_main: the calling (foreign) thread becomes an M and runs `f(arg)` as a goroutine
/// until it returns; other goroutines keep running.
pub(crate) fn main(f: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> Result<()> {
    let fg = loop {
        match super::sched::init(super::sched::resolve_config(0, 0, 0, 0)?) {
            Ok(()) | Err(Error::Already) => {}
            Err(e) => return Err(e),
        }
        // A gs_shutdown that finished between the two left no runtime: start another,
        // as a call made after it would (GS_ENOTINIT is not one of gs_main's answers).
        match super::sched::enter_foreign() {
            Err(Error::NotInit) => continue,
            r => break r?,
        }
    };
    let rt = fg.rt();
    let mp = M::new(rt, rt.mnext.fetch_add(1, Relaxed), true);
    {
        let mut s = rt.lock();
        if !rt.running() {
            drop(s);
            // SAFETY: nobody else knows mp.
            drop(unsafe { Box::from_raw(mp) });
            return Err(Error::Shutdown);
        }
        s.allm.push(mp);
        rt.nm_alive.fetch_add(1, AcqRel);
    }
    let opts = GoOpts { host_m: mp, ..GoOpts::DEFAULT };
    if let Err(e) = newproc(rt, null_mut(), f, arg, &opts) {
        rt.lock().allm.retain(|&x| x != mp);
        // SAFETY: mp never ran; it was only on allm, which we just left.
        drop(unsafe { Box::from_raw(mp) });
        m_left(rt);
        return Err(e);
    }
    mstart_common(mp);
    // Back on this thread's own stack: the M has left the scheduler.
    // SAFETY: mp is this thread's M and no longer schedules.
    let done = unsafe {
        super::signal::mexit_signal_stack(&mut *mp);
        (*mp).main_done.load(Acquire)
    };
    let deadlock = !done && rt.deadlock.load(Acquire);
    setm(null_mut());
    {
        let mut s = rt.lock();
        if rt.running() {
            s.allm.retain(|&x| x != mp);
            drop(s);
            // SAFETY: removed from allm under the lock; goexit0 wakes a host M only
            // under that lock, so nobody references mp any more.
            drop(unsafe { Box::from_raw(mp) });
        }
        // Else shutdown frees it with the other Ms.
    }
    m_left(rt);
    drop(fg);
    if done {
        Ok(())
    } else if deadlock {
        Err(Error::Deadlock)
    } else {
        Err(Error::Shutdown)
    }
}
