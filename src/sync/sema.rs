//! The waiting step shared by the objects of rwmutex.rs, once.rs, cond.rs and
//! semaphore.rs (`wait_on`), and Go's runtime semaphore (`Sema`: semacquire /
//! semrelease), which the RWMutex's readers and writer sleep on.
//!
//! `wait_on` is the pattern of the wait group's wait: a sudog in the caller's frame
//! is queued under the object's lock, the party blocks (a goroutine parks, a foreign
//! thread sleeps on its futex word), and a waker that dequeued it under the lock
//! wakes it after releasing the lock. A timed wait uses a claimed sudog, so its
//! timeout and a waker race on `Waiter::done` and exactly one wins.

use super::sudog::{Sudog, WaitQ};
use super::waiter::{block, wake, Ctx, Waiter, Woke};
use super::ObjLock;
use crate::error::{Error, Result};
use core::ffi::CStr;
use core::ptr::{null_mut, slice_from_raw_parts_mut};
use core::sync::atomic::{AtomicU32, Ordering::*};

/// Queues the caller on `q` with `idx` in its sudog (what the waker reads: a
/// semaphore's weight), runs `after_push` (still under `lock`; a condition variable
/// unlocks the user's mutex there), then blocks until a waker dequeues it, `deadline`
/// (nanotime; `NEVER`) passes or, for a foreign thread, the runtime stops. `lock` is
/// held on entry and not on return.
///
/// Returns Ok once woken by a waker (which dequeued the sudog: it is off the queue);
/// `TimedOut` or `Shutdown` after leaving the queue; the error of `after_push` (the
/// sudog is taken off again, nothing waited); `Perm` on g0.
///
/// A party that gives up runs `on_leave` under `lock` right after it left the queue,
/// in the same hold (its last touch of the object: a free that finds the queue idle
/// may follow at once); the sudogs it returns (linked through `next`, dequeued and
/// claimed under `lock`) are woken after the unlock.
/// Executed by the waiting party (a goroutine or a foreign thread).
/// # Safety
/// `lock` is held by the caller and is the lock that guards `q`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn wait_on(
    ctx: &mut Ctx,
    lock: &ObjLock,
    q: &WaitQ,
    idx: usize,
    deadline: i64,
    reason: &'static CStr,
    after_push: impl FnOnce() -> Result<()>,
    on_leave: impl FnOnce(&mut Ctx) -> *mut Sudog,
) -> Result<()> {
    if let Err(e) = ctx.may_block() {
        // SAFETY: the caller's contract.
        unsafe { lock.unlock() };
        return Err(e);
    }
    let w = Waiter::new(ctx);
    let mut sgv = Sudog::EMPTY;
    let sg: *mut Sudog = &mut sgv;
    // SAFETY: sg is ours and queued under `lock`; `w` and `sgv` outlive the wait
    // (every path below takes it off the queue, or a waker did, before returning).
    unsafe {
        w.init_sudog(sg, null_mut(), deadline != super::waiter::NEVER);
        (*sg).idx = idx;
        q.push_back(sg);
        if let Err(e) = after_push() {
            q.leave(sg);
            lock.unlock();
            return Err(e);
        }
        let locks = [lock as *const ObjLock];
        match block(ctx, &w, &locks, slice_from_raw_parts_mut(sg, 1), deadline, reason) {
            // The waker dequeued us and touches nothing of ours any more.
            Woke::Fired => Ok(()),
            r => {
                lock.lock();
                q.leave(sg);
                let list = on_leave(ctx);
                lock.unlock();
                wake_list(ctx, list);
                Err(if r == Woke::TimedOut { Error::TimedOut } else { Error::Shutdown })
            }
        }
    }
}

/// Dequeues every party on `q` it may wake (see `WaitQ::dequeue`), linked through
/// `next` in queue order, for `wake_list` after the lock is released.
/// # Safety
/// The lock of `q` is held.
pub(crate) unsafe fn dequeue_all(ctx: &mut Ctx, q: &WaitQ) -> *mut Sudog {
    let (mut head, mut tail): (*mut Sudog, *mut Sudog) = (null_mut(), null_mut());
    loop {
        // SAFETY: the caller's contract.
        let sg = unsafe { q.dequeue(ctx) };
        if sg.is_null() {
            return head;
        }
        // SAFETY: dequeued and claimed by us.
        unsafe {
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

/// Wakes every party of a list made by `dequeue_all` (or linked the same way).
/// # Safety
/// The sudogs were dequeued and claimed by the caller, whose object lock is released.
pub(crate) unsafe fn wake_list(ctx: &Ctx, mut head: *mut Sudog) {
    while !head.is_null() {
        // SAFETY: ours to wake; the link is read first (the party reuses the sudog).
        unsafe {
            let next = (*head).next;
            wake(ctx, head, false);
            head = next;
        }
    }
}

/// Go's runtime semaphore (sema.go): a count of permits; `acquire` takes one or
/// waits for one, `release` hands one to the first waiter or adds it to the count.
/// Permits are handed over directly, so a newcomer never takes the permit meant for
/// a woken waiter.
pub(crate) struct Sema {
    pub(crate) lock: ObjLock,
    count: AtomicU32,
    pub(crate) q: WaitQ,
}

impl Sema {
    pub(crate) fn new() -> Sema {
        Sema { lock: ObjLock::new(), count: AtomicU32::new(0), q: WaitQ::new() }
    }

    /// Takes a permit if there is one, without the lock. Never blocks.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let mut c = self.count.load(Relaxed);
        while c > 0 {
            match self.count.compare_exchange_weak(c, c - 1, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(v) => c = v,
            }
        }
        false
    }

    /// Takes a permit, waiting for one (semacquire). `Perm` on g0 if none is there;
    /// `Shutdown` for a foreign thread when the runtime stops (no permit taken).
    /// Can be executed by anyone (g0 only if a permit is there).
    pub(crate) fn acquire(&self, reason: &'static CStr) -> Result<()> {
        if self.try_acquire() {
            return Ok(());
        }
        let mut ctx = Ctx::new();
        self.lock.lock();
        if self.try_acquire() {
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            return Ok(());
        }
        // SAFETY: locked; `q` is under this lock. A waker hands us its permit.
        unsafe {
            wait_on(&mut ctx, &self.lock, &self.q, 0, super::waiter::NEVER, reason, || Ok(()), |_| null_mut())
        }
    }

    /// Gives a permit to the first waiter, or adds it to the count (semrelease).
    /// Can be executed by anyone; never blocks.
    pub(crate) fn release(&self) {
        let mut ctx = Ctx::new();
        self.lock.lock();
        // SAFETY: locked.
        let sg = unsafe { self.q.dequeue(&mut ctx) };
        if sg.is_null() {
            self.count.fetch_add(1, Release);
        }
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        if !sg.is_null() {
            // SAFETY: dequeued and claimed by us.
            unsafe { wake(&ctx, sg, false) };
        }
    }

    /// True while a party waits or will still touch the semaphore (see `WaitQ::busy`).
    /// Can be executed by anyone; takes the lock.
    pub(crate) fn busy(&self) -> bool {
        self.lock.lock();
        // SAFETY: locked.
        let b = unsafe { self.q.busy() };
        // SAFETY: locked.
        unsafe { self.lock.unlock() };
        b
    }
}
