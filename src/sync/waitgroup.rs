//! Wait groups (Go's sync.WaitGroup).
//!
//! # State
//!
//! - `state`: the counter (the low 62 bits) and two flags, in one word so that an
//!   add sees in the result of its own CAS whether anybody waits (Go packs the counter
//!   and the waiters' count the same way):
//!   - `WAITING`: parties may be queued on `q`. Set under `lock` by a waiter, with a
//!     CAS that fails if the counter is 0 (then it does not wait); cleared under
//!     `lock` by the release, or by the last waiter that leaves (shutdown).
//!   - `RELEASING`: the add that brought the counter to 0 while WAITING was set has
//!     still to release the queue; set by that add's CAS, cleared under `lock` by its
//!     `release_all`.
//!
//!   The counter is changed by adds only, with a CAS that refuses to make it negative
//!   or larger than `COUNT_MAX`, so a bad `add` leaves it unchanged.
//! - `q`: the waiting parties; under `lock`.
//! - `magic`: `MAGIC_WAITGROUP` until `free` stores `MAGIC_FREED` (see *Handles* in
//!   mod.rs).
//!
//! The CAS chain on `state` orders every `done` before the `wait` that returns.
//!
//! # Free right after wait
//!
//! The last `done` must not touch the wait group after a waiter can return, since the
//! waiter may free it at once. A waiter returns when it reads a counter of 0 (then
//! that add's CAS saw no WAITING set by it and the add touches nothing more), or when
//! `release_all` woke it, after releasing `lock`, its last touch. Only a waiter that
//! reads the counter 0 while another add is still releasing earlier waiters could
//! free too soon: `free` refuses while RELEASING is set or the queue is busy (see
//! *Parties inside an object* in sudog.rs).

use super::sudog::{Sudog, WaitQ};
use super::waiter::{block, wake, Ctx, Waiter, Woke, NEVER};
use super::{retire, ObjLock, MAGIC_FREED, MAGIC_OFFSET, MAGIC_WAITGROUP};
use crate::error::{Error, Result};
use core::alloc::Layout;
use core::ptr::{null_mut, slice_from_raw_parts_mut};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

/// `state`: parties may be queued.
const WAITING: u64 = 1 << 62;
/// `state`: an add must still release the queue.
const RELEASING: u64 = 1 << 63;
/// Largest counter (and its mask in `state`).
const COUNT_MAX: u64 = WAITING - 1;

#[repr(C)]
pub(crate) struct WaitGroup {
    lock: ObjLock,
    magic: AtomicU32,
    state: AtomicU64,
    q: WaitQ,
}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(WaitGroup, magic) == MAGIC_OFFSET);

impl WaitGroup {
    pub(crate) fn new() -> *mut WaitGroup {
        Box::into_raw(Box::new(WaitGroup {
            lock: ObjLock::new(),
            magic: AtomicU32::new(MAGIC_WAITGROUP),
            state: AtomicU64::new(0),
            q: WaitQ::new(),
        }))
    }

