//! Timers: per-P heaps, as Go has since 1.14.
//!
//! A `Timer` is embedded by its user (often in a frame on a goroutine's stack) and
//! lives in the heap of one P while armed. The P's M runs its expired timers in
//! `schedule`/`findrunnable` (`checktimers`); Ms that steal also run the expired
//! timers of other Ps, idle ones included, so a timer never waits for a P whose M is
//! blocked. The M that blocks in netpoll sleeps until the earliest timer of all Ps.
//!
//! # Timer states
//!
//! - `IDLE`/`DONE`: in no heap. The user owns it and may reuse or drop it.
//! - `WAITING`: in `heap_p`'s heap, at `idx`. Moved only under that heap's lock.
//! - `RUNNING`: taken off the heap; its function runs now. `deltimer` waits until it
//!   is `DONE`, so a user that called `deltimer` may drop the timer afterwards, even
//!   if the function was running at that moment.
//!
//! The function runs on an M's g0 (never under a heap lock) and must not block; it
//! typically readies a goroutine.

use super::p::P;
use super::sched::Runtime;
use super::tls::getm;
use crate::loom::atomic::{AtomicU32, Ordering::*};
use core::ptr::null;

const IDLE: u32 = 0;
const WAITING: u32 = 1;
const RUNNING: u32 = 2;
const DONE: u32 = 3;
/// Expired timers taken from a heap under one lock by `runtimers`.
const RUN_BATCH: usize = 16;

/// A one-shot timer. See *Timer states*.
pub(crate) struct Timer {
    when: i64,
    f: Option<unsafe fn(usize)>,
    arg: usize,
    status: AtomicU32,
    heap_p: *const P,
    idx: usize,
}

impl Timer {
    pub(crate) fn new() -> Timer {
        Timer { when: 0, f: None, arg: 0, status: AtomicU32::new(IDLE), heap_p: null(), idx: 0 }
    }
}

/// A 4-ary min-heap of armed timers, ordered by `when`. Under the P's `timers` lock.
/// Each entry keeps its timer's `when` beside the pointer, so that sifting compares
/// contiguous memory instead of chasing timers spread over goroutine stacks (Go's
/// timer heap does the same since 1.23); only the moved timer's `idx` is written.
pub(crate) struct TimerHeap {
    v: Vec<(i64, *mut Timer)>,
}

// SAFETY: the timers it points to are only touched under the heap's lock or by the
// thread that took them off the heap (RUNNING).
unsafe impl Send for TimerHeap {}

/// Children per node. Go uses 4: shallower than binary, and the children of a node
/// share a cache line.
const HEAP_ARITY: usize = 4;

impl TimerHeap {
    pub(crate) const fn new() -> TimerHeap {
        TimerHeap { v: Vec::new() }
    }

    #[inline]
    fn set(&mut self, i: usize, e: (i64, *mut Timer)) {
        debug_assert!(i < self.v.len());
        // SAFETY: every caller passes an index below the length (they come from the
        // sift loops, which check it).
        unsafe { *self.v.get_unchecked_mut(i) = e };
        // SAFETY: timers in the heap are alive (their users call deltimer before dropping).
        unsafe { (*e.1).idx = i };
    }

    #[inline]
    fn when(&self, i: usize) -> i64 {
        debug_assert!(i < self.v.len());
        // SAFETY: as in `set`.
        unsafe { self.v.get_unchecked(i).0 }
    }

    fn up(&mut self, mut i: usize) {
        let e = self.v[i];
        while i > 0 {
            let parent = (i - 1) / HEAP_ARITY;
            if self.when(parent) <= e.0 {
                break;
            }
            // SAFETY: parent < i < len.
            let pe = unsafe { *self.v.get_unchecked(parent) };
            self.set(i, pe);
            i = parent;
        }
        self.set(i, e);
    }

