//! Mutexes (Go's sync.Mutex): a single CAS when uncontended, brief spinning on a
//! goroutine, then parking; normal mode lets newcomers barge, starvation mode hands
//! the lock to the longest waiter.
//!
//! # State word
//!
//! - `LOCKED`: held. Set by a CAS of a locker, or kept set by an unlock that hands
//!   the lock to a waiter (starvation mode).
//! - `WOKEN`: some party is awake and competing (a spinner that announced itself,
//!   or a waiter an unlock just woke), so an unlock need not wake another. Cleared by
//!   that party's next CAS (it takes the lock, or parks again).
//! - `STARVING`: starvation mode: unlock hands the lock to the head of the queue and
//!   newcomers queue behind it. A waiter sets it when it waited more than
//!   `STARVATION_NS` and has to park again. Implies `LOCKED`.
//! - `PARKED`: the queue may be non-empty. Changed only under the queue's lock.
//!
//! # Other fields
//!
//! - `woken_since`: the `waitstart` of the waiter that an unlock woke while it owns
//!   WOKEN; 0 while nobody owns it, or a spinner does. Written only by the party that
//!   owns WOKEN: the unlock that sets it for a wakeup (`wake_one`, under the queue
//!   lock, before the wakeup), then the woken waiter, which stores 0 before the CAS
//!   that gives WOKEN up. Read by anyone, as a hint.
//! - `magic`: `MAGIC_MUTEX` until `free` stores `MAGIC_FREED` (see *Handles* in
//!   mod.rs).
//! - `lock` guards `q` (and the PARKED bit).
//!
//! # Modes (Go's)
//!
//! Normal: waiters queue FIFO, but a woken waiter competes with newly arriving
//! lockers, which have the advantage of running already; a waiter that loses goes to
//! the front of the queue (its wait still counts from its first park, Go's
//! waitStartTime). Once one has waited more than 1 ms it switches the mutex to
//! starvation mode: unlock then hands ownership directly to the queue's head, which
//! wakes up owning the lock (`Sudog::ticket`), and newcomers neither spin nor barge
//! but queue behind. The mode ends when the waiter that gets the lock waited less
//! than 1 ms, or was the last one.
//!
//! # A woken waiter that cannot run
//!
//! Go relies on preemption to let a woken waiter run. Here an unlocker that locks
//! again at once would win every time while the woken waiter cannot run: a goroutine
//! on the unlocker's P (always so at nprocs 1), or a foreign thread the kernel has not
//! scheduled yet. The woken waiter never gets to see the lock taken and switch to
//! starvation mode, and since it owns WOKEN nobody else is woken either. So a
//! newcomer that finds the lock free while the woken waiter waited more than
//! `STARVATION_NS` (`woken_since`) does not take it but queues: the woken waiter
//! takes it once it runs. At nprocs 1 this also gives the P to the woken waiter, since
//! the newcomer parks. TryLock is Go's: it takes a free mutex regardless.
//!
//! # Free
//!
//! A woken waiter comes back to the mutex after its waker returned (it competes
//! again). `free` refuses while LOCKED or WOKEN is set or the queue is busy (see
//! *Parties inside an object* in sudog.rs): an unlock sets WOKEN before it wakes a
//! waiter and keeps LOCKED when it hands the lock over, so the woken waiter is covered
//! until it holds the lock (LOCKED) or is queued again.
//!
//! Unlock of an unlocked mutex is refused (`Perm`) without changing the state. A
//! mutex may be unlocked by another party than the one that locked it, as in Go.

use super::sudog::{Sudog, WaitQ};
use super::waiter::{block, wake, Ctx, Waiter, Woke, NEVER};
use super::{retire, ObjLock, MAGIC_FREED, MAGIC_MUTEX, MAGIC_OFFSET};
use crate::error::{Error, Result};
use crate::runtime::time::nanotime;
use core::alloc::Layout;
use core::ptr::{null_mut, slice_from_raw_parts_mut};
use core::sync::atomic::{AtomicI64, AtomicU32, Ordering::*};

const LOCKED: u32 = 1;
const WOKEN: u32 = 2;
const STARVING: u32 = 4;
const PARKED: u32 = 8;

