//! The calling party (`Ctx`), the blocked party (`Waiter`), and the two primitives
//! every object is built on: `block` (sleep until claimed, timed out or shut down)
//! and `wake`.
//!
//! # A Waiter
//!
//! Lives in the frame of the blocking call, on the party's stack, from before its
//! sudogs are queued until after they are all off the queues. Fields:
//! - `done`: 0 while open; the first to CAS it to 1 owns the wakeup (only for claimed
//!   sudogs, see *Claims* in mod.rs). Any thread.
//! - `fired`: the sudog that woke the party; null if its timeout or shutdown did.
//!   Written by the waker before the wakeup, read by the party after it.
//! - `g`, `rt`: a goroutine party. Written at creation.
//! - `word`: a thread party's futex word (parker.rs).
//! - `reg_prev`/`reg_next`: registry links, under the registry's lock.
//!
//! A goroutine's timeout is a `timer::Timeout` in the frame of `block`: armed on g0
//! once the G is parked (`commit_m`), disarmed by the party (waiting out a running
//! callback) before the frame ends.

use super::parker;
use super::sudog::Sudog;
use super::ObjLock;
use crate::error::{Error, Result};
use crate::runtime::entry::{self, Caller};
use crate::runtime::g::G;
use crate::runtime::m::M;
use crate::runtime::sched::{self, Foreign, Runtime};
use crate::runtime::timer::Timeout;
use crate::runtime::{park, time};
use core::cell::Cell;
use core::ffi::{c_void, CStr};
use core::ptr::{null, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};

/// Where the caller of an object's operation runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// On a goroutine: blocking parks it.
    Goroutine,
    /// On an M's g0 (an unlockf, a timer function): must not block.
    G0,
    /// A thread that is not an M: blocking sleeps the thread.
    Foreign,
}

/// The calling party of one operation. For a foreign thread it holds the runtime's
/// foreign pass, taken lazily the first time the operation needs the runtime (to
/// ready a goroutine, or to block where shutdown can reach it).
pub(crate) struct Ctx {
    pub(crate) kind: Kind,
    /// The calling thread's M (null on a foreign thread), read once so that the fast
    /// paths read no thread-local again. Valid until the party blocks: `block`
    /// clears it, since a goroutine may resume on another M (see tls.rs).
    m: *mut M,
    /// M callers: the M's runtime. Foreign: the entered runtime, or null.
    pub(crate) rt: *const Runtime,
    _guard: Option<Foreign>,
    /// Foreign: the result of entering, once tried.
    entered: Option<Result<()>>,
}

impl Ctx {
    #[inline]
    pub(crate) fn new() -> Ctx {
        match entry::caller() {
            Caller::Goroutine(m, _) => {
                // SAFETY: m is this thread's M; its runtime outlives it.
                Ctx { kind: Kind::Goroutine, m, rt: unsafe { (*m).rt }, _guard: None, entered: None }
            }
            // SAFETY: as above.
            Caller::G0(m) => Ctx { kind: Kind::G0, m, rt: unsafe { (*m).rt }, _guard: None, entered: None },
            Caller::Foreign => {
                Ctx { kind: Kind::Foreign, m: null_mut(), rt: null(), _guard: None, entered: None }
            }
        }
    }

    /// The calling thread's M (null on a foreign thread).
    #[inline]
    fn m(&self) -> *mut M {
        if self.m.is_null() && self.kind != Kind::Foreign {
            curm()
        } else {
            self.m
        }
    }

    /// A cheap random number: from the M's state, or the thread's on a foreign thread.
    /// Before the party blocks (the M is the calling thread's).
    #[inline(always)]
    pub(crate) fn rand(&self) -> u32 {
        // SAFETY: m() is null or the calling thread's M.
        unsafe { super::cheaprand_m(self.m()) }
    }

    /// Foreign thread: enters the runtime once. `NotInit` or `Shutdown` if it cannot.
    fn enter(&mut self) -> Result<()> {
        if let Some(r) = self.entered {
            return r;
        }
        let r = match sched::enter_foreign() {
            Ok(fg) => {
                self.rt = fg.rt();
                self._guard = Some(fg);
                Ok(())
            }
            Err(e) => Err(e),
        };
        self.entered = Some(r);
        r
    }

    /// True if we may ready the goroutine of `sg`: it belongs to our runtime, which
    /// stays alive while we do (an M's, or the one our foreign pass holds). A foreign
    /// caller finds none while the runtime stops: that goroutine is being abandoned.
    pub(crate) fn goroutine_live(&mut self, sg: &Sudog) -> bool {
        if self.kind == Kind::Foreign && self.enter().is_err() {
            return false;
        }
        sg.rt == self.rt
    }