    fn down(&mut self, mut i: usize) {
        let n = self.v.len();
        let e = self.v[i];
        loop {
            let first = HEAP_ARITY * i + 1;
            if first >= n {
                break;
            }
            let (mut c, mut cw) = (first, self.when(first));
            if first + HEAP_ARITY <= n {
                // All four children exist (the common case): compare them pairwise.
                let (a, aw) =
                    if self.when(first + 1) < cw { (first + 1, self.when(first + 1)) } else { (c, cw) };
                let (b, bw) = if self.when(first + 3) < self.when(first + 2) {
                    (first + 3, self.when(first + 3))
                } else {
                    (first + 2, self.when(first + 2))
                };
                (c, cw) = if bw < aw { (b, bw) } else { (a, aw) };
            } else {
                for k in first + 1..n {
                    let w = self.when(k);
                    if w < cw {
                        c = k;
                        cw = w;
                    }
                }
            }
            if cw >= e.0 {
                break;
            }
            // SAFETY: c < n.
            let ce = unsafe { *self.v.get_unchecked(c) };
            self.set(i, ce);
            i = c;
        }
        self.set(i, e);
    }

    fn push(&mut self, t: *mut Timer) {
        // SAFETY: the caller arms a live timer whose `when` is set.
        let w = unsafe { (*t).when };
        self.v.push((w, t));
        let i = self.v.len() - 1;
        self.up(i);
    }

    fn remove(&mut self, i: usize) -> *mut Timer {
        let t = self.v[i].1;
        let last = self.v.pop().expect("TimerHeap::remove: empty heap");
        if i < self.v.len() {
            self.set(i, last);
            self.down(i);
            // The moved timer may also be earlier than its new parent.
            // SAFETY: last is in the heap.
            let j = unsafe { (*last.1).idx };
            self.up(j);
        }
        t
    }

    /// `when` of the earliest timer, or 0.
    #[inline]
    fn first_when(&self) -> i64 {
        self.v.first().map_or(0, |e| e.0)
    }

    pub(crate) fn len(&self) -> usize {
        self.v.len()
    }
}

/// Arms `t` to run `f(arg)` at `when` (nanotime). `t` must be idle or done, and must
/// stay valid until it has run or `deltimer` returned.
/// Can be executed by anyone; the timer goes to the caller's P, else P 0.
///
/// # Safety
/// `t` is valid, idle or done, and stays valid until `f` has run or `deltimer(t)`
/// returned; `f(arg)` may run on any M's g0, so it must not block.
pub(crate) unsafe fn addtimer(rt: &Runtime, t: *mut Timer, when: i64, f: unsafe fn(usize), arg: usize) {
    let mp = getm();
    // SAFETY: mp is the calling thread's M (if any); its p, if any, is held by it.
    let pp: *const P = unsafe {
        if !mp.is_null() && std::ptr::eq((*mp).rt, rt) && !(*mp).p.is_null() {
            (*mp).p
        } else {
            &rt.allp[0]
        }
    };
    // SAFETY: the caller's contract; Ps live as long as the runtime.
    unsafe { addtimer_on(&*pp, t, when, f, arg) };
    super::netpoll::wake_netpoller(rt, when);
}

/// `addtimer` on the heap of `pp`, without waking a poller.
/// # Safety
/// As `addtimer`; `pp` outlives the timer's stay in its heap.
unsafe fn addtimer_on(pp: &P, t: *mut Timer, when: i64, f: unsafe fn(usize), arg: usize) {
    let pp: *const P = pp;
    // SAFETY: the caller guarantees t is valid and not armed.
    unsafe {
        debug_assert!((*t).status.load(Relaxed) != WAITING, "addtimer: timer already armed");
        (*t).when = when.max(1);
        (*t).f = Some(f);
        (*t).arg = arg;
        (*t).heap_p = pp;
    }
    // SAFETY: Ps live as long as the runtime.
    let p = unsafe { &*pp };
    {
        let mut h = p.timers.lock();
        // SAFETY: as above.
        unsafe { (*t).status.store(WAITING, Release) };
        h.push(t);
        p.timer0_when.store(h.first_when(), Release);
        p.ntimers.store(h.len(), Relaxed);
    }
}

