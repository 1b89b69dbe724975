//! Condition variables over a gosched mutex (Go's sync.Cond).
//!
//! `wait` queues the caller under the condition's own lock and only then unlocks the
//! user's mutex, still under that lock; a `signal` or `broadcast` takes the same lock
//! to dequeue. So a signal sent after the waiter released the mutex finds it queued:
//! no wake-up is lost (Go gets the same from its notifyList tickets). The lock order
//! is the condition's lock, then the mutex's queue lock (taken by an unlock that wakes
//! a waiter); nothing takes them the other way round.

use super::mutex::Mutex;
use super::sema::{dequeue_all, wait_on, wake_list};
use super::sudog::WaitQ;
use super::waiter::{deadline, wake, Ctx};
use super::{retire, ObjLock, MAGIC_FREED, MAGIC_OFFSET};
use crate::error::{Error, Result};
use core::alloc::Layout;
use core::sync::atomic::{AtomicU32, Ordering::*};

/// `magic` of a live condition variable ("cond"). See *Handles* in mod.rs.
pub(crate) const MAGIC_COND: u32 = u32::from_le_bytes(*b"cond");

#[repr(C)]
pub(crate) struct Cond {
    lock: ObjLock,
    magic: AtomicU32,
    /// The user's mutex (Go's L).
    l: *mut Mutex,
    q: WaitQ,
}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(Cond, magic) == MAGIC_OFFSET);

impl Cond {
    pub(crate) fn new(l: *mut Mutex) -> *mut Cond {
        Box::into_raw(Box::new(Cond {
            lock: ObjLock::new(),
            magic: AtomicU32::new(MAGIC_COND),
            l,
            q: WaitQ::new(),
        }))
    }

    /// The condition variable behind handle `c`: `Inval` if null or not live.
    /// Can be executed by anyone.
    /// # Safety
    /// `c` is null or came from `new`, and its memory is still the runtime's.
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(c: *const Cond) -> Result<&'a Cond> {
        if c.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let r = unsafe { &*c };
        if r.magic.load(Relaxed) != MAGIC_COND {
            return Err(Error::Inval);
        }
        Ok(r)
    }

    /// Frees `c` unless a party waits on it: `Busy`. `Inval` if freed meanwhile.
    /// Can be executed by anyone.
    /// # Safety
    /// `c` passed `check`; no operation of the caller's on it is in progress or follows.
    pub(crate) unsafe fn free(c: *mut Cond) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let r = unsafe { &*c };
        r.lock.lock();
        // SAFETY: locked.
        let res = unsafe {
            if r.magic.load(Relaxed) != MAGIC_COND {
                Err(Error::Inval)
            } else if r.q.busy() {
                Err(Error::Busy)
            } else {
                r.magic.store(MAGIC_FREED, Relaxed);
                Ok(())
            }
        };
        // SAFETY: locked.
        unsafe { r.lock.unlock() };
        res?;
        // SAFETY: made by Box::into_raw in `new`; nobody touches it as live any more.
        unsafe { retire(c.cast(), Layout::new::<Cond>()) };
        Ok(())
    }

    /// Go's Wait, with a timeout (< 0: none): unlocks the mutex and waits for a
    /// signal or broadcast, then locks the mutex again before it returns, also on
    /// `TimedOut`. `Perm` (nothing done) if the mutex is not locked, or on g0; `Inval`
    /// if the mutex was freed; `Shutdown` for a foreign thread when the runtime stops
    /// (then the mutex is locked again only if that still succeeds).
    /// Can be executed by a goroutine or a foreign thread.
    pub(crate) fn wait(&self, timeout_ns: i64) -> Result<()> {
        // SAFETY: `l` came from gs_mutex_new; freeing it first is the caller's error,
        // caught while its memory is in quarantine.
        let mu = unsafe { Mutex::check(self.l)? };
        let mut ctx = Ctx::new();
        ctx.may_block()?;
        let dl = deadline(timeout_ns);
        self.lock.lock();
        let mut unlocked = false;
        // SAFETY: locked; q is under this lock.
        let r = unsafe {
            wait_on(
                &mut ctx,
                &self.lock,
                &self.q,
                0,
                dl,
                c"sync.Cond.Wait",
                || {
                    mu.unlock()?;
                    unlocked = true;
                    Ok(())
                },
                |_| core::ptr::null_mut(),
            )
        };
        if !unlocked {
            return r;
        }
        let relock = mu.lock();
        r.and(relock)
    }

    /// Wakes the longest waiting party, if any (Go's Signal). Never blocks.
    /// Can be executed by anyone.
    pub(crate) fn signal(&self) {
        if self.q.is_empty() {
            return; // a hint: a waiter queues under the lock before it unlocks the mutex
        }
        let mut ctx = Ctx::new();
        self.lock.lock();
        // SAFETY: locked.
        let sg = unsafe { self.q.dequeue(&mut ctx) };
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        if !sg.is_null() {
            // SAFETY: dequeued and claimed by us.
            unsafe { wake(&ctx, sg, false) };
        }
    }

    /// Wakes every waiting party (Go's Broadcast). Never blocks.
    /// Can be executed by anyone.
    pub(crate) fn broadcast(&self) {
        if self.q.is_empty() {
            return;
        }
        let mut ctx = Ctx::new();
        self.lock.lock();
        // SAFETY: locked.
        let list = unsafe { dequeue_all(&mut ctx, &self.q) };
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        // SAFETY: dequeued and claimed by us; the lock is released.
        unsafe { wake_list(&ctx, list) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_waiters_wake_on_signal_and_broadcast_with_the_mutex_held() {
        let m = Mutex::new() as usize;
        let c = Cond::new(m as *mut Mutex) as usize;
        static STATE: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
        let ts: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(move || {
                    // SAFETY: freed after the joins.
                    let (mu, cv) = unsafe { (&*(m as *const Mutex), &*(c as *const Cond)) };
                    mu.lock().unwrap();
                    while STATE.load(Relaxed) == 0 {
                        cv.wait(-1).unwrap();
                    }
                    assert_eq!(mu.trylock(), Err(Error::Again), "held again after the wait");
                    mu.unlock().unwrap();
                })
            })
            .collect();
        // SAFETY: as above.
        let (mu, cv) = unsafe { (&*(m as *const Mutex), &*(c as *const Cond)) };
        std::thread::sleep(std::time::Duration::from_millis(20));
        mu.lock().unwrap();
        assert_eq!(cv.wait(0), Err(Error::TimedOut)); // the mutex is held again
        STATE.store(1, Relaxed);
        cv.signal();
        cv.broadcast();
        mu.unlock().unwrap();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(cv.wait(10), Err(Error::Perm), "the mutex is not held");
        // SAFETY: unused from now on.
        unsafe {
            Cond::free(c as *mut Cond).unwrap();
            Mutex::free(m as *mut Mutex).unwrap();
        }
    }
}
