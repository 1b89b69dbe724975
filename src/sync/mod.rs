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
//! An operation reads its M once (`Ctx::new`) and passes it along (`gopark_with`,
//! `ready_with`). Once a goroutine has blocked it may run on another M, and the compiler
//! may keep a thread-local's address computed before the switch for later reads in
//! the same function, even across a call that is not inlined. So every later read
//! goes through a helper that is not inlined (`waiter::curm`; see tls.rs).
//!
//! # Handles: magic words and the quarantine
//!
//! A channel, a mutex and a wait group each have a `magic` word: its kind's `MAGIC_*`
//! from `new` on. Every API call that takes the handle checks it first (each kind's
//! `check`) and refuses anything else with `Inval`, so a handle of another kind, or
//! of an object already freed, is refused (`magic` is at `MAGIC_OFFSET` in each
//! kind). `free` checks it again under the object's lock (two racing frees: one
//! wins, the other gets `Inval`), and only when nobody is inside the object (see
//! *Parties inside an object* in sudog.rs) stores `MAGIC_FREED` there, before the
//! memory goes.
//!
//! Freed memory does not go back to malloc at once, where the next allocation would
//! take it and a stale handle would find a live object again (or malloc's own data):
//! `retire` puts it in a quarantine of the calling OS thread, a FIFO of the last
//! `QUARANTINE` objects that thread freed, and gives the oldest to malloc as a new one
//! comes in (and all of them when the thread ends). A channel's ring of more than
//! `RING_INLINE_MAX` bytes is a separate allocation, freed at once, so that the
//! quarantine stays small. While an object is in quarantine, a use of its handle, a
//! second free included, reliably gets `Inval`; after that, its memory may be
//! malloc's again and a use is undefined. An operation racing with the free on another
//! thread is undefined too: it may have passed the check before the store.
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

mod asym;
pub(crate) mod chan;
pub(crate) mod cond;
pub(crate) mod context;
pub(crate) mod mutex;
pub(crate) mod once;
pub(crate) mod parker;
pub(crate) mod rwmutex;
pub(crate) mod select;
pub(crate) mod sema;
pub(crate) mod semaphore;
pub(crate) mod sudog;
pub(crate) mod timer;
pub(crate) mod waiter;
pub(crate) mod waitgroup;

/// The lock of one object (a channel, a mutex's queue, a wait group). Held only for
/// a few instructions, never across a park or a blocking call: released on g0 by a
/// park's unlockf, or by the thread that took it, before it sleeps.
///
/// A test-and-test-and-set lock whose unlock is a plain release store: an object
/// operation takes the lock once and releases it once, and an atomic read-modify-
/// write on the release (what a lock that puts waiters to sleep needs, to know
/// whether to wake one) would cost as much as the rest of an uncontended send. A
/// thread that finds it taken spins with a growing pause, then yields its CPU, then
/// sleeps a microsecond at a time: the holder runs a few dozen instructions unless
/// the kernel took its CPU away, and then the waiter must let it run.
#[cfg(not(loom))]
pub(crate) struct ObjLock(core::sync::atomic::AtomicBool);

/// Under loom (the select model in sudog.rs): loom's blocking mutex, whose guard is
/// kept inside until `unlock`, so that the model explores who gets the lock without
/// the branches of a spin loop.
#[cfg(loom)]
pub(crate) struct ObjLock {
    m: loom::sync::Mutex<()>,
    guard: core::cell::UnsafeCell<Option<loom::sync::MutexGuard<'static, ()>>>,
}

#[cfg(loom)]
impl ObjLock {
    pub(crate) fn new() -> ObjLock {
        ObjLock { m: loom::sync::Mutex::new(()), guard: core::cell::UnsafeCell::new(None) }
    }

    pub(crate) fn lock(&self) {
        let g = self.m.lock().expect("loom Mutex poisoned");
        // SAFETY: the guard borrows self.m, which outlives it: `unlock` drops it
        // before the lock can go away. Only the holder touches `guard`.
        unsafe {
            *self.guard.get() = Some(core::mem::transmute::<
                loom::sync::MutexGuard<'_, ()>,
                loom::sync::MutexGuard<'static, ()>,
            >(g))
        };
    }

    /// # Safety
    /// The lock must be held by this thread.
    pub(crate) unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock, so only it touches `guard`.
        drop(unsafe { (*self.guard.get()).take() });
    }
}