/// Disarms `t`. True if it was removed before running. If its function is running
/// now, waits for it to finish. Afterwards the caller may drop `t`.
/// Can be executed by anyone.
///
/// # Safety
/// `t` is valid (armed or not), and not running on the calling thread (a timer's
/// function must not delete its own timer: it would wait for itself).
pub(crate) unsafe fn deltimer(t: *mut Timer) -> bool {
    loop {
        // SAFETY: the caller guarantees t is valid.
        let st = unsafe { (*t).status.load(Acquire) };
        match st {
            WAITING => {
                // SAFETY: heap_p was written before the release-store of WAITING.
                let p = unsafe { &*(*t).heap_p };
                let mut h = p.timers.lock();
                // SAFETY: under the heap lock, status and idx are stable.
                unsafe {
                    if (*t).status.load(Acquire) == WAITING {
                        let i = (*t).idx;
                        h.remove(i);
                        (*t).status.store(DONE, Release);
                        p.timer0_when.store(h.first_when(), Release);
                        p.ntimers.store(h.len(), Relaxed);
                        return true;
                    }
                }
            }
            RUNNING => crate::loom::yield_now(),
            _ => return false,
        }
    }
}

/// Runs the expired timers of `pp` at `now`. With `try_only`, gives up if another M
/// holds the heap. Returns true if it ran any.
/// Executed on g0 (the timers' functions may ready goroutines).
pub(crate) fn runtimers(pp: &P, now: i64, try_only: bool) -> bool {
    let next = pp.timer0_when.load(Acquire);
    if next == 0 || next > now {
        return false;
    }
    let mut h = if try_only {
        match pp.timers.try_lock() {
            Some(h) => h,
            None => return false,
        }
    } else {
        pp.timers.lock()
    };
    let mut ran = false;
    loop {
        // Take a batch of expired timers under one lock; RUNNING makes deltimer wait
        // until each one's function has run.
        let mut batch = [core::ptr::null_mut::<Timer>(); RUN_BATCH];
        let mut n = 0;
        while n < RUN_BATCH && h.len() != 0 && h.first_when() <= now {
            let t = h.remove(0);
            // SAFETY: t was in the heap, so it is alive.
            unsafe { (*t).status.store(RUNNING, Release) };
            batch[n] = t;
            n += 1;
        }
        if n == 0 {
            break;
        }
        pp.timer0_when.store(h.first_when(), Release);
        pp.ntimers.store(h.len(), Relaxed);
        drop(h);
        for &t in &batch[..n] {
            // SAFETY: RUNNING, so still alive; after DONE we never touch it again.
            unsafe {
                if let Some(f) = (*t).f {
                    // The function's contract is its user's; it runs once.
                    f((*t).arg);
                }
                (*t).status.store(DONE, Release);
            }
        }
        ran = true;
        h = pp.timers.lock();
    }
    ran
}

/// The earliest `when` over all Ps' timers, or 0 if there are none.
pub(crate) fn timesleepuntil(rt: &Runtime) -> i64 {
    let mut next = 0i64;
    for p in rt.allp.iter() {
        let w = p.timer0_when.load(Acquire);
        if w != 0 && (next == 0 || w < next) {
            next = w;
        }
    }
    next
}

// ---------------------------------------------------------------------------------
// Sleeping and parking with a timeout

/// The deadline of a timed park (gs_sleep, gs_park_timeout, gs_wait_fd, the sync
/// objects' timed calls): a timer in the parked goroutine's frame. Every timed park
/// uses it the same way:
/// 1. `Timeout::new` in the frame of the blocking call, before `gopark`;
/// 2. `arm`, in the park's unlockf (on g0, the G marked waiting), at the point its
///    protocol names: once the G can be woken by others, so that the timer cannot
///    fire before the G is parked, and before the unlockf returns;
/// 3. `disarm` once the G runs again, before the frame ends: it waits out a timer
///    function that is running, so the timer's argument (in the frame) stays valid
///    for as long as the function may touch it. (No `Drop` does it: a drop glue
///    across the park costs the channel operations that inline it a landing pad.)
///
/// The `Timeout` must not move once armed (the heap holds its address): it stays a
/// local of the blocking call, referred to by pointer.
pub(crate) struct Timeout {
    t: Timer,
    when: i64,
    rt: *const Runtime,
    armed: bool,
}

