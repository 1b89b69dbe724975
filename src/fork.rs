//! What the library does at fork(): the child starts with no runtime.
//!
//! # Fork
//!
//! fork() copies the calling thread only. Every other thread of the parent (its Ms,
//! sysmon, the program's own threads) is gone in the child, with whatever it held:
//! a lock, a life-cycle operation half done, a `std::sync::Once` in progress. So the
//! child must never wait for anything the parent's threads were doing:
//! - `prepare` (in the parent, before the fork) takes the few locks that the child
//!   will need consistent: the registry of foreign waiters (`sync::parker`);
//! - `child` marks them free, forgets the parent's runtime (`sched::forget_after_fork`:
//!   `gs_*` calls then see GS_ENOTINIT, and `gs_init` makes a new one) and the
//!   parent's waiters; `parent` releases them in the parent.
//!
//! Every lock of the library is a futex word of its own (runtime/lock.rs), with no
//! state shared between locks: a lock library that queues its sleepers in a table of
//! its own (parking_lot) carries the parent's sleepers into the child, where an
//! unlock may hand the lock to one of them, a thread that is not there.
//!
//! The runtime's threads are bare pthreads (runtime/osthread.rs): a `std::thread`
//! takes a lock of the standard library as it ends, which a fork at that moment
//! would leave held in the child, hanging every `std::thread` of the child at its end.
//!
//! The handlers are registered when the library is loaded (a constructor in
//! `.init_array`), not on first use: a registration in progress in another thread at
//! the moment of a fork would leave the child waiting for it forever. Nothing a
//! child can reach waits on a `Once`: `gs_init` installs the signal handlers under
//! the life-cycle flag, which the child resets.
//!
//! The parent's objects (channels, mutexes, wait groups) are copied into the child
//! with the rest of its memory, but may be locked by threads that are not there, and
//! their waiters are not there either: the child must not use them.

/// Registers the fork handlers when the library is loaded.
#[used]
#[link_section = ".init_array"]
static REGISTER: extern "C" fn() = register;

extern "C" fn register() {
    // SAFETY: three plain functions that only take and release the library's own
    // locks and reset its own state.
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}

/// In the parent, before fork().
extern "C" fn prepare() {
    crate::sync::parker::fork_prepare();
}

/// In the parent, after fork().
extern "C" fn parent() {
    crate::sync::parker::fork_parent();
}

/// In the child, after fork(): its only thread is the one that forked.
extern "C" fn child() {
    crate::sync::parker::fork_child();
    crate::runtime::sched::forget_after_fork();
}
