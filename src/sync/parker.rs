//! Blocking a foreign thread: a futex word per waiting party, and the registry that
//! gs_shutdown uses to wake every foreign thread blocked in an object.
//!
//! # The word
//!
//! `Waiter::word` (waiter.rs) starts at 0. A waker sets `NOTIFIED` (release) and
//! futex-wakes it; gs_shutdown sets `SHUTDOWN`. The thread sleeps while the word is
//! unchanged and re-checks it after every wakeup, so spurious wakeups are harmless.
//! The waker computes the word's address before setting the bit and never touches
//! the waiter afterwards: the thread may return (and its stack frame end) at once.
//! FUTEX_WAKE on a private futex only hashes the address, it does not read it.
//!
//! # The registry
//!
//! A foreign thread that blocks while a runtime is running holds the runtime's
//! foreign pass (`enter_foreign`, counted in INFLIGHT), so gs_shutdown waits for it
//! to leave. It registers its waiter here first, then checks `rt.running()`;
//! gs_shutdown marks the runtime stopping, then sets SHUTDOWN on every registered
//! waiter. The registry's mutex orders the two: either the thread sees the runtime
//! stopping, or shutdown sees the thread registered.

use super::waiter::Waiter;
use core::ptr::null;
use core::sync::atomic::{AtomicU32, Ordering::*};

/// `Waiter::word`: a waker claimed the party and handed it its result.
pub(crate) const NOTIFIED: u32 = 1;
/// `Waiter::word`: the runtime is shutting down.
pub(crate) const SHUTDOWN: u32 = 2;

/// Sets `bits` in the word at `word` and wakes its sleeper. After this call the
/// waiter may be gone.
/// # Safety
/// `word` points to a live waiter's word at the time of the call.
pub(crate) unsafe fn notify(word: *const AtomicU32, bits: u32) {
    // SAFETY: the caller's contract; the address is taken before the store.
    let addr = unsafe { (*word).as_ptr() };
    // SAFETY: as above. Release: the result written for the party happens before.
    unsafe { (*word).fetch_or(bits, Release) };
    // SAFETY: FUTEX_WAKE_PRIVATE uses the address as a key only.
    unsafe {
        libc::syscall(libc::SYS_futex, addr, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, 1);
    }
}

/// Sleeps while `*word == val`, for at most `ns` nanoseconds (< 0: no limit).
/// May return early or spuriously.
pub(crate) fn wait(word: &AtomicU32, val: u32, ns: i64) {
    crate::runtime::note::futex_wait(word, val, ns);
}

/// Registered waiters, linked through `Waiter::reg_next`/`reg_prev`.
struct Registry {
    head: *const Waiter,
}

struct Reg(crate::runtime::lock::Mutex<Registry>);
// SAFETY: the list is only touched under the mutex; a waiter unregisters before its
// frame ends.
unsafe impl Sync for Reg {}

static REGISTRY: Reg = Reg(crate::runtime::lock::Mutex::new(Registry { head: null() }));

/// Adds `w` (a foreign thread's waiter, on its stack) to the registry.
/// Executed by the waiting foreign thread, before it checks `rt.running()`.
pub(crate) fn register(w: &Waiter) {
    let mut r = lock();
    w.reg_prev.set(null());
    w.reg_next.set(r.head);
    if !r.head.is_null() {
        // SAFETY: registered waiters are alive (they unregister before leaving).
        unsafe { (*r.head).reg_prev.set(w) };
    }
    r.head = w;
}

/// Removes `w` from the registry.
pub(crate) fn unregister(w: &Waiter) {
    let mut r = lock();
    let (p, n) = (w.reg_prev.get(), w.reg_next.get());
    // SAFETY: neighbours are registered, hence alive.
    unsafe {
        if p.is_null() {
            r.head = n;
        } else {
            (*p).reg_next.set(n);
        }
        if !n.is_null() {
            (*n).reg_prev.set(p);
        }
    }
}

/// Sets SHUTDOWN on every registered waiter.
/// Executed by gs_shutdown after it marked the runtime stopping.
pub(crate) fn shutdown_wake_all() {
    let r = lock();
    let mut w = r.head;
    while !w.is_null() {
        // SAFETY: registered waiters are alive while we hold the registry; they must
        // take it to unregister, so they cannot leave during notify.
        unsafe {
            let next = (*w).reg_next.get();
            notify(&(*w).word, SHUTDOWN);
            w = next;
        }
    }
}

/// Takes the registry's mutex.
fn lock() -> crate::runtime::lock::MutexGuard<'static, Registry> {
    REGISTRY.0.lock()
}

/// Before fork(): hold the registry, so that the child does not inherit it held by a
/// thread that is not there, or half changed (see *Fork* in fork.rs).
pub(crate) fn fork_prepare() {
    core::mem::forget(REGISTRY.0.lock());
}

/// After fork(), in the parent: release it.
pub(crate) fn fork_parent() {
    // SAFETY: fork_prepare took it on this thread and forgot the guard.
    unsafe { REGISTRY.0.force_unlock() };
}

/// After fork(), in the child: forget the parent's waiters (their threads do not
/// exist here) and mark the registry free.
pub(crate) fn fork_child() {
    // SAFETY: the child's only thread is the one that forked, which holds the
    // registry (fork_prepare); no other thread can sleep on it or touch the list.
    unsafe {
        (*REGISTRY.0.data_ptr()).head = null();
        REGISTRY.0.reset_after_fork();
    }
}