#[cfg(not(loom))]
impl ObjLock {
    pub(crate) const fn new() -> ObjLock {
        ObjLock(core::sync::atomic::AtomicBool::new(false))
    }

    #[inline]
    pub(crate) fn lock(&self) {
        use core::sync::atomic::Ordering::*;
        if self.0.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
            self.lock_slow();
        }
        crate::runtime::tools::acquire(self as *const ObjLock as usize);
    }

    #[cold]
    #[inline(never)]
    fn lock_slow(&self) {
        use core::sync::atomic::Ordering::*;
        let mut round = 0u32;
        loop {
            // Wait until it looks free (reads only: no cache-line ping-pong).
            while self.0.load(Relaxed) {
                if round < 10 {
                    for _ in 0..(1u32 << round.min(6)) {
                        core::hint::spin_loop();
                    }
                } else if round < 50 {
                    std::thread::yield_now();
                } else {
                    crate::runtime::time::thread_sleep(1_000);
                }
                round = round.saturating_add(1);
            }
            if self.0.compare_exchange_weak(false, true, Acquire, Relaxed).is_ok() {
                return;
            }
        }
    }

    /// # Safety
    /// The lock must be held (by this thread, or handed to g0 of this thread's M).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        crate::runtime::tools::release(self as *const ObjLock as usize);
        self.0.store(false, core::sync::atomic::Ordering::Release);
    }
}

/// Offset of `magic` in every kind of object, so that a handle of one kind given to
/// another kind's function is refused after reading only its own memory.
pub(crate) const MAGIC_OFFSET: usize = 4;
/// `magic` of a live channel ("chan"). See *Handles*.
pub(crate) const MAGIC_CHAN: u32 = u32::from_le_bytes(*b"chan");
/// `magic` of a live mutex ("mutx").
pub(crate) const MAGIC_MUTEX: u32 = u32::from_le_bytes(*b"mutx");
/// `magic` of a live wait group ("wgrp").
pub(crate) const MAGIC_WAITGROUP: u32 = u32::from_le_bytes(*b"wgrp");
/// `magic` of a freed object, stored by its `free` under the object's lock.
pub(crate) const MAGIC_FREED: u32 = u32::from_le_bytes(*b"FREE");

/// Objects a thread's quarantine holds (see *Handles*).
const QUARANTINE: usize = 64;
/// Largest channel ring kept in the channel's own allocation (and so in quarantine).
pub(crate) const RING_INLINE_MAX: usize = 512;

/// A thread's quarantine: a ring of freed objects, oldest at `next` once full.
struct Quarantine {
    slots: [Option<(core::ptr::NonNull<u8>, core::alloc::Layout)>; QUARANTINE],
    next: usize,
}

impl Drop for Quarantine {
    fn drop(&mut self) {
        for (p, l) in self.slots.iter_mut().filter_map(Option::take) {
            // SAFETY: retired memory came from the global allocator with this layout,
            // and nothing of the runtime uses it any more.
            unsafe { std::alloc::dealloc(p.as_ptr(), l) };
        }
    }
}

/// Frees `p`, the memory of a freed object (its magic is `MAGIC_FREED`): it goes to the
/// calling thread's quarantine, and the oldest object there (if full) to malloc.
/// Not inlined: the quarantine is per thread (see tls.rs). Never blocks.
///
/// The quarantine is allocated on a thread's first retire: the thread-local itself is
/// one pointer, because the library's static TLS block is taken from the small surplus
/// the C library keeps for libraries loaded with dlopen (Python's ctypes, plugins), and
/// a large one makes dlopen fail with "cannot allocate memory in static TLS block".
/// # Safety
/// `p` was allocated by the global allocator with `layout`; no party will touch it as
/// a live object again.
#[inline(never)]
pub(crate) unsafe fn retire(p: *mut u8, layout: core::alloc::Layout) {
    use core::cell::RefCell;
    thread_local! {
        static Q: RefCell<Option<Box<Quarantine>>> = const { RefCell::new(None) };
    }
    let Some(p) = core::ptr::NonNull::new(p) else { return };
    let old = Q.try_with(|q| {
        let mut q = q.borrow_mut();
        let q =
            q.get_or_insert_with(|| Box::new(Quarantine { slots: [const { None }; QUARANTINE], next: 0 }));
        let i = q.next;
        q.next = (i + 1) % QUARANTINE;
        q.slots[i].replace((p, layout))
    });
    let old = match old {
        Ok(old) => old,
        // The thread is ending and its quarantine is gone: free at once.
        Err(_) => Some((p, layout)),
    };
    if let Some((o, l)) = old {
        // SAFETY: the caller's contract (for `p`), or `o` was retired before with `l`.
        unsafe { std::alloc::dealloc(o.as_ptr(), l) };
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
/// # Safety
/// No M runs goroutines of `rt` any more, and their stacks are still mapped.
pub(crate) unsafe fn runtime_stopped(rt: &crate::runtime::sched::Runtime) {
    // SAFETY: the caller's contract.
    rt.allgs.for_each(|g| unsafe { waiter::purge_abandoned(g) });
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
            x = (s as *const Cell<u64> as u64) ^ (crate::runtime::time::nanotime() as u64).rotate_left(32)
                | 1;
        }
        let (x, r) = wyrand(x);
        s.set(x);
        r
    })
}

