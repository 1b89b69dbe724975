//! Weighted semaphores (Go's golang.org/x/sync/semaphore).
//!
//! `size` is the capacity, `cur` the weight held now, both under `lock`. An acquire
//! takes its weight at once only if it fits and nobody waits; else it queues at the
//! tail. A release (and a waiter that gives up) grants the waiters in queue order
//! while the head fits, and stops at the first that does not: a large request is not
//! starved by small ones behind it (x/sync's notifyWaiters). A granted waiter's
//! weight is added to `cur` by its granter, before the wakeup.

use super::sema::{wait_on, wake_list};
use super::sudog::{Sudog, WaitQ};
use super::waiter::{deadline, Ctx};
use super::{retire, ObjLock, MAGIC_FREED, MAGIC_OFFSET};
use crate::error::{Error, Result};
use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU32, Ordering::*};

/// `magic` of a live weighted semaphore ("wsem"). See *Handles* in mod.rs.
pub(crate) const MAGIC_SEMAPHORE: u32 = u32::from_le_bytes(*b"wsem");

#[repr(C)]
pub(crate) struct Semaphore {
    lock: ObjLock,
    magic: AtomicU32,
    size: i64,
    /// Under `lock`.
    cur: Cell<i64>,
    /// Waiters; each sudog's `idx` is its weight.
    q: WaitQ,
}

// SAFETY: `cur` is only touched under `lock`; the rest is atomics or immutable.
unsafe impl Sync for Semaphore {}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(Semaphore, magic) == MAGIC_OFFSET);

impl Semaphore {
    /// A semaphore of capacity `size` (> 0, else `Inval`).
    pub(crate) fn new(size: i64) -> Result<*mut Semaphore> {
        if size <= 0 {
            return Err(Error::Inval);
        }
        Ok(Box::into_raw(Box::new(Semaphore {
            lock: ObjLock::new(),
            magic: AtomicU32::new(MAGIC_SEMAPHORE),
            size,
            cur: Cell::new(0),
            q: WaitQ::new(),
        })))
    }