impl Timeout {
    /// A deadline `ns` from now (< 0: none).
    pub(crate) fn after(rt: &Runtime, ns: i64) -> Timeout {
        let when = if ns < 0 { 0 } else { super::time::nanotime().saturating_add(ns) };
        Timeout { t: Timer::new(), when, rt, armed: false }
    }

    /// A deadline at `when` (nanotime; `i64::MAX`: none), for callers that keep an
    /// absolute deadline (the sync objects' waits).
    pub(crate) fn at(rt: &Runtime, when: i64) -> Timeout {
        let when = if when == i64::MAX { 0 } else { when.max(1) };
        Timeout { t: Timer::new(), when, rt, armed: false }
    }

    /// True if the deadline has passed already.
    pub(crate) fn expired(&self) -> bool {
        self.when != 0 && self.when <= super::time::nanotime()
    }

    /// Arms the timer to run `f(arg)` at the deadline (if there is one).
    ///
    /// # Safety
    /// `self` does not move and lives until `disarm` (or its drop) returned; `arg`
    /// stays valid as long as `f` may run; `f` must not block (it runs on some M's
    /// g0). Not armed already.
    pub(crate) unsafe fn arm(&mut self, f: unsafe fn(usize), arg: usize) {
        // Armed on g0 for a parked goroutine, which may then resume on another M
        // (woken by the timer, or by whatever the commit opens it to) and reuse the
        // frame: what was done to it here happens before `disarm` (tools.rs), so each
        // path announces that after its last access.
        let this = self as *const Timeout as usize;
        if self.when == 0 {
            super::tools::release(this);
            return;
        }
        debug_assert!(!self.armed, "Timeout::arm: armed twice");
        self.armed = true;
        super::tools::release(this);
        // SAFETY: the caller's contract; the runtime outlives its goroutines.
        unsafe { addtimer(&*self.rt, &mut self.t, self.when, f, arg) };
    }

    /// Disarms the timer, waiting for its function if it is running. True if the
    /// timer was armed and had not started.
    pub(crate) fn disarm(&mut self) -> bool {
        super::tools::acquire(self as *const Timeout as usize);
        if !core::mem::replace(&mut self.armed, false) {
            return false;
        }
        // SAFETY: the timer is ours and armed; it does not run on this thread.
        unsafe { deltimer(&mut self.t) }
    }
}

/// Timer function that readies the goroutine `arg` sleeping in `sleep`.
///
/// # Safety
/// `arg` is the `*mut G` that armed the timer in `sleep` (the timer lives in its frame).
unsafe fn sleep_fire(arg: usize) {
    let gp = arg as *mut super::g::G;
    let mp = getm();
    // SAFETY: timers run on an M's g0; the sleeping G was parked by `sleep` and only
    // this timer wakes it.
    unsafe { super::park::ready((*mp).rt(), gp, true) };
}

/// unlockf of `sleep`: arms the timer once the G is parked, so it cannot fire early.
unsafe extern "C" fn sleep_commit(gp: *mut core::ffi::c_void, to: *mut core::ffi::c_void) -> bool {
    // SAFETY: `to` is the Timeout in the sleeping goroutine's frame, which disarms it
    // before it ends; gp is that goroutine.
    unsafe { (*to.cast::<Timeout>()).arm(sleep_fire, gp as usize) };
    true
}

/// Parks the calling goroutine for `ns` nanoseconds (gs_sleep). Executed on a goroutine.
pub(crate) fn sleep(rt: &Runtime, ns: i64) {
    if ns <= 0 {
        super::entry::gosched();
        return;
    }
    let mut to = Timeout::after(rt, ns);
    // SAFETY: on a goroutine; `to` lives in this frame until disarmed (which waits
    // for a running sleep_fire: it readies us before it is done).
    unsafe {
        super::park::gopark(Some(sleep_commit), (&mut to as *mut Timeout).cast(), c"sleep".as_ptr(), false);
    }
    to.disarm();
}

