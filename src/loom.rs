//! The one switch between the standard library's synchronization and loom's, the
//! model checker that runs a test under every interleaving of its threads (the
//! crate tokio uses for its scheduler). The files whose protocols the loom models
//! check (the run queue, the park token, the timer heaps) take their atomics, locks
//! and spin hints from here; everything else uses `core::sync::atomic` directly.
//!
//! The models are the tests named `loom_*` in those files. They run with
//! `RUSTFLAGS="--cfg loom" cargo test --lib --release loom_` (see `scripts/loom.sh`),
//! which builds the crate with loom's types; under that cfg nothing else may run: loom's
//! types panic outside `loom::model`.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic;
#[cfg(loom)]
pub(crate) use loom::sync::atomic;

/// A lock whose `lock` gives the guard directly (the runtime's own, or loom's).
#[cfg(not(loom))]
pub(crate) use crate::runtime::lock::Mutex;

#[cfg(loom)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(v: T) -> Mutex<T> {
        Mutex(loom::sync::Mutex::new(v))
    }
    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0.lock().expect("loom Mutex poisoned")
    }
    pub(crate) fn try_lock(&self) -> Option<loom::sync::MutexGuard<'_, T>> {
        self.0.try_lock().ok()
    }
}

/// Lets other threads run while this one waits for them: the OS's `sched_yield`, or
/// under loom a point where the model may switch threads (a spin loop under loom must
/// yield, or the model never leaves it).
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}