    /// The semaphore behind handle `s`: `Inval` if null or not live.
    /// Can be executed by anyone.
    /// # Safety
    /// `s` is null or came from `new`, and its memory is still the runtime's.
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(s: *const Semaphore) -> Result<&'a Semaphore> {
        if s.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let r = unsafe { &*s };
        if r.magic.load(Relaxed) != MAGIC_SEMAPHORE {
            return Err(Error::Inval);
        }
        Ok(r)
    }

    /// Frees `s` unless weight is held or a party waits: `Busy`. `Inval` if freed
    /// meanwhile.
    /// Can be executed by anyone.
    /// # Safety
    /// `s` passed `check`; no operation of the caller's on it is in progress or follows.
    pub(crate) unsafe fn free(s: *mut Semaphore) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let r = unsafe { &*s };
        r.lock.lock();
        // SAFETY: locked.
        let res = unsafe {
            if r.magic.load(Relaxed) != MAGIC_SEMAPHORE {
                Err(Error::Inval)
            } else if r.cur.get() != 0 || r.q.busy() {
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
        unsafe { retire(s.cast(), Layout::new::<Semaphore>()) };
        Ok(())
    }

    /// The weight held now (a snapshot).
    pub(crate) fn held(&self) -> i64 {
        self.lock.lock();
        let c = self.cur.get();
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        c
    }

    /// Acquires weight `n` (Go's Acquire), waiting up to `timeout_ns` (< 0: forever;
    /// 0: only tries, `TimedOut` as every timed call). `Inval` if `n` < 0 or larger than the capacity (it
    /// could never be granted); `TimedOut`; `Perm` on g0 if it would wait;
    /// `Shutdown` for a foreign thread when the runtime stops. Nothing is held after
    /// an error.
    /// Can be executed by anyone (g0 only with a timeout of 0).
    pub(crate) fn acquire(&self, n: i64, timeout_ns: i64) -> Result<()> {
        if n < 0 || n > self.size {
            return Err(Error::Inval);
        }
        let mut ctx = Ctx::new();
        self.lock.lock();
        if self.size - self.cur.get() >= n && self.q.is_empty() {
            self.cur.set(self.cur.get() + n);
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            crate::runtime::tools::acquire(self as *const Semaphore as usize);
            return Ok(());
        }
        if timeout_ns == 0 {
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return Err(Error::TimedOut);
        }
        let dl = deadline(timeout_ns);
        // SAFETY: locked; q is under this lock. The granter adds our weight. A waiter
        // that gives up leaves the queue: if it was the head, the ones behind it may
        // fit now (granted in the same hold of the lock, its last touch).
        let r = unsafe {
            wait_on(
                &mut ctx,
                &self.lock,
                &self.q,
                n as usize,
                dl,
                c"semaphore.Acquire",
                || Ok(()),
                |ctx| self.grant_locked(ctx),
            )
        };
        if r.is_ok() {
            crate::runtime::tools::acquire(self as *const Semaphore as usize);
        }
        r
    }

    /// Acquires weight `n` if it fits now and nobody waits (Go's TryAcquire):
    /// `Again` otherwise; `Inval` if `n` < 0 or larger than the capacity.
    /// Can be executed by anyone; never blocks.
    pub(crate) fn try_acquire(&self, n: i64) -> Result<()> {
        if n < 0 || n > self.size {
            return Err(Error::Inval);
        }
        self.lock.lock();
        let ok = self.size - self.cur.get() >= n && self.q.is_empty();
        if ok {
            self.cur.set(self.cur.get() + n);
        }
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        if ok {
            crate::runtime::tools::acquire(self as *const Semaphore as usize);
            Ok(())
        } else {
            Err(Error::Again)
        }
    }

    /// Releases weight `n` (Go's Release) and grants the waiters that now fit, in
    /// order. `Perm` if `n` is more than is held (Go panics; nothing changes here);
    /// `Inval` if `n` < 0.
    /// Can be executed by anyone; never blocks.
    pub(crate) fn release(&self, n: i64) -> Result<()> {
        if n < 0 {
            return Err(Error::Inval);
        }
        crate::runtime::tools::release(self as *const Semaphore as usize);
        let mut ctx = Ctx::new();
        self.lock.lock();
        if n > self.cur.get() {
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return Err(Error::Perm);
        }
        self.cur.set(self.cur.get() - n);
        let list = self.grant_locked(&mut ctx);
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        // SAFETY: dequeued and claimed by us; the lock is released.
        unsafe { wake_list(&ctx, list) };
        Ok(())
    }

    /// Grants the waiters at the head while they fit (adding their weights to `cur`),
    /// and returns them linked through `next`, to be woken after the unlock.
    /// Executed under `lock`.
    fn grant_locked(&self, ctx: &mut Ctx) -> *mut Sudog {
        let (mut head, mut tail): (*mut Sudog, *mut Sudog) = (null_mut(), null_mut());
        loop {
            let free = self.size - self.cur.get();
            // SAFETY: the caller holds the lock.
            let sg = unsafe { self.q.dequeue_if(ctx, |s| s.idx as i64 <= free) };
            if sg.is_null() {
                return head;
            }
            // SAFETY: dequeued and claimed by us.
            unsafe {
                self.cur.set(self.cur.get() + (*sg).idx as i64);
                (*sg).next = null_mut();
                if tail.is_null() {
                    head = sg;
                } else {
                    (*tail).next = sg;
                }
            }
            tail = sg;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_waiters_are_granted_in_order_and_the_head_is_not_passed() {
        let p = Semaphore::new(4).unwrap() as usize;
        // SAFETY: freed after the joins.
        let s = unsafe { &*(p as *const Semaphore) };
        s.acquire(4, -1).unwrap();
        static DONE: [core::sync::atomic::AtomicBool; 2] =
            [core::sync::atomic::AtomicBool::new(false), core::sync::atomic::AtomicBool::new(false)];
        let mut ts = Vec::new();
        for (i, w) in [3i64, 1].into_iter().enumerate() {
            ts.push(std::thread::spawn(move || {
                // SAFETY: as above.
                let s = unsafe { &*(p as *const Semaphore) };
                s.acquire(w, -1).unwrap();
                DONE[i].store(true, SeqCst);
            }));
            std::thread::sleep(std::time::Duration::from_millis(20)); // queued in this order
        }
        s.release(2).unwrap(); // 2 free: the 1 fits but must not pass the 3
        std::thread::sleep(std::time::Duration::from_millis(30));
        assert!(!DONE[0].load(SeqCst) && !DONE[1].load(SeqCst));
        s.release(1).unwrap(); // 3 free: the 3, then nothing (0 left)
        while !DONE[0].load(SeqCst) {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!DONE[1].load(SeqCst));
        assert_eq!(s.held(), 4);
        s.release(1).unwrap();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(s.held(), 4);
        assert_eq!(s.release(5), Err(Error::Perm));
        assert_eq!(s.acquire(1, 1_000_000), Err(Error::TimedOut));
        s.release(4).unwrap();
        // SAFETY: unused from now on.
        unsafe { Semaphore::free(p as *mut Semaphore).unwrap() };
    }
}
