//! Once (Go's sync.Once), in memory the caller owns: a `gs_once` initialised with
//! `GS_ONCE_INIT` (all zero) is a valid `Once`, so it can be a static.
//!
//! # State
//!
//! - `done`: `NEW` until a caller wins the CAS to `RUNNING` and runs the function;
//!   `DONE` (a release store) once it returned. The fast path is one acquire load
//!   of `DONE`, as Go's.
//! - `q`, under `lock`: the callers that found it `RUNNING`. The runner stores
//!   `DONE` before it takes `lock` to wake them, and a caller checks `done` under
//!   `lock` before it queues: no caller is left waiting.

use super::sema::{dequeue_all, wait_on, wake_list};
use super::sudog::WaitQ;
use super::waiter::{Ctx, NEVER};
use super::ObjLock;
use crate::error::Result;
use core::sync::atomic::{AtomicU32, Ordering::*};

const NEW: u32 = 0;
const RUNNING: u32 = 1;
/// Also read by the inline fast path of gs_once_do in gosched.h (`_state == 2`).
const DONE: u32 = 2;
/// Offset of `done` in a `Once` (the public `gs_once._state`).
pub(crate) const DONE_OFFSET: usize = core::mem::offset_of!(Once, done);
const _: () = assert!(DONE == 2);

/// The memory of a `gs_once`. All zero is `NEW` with an unlocked lock and an empty
/// queue.
#[repr(C)]
pub(crate) struct Once {
    done: AtomicU32,
    lock: ObjLock,
    q: WaitQ,
}

impl Once {
    /// Runs `f(arg)` unless a call on this once ran it or runs it now; in that case
    /// waits until it has returned. Ok when the function has returned (in this call
    /// or another); `Perm` on g0 if it would wait; `Shutdown` for a foreign thread
    /// when the runtime stops while it waits.
    /// Can be executed by anyone (g0 only if it need not wait).
    #[inline]
    pub(crate) fn call(
        &self,
        f: unsafe extern "C" fn(*mut core::ffi::c_void),
        arg: *mut core::ffi::c_void,
    ) -> Result<()> {
        if self.done.load(Acquire) == DONE {
            crate::runtime::tools::acquire(self as *const Once as usize);
            return Ok(());
        }
        self.call_slow(f, arg)
    }

    #[cold]
    #[inline(never)]
    fn call_slow(
        &self,
        f: unsafe extern "C" fn(*mut core::ffi::c_void),
        arg: *mut core::ffi::c_void,
    ) -> Result<()> {
        if self.done.compare_exchange(NEW, RUNNING, Acquire, Acquire).is_ok() {
            // SAFETY: the caller's function, run exactly once as asked.
            unsafe { f(arg) };
            crate::runtime::tools::release(self as *const Once as usize);
            self.done.store(DONE, Release);
            let mut ctx = Ctx::new();
            self.lock.lock();
            // SAFETY: locked.
            let list = unsafe { dequeue_all(&mut ctx, &self.q) };
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
            // SAFETY: dequeued and claimed by us; the lock is released.
            unsafe { wake_list(&ctx, list) };
            return Ok(());
        }
        let mut ctx = Ctx::new();
        self.lock.lock();
        if self.done.load(Acquire) == DONE {
            // SAFETY: locked.
            unsafe { self.lock.unlock() };
        } else {
            // SAFETY: locked; q is under this lock.
            unsafe {
                wait_on(
                    &mut ctx,
                    &self.lock,
                    &self.q,
                    0,
                    NEVER,
                    c"sync.Once.Do",
                    || Ok(()),
                    |_| core::ptr::null_mut(),
                )?
            };
        }
        crate::runtime::tools::acquire(self as *const Once as usize);
        Ok(())
    }

    /// True once the function has returned (a hint for tests and bindings).
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Acquire) == DONE
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicU32;

    static RUNS: AtomicU32 = AtomicU32::new(0);
    static SEEN: AtomicU32 = AtomicU32::new(0);

    unsafe extern "C" fn slow_init(_: *mut core::ffi::c_void) {
        RUNS.fetch_add(1, SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(20));
        SEEN.store(7, SeqCst);
    }

    #[test]
    fn threads_run_it_once_and_wait_for_it() {
        // SAFETY: all zero is a fresh Once (GS_ONCE_INIT).
        let once: &'static Once = Box::leak(Box::new(unsafe { core::mem::zeroed::<Once>() }));
        let ts: Vec<_> = (0..6)
            .map(|_| {
                std::thread::spawn(move || {
                    once.call(slow_init, core::ptr::null_mut()).unwrap();
                    assert_eq!(SEEN.load(SeqCst), 7, "returned before the function did");
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(RUNS.load(SeqCst), 1);
        assert!(once.is_done());
    }
}
