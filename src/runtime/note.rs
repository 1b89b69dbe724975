//! One-shot sleep and wakeup of an M (Go's `note`), over a Linux futex.
//!
//! A note is cleared, then exactly one `notewakeup` may be called, and one thread
//! sleeps in `notesleep` until it is. Used to park idle Ms (`stopm`), Ms waiting for
//! their locked goroutine, and sysmon. Also `futex_wait`/`futex_wake` for other words.

use core::sync::atomic::{AtomicU32, Ordering::*};

pub(crate) struct Note {
    key: AtomicU32,
}

impl Note {
    pub(crate) const fn new() -> Note {
        Note { key: AtomicU32::new(0) }
    }

    /// Re-arms the note. Only the sleeper calls it, after it woke up. A read-modify-
    /// write with acquire: it reads the last wakeup even when two were merged into
    /// the one sleep (the second found the note set), so that what the second waker
    /// wrote before its wakeup (gs_shutdown's state) is visible after the clear.
    pub(crate) fn clear(&self) {
        self.key.swap(0, Acquire);
    }

    /// Wakes the sleeper (now or when it arrives). At most once per `clear`.
    pub(crate) fn wakeup(&self) {
        if self.key.swap(1, Release) == 0 {
            futex_wake(&self.key, 1);
        }
    }

    /// Sleeps until `wakeup`. Callable by the single owner of the note.
    pub(crate) fn sleep(&self) {
        while self.key.load(Acquire) == 0 {
            futex_wait(&self.key, 0, -1);
        }
    }

    /// Sleeps until `wakeup` or `ns` nanoseconds (< 0: forever). True if woken.
    pub(crate) fn tsleep(&self, ns: i64) -> bool {
        if ns < 0 {
            self.sleep();
            return true;
        }
        let deadline = super::time::nanotime().saturating_add(ns);
        loop {
            if self.key.load(Acquire) != 0 {
                return true;
            }
            let left = deadline - super::time::nanotime();
            if left <= 0 {
                return self.key.load(Acquire) != 0;
            }
            futex_wait(&self.key, 0, left);
        }
    }
}

/// Blocks while `*word == val`, for at most `ns` nanoseconds (< 0: no limit).
/// May return spuriously.
pub(crate) fn futex_wait(word: &AtomicU32, val: u32, ns: i64) {
    let ts;
    let tsp = if ns < 0 {
        core::ptr::null()
    } else {
        ts = libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        };
        &ts as *const libc::timespec
    };
    // SAFETY: FUTEX_WAIT_PRIVATE reads the u32 at `word`, which is valid for the call;
    // the timespec (if any) outlives the call.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG, val, tsp);
    }
}

/// Wakes up to `n` threads blocked in `futex_wait` on `word`.
pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE_PRIVATE only uses the address as a key.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, n);
    }
}
