//! Wait groups (Go's sync.WaitGroup).
//!
//! # State
//!
//! - `count`: the counter; changed with a CAS (SeqCst) that refuses to make it
//!   negative, so a bad `add` leaves it unchanged.
//! - `nwait`: parties queued on `q`; changed only under `lock` (SeqCst), so outside the
//!   lock it equals the queue's length.
//! - `q`: the waiting parties; under `lock`.
//!
//! The adder that brings `count` to 0 reads `nwait` after its CAS; a waiter increments
//! `nwait` before it re-reads `count`. Both are SeqCst, so at least one of them sees
//! the other: the adder wakes the waiter, or the waiter does not wait.
//! The CAS chain on `count` orders every `done` before the `wait` that returns.

use super::sudog::{Sudog, WaitQ};
use super::waiter::{block, wake, Ctx, Waiter, Woke, NEVER};
use super::ObjLock;
use crate::error::{Error, Result};
use core::ptr::{null_mut, slice_from_raw_parts_mut};
use core::sync::atomic::{AtomicI64, AtomicU32, Ordering::*};

#[repr(C)]
pub(crate) struct WaitGroup {
    lock: ObjLock,
    count: AtomicI64,
    nwait: AtomicU32,
    q: WaitQ,
}

impl WaitGroup {
    pub(crate) fn new() -> *mut WaitGroup {
        Box::into_raw(Box::new(WaitGroup {
            lock: ObjLock::new(),
            count: AtomicI64::new(0),
            nwait: AtomicU32::new(0),
            q: WaitQ::new(),
        }))
    }

    /// Frees `wg` unless a party waits on it: `Busy`.
    /// Can be executed by anyone.
    /// # Safety
    /// `wg` came from `new`; no operation on it is in progress or follows.
    pub(crate) unsafe fn free(wg: *mut WaitGroup) -> Result<()> {
        let mut ctx = Ctx::new();
        // SAFETY: the caller's contract.
        let w = unsafe { &*wg };
        w.lock.lock();
        // SAFETY: locked.
        let busy = unsafe { w.q.has_live(&mut ctx) };
        // SAFETY: locked.
        unsafe { w.lock.unlock() };
        if busy {
            return Err(Error::Busy);
        }
        // SAFETY: made by Box::into_raw in `new`; unused from now on.
        drop(unsafe { Box::from_raw(wg) });
        Ok(())
    }

    /// Adds `delta` to the counter (Go's Add). `Inval` if it would go negative (or
    /// overflow); the counter is then unchanged. At 0, every waiter is released.
    /// Can be executed by anyone; never blocks.
    pub(crate) fn add(&self, delta: i64) -> Result<()> {
        let mut old = self.count.load(Relaxed);
        let new = loop {
            let new = match old.checked_add(delta) {
                Some(v) if v >= 0 => v,
                _ => return Err(Error::Inval),
            };
            match self.count.compare_exchange_weak(old, new, SeqCst, Relaxed) {
                Ok(_) => break new,
                Err(v) => old = v,
            }
        };
        if new == 0 && self.nwait.load(SeqCst) != 0 {
            self.release_all();
        }
        Ok(())
    }

    /// Wakes every queued party (the counter reached 0).
    /// Can be executed by anyone; takes `lock`.
    #[inline(never)]
    fn release_all(&self) {
        let mut ctx = Ctx::new();
        self.lock.lock();
        if self.count.load(SeqCst) != 0 {
            // Added to again before we got here: the waiters keep waiting (Go calls
            // this reuse before Wait returned a misuse; here it is harmless).
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return;
        }
        let (mut head, mut tail): (*mut Sudog, *mut Sudog) = (null_mut(), null_mut());
        loop {
            // SAFETY: locked.
            let sg = unsafe { self.q.dequeue(&mut ctx) };
            if sg.is_null() {
                break;
            }
            // SAFETY: dequeued and claimed by us.
            unsafe {
                if tail.is_null() {
                    head = sg;
                } else {
                    (*tail).next = sg;
                }
            }
            tail = sg;
        }
        // Every sudog left the queue (woken, not ours to wake, or claimed by its party).
        self.nwait.store(0, SeqCst);
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        while !head.is_null() {
            // SAFETY: ours to wake; the link is read first (the party reuses it).
            unsafe {
                let next = (*head).next;
                wake(&ctx, head, false);
                head = next;
            }
        }
    }

    /// Blocks until the counter is 0 (Go's Wait). `Perm` on g0 if it would block;
    /// `Shutdown` for a foreign thread when the runtime stops.
    /// Can be executed by anyone (g0 only while the counter is 0).
    pub(crate) fn wait(&self) -> Result<()> {
        if self.count.load(SeqCst) == 0 {
            return Ok(());
        }
        let mut ctx = Ctx::new();
        self.lock.lock();
        self.nwait.fetch_add(1, SeqCst);
        if self.count.load(SeqCst) == 0 {
            self.nwait.fetch_sub(1, SeqCst);
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return Ok(());
        }
        if let Err(e) = ctx.may_block() {
            self.nwait.fetch_sub(1, SeqCst);
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return Err(e);
        }
        let w = Waiter::new(&ctx);
        let mut sgv = Sudog::EMPTY;
        let sg: *mut Sudog = &mut sgv;
        // SAFETY: sg is ours and queued under the lock; `w` and `sgv` outlive the wait.
        unsafe {
            w.init_sudog(sg, null_mut(), false);
            self.q.push_back(sg);
            let locks = [&self.lock as *const ObjLock];
            let r = block(&mut ctx, &w, &locks, slice_from_raw_parts_mut(sg, 1), NEVER, c"sync.WaitGroup.Wait");
            match r {
                Woke::Fired => Ok(()),
                _ => {
                    self.lock.lock();
                    if (*sg).queued {
                        self.q.remove(sg);
                        self.nwait.fetch_sub(1, SeqCst);
                    }
                    self.lock.unlock();
                    Err(Error::Shutdown)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_add_is_refused_and_leaves_the_counter() {
        let wg = WaitGroup::new();
        // SAFETY: ours until freed.
        let w = unsafe { &*wg };
        w.add(2).unwrap();
        assert_eq!(w.add(-3), Err(Error::Inval));
        assert_eq!(w.count.load(Relaxed), 2);
        assert_eq!(w.add(i64::MAX), Err(Error::Inval), "overflow is refused too");
        w.add(-1).unwrap();
        w.add(-1).unwrap();
        assert_eq!(w.add(-1), Err(Error::Inval));
        w.wait().unwrap();
        // SAFETY: unused from now on.
        unsafe { WaitGroup::free(wg).unwrap() };
    }

    #[test]
    fn threads_waiting_are_released_at_zero() {
        let wg = WaitGroup::new() as usize;
        // SAFETY: freed after every thread joined.
        let w = unsafe { &*(wg as *const WaitGroup) };
        w.add(3).unwrap();
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    // SAFETY: as above.
                    let w = unsafe { &*(wg as *const WaitGroup) };
                    w.wait().unwrap();
                    assert_eq!(w.count.load(Relaxed), 0);
                })
            })
            .collect();
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            w.add(-1).unwrap();
        }
        for t in waiters {
            t.join().unwrap();
        }
        // SAFETY: nobody uses it any more.
        unsafe { WaitGroup::free(wg as *mut WaitGroup).unwrap() };
    }
}