/// One step of wyrand over `x`: the new state and the number.
#[inline(always)]
fn wyrand(x: u64) -> (u64, u32) {
    let x = x.wrapping_add(0xa076_1d64_78bd_642f);
    let t = (x as u128).wrapping_mul((x ^ 0xe703_7ed1_a0b4_28db) as u128);
    (x, ((t >> 64) as u64 ^ t as u64) as u32)
}

/// A fast random number from the state of M `m` (Go's per-M cheaprand), or from the
/// thread's (`cheaprand`) when `m` is null (a foreign thread). No thread-local is read
/// for an M: the caller got `m` from the thread-local and has not switched since.
/// # Safety
/// `m` is null or the calling thread's M.
#[inline(always)]
pub(crate) unsafe fn cheaprand_m(m: *mut crate::runtime::m::M) -> u32 {
    if m.is_null() {
        return cheaprand();
    }
    // SAFETY: the caller's contract: this thread's M, whose `fastrand` only it uses.
    let st = unsafe { &(*m).fastrand };
    let (x, r) = wyrand(st.get());
    st.set(x);
    r
}

/// A uniformly distributed number in `0..n` from `r` (Lemire's multiply-shift).
#[inline(always)]
pub(crate) fn randn(r: u32, n: u32) -> u32 {
    ((r as u64 * n as u64) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::ObjLock;
    use core::cell::UnsafeCell;

    struct Counted {
        lock: ObjLock,
        n: UnsafeCell<u64>,
    }
    // SAFETY: `n` is only touched under `lock`.
    unsafe impl Sync for Counted {}

    #[test]
    fn objlock_excludes_under_contention_and_preemption() {
        // More threads than this machine has CPUs, so holders get preempted while
        // others wait: every increment must still be exclusive.
        let c = Counted { lock: ObjLock::new(), n: UnsafeCell::new(0) };
        let threads = 8;
        let per = 50_000u64;
        std::thread::scope(|s| {
            for t in 0..threads {
                let c = &c;
                s.spawn(move || {
                    for i in 0..per {
                        c.lock.lock();
                        // SAFETY: under the lock. A read, a pause, a write: a second
                        // holder would lose increments.
                        unsafe {
                            let v = *c.n.get();
                            if (i + t) % 1024 == 0 {
                                std::thread::yield_now();
                            }
                            *c.n.get() = v + 1;
                            c.lock.unlock();
                        }
                    }
                });
            }
        });
        // SAFETY: every thread has finished.
        assert_eq!(unsafe { *c.n.get() }, threads * per);
    }
}

/// An object behind a C handle (a channel, a mutex, a wait group): `check` turns a
/// handle into the object, or `Inval` for NULL and for a handle that is not a live
/// object of that kind (see *Handles*).
pub(crate) trait Handle {
    /// # Safety
    /// `p` is null or came from the kind's `new`, and its memory is still the
    /// runtime's (alive or in quarantine).
    unsafe fn check<'a>(p: *const Self) -> crate::error::Result<&'a Self>;
}

macro_rules! impl_handle {
    ($($t:ty),*) => {$(
        impl Handle for $t {
            #[inline(always)]
            unsafe fn check<'a>(p: *const Self) -> crate::error::Result<&'a Self> {
                // SAFETY: the caller's contract.
                unsafe { <$t>::check(p) }
            }
        }
    )*};
}
impl_handle!(chan::Chan, mutex::Mutex, waitgroup::WaitGroup);
impl_handle!(rwmutex::RwMutex, cond::Cond, semaphore::Semaphore, timer::TimerChan);
impl_handle!(context::Context);