    /// Checks that the caller may block here: `Perm` on g0; for a foreign thread,
    /// enters the runtime if one runs (so that its shutdown can wake us) and gives
    /// `Shutdown` if it is stopping. Without a runtime a foreign thread blocks as a
    /// plain thread.
    pub(crate) fn may_block(&mut self) -> Result<()> {
        match self.kind {
            Kind::Goroutine => Ok(()),
            Kind::G0 => Err(Error::Perm),
            Kind::Foreign => match self.enter() {
                Ok(()) | Err(Error::NotInit) => Ok(()),
                Err(e) => Err(e),
            },
        }
    }

    /// True on a goroutine (of a runtime with more than one P, for mutex spinning).
    #[inline]
    pub(crate) fn is_goroutine(&self) -> bool {
        self.kind == Kind::Goroutine
    }
}

/// A blocked party. See *A Waiter*.
pub(crate) struct Waiter {
    pub(crate) done: crate::loom::atomic::AtomicU32,
    pub(crate) fired: AtomicPtr<Sudog>,
    pub(crate) g: *mut G,
    pub(crate) rt: *const Runtime,
    pub(crate) word: AtomicU32,
    pub(crate) reg_prev: Cell<*const Waiter>,
    pub(crate) reg_next: Cell<*const Waiter>,
}

impl Waiter {
    /// A waiter for the calling party (which may block: see `Ctx::may_block`).
    pub(crate) fn new(ctx: &Ctx) -> Waiter {
        let g = match ctx.kind {
            // SAFETY: ctx.m() is this thread's M, running us.
            Kind::Goroutine => unsafe { (*ctx.m()).curg() },
            _ => null_mut(),
        };
        Waiter {
            done: crate::loom::atomic::AtomicU32::new(0),
            fired: AtomicPtr::new(null_mut()),
            g,
            rt: ctx.rt,
            word: AtomicU32::new(0),
            reg_prev: Cell::new(null()),
            reg_next: Cell::new(null()),
        }
    }

    /// Fills in `sg` as one of this party's sudogs. `claim`: the waker must win
    /// `done` first; always so for threads (shutdown may race with the waker).
    /// # Safety
    /// `sg` is ours (a fresh `Sudog::EMPTY` in the blocking frame).
    #[inline]
    pub(crate) unsafe fn init_sudog(&self, sg: *mut Sudog, elem: *mut u8, claim: bool) {
        let goroutine = !self.g.is_null();
        // SAFETY: the caller's contract.
        unsafe {
            (*sg).waiter = self;
            (*sg).elem = elem;
            (*sg).goroutine = goroutine;
            (*sg).claim = claim || !goroutine;
            (*sg).rt = self.rt;
        }
    }
}

/// The calling thread's M. Not inlined: a caller that parked and resumed on another
/// M must not reuse a thread-local address computed before (see tls.rs).
#[inline(never)]
fn curm() -> *mut M {
    crate::runtime::tls::getm()
}

/// The P of the calling goroutine's M (see `Ctx::m`).
pub(crate) fn curp(ctx: &Ctx) -> *mut crate::runtime::p::P {
    // SAFETY: on a goroutine, ctx.m() is this thread's M; only it writes its p.
    unsafe { (*ctx.m()).p }
}

/// How a wait ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Woke {
    /// A waker claimed the party: `Waiter::fired` names the sudog.
    Fired,
    /// The deadline passed first (the party won its own claim).
    TimedOut,
    /// The runtime is shutting down (foreign threads only).
    Shutdown,
}

/// No deadline.
pub(crate) const NEVER: i64 = i64::MAX;

/// The deadline of a timeout (> 0), saturating: huge timeouts never wrap around.
#[inline]
pub(crate) fn deadline(timeout_ns: i64) -> i64 {
    if timeout_ns < 0 {
        NEVER
    } else {
        time::nanotime().saturating_add(timeout_ns)
    }
}

/// Arguments of `commit_m`, in the parking goroutine's frame; while the G waits, also
/// what gs_shutdown's `purge_abandoned` reads (the park's lock argument points here).
struct Commit {
    locks: *const *const ObjLock,
    nlocks: usize,
    /// The wait's deadline; null without one.
    to: *mut Timeout,
    waiter: *const Waiter,
    /// The party's sudogs, queued under `locks`.
    sgs: *mut [Sudog],
}