    /// The wait group behind handle `wg`: `Inval` if it is null, or not a live wait
    /// group's (see *Handles* in mod.rs).
    /// Can be executed by anyone.
    /// # Safety
    /// `wg` is null or came from `new`, and its memory is still the runtime's (alive
    /// or in quarantine).
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(wg: *const WaitGroup) -> Result<&'a WaitGroup> {
        if wg.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let w = unsafe { &*wg };
        if w.magic.load(Relaxed) != MAGIC_WAITGROUP {
            return Err(Error::Inval);
        }
        Ok(w)
    }

    /// Frees `wg` unless a party waits on it or is still being released (see *Free
    /// right after wait*): `Busy`. `Inval` if it was freed meanwhile (a racing free).
    /// Can be executed by anyone.
    /// # Safety
    /// `wg` passed `check`; no operation of the caller's on it is in progress or
    /// follows.
    pub(crate) unsafe fn free(wg: *mut WaitGroup) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let w = unsafe { &*wg };
        w.lock.lock();
        // SAFETY: locked.
        let r = unsafe {
            if w.magic.load(Relaxed) != MAGIC_WAITGROUP {
                Err(Error::Inval)
            } else if w.state.load(Acquire) & RELEASING != 0 || w.q.busy() {
                Err(Error::Busy)
            } else {
                w.magic.store(MAGIC_FREED, Relaxed);
                Ok(())
            }
        };
        // SAFETY: locked.
        unsafe { w.lock.unlock() };
        r?;
        // SAFETY: made by Box::into_raw in `new` (this layout); nobody touches it as a
        // live wait group any more.
        unsafe { retire(wg.cast(), Layout::new::<WaitGroup>()) };
        Ok(())
    }

    /// Adds `delta` to the counter (Go's Add). `Inval` if it would go negative (or
    /// above 2^62 - 1); the counter is then unchanged. At 0, every waiter is released.
    /// Can be executed by anyone; never blocks.
    pub(crate) fn add(&self, delta: i64) -> Result<()> {
        crate::runtime::tools::release(self as *const WaitGroup as usize);
        let mut old = self.state.load(Relaxed);
        loop {
            let count = match ((old & COUNT_MAX) as i64).checked_add(delta) {
                Some(v) if v >= 0 && v as u64 <= COUNT_MAX => v as u64,
                _ => return Err(Error::Inval),
            };
            let mut new = (old & !COUNT_MAX) | count;
            let release = count == 0 && old & (WAITING | RELEASING) == WAITING;
            if release {
                new |= RELEASING;
            }
            match self.state.compare_exchange_weak(old, new, AcqRel, Relaxed) {
                Ok(_) => {
                    if release {
                        self.release_all();
                    }
                    return Ok(());
                }
                Err(v) => old = v,
            }
        }
    }

    /// Wakes every queued party (the counter reached 0), unless the counter is above 0
    /// again when we look: then they keep waiting for the next 0 (Go calls this reuse
    /// before Wait returned a misuse; here it is harmless). Clears RELEASING.
    /// Executed by the add that set RELEASING; takes `lock`.
    #[inline(never)]
    fn release_all(&self) {
        let mut ctx = Ctx::new();
        self.lock.lock();
        let mut s = self.state.load(Acquire);
        let (mut head, mut tail): (*mut Sudog, *mut Sudog) = (null_mut(), null_mut());
        loop {
            if s & COUNT_MAX != 0 {
                // Added to again before we got here.
                match self.state.compare_exchange_weak(s, s & !RELEASING, Relaxed, Acquire) {
                    Ok(_) => break,
                    Err(v) => {
                        s = v;
                        continue;
                    }
                }
            }
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
            // Every sudog left the queue (woken, not ours to wake, or claimed by its
            // party): nobody waits now. Only adds change the counter meanwhile (WAITING
            // is ours under the lock), and one that brings it back to 0 from here on
            // sees WAITING clear and releases nothing.
            match self.state.compare_exchange_weak(s, s & !(RELEASING | WAITING), Relaxed, Acquire) {
                Ok(_) => break,
                Err(v) => s = v,
            }
        }
        // SAFETY: locked. Our last touch of the wait group.
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
        self.wait_until(NEVER)
    }

    /// `wait` until `deadline` (nanotime; `NEVER`) at most: `TimedOut` when it passes
    /// with the counter above 0.
    /// Can be executed by anyone (g0 only while the counter is 0).
    pub(crate) fn wait_until(&self, deadline: i64) -> Result<()> {
        let r = self.wait_zero(deadline);
        if r.is_ok() {
            crate::runtime::tools::acquire(self as *const WaitGroup as usize);
        }
        r
    }

    fn wait_zero(&self, deadline: i64) -> Result<()> {
        if self.state.load(Acquire) & COUNT_MAX == 0 {
            return Ok(());
        }
        let mut ctx = Ctx::new();
        self.lock.lock();
        let mut s = self.state.load(Acquire);
        loop {
            if s & COUNT_MAX == 0 {
                // SAFETY: locked.
                unsafe { self.lock.unlock() };
                return Ok(());
            }
            if s & WAITING != 0 {
                break;
            }
            match self.state.compare_exchange_weak(s, s | WAITING, Acquire, Acquire) {
                Ok(_) => break,
                Err(v) => s = v,
            }
        }
        if let Err(e) = ctx.may_block() {
            // WAITING may stay set with nobody queued: the next release clears it.
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return Err(e);
        }
        let w = Waiter::new(&ctx);
        let mut sgv = Sudog::EMPTY;
        let sg: *mut Sudog = &mut sgv;
        // SAFETY: sg is ours and queued under the lock; `w` and `sgv` outlive the wait.
        unsafe {
            w.init_sudog(sg, null_mut(), deadline != NEVER);
            self.q.push_back(sg);
            let locks = [&self.lock as *const ObjLock];
            let r = block(
                &mut ctx,
                &w,
                &locks,
                slice_from_raw_parts_mut(sg, 1),
                deadline,
                c"sync.WaitGroup.Wait",
            );
            match r {
                // release_all woke us after its last touch; we touch nothing more.
                Woke::Fired => Ok(()),
                r => {
                    self.lock.lock();
                    self.q.leave(sg);
                    // WAITING may stay set with nobody queued: the next release
                    // clears it.
                    self.lock.unlock();
                    Err(if matches!(r, Woke::TimedOut) { Error::TimedOut } else { Error::Shutdown })
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
        assert_eq!(w.state.load(Relaxed), 2);
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
                    assert_eq!(w.state.load(Relaxed) & COUNT_MAX, 0);
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
