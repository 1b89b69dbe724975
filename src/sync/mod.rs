//! Go's synchronization objects on park/ready: channels and select (Go's chan.go and
//! select.go), wait groups and mutexes (sync.WaitGroup, sync.Mutex).
//!
//! Every object has a small lock of its own (`ObjLock`) and wait queues of sudogs
//! (`sudog.rs`). A party that must wait enqueues a sudog under the object's lock and
//! then sleeps; whoever dequeues the sudog under that lock owns the wakeup. The
//! objects work the same from goroutines and from foreign threads, in any mix.
//!
//! # Two kinds of waiters
//!
//! - A **goroutine** parks (`gopark`): its M runs other goroutines. The object's lock
//!   is released by the park's unlockf on g0, after the G is marked waiting, so a
//!   waker never finds it half-parked (see *Who may ready a waiting G* in
//!   runtime/park.rs). The waker `ready`s it.
//! - A **foreign thread** (any thread that is not an M) sleeps on a futex word in its
//!   `Waiter`, on its own stack (`parker.rs`). The waker sets the word and wakes it.
//!
//! A `Waiter` describes the blocked party; each of its sudogs says which kind it is,
//! so a waker of either kind can wake a waiter of either kind.
//!
//! # Claims
//!
//! A party that waits on several things at once (a select), or that can also be woken
//! by something other than the object (a timeout, the runtime's shutdown), has
//! *claimed* sudogs: the waker must win `Waiter::done` (a CAS from 0 to 1, Go's
//! `selectDone`) before it acts on one. Exactly one winner wakes the party; losers
//! skip the sudog. A party woken by its timeout (or shutdown) removes its sudogs from
//! the queues itself, under the objects' locks.
//!
//! # Thread-locals
//!
//! An operation reads its M once (`Ctx::new`) and passes it along (`gopark_m`,
//! `ready_m`). Once a goroutine has blocked it may run on another M, and the compiler
//! may keep a thread-local's address computed before the switch for later reads in
//! the same function, even across a call that is not inlined. So every later read
//! goes through a helper that is not inlined (`waiter::curm`; see tls.rs).
//!
//! # Layers and life cycle
//!
//! `ffi/chan.rs` and `ffi/sync.rs` call down into this module; it calls down into the
//! runtime (park, ready, timers, the foreign-thread pass). Objects are plain memory:
//! they can be created and used without a runtime (foreign threads then simply block
//! as threads). Two hooks are called by `gs_shutdown`: `wake_foreign_waiters` (foreign
//! threads blocked in an object return GS_ESHUTDOWN) and `runtime_stopped` (goroutines
//! left blocked in objects are abandoned: their sudogs are taken off the queues, see
//! *Abandoned goroutines* in sudog.rs).

pub(crate) mod chan;
pub(crate) mod mutex;
pub(crate) mod parker;
pub(crate) mod registry;
pub(crate) mod select;
pub(crate) mod sudog;
pub(crate) mod waiter;
pub(crate) mod waitgroup;

/// The lock of one object (a channel, a mutex's queue, a wait group). Held only for
/// a few instructions; under contention it sleeps the OS thread (like Go's
/// runtime.lock), never a goroutine. Released on g0 by a park's unlockf, or by the
/// thread that took it.
pub(crate) struct ObjLock(parking_lot::RawMutex);

impl ObjLock {
    pub(crate) const fn new() -> ObjLock {
        ObjLock(<parking_lot::RawMutex as parking_lot::lock_api::RawMutex>::INIT)
    }

    #[inline]
    pub(crate) fn lock(&self) {
        parking_lot::lock_api::RawMutex::lock(&self.0)
    }

    /// # Safety
    /// The lock must be held (by this thread, or handed to g0 of this thread's M).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { parking_lot::lock_api::RawMutex::unlock(&self.0) }
    }
}

/// Called by gs_shutdown once the runtime is marked as stopping: every foreign thread
/// blocked in a channel, select, mutex or wait group wakes up and returns GS_ESHUTDOWN.
pub(crate) fn wake_foreign_waiters() {
    parker::shutdown_wake_all();
}

/// Called by gs_shutdown after every M left, before the goroutines' stacks are freed:
/// goroutines still blocked in objects are abandoned; their sudogs are taken off the
/// objects' queues (see *Abandoned goroutines* in sudog.rs).
pub(crate) fn runtime_stopped() {
    registry::purge_goroutines();
}

/// A fast per-thread random number (wyrand), for select's poll order.
/// Not inlined: the state is per thread and a goroutine may move (see tls.rs).
#[inline(never)]
pub(crate) fn cheaprand() -> u32 {
    use core::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            // Seed from the thread (the address of its state) and the time.
            x = (s as *const Cell<u64> as u64) ^ (crate::runtime::time::nanotime() as u64).rotate_left(32) | 1;
        }
        x = x.wrapping_add(0xa076_1d64_78bd_642f);
        s.set(x);
        let t = (x as u128).wrapping_mul((x ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) as u64 ^ t as u64) as u32
    })
}

/// A uniformly distributed number in `0..n` (Lemire's multiply-shift; n <= 2^32).
#[inline]
pub(crate) fn cheaprandn(n: u32) -> u32 {
    ((cheaprand() as u64 * n as u64) >> 32) as u32
}