/// unlockf of a goroutine's `block`: arms the timeout, then releases the objects'
/// locks in reverse lock order.
/// Executed on g0 of the parking goroutine's M, with the G marked waiting.
unsafe extern "C" fn commit_m(_gp: *mut c_void, arg: *mut c_void) -> bool {
    // SAFETY: arg is the Commit in the parked goroutine's frame. That frame stays
    // alive until the party has retaken every lock we still hold: it must lock them
    // all again (in ascending order) before it leaves the blocking call, and we
    // release the lowest last, so nothing of it is touched after the last unlock.
    // Without locks, the timer may wake the party as soon as it is armed: everything
    // is read before.
    unsafe {
        let a = &*(arg as *const Commit);
        let (locks, n) = (a.locks, a.nlocks);
        if !a.to.is_null() {
            (*a.to).arm(timeout_fire, a.waiter as usize);
        }
        let mut i = n;
        while i > 0 {
            i -= 1;
            (**locks.add(i)).unlock();
        }
    }
    true
}

/// Takes the sudogs of `g` off their queues, and out of the objects' counts of parties
/// inside, if `g` is a goroutine parked by `block`, or readied from there but not run
/// since: a select claimed through one channel, or a timed wait whose timer fired,
/// takes its other sudogs off when it runs, which an abandoned goroutine never does
/// (see *Abandoned goroutines* in sudog.rs). The G is not woken.
/// The objects' other state heals by itself: a mutex's PARKED bit and a wait
/// group's WAITING bit are reset by the next unlock or release that finds the queue
/// empty.
/// Executed by gs_shutdown once no M of g's runtime runs, before the stacks are freed.
/// # Safety
/// No M runs goroutines of g's runtime any more, and g's stack is still mapped.
pub(crate) unsafe fn purge_abandoned(g: &G) {
    use crate::runtime::g::Gstatus;
    if !matches!(g.status(), Gstatus::Waiting | Gstatus::Runnable) || g.sched_sp == 0 {
        return; // not parked, or never ran (`park` may hold copied start arguments)
    }
    // SAFETY: the G has run, so `park` holds a ParkCall (of its last park); its
    // unlockf is commit_m only while the G is in `block` (cleared when it resumes).
    let call = unsafe { g.park.call };
    if call.unlockf.map(|f| f as *const () as usize) != Some(commit_m as *const () as usize) {
        return;
    }
    // SAFETY: the G parked in `block` and cannot resume (no M runs), so its frame, the
    // Commit and the sudogs, stays as it left it. The locks are taken in lock order,
    // as the party took them; foreign threads may be using the objects meanwhile.
    unsafe {
        let a = &*(call.lock as *const Commit);
        for i in 0..a.nlocks {
            (**a.locks.add(i)).lock();
        }
        for i in 0..a.sgs.len() {
            let sg = a.sgs.cast::<Sudog>().add(i);
            if (*sg).queued || (*sg).counted {
                (*(*sg).q).leave(sg);
            }
        }
        for i in (0..a.nlocks).rev() {
            (**a.locks.add(i)).unlock();
        }
    }
}

/// Timer function of a goroutine's timeout: claims the party, or does nothing.
/// Executed on an M's g0 (runtimers), never under a heap lock.
///
/// # Safety
/// `arg` is the `Waiter` of a party blocked in `block`, which disarms the timer
/// (waiting for this function) before its frame ends.
unsafe fn timeout_fire(arg: usize) {
    let w = arg as *const Waiter;
    // SAFETY: the waiter stays alive until its party's deltimer returned, which waits
    // for this function to finish.
    unsafe {
        if (*w).done.compare_exchange(0, 1, AcqRel, Relaxed).is_ok() {
            park::ready(&*(*w).rt, (*w).g, true);
        }
    }
}