/// A waiter that waited longer than this switches the mutex to starvation mode.
/// Go's starvationThresholdNs.
const STARVATION_NS: i64 = 1_000_000;
/// Spin rounds before parking, and pause instructions per round. Go: 4 and 30.
const ACTIVE_SPIN: u32 = 4;
const ACTIVE_SPIN_CNT: u32 = 30;

#[repr(C)]
pub(crate) struct Mutex {
    state: AtomicU32,
    magic: AtomicU32,
    woken_since: AtomicI64,
    lock: ObjLock,
    q: WaitQ,
}

/// May the calling party spin (Go's canSpin)? Only a goroutine, a few rounds, when
/// there are other Ps and some of them are running (the holder may be on one), and
/// nothing else is waiting to run on ours.
fn can_spin(ctx: &Ctx, iter: u32) -> bool {
    if iter >= ACTIVE_SPIN || !ctx.is_goroutine() {
        return false;
    }
    // SAFETY: a goroutine's runtime outlives it.
    let rt = unsafe { &*ctx.rt };
    let np = rt.allp.len() as u32;
    if np <= 1 || np <= rt.npidle.load(Relaxed) + rt.nmspinning.load(Relaxed) + 1 {
        return false;
    }
    let pp = super::waiter::curp(ctx);
    // SAFETY: on a goroutine, our M holds pp (if any).
    pp.is_null() || unsafe { (*pp).runq.is_empty() }
}

#[inline]
fn do_spin() {
    for _ in 0..ACTIVE_SPIN_CNT {
        core::hint::spin_loop();
    }
}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(Mutex, magic) == MAGIC_OFFSET);

impl Mutex {
    pub(crate) fn new() -> *mut Mutex {
        Box::into_raw(Box::new(Mutex {
            state: AtomicU32::new(0),
            magic: AtomicU32::new(MAGIC_MUTEX),
            woken_since: AtomicI64::new(0),
            lock: ObjLock::new(),
            q: WaitQ::new(),
        }))
    }

