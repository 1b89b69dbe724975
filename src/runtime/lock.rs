//! The runtime's own mutex (Go's `lock`/`unlock` of runtime/lock_futex.go): one futex
//! word per lock and no state anywhere else.
//!
//! # Why not parking_lot
//!
//! parking_lot parks its waiters in a table shared by every lock of the process, and
//! now and then hands a lock directly to a parked waiter at unlock. After fork() the
//! child inherits that table with entries for threads that do not exist in it: an
//! unlock may hand a lock to a ghost (the child then waits for it forever), and a
//! bucket may be held by a thread that was parking at the moment of the fork. A
//! futex word has no such state: the kernel's wait queues are not copied, so a lock
//! the child resets (`reset_after_fork`) is as good as new (see *Fork* in fork.rs).
//!
//! # State word
//!
//! - `UNLOCKED`: free.
//! - `LOCKED`: held, and no thread sleeps on the word.
//! - `SLEEPING`: held, and a thread may sleep on the word: the unlock must wake one.
//!
//! A locker that finds the lock held spins a little (the runtime's critical sections
//! are short) and yields its CPU a few times, then swaps in `SLEEPING` and sleeps until the word changes. Whoever
//! takes the lock after having slept takes it as `SLEEPING`, since others may still
//! sleep (Drepper's "Futexes are tricky", mutex 2).

use super::note::{futex_wait, futex_wake};
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering::*};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const SLEEPING: u32 = 2;

/// Spin rounds before sleeping, pause instructions per round, then yields of the
/// thread (Go: 4, 30 and 1; more yields keep a lock handed between two threads of an
/// oversubscribed machine off the futex).
const ACTIVE_SPIN: u32 = 4;
const ACTIVE_SPIN_CNT: u32 = 30;
const PASSIVE_SPIN: u32 = 4;

pub(crate) struct Mutex<T: ?Sized> {
    state: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `data` to one thread at a time.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

pub(crate) struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    pub(crate) const fn new(v: T) -> Mutex<T> {
        Mutex { state: AtomicU32::new(UNLOCKED), data: UnsafeCell::new(v) }
    }
}

impl<T: ?Sized> Mutex<T> {
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        if self.state.compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed).is_err() {
            self.lock_slow();
        }
        super::tools::acquire(self as *const Self as *const () as usize);
        MutexGuard { lock: self }
    }

    /// Under loom the timer heaps take loom's lock, the only `try_lock` users.
    #[cfg_attr(loom, allow(dead_code))]
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.state.compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed).ok().map(|_| {
            super::tools::acquire(self as *const Self as *const () as usize);
            MutexGuard { lock: self }
        })
    }

    #[cold]
    fn lock_slow(&self) {
        for _ in 0..ACTIVE_SPIN {
            for _ in 0..ACTIVE_SPIN_CNT {
                core::hint::spin_loop();
            }
            if self.state.load(Relaxed) == UNLOCKED
                && self.state.compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed).is_ok()
            {
                return;
            }
        }
        for _ in 0..PASSIVE_SPIN {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
            if self.state.load(Relaxed) == UNLOCKED
                && self.state.compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed).is_ok()
            {
                return;
            }
        }
        while self.state.swap(SLEEPING, Acquire) != UNLOCKED {
            futex_wait(&self.state, SLEEPING, -1);
        }
    }

    #[inline]
    fn unlock(&self) {
        super::tools::release(self as *const Self as *const () as usize);
        if self.state.swap(UNLOCKED, Release) == SLEEPING {
            futex_wake(&self.state, 1);
        }
    }

    /// Releases the lock without a guard (one that was `forget`-ten).
    ///
    /// # Safety
    /// The calling thread holds the lock and its guard was forgotten.
    pub(crate) unsafe fn force_unlock(&self) {
        self.unlock();
    }

    /// Marks the lock free, whoever held it and whoever slept on it.
    ///
    /// # Safety
    /// Only in a fork child, for a lock that the parent's other threads (absent from
    /// the child) may have held: no thread of the child holds it or uses its data.
    pub(crate) unsafe fn reset_after_fork(&self) {
        self.state.store(UNLOCKED, Relaxed);
    }

    /// The protected data, without locking.
    pub(crate) fn data_ptr(&self) -> *mut T {
        self.data.get()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves that this thread holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and the guard is borrowed mutably.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_exactly_under_contention() {
        let m = Arc::new(Mutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*m.lock(), 400_000);
        assert_eq!(m.state.load(Relaxed), UNLOCKED);
    }

    #[test]
    fn try_lock_fails_while_held_and_reset_frees() {
        let m = Mutex::new(());
        let g = m.lock();
        assert!(m.try_lock().is_none());
        core::mem::forget(g);
        // SAFETY: the test is the lock's only user.
        unsafe { m.reset_after_fork() };
        assert!(m.try_lock().is_some());
    }

    #[test]
    fn sleeper_is_woken_by_unlock() {
        let m = Arc::new(Mutex::new(0u32));
        let g = m.lock();
        let m2 = m.clone();
        let t = std::thread::spawn(move || {
            *m2.lock() += 1;
        });
        // Let the other thread get past its spinning and sleep on the word.
        while m.state.load(Relaxed) != SLEEPING {
            std::thread::yield_now();
        }
        drop(g);
        t.join().unwrap();
        assert_eq!(*m.lock(), 1);
    }
}