/// Blocks the calling party until a waker claims it, `deadline` (nanotime; `NEVER`)
/// passes, or (foreign threads) the runtime shuts down. `locks` are the objects'
/// locks, held, in lock order (no duplicates); they are released once the party is
/// committed to sleep, and are not held on return. The party's sudogs, `sgs`, are
/// queued (`purge_abandoned` finds them there).
/// With a finite deadline (or on a foreign thread) they must be claimed sudogs.
/// Executed by the blocking party: a goroutine or a foreign thread.
/// # Safety
/// `ctx.may_block()` succeeded; `w` is the party's waiter and its sudogs are queued
/// under `locks`.
///
/// Inlined into the operations, so that a goroutine that resumes returns straight
/// into the caller of the C API: after a switch every `ret` on the way back
/// mispredicts (the CPU's return stack holds the scheduler's calls), so each frame
/// between the API function and the switch costs one.
#[inline(always)]
pub(crate) unsafe fn block(
    ctx: &mut Ctx,
    w: &Waiter,
    locks: &[*const ObjLock],
    sgs: *mut [Sudog],
    deadline: i64,
    reason: &'static CStr,
) -> Woke {
    if ctx.kind == Kind::Goroutine {
        let mp = ctx.m();
        ctx.m = null_mut(); // we may resume on another M
                            // Only a timed wait has a Timeout (an untimed one, the common case, pays
                            // nothing for it). SAFETY: a goroutine's runtime outlives it.
        let mut to = (deadline != NEVER).then(|| Timeout::at(unsafe { &*w.rt }, deadline));
        let top = to.as_mut().map_or(null_mut(), |t| t as *mut Timeout);
        let mut a = Commit { locks: locks.as_ptr(), nlocks: locks.len(), to: top, waiter: w, sgs };
        // g0 unlocks them for us: hand over what we did under them (tools.rs).
        for &l in locks {
            crate::runtime::tools::release(l as usize);
        }
        // SAFETY: on a goroutine (ctx); `a` lives in this frame until we resume.
        unsafe {
            park::gopark_with(mp, Some(commit_m), (&mut a as *mut Commit).cast(), reason.as_ptr(), false);
        }
        // Resumed, maybe on another M: nothing from before the park is reused. Out of
        // `block` from here on, as far as gs_shutdown's purge is concerned.
        // SAFETY: w.g is this goroutine, the owner of its park area while it runs.
        unsafe { (*w.g).park.call.unlockf = None };
        if let Some(t) = to.as_mut() {
            t.disarm();
        }
        crate::runtime::tools::acquire(w as *const Waiter as usize);
        return if w.fired.load(Relaxed).is_null() { Woke::TimedOut } else { Woke::Fired };
    }
    // SAFETY: forwarded contract.
    unsafe { block_thread(ctx, w, locks, deadline) }
}

/// `block` for a foreign thread: sleeps on its futex word.
/// # Safety
/// As `block`: the caller is a foreign thread that holds `locks` (in ascending
/// order) with its sudogs queued under them, all naming `w`.
#[inline(never)]
#[cold]
unsafe fn block_thread(ctx: &mut Ctx, w: &Waiter, locks: &[*const ObjLock], deadline: i64) -> Woke {
    let registered = !ctx.rt.is_null();
    let wmem = (w as *const Waiter as usize, size_of::<Waiter>());
    crate::runtime::tools::runtime_memory_in_frame(wmem.0, wmem.1);
    if registered {
        parker::register(w);
        // SAFETY: ctx holds the foreign pass, so the runtime is alive.
        if unsafe { !(*ctx.rt).running() } {
            w.word.fetch_or(parker::SHUTDOWN, Relaxed);
        }
    }
    for &l in locks.iter().rev() {
        // SAFETY: the caller holds them.
        unsafe { (*l).unlock() };
    }
    let mut lost = false;
    let r = loop {
        let v = w.word.load(Acquire); // load-acquire, synchronize with the waker's notify
        if v & parker::NOTIFIED != 0 {
            break Woke::Fired;
        }
        let now = if deadline == NEVER { 0 } else { time::nanotime() };
        if !lost && (v & parker::SHUTDOWN != 0 || (deadline != NEVER && now >= deadline)) {
            if w.done.compare_exchange(0, 1, AcqRel, Acquire).is_ok() {
                break if v & parker::SHUTDOWN != 0 { Woke::Shutdown } else { Woke::TimedOut };
            }
            // A waker won: its notify is on the way.
            lost = true;
        }
        let ns = if lost || deadline == NEVER { -1 } else { deadline - now };
        parker::wait(&w.word, v, ns);
    };
    if registered {
        parker::unregister(w);
    }
    crate::runtime::tools::acquire(w as *const Waiter as usize);
    crate::runtime::tools::user_memory_again(wmem.0, wmem.1);
    r
}

/// Wakes the party of `sg`, which the caller dequeued and claimed (`WaitQ::dequeue`),
/// after writing its result into it. Call it after releasing the object's lock.
/// `next`: a goroutine goes to the current P's runnext (a hand-off), else to its tail.
/// Can be executed by anyone holding `sg`'s claim, after releasing the object's lock.
/// # Safety
/// `sg` was dequeued by the caller and is live; nobody else will wake its party.
#[inline]
pub(crate) unsafe fn wake(ctx: &Ctx, sg: *mut Sudog, next: bool) {
    // SAFETY: the caller's contract: the party waits for exactly this wakeup, so its
    // waiter is alive until it; a goroutine's runtime is ours (goroutine_live).
    unsafe {
        let w = (*sg).waiter;
        crate::runtime::tools::release(w as usize);
        (*w).fired.store(sg, Relaxed);
        if (*sg).goroutine {
            park::ready_with(&*(*sg).rt, ctx.m(), (*w).g, next);
        } else {
            parker::notify(&(*w).word, parker::NOTIFIED);
        }
    }
}