struct ParkTimeoutArgs {
    rt: *const Runtime,
    to: *mut Timeout,
    user_unlockf: Option<super::g::UnlockFn>,
    user_lock: *mut core::ffi::c_void,
    gp: *mut super::g::G,
    /// Set by the commit when the deadline had passed before the G could sleep.
    expired: bool,
}

/// Timer function of `park_timeout`: wins the park token, or does nothing.
///
/// # Safety
/// `arg` is the `ParkTimeoutArgs` in the frame of the parked goroutine, which
/// outlives the timer (it deletes the timer before the frame ends).
unsafe fn park_timeout_fire(arg: usize) {
    let a = arg as *const ParkTimeoutArgs;
    // SAFETY: the args live in the parked goroutine's frame; it calls deltimer (which
    // waits for us) before leaving that frame.
    unsafe {
        let gp = (*a).gp;
        let goid = (*gp).goid();
        if (*gp).parktoken().win(goid) {
            (*gp).param = super::g::WakeParam::TimedOut;
            super::park::ready_won(&*(*a).rt, getm(), gp, true);
        }
    }
}

/// unlockf of `park_timeout`: the user's unlockf, then the timer.
unsafe extern "C" fn park_timeout_commit(h: *mut core::ffi::c_void, a: *mut core::ffi::c_void) -> bool {
    // SAFETY: a points to the ParkTimeoutArgs in the parking goroutine's frame.
    unsafe {
        let a = &mut *(a as *mut ParkTimeoutArgs);
        if let Some(f) = a.user_unlockf {
            if !f(h, a.user_lock) {
                return false;
            }
        }
        if (*a.to).expired() {
            // Timeout 0 (or already due): give up at once, unless readied meanwhile
            // (park_m decides with the park token).
            a.expired = true;
            return false;
        }
        (*a.to).arm(park_timeout_fire, a as *const ParkTimeoutArgs as usize);
    }
    true
}

/// gs_park_timeout: like gs_park, but gives up after `timeout_ns` (< 0: never).
/// Returns true if readied, false if timed out. Executed on a goroutine.
pub(crate) fn park_timeout(
    rt: &Runtime,
    unlockf: Option<super::g::UnlockFn>,
    lock: *mut core::ffi::c_void,
    reason: *const core::ffi::c_char,
    timeout_ns: i64,
) -> bool {
    if timeout_ns < 0 {
        // SAFETY: on a goroutine.
        unsafe { super::park::gopark(unlockf, lock, reason, true) };
        return true;
    }
    let mut to = Timeout::after(rt, timeout_ns);
    let gp = {
        let mp = getm();
        // SAFETY: on a goroutine.
        unsafe { (*mp).curg() }
    };
    let mut a =
        ParkTimeoutArgs { rt, to: &mut to, user_unlockf: unlockf, user_lock: lock, gp, expired: false };
    // The commit arms the timer after the user's unlockf: the G must not run before
    // it is done (see *Parks that do more* in park.rs).
    // SAFETY: gp is the calling goroutine.
    unsafe { (*gp).parktoken().begin_commit() };
    // SAFETY: on a goroutine; `a` and `to` outlive the park (disarmed below).
    let param = unsafe {
        super::park::gopark(Some(park_timeout_commit), (&mut a as *mut ParkTimeoutArgs).cast(), reason, true)
    };
    to.disarm();
    match param {
        super::g::WakeParam::TimedOut => false,
        super::g::WakeParam::ResumedAtOnce => !a.expired,
        super::g::WakeParam::Readied => true,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn heap_pops_in_order_and_removes_from_the_middle() {
        let mut ts: Vec<Timer> = (0..1000).map(|_| Timer::new()).collect();
        let mut h = TimerHeap::new();
        let mut x: u64 = 12345;
        for t in ts.iter_mut() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            t.when = (x >> 33) as i64 + 1;
            h.push(t);
        }
        // Remove every third timer through its idx, as deltimer does.
        let mut removed = std::collections::HashSet::new();
        for (k, t) in ts.iter_mut().enumerate() {
            if k % 3 == 0 {
                let p: *mut Timer = t;
                let got = h.remove(t.idx);
                assert_eq!(got, p, "idx must track the timer's position");
                removed.insert(p as usize);
            }
        }
        let mut last = 0;
        let mut n = 0;
        while h.len() > 0 {
            let w = h.first_when();
            let t = h.remove(0);
            // SAFETY: t points into ts.
            assert_eq!(unsafe { (*t).when }, w);
            assert!(w >= last, "heap order broken");
            assert!(!removed.contains(&(t as usize)));
            last = w;
            n += 1;
        }
        assert_eq!(n, 1000 - removed.len());
    }
}

