//! Timers and tickers as channels, and after-funcs (Go's time.NewTimer, time.NewTicker,
//! time.AfterFunc), on the runtime's timers (runtime/timer.rs).
//!
//! # Semantics: Go 1.23's
//!
//! The channel has room for one value, the fire time (nanotime). `stop` and `reset`
//! take out a value that is in the channel and not received yet, so that no stale
//! value is received after they return, and count it as not delivered: they return
//! true if the timer was armed or such a value was taken out (Go 1.23's Stop and
//! Reset on a timer channel). A ticker whose receiver is slow finds the channel full
//! and drops the tick: never more than one is queued; its next tick is at the next
//! multiple of its period after the time it runs, as Go's.
//!
//! # Two runtime timers
//!
//! A runtime timer's function must not re-arm its own timer (runtimers marks it done
//! after the function returns). So an object has two, `t[0]` and `t[1]`, and arms
//! them in turn: `next` names the one to arm next. A ticker's fire arms the other one;
//! before arming a timer, `deltimer` waits for a previous run of its function to end.
//! At most one of the two is in a heap at any time.
//!
//! # Locks
//!
//! - `op` serialises `stop`, `reset` and `free` (held across their `deltimer`s, which
//!   wait for a running fire: a fire never takes `op`).
//! - `state` guards `active`, `when`, `period` and `next`; the fire takes it, checks
//!   `active`, sends or arms, and releases it. `stop` clears `active` under it before
//!   deleting both timers, so no fire that starts afterwards arms anything.
//!
//! # The runtime's life
//!
//! The timers live in the heaps of the runtime that was running at `new` (`rt`, with
//! its `start_time` to tell it from a later one at the same address). A call that
//! deletes or arms them first makes sure that runtime still runs (it is the caller's
//! M's, or a foreign pass into it is held). When it is gone, its heaps went with it
//! and nothing refers to the timers any more; while it stops, such calls give
//! `Shutdown`.

use super::chan::{self, Chan};
use super::waiter::{Ctx, Kind};
use super::{retire, ObjLock, MAGIC_FREED, MAGIC_OFFSET};
use crate::error::{Error, Result};
use crate::runtime::entry::{self, Caller};
use crate::runtime::newproc::GoOpts;
use crate::runtime::sched::{self, Foreign, Runtime};
use crate::runtime::time::nanotime;
use crate::runtime::timer::{addtimer, deltimer, Timer};
use core::alloc::Layout;
use core::cell::{Cell, UnsafeCell};
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU32, Ordering::*};

/// `magic` of a live timer, ticker or after-func ("timr"). See *Handles* in mod.rs.
pub(crate) const MAGIC_TIMER: u32 = u32::from_le_bytes(*b"timr");

/// What a fire does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kindof {
    /// Sends the time on the channel once.
    Timer,
    /// Sends the time every period, dropping ticks the receiver has no room for.
    Ticker,
    /// Starts `f(arg)` as a goroutine once.
    AfterFunc,
}

pub(crate) type Func = unsafe extern "C" fn(*mut c_void);

#[repr(C)]
pub(crate) struct TimerChan {
    op: ObjLock,
    magic: AtomicU32,
    state: ObjLock,
    kind: Kindof,
    active: Cell<bool>,
    when: Cell<i64>,
    period: Cell<i64>,
    next: Cell<usize>,
    c: *mut Chan,
    f: Option<Func>,
    arg: *mut c_void,
    rt: *const Runtime,
    rt_start: i64,
    t: [UnsafeCell<Timer>; 2],
}

// SAFETY: the cells are under `state` (or `op`); the timers under the runtime's heap
// protocol; the rest is immutable after `new`.
unsafe impl Sync for TimerChan {}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(TimerChan, magic) == MAGIC_OFFSET);