    /// The mutex behind handle `m`: `Inval` if it is null, or not a live mutex's (see
    /// *Handles* in mod.rs).
    /// Can be executed by anyone.
    /// # Safety
    /// `m` is null or came from `new`, and its memory is still the runtime's (alive
    /// or in quarantine).
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(m: *const Mutex) -> Result<&'a Mutex> {
        if m.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let mu = unsafe { &*m };
        if mu.magic.load(Relaxed) != MAGIC_MUTEX {
            return Err(Error::Inval);
        }
        Ok(mu)
    }

    /// Frees `m` unless it is locked, waited on, or a woken waiter may still touch it
    /// (see *Free*): `Busy`. `Inval` if it was freed meanwhile (a racing free).
    /// Can be executed by anyone.
    /// # Safety
    /// `m` passed `check`; no operation of the caller's on it is in progress or follows.
    pub(crate) unsafe fn free(m: *mut Mutex) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let mu = unsafe { &*m };
        mu.lock.lock();
        // SAFETY: locked.
        let r = unsafe {
            if mu.magic.load(Relaxed) != MAGIC_MUTEX {
                Err(Error::Inval)
            } else if mu.state.load(Acquire) & (LOCKED | WOKEN) != 0 || mu.q.busy() {
                Err(Error::Busy)
            } else {
                mu.magic.store(MAGIC_FREED, Relaxed);
                Ok(())
            }
        };
        // SAFETY: locked.
        unsafe { mu.lock.unlock() };
        r?;
        // SAFETY: made by Box::into_raw in `new` (this layout); nobody touches it as a
        // live mutex any more.
        unsafe { retire(m.cast(), Layout::new::<Mutex>()) };
        Ok(())
    }

    /// Locks (Go's Lock). `Perm` if it would block on g0; `Shutdown` for a foreign
    /// thread when the runtime stops.
    /// Can be executed by anyone (g0 only if it need not wait).
    #[inline]
    pub(crate) fn lock(&self) -> Result<()> {
        if self.state.compare_exchange(0, LOCKED, Acquire, Relaxed).is_ok() {
            crate::runtime::tools::acquire(self as *const Mutex as usize);
            return Ok(());
        }
        let r = self.lock_slow(NEVER);
        if r.is_ok() {
            crate::runtime::tools::acquire(self as *const Mutex as usize);
        }
        r
    }

    /// Locks, waiting until `deadline` (nanotime; `NEVER`) at most: `TimedOut` when it
    /// passes first (the mutex was not taken), else as `lock`.
    /// Can be executed by anyone (g0 only if it need not wait).
    pub(crate) fn lock_until(&self, deadline: i64) -> Result<()> {
        if self.state.compare_exchange(0, LOCKED, Acquire, Relaxed).is_ok() {
            crate::runtime::tools::acquire(self as *const Mutex as usize);
            return Ok(());
        }
        let r = self.lock_slow(deadline);
        if r.is_ok() {
            crate::runtime::tools::acquire(self as *const Mutex as usize);
        }
        r
    }

    /// Go's TryLock: one attempt. `Again` if held (or handed to a waiter). Like Go's,
    /// it takes a free mutex even while a woken waiter competes for it.
    /// Can be executed by anyone; never blocks.
    pub(crate) fn trylock(&self) -> Result<()> {
        let s = self.state.load(Relaxed);
        if s & (LOCKED | STARVING) != 0 {
            return Err(Error::Again);
        }
        match self.state.compare_exchange(s, s | LOCKED, Acquire, Relaxed) {
            Ok(_) => {
                crate::runtime::tools::acquire(self as *const Mutex as usize);
                Ok(())
            }
            Err(_) => Err(Error::Again),
        }
    }

    /// True if `s` (a recent state) has WOKEN set for a waiter that an unlock woke
    /// more than `STARVATION_NS` after it started waiting (see *A woken waiter that
    /// cannot run*). A hint: the fields are read one after the other.
    #[inline]
    fn woken_starving(&self, s: u32) -> bool {
        if s & WOKEN == 0 {
            return false;
        }
        let t = self.woken_since.load(Relaxed);
        t != 0 && nanotime() - t > STARVATION_NS
    }

    #[inline(never)]
    fn lock_slow(&self, deadline: i64) -> Result<()> {
        let mut ctx = Ctx::new();
        let mut spins = 0u32;
        let mut awoke = false; // we own the WOKEN bit
                               // Our waitstart while we own WOKEN as a woken waiter (then it is in
                               // woken_since, which only the owner of WOKEN writes); else 0.
        let mut since = 0i64;
        let mut starving = false;
        let mut waitstart = 0i64;
        let mut s = self.state.load(Relaxed);
        loop {
            // Free: take it (barging is allowed, as STARVING implies LOCKED), unless
            // a woken waiter that waited too long should have it.
            if s & LOCKED == 0 && (awoke || !self.woken_starving(s)) {
                let new = if awoke { (s | LOCKED) & !WOKEN } else { s | LOCKED };
                if since != 0 {
                    self.woken_since.store(0, Relaxed); // before WOKEN goes
                }
                match self.state.compare_exchange_weak(s, new, Acquire, Relaxed) {
                    Ok(_) => return Ok(()),
                    Err(v) => {
                        if since != 0 {
                            self.woken_since.store(since, Relaxed); // WOKEN is still ours
                        }
                        s = v;
                        continue;
                    }
                }
            }
            // Held in normal mode: spin a little, announcing ourselves so that an
            // unlock does not wake a parked waiter for nothing.
            if s & (LOCKED | STARVING) == LOCKED && can_spin(&ctx, spins) {
                if !awoke
                    && s & (WOKEN | PARKED) == PARKED
                    && self.state.compare_exchange(s, s | WOKEN, Relaxed, Relaxed).is_ok()
                {
                    awoke = true;
                }
                do_spin();
                spins += 1;
                s = self.state.load(Relaxed);
                continue;
            }
            // Park. On g0 or when the runtime stops (foreign), give up instead; we can
            // only get here with `awoke` false then (see may_block: it fails before
            // the first park or never).
            if let Err(e) = ctx.may_block() {
                debug_assert!(!awoke, "Mutex::lock_slow: giving up while owning WOKEN");
                return Err(e);
            }
            self.lock.lock();
            if since != 0 {
                self.woken_since.store(0, Relaxed); // before WOKEN goes
            }
            s = self.state.load(Relaxed);
            let parked = loop {
                if s & LOCKED == 0 && (awoke || !self.woken_starving(s)) {
                    break false;
                }
                let mut new = s | PARKED;
                if awoke {
                    new &= !WOKEN;
                }
                if starving && s & LOCKED != 0 {
                    new |= STARVING;
                }
                match self.state.compare_exchange_weak(s, new, Relaxed, Relaxed) {
                    Ok(_) => break true,
                    Err(v) => s = v,
                }
            };
            if !parked {
                // Released meanwhile: try again to take it.
                if since != 0 {
                    self.woken_since.store(since, Relaxed); // WOKEN is still ours
                }
                // SAFETY: locked.
                unsafe { self.lock.unlock() };
                continue;
            }
            // WOKEN, if we owned it, went with the CAS: `awoke` and `since` are set
            // again below when an unlock wakes us.
            let w = Waiter::new(&ctx);
            let mut sgv = Sudog::EMPTY;
            let sg: *mut Sudog = &mut sgv;
            // SAFETY: sg is ours and queued under the queue lock; `w` and `sgv` outlive
            // the wait.
            let r = unsafe {
                w.init_sudog(sg, null_mut(), deadline != NEVER);
                if waitstart == 0 {
                    waitstart = nanotime();
                    (*sg).waitstart = waitstart;
                    self.q.push_back(sg);
                } else {
                    // Woken before and lost to a newcomer: first in line now (Go's
                    // queueLifo), still waiting since its first park.
                    (*sg).waitstart = waitstart;
                    self.q.push_front(sg);
                }
                let locks = [&self.lock as *const ObjLock];
                block(&mut ctx, &w, &locks, slice_from_raw_parts_mut(sg, 1), deadline, c"sync.Mutex.Lock")
            };
            match r {
                Woke::Fired => {
                    // SAFETY: the waker wrote ticket before waking us; sg is ours again.
                    if unsafe { (*sg).ticket } {
                        return Ok(()); // starvation mode: the unlock gave it to us
                    }
                    // The unlock set WOKEN for us, and woken_since to our waitstart.
                    awoke = true;
                    since = waitstart;
                }
                r => {
                    // Shutdown (foreign threads) or the deadline: leave the queue. No
                    // unlock claimed us, so we own neither WOKEN (it went with the CAS
                    // that set PARKED) nor a ticket.
                    self.lock.lock();
                    // SAFETY: locked; sg is ours, pushed on q.
                    unsafe {
                        self.q.leave(sg);
                        self.fix_parked_locked();
                        self.lock.unlock();
                    }
                    return Err(if matches!(r, Woke::TimedOut) { Error::TimedOut } else { Error::Shutdown });
                }
            }
            starving = starving || nanotime() - waitstart > STARVATION_NS;
            spins = 0;
            s = self.state.load(Relaxed);
        }
    }

    /// Clears PARKED (and STARVING, which needs a waiter) once the queue is empty.
    /// Can be executed by anyone; the queue lock must be held.
    fn fix_parked_locked(&self) {
        if !self.q.is_empty() {
            return;
        }
        let mut s = self.state.load(Relaxed);
        while s & (PARKED | STARVING) != 0 {
            match self.state.compare_exchange_weak(s, s & !(PARKED | STARVING), Relaxed, Relaxed) {
                Ok(_) => break,
                Err(v) => s = v,
            }
        }
    }

    /// Unlocks (Go's Unlock). `Perm` if it is not locked; the state is then unchanged.
    /// Can be executed by anyone (not only the party that locked); never blocks.
    #[inline]
    pub(crate) fn unlock(&self) -> Result<()> {
        crate::runtime::tools::release(self as *const Mutex as usize);
        if self.state.compare_exchange(LOCKED, 0, Release, Relaxed).is_ok() {
            return Ok(());
        }
        self.unlock_slow()
    }

    #[inline(never)]
    fn unlock_slow(&self) -> Result<()> {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & LOCKED == 0 {
                return Err(Error::Perm);
            }
            if s & STARVING != 0 {
                return self.handoff();
            }
            // Normal mode: release; wake one waiter unless nobody is parked or
            // someone is awake already.
            let wake_one = s & (PARKED | WOKEN) == PARKED;
            let new = if wake_one { (s & !LOCKED) | WOKEN } else { s & !LOCKED };
            match self.state.compare_exchange_weak(s, new, Release, Relaxed) {
                Ok(_) => break,
                Err(v) => s = v,
            }
        }
        if s & (PARKED | WOKEN) == PARKED {
            self.wake_one();
        }
        Ok(())
    }

    /// Normal mode: wakes the queue's head to compete for the lock (we set WOKEN).
    /// Executed by an unlocking party; takes the queue lock.
    fn wake_one(&self) {
        let mut ctx = Ctx::new();
        self.lock.lock();
        // SAFETY: locked.
        let sg = unsafe { self.q.dequeue(&mut ctx) };
        self.fix_parked_locked();
        if sg.is_null() {
            // Nobody to wake after all: give the WOKEN bit back.
            self.state.fetch_and(!WOKEN, Relaxed);
        } else {
            // SAFETY: dequeued by us; its party reads it again only once woken.
            self.woken_since.store(unsafe { (*sg).waitstart }, Relaxed);
        }
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        if !sg.is_null() {
            // SAFETY: dequeued and claimed by us.
            unsafe { wake(&ctx, sg, true) };
        }
    }

    /// Starvation mode: hands the lock (LOCKED stays set) to the queue's head.
    /// Executed by an unlocking party; takes the queue lock.
    fn handoff(&self) -> Result<()> {
        let mut ctx = Ctx::new();
        self.lock.lock();
        let mut s = self.state.load(Relaxed);
        if s & STARVING == 0 {
            // The last waiter left (shutdown) and took the mode with it, or another
            // unlock (a misuse) released it: start over.
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return self.unlock_slow();
        }
        // SAFETY: locked.
        let sg = unsafe { self.q.dequeue(&mut ctx) };
        if sg.is_null() {
            // Nobody to hand it to: leave starvation mode and release.
            loop {
                let new = s & !(LOCKED | STARVING | PARKED);
                match self.state.compare_exchange_weak(s, new, Release, Relaxed) {
                    Ok(_) => break,
                    Err(v) => s = v,
                }
            }
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return Ok(());
        }
        // SAFETY: dequeued and claimed by us.
        let short_wait = unsafe {
            (*sg).ticket = true;
            nanotime() - (*sg).waitstart < STARVATION_NS
        };
        let last = self.q.is_empty();
        loop {
            let mut new = s;
            if last {
                new &= !(PARKED | STARVING);
            } else if short_wait {
                new &= !STARVING;
            }
            match self.state.compare_exchange_weak(s, new, Release, Relaxed) {
                Ok(_) => break,
                Err(v) => s = v,
            }
        }
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        // SAFETY: dequeued and claimed by us.
        unsafe { wake(&ctx, sg, true) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlock_of_unlocked_is_refused_without_change() {
        let m = Mutex::new();
        // SAFETY: ours until freed.
        let mu = unsafe { &*m };
        assert_eq!(mu.unlock(), Err(Error::Perm));
        assert_eq!(mu.state.load(Relaxed), 0);
        mu.lock().unwrap();
        assert_eq!(mu.trylock(), Err(Error::Again));
        // SAFETY: still ours.
        assert_eq!(unsafe { Mutex::free(m) }, Err(Error::Busy));
        mu.unlock().unwrap();
        assert_eq!(mu.unlock(), Err(Error::Perm));
        mu.trylock().unwrap();
        mu.unlock().unwrap();
        // SAFETY: unused from now on.
        unsafe { Mutex::free(m).unwrap() };
    }

    #[test]
    fn threads_exclude_each_other() {
        let m = Mutex::new() as usize;
        static mut COUNTER: u64 = 0;
        let ts: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    // SAFETY: freed after the joins.
                    let mu = unsafe { &*(m as *const Mutex) };
                    for _ in 0..20_000 {
                        mu.lock().unwrap();
                        // SAFETY: under the mutex.
                        unsafe { COUNTER += 1 };
                        mu.unlock().unwrap();
                    }
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        // SAFETY: all threads joined.
        assert_eq!(unsafe { COUNTER }, 80_000);
        // SAFETY: unused from now on.
        let mu = unsafe { &*(m as *const Mutex) };
        assert_eq!(mu.state.load(Relaxed), 0, "no bit is left behind");
        // SAFETY: unused from now on.
        unsafe { Mutex::free(m as *mut Mutex).unwrap() };
    }
}