/// Loom models of the timer heap's cross-P operations (see src/loom.rs): a timer
/// armed on a P's heap and deleted by its owner while another M runs that P's
/// expired timers (a parked goroutine's timeout), and two Ms running one heap.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::{AtomicBool, AtomicUsize};
    use loom::sync::Arc;

    struct Frame {
        fires: AtomicUsize,
        /// The owner's frame has ended: the timer must not run any more.
        gone: AtomicBool,
    }

    /// # Safety
    /// `arg` is the model's `Frame`.
    unsafe fn fire(arg: usize) {
        // SAFETY: arg is the Frame, which outlives the model's threads.
        let f = unsafe { &*(arg as *const Frame) };
        assert!(!f.gone.load(Acquire), "a timer ran after deltimer returned");
        f.fires.fetch_add(1, Relaxed);
    }

    fn del_while_running_elsewhere(try_only: bool) {
        loom::model(move || {
            let p = Arc::new(P::new(0, 2));
            let frame = Arc::new(Frame { fires: AtomicUsize::new(0), gone: AtomicBool::new(false) });
            let t = Box::into_raw(Box::new(Timer::new()));
            // SAFETY: t is ours and idle; frame outlives it.
            unsafe { addtimer_on(&p, t, 1, fire, Arc::as_ptr(&frame) as usize) };
            let runner = {
                let p = p.clone();
                loom::thread::spawn(move || {
                    runtimers(&p, 10, try_only);
                })
            };
            // SAFETY: t is valid until we free it below.
            let removed = unsafe { deltimer(t) };
            frame.gone.store(true, Release);
            runner.join().unwrap();
            let fires = frame.fires.load(Relaxed);
            assert_eq!(fires, usize::from(!removed), "deltimer says whether the timer ran");
            assert_eq!(p.ntimers.load(Relaxed), 0);
            assert_eq!(p.timer0_when.load(Relaxed), 0);
            // SAFETY: made by Box::into_raw above; nobody uses it after deltimer.
            drop(unsafe { Box::from_raw(t) });
        });
    }

    #[test]
    fn loom_timer_deleted_while_another_m_runs_it() {
        del_while_running_elsewhere(false);
    }

    #[test]
    fn loom_timer_deleted_while_a_stealer_runs_it() {
        del_while_running_elsewhere(true);
    }

    /// Two Ms run the expired timers of one heap at once: each runs exactly once.
    #[test]
    fn loom_two_ms_run_one_heap_each_timer_once() {
        loom::model(|| {
            let p = Arc::new(P::new(0, 2));
            let frame = Arc::new(Frame { fires: AtomicUsize::new(0), gone: AtomicBool::new(false) });
            let ts: Vec<*mut Timer> = (0..2).map(|_| Box::into_raw(Box::new(Timer::new()))).collect();
            for (i, &t) in ts.iter().enumerate() {
                // SAFETY: t is ours and idle.
                unsafe { addtimer_on(&p, t, 1 + i as i64, fire, Arc::as_ptr(&frame) as usize) };
            }
            let other = {
                let p = p.clone();
                loom::thread::spawn(move || {
                    runtimers(&p, 10, true);
                })
            };
            runtimers(&p, 10, false);
            other.join().unwrap();
            assert_eq!(frame.fires.load(Relaxed), 2, "each expired timer runs exactly once");
            for t in ts {
                // SAFETY: both ran (DONE); deltimer returns at once.
                unsafe {
                    assert!(!deltimer(t));
                    drop(Box::from_raw(t));
                }
            }
        });
    }
}