/// Proof that the timer's runtime runs while it is held (see *The runtime's life*).
pub(crate) enum Live {
    /// The caller is on one of its Ms.
    OnM,
    /// A foreign pass into it.
    Pass(#[allow(dead_code)] Foreign),
}

/// `Ok(Some)` while the runtime `rt` that started at `start` runs (hold the proof
/// while touching timers in its heaps); `Ok(None)` if it is gone (its heaps went with
/// it); `Shutdown` while it stops.
/// Can be executed by anyone.
pub(crate) fn runtime_live(rt: *const Runtime, start: i64) -> Result<Option<Live>> {
    let same = |r: &Runtime| core::ptr::eq(r, rt) && r.start_time == start;
    let ctx = Ctx::new();
    if ctx.kind != Kind::Foreign {
        // SAFETY: ctx.rt is the caller's M's runtime, alive while it runs.
        return Ok(if same(unsafe { &*ctx.rt }) { Some(Live::OnM) } else { None });
    }
    match sched::enter_foreign() {
        Ok(fg) if same(fg.rt()) => Ok(Some(Live::Pass(fg))),
        Ok(_) | Err(Error::NotInit) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The runtime the caller can use: its M's, or a foreign pass. `NotInit` without one.
pub(crate) fn current_runtime() -> Result<(&'static Runtime, Option<Foreign>)> {
    match entry::caller() {
        // SAFETY: m is this thread's M; its runtime outlives it.
        Caller::Goroutine(m, _) | Caller::G0(m) => Ok((unsafe { (*m).rt() }, None)),
        Caller::Foreign => {
            let fg = sched::enter_foreign()?;
            Ok((fg.rt(), Some(fg)))
        }
    }
}

impl TimerChan {
    /// A new armed timer (fires `ns` from now; < 0 counts as 0), ticker (every `ns`,
    /// which must be positive, else `Inval`) or after-func (`f` required). `NotInit`
    /// without a runtime, `Shutdown` while it stops, `NoMem`.
    pub(crate) fn new(kind: Kindof, ns: i64, f: Option<Func>, arg: *mut c_void) -> Result<*mut TimerChan> {
        if (kind == Kindof::Ticker && ns <= 0) || (kind == Kindof::AfterFunc && f.is_none()) {
            return Err(Error::Inval);
        }
        let (rt, _pass) = current_runtime()?;
        let c = if kind == Kindof::AfterFunc { null_mut() } else { Chan::new(8, 1) };
        if kind != Kindof::AfterFunc && c.is_null() {
            return Err(Error::NoMem);
        }
        let p = Box::into_raw(Box::new(TimerChan {
            op: ObjLock::new(),
            magic: AtomicU32::new(MAGIC_TIMER),
            state: ObjLock::new(),
            kind,
            active: Cell::new(false),
            when: Cell::new(0),
            period: Cell::new(if kind == Kindof::Ticker { ns } else { 0 }),
            next: Cell::new(0),
            c,
            f,
            arg,
            rt,
            rt_start: rt.start_time,
            t: [UnsafeCell::new(Timer::new()), UnsafeCell::new(Timer::new())],
        }));
        // SAFETY: just made; the runtime runs (we hold its M or a pass).
        let t = unsafe { &*p };
        t.state.lock();
        t.active.set(true);
        // SAFETY: state is held; both timers are idle.
        unsafe { t.arm_locked(rt, nanotime().saturating_add(ns.max(0))) };
        // SAFETY: locked.
        unsafe { t.state.unlock() };
        Ok(p)
    }

    /// The object behind handle `t`: `Inval` if null or not live.
    /// Can be executed by anyone.
    /// # Safety
    /// `t` is null or came from `new`, and its memory is still the runtime's.
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(t: *const TimerChan) -> Result<&'a TimerChan> {
        if t.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let r = unsafe { &*t };
        if r.magic.load(Relaxed) != MAGIC_TIMER {
            return Err(Error::Inval);
        }
        Ok(r)
    }

    pub(crate) fn kind(&self) -> Kindof {
        self.kind
    }

    /// The channel (null for an after-func).
    pub(crate) fn chan(&self) -> *mut Chan {
        self.c
    }

    /// `Ok(Some)` while our runtime runs (hold it while touching the timers);
    /// `Ok(None)` if it is gone (the timers went with it); `Shutdown` while it stops.
    fn live(&self) -> Result<Option<Live>> {
        runtime_live(self.rt, self.rt_start)
    }

    /// Arms the timer `next` at `when` and flips `next`.
    /// # Safety
    /// `state` is held; the runtime `rt` (ours) runs; the timer `next` is not in a heap
    /// (its function may still be finishing: we wait for it).
    unsafe fn arm_locked(&self, rt: &Runtime, when: i64) {
        let i = self.next.get();
        self.next.set(i ^ 1);
        self.when.set(when);
        let t = self.t[i].get();
        // SAFETY: the caller's contract; `self` outlives the timer's stay in the heap
        // (`stop` and `free` delete it first).
        unsafe {
            deltimer(t);
            addtimer(rt, t, when, fire, self as *const TimerChan as usize);
        }
    }

    /// Disarms both timers; true if `active` was set. Leaves the channel as it is.
    /// # Safety
    /// `op` is held.
    unsafe fn disarm(&self, live: &Option<Live>) -> bool {
        self.state.lock();
        let was = self.active.replace(false);
        // SAFETY: locked.
        unsafe { self.state.unlock() };
        if live.is_some() {
            for t in &self.t {
                // SAFETY: our timer; the runtime runs; this is not its function.
                unsafe { deltimer(t.get()) };
            }
        }
        was
    }

    /// Takes a value that is in the channel out of it; true if there was one.
    fn drain(&self) -> bool {
        if self.c.is_null() {
            return false;
        }
        let mut v = 0i64;
        // SAFETY: our channel, alive until `free` (see `fire` for a user's free).
        let Ok(c) = (unsafe { Chan::check(self.c) }) else { return false };
        // SAFETY: 8 writable bytes.
        unsafe { chan::recv(c, (&mut v as *mut i64).cast(), 0) }.is_ok()
    }

    /// Go 1.23's Stop: true if it stopped an armed timer or took out a value not yet
    /// received (see *Semantics*). `Shutdown` while the runtime stops.
    /// Can be executed by a goroutine or a foreign thread.
    pub(crate) fn stop(&self) -> Result<bool> {
        let live = self.live()?;
        self.op.lock();
        // SAFETY: op is held.
        let was = unsafe { self.disarm(&live) };
        let drained = self.drain();
        // SAFETY: locked.
        unsafe { self.op.unlock() };
        Ok(was || drained)
    }

    /// Go 1.23's Reset: stops it (as `stop`, whose result it returns) and arms it
    /// again to fire `ns` from now (< 0 counts as 0); a ticker's period becomes `ns`
    /// (> 0, else `Inval`). `NotInit` if its runtime is gone; `Shutdown` while it
    /// stops.
    /// Can be executed by a goroutine or a foreign thread.
    pub(crate) fn reset(&self, ns: i64) -> Result<bool> {
        if self.kind == Kindof::Ticker && ns <= 0 {
            return Err(Error::Inval);
        }
        let live = self.live()?;
        if live.is_none() {
            return Err(Error::NotInit);
        }
        self.op.lock();
        // SAFETY: op is held.
        let was = unsafe { self.disarm(&live) };
        let drained = self.drain();
        self.state.lock();
        if self.kind == Kindof::Ticker {
            self.period.set(ns);
        }
        self.active.set(true);
        // SAFETY: state is held; both timers were deleted; the runtime runs (live).
        unsafe {
            self.arm_locked(&*self.rt, nanotime().saturating_add(ns.max(0)));
            self.state.unlock();
            self.op.unlock();
        }
        Ok(was || drained)
    }

    /// Stops it and frees it with its channel. `Busy` (it stays, stopped) while a
    /// party waits on the channel; `Shutdown` while the runtime stops; `Inval` if it
    /// was freed meanwhile.
    /// # Safety
    /// `t` passed `check`; no operation of the caller's on it is in progress or follows.
    pub(crate) unsafe fn free(t: *mut TimerChan) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let r = unsafe { &*t };
        let live = r.live()?;
        r.op.lock();
        if r.magic.load(Relaxed) != MAGIC_TIMER {
            // SAFETY: locked.
            unsafe { r.op.unlock() };
            return Err(Error::Inval);
        }
        // SAFETY: op is held. After this no fire runs or will run: no send into the
        // channel or the object is pending.
        unsafe { r.disarm(&live) };
        if !r.c.is_null() {
            r.drain();
            // SAFETY: our channel; nothing of ours sends on it any more. (`Inval`: the
            // user freed it already, against the docs; nothing left to free.)
            if let Err(Error::Busy) = unsafe { Chan::free(r.c) } {
                // SAFETY: locked.
                unsafe { r.op.unlock() };
                return Err(Error::Busy);
            }
        }
        r.magic.store(MAGIC_FREED, Relaxed);
        // SAFETY: locked.
        unsafe { r.op.unlock() };
        drop(live);
        // SAFETY: made by Box::into_raw in `new`; nobody touches it as live any more.
        unsafe { retire(t.cast(), Layout::new::<TimerChan>()) };
        Ok(())
    }
}

/// The runtime timers' function: sends the time, starts the goroutine, or (ticker)
/// sends and arms the other timer.
/// Executed on an M's g0 (runtimers) of the object's runtime.
///
/// # Safety
/// `arg` is a `TimerChan` that deletes its timers (waiting for this function) before
/// it goes.
unsafe fn fire(arg: usize) {
    // SAFETY: the caller's contract.
    let t = unsafe { &*(arg as *const TimerChan) };
    t.state.lock();
    if !t.active.get() {
        // SAFETY: locked.
        unsafe { t.state.unlock() };
        return;
    }
    let now = nanotime();
    match t.kind {
        Kindof::Timer | Kindof::Ticker => {
            // A full channel: the receiver has not taken the last tick; drop this one.
            // SAFETY: our channel, alive while a timer of ours can fire (unless the
            // user freed it against the docs: then `check` refuses it while it is in
            // quarantine); 8 bytes.
            if let Ok(c) = unsafe { Chan::check(t.c) } {
                // SAFETY: 8 readable bytes.
                let _ = unsafe { chan::send(c, (&now as *const i64).cast(), 0) };
            }
        }
        Kindof::AfterFunc => {
            if let Some(f) = t.f {
                // From g0 a goroutine can be started; if none can be made (no memory)
                // the function does not run.
                let _ = entry::go(f, t.arg, &GoOpts::DEFAULT);
            }
        }
    }
    if t.kind == Kindof::Ticker {
        let p = t.period.get();
        let w = t.when.get();
        // The next multiple of the period after now (Go drops the missed ones).
        let next = if now < w.saturating_add(p) { w + p } else { w + p * ((now - w) / p + 1) };
        // SAFETY: state is held; the other timer is not in a heap; we run on an M of
        // the object's runtime.
        unsafe { t.arm_locked(&*t.rt, next) };
    } else {
        t.active.set(false);
    }
    // SAFETY: locked.
    unsafe { t.state.unlock() };
}
