//! The machine: `M`, an OS thread that runs goroutines when it holds a P.
//!
//! Each M has a g0: the stack of its OS thread, on which the scheduler runs. g0's
//! saved sp (`g0_sp`) is fixed when the M starts (`gs_mstart0`) and never changes:
//! every `mcall` starts afresh at that point, as Go's does.
//!
//! Fields marked "this M only" are written only by the thread of the M itself.

use super::g::G;
use super::note::Note;
use super::p::P;
use super::sched::Runtime;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering::*};

pub(crate) struct M {
    /// The runtime this M belongs to (outlives the M).
    pub(crate) rt: *const Runtime,
    pub(crate) id: u64,
    /// g0's fixed scheduling sp. Written once by gs_mstart0.
    pub(crate) g0_sp: usize,
    /// The G running on this M, or null when on g0. This M only (others read racily).
    pub(crate) curg: AtomicPtr<G>,
    /// The P held, or null. This M only.
    pub(crate) p: *mut P,
    /// The P left in the Syscall state by entersyscall, to take back on exit.
    /// This M only.
    pub(crate) oldp: *mut P,
    /// The P to take when woken (set by startm/handoff under sched.lock or before the
    /// wakeup that publishes it).
    pub(crate) nextp: AtomicPtr<P>,
    /// Looking for work without having found any (see *Spinning* in sched.rs).
    pub(crate) spinning: bool,
    /// Sleep here when idle or waiting for the locked G.
    pub(crate) park: Note,
    /// The G wired to this M by gs_lock_os_thread, or null. This M only.
    pub(crate) lockedg: *mut G,
    /// The thread that called gs_main (it leaves when its main G ends).
    pub(crate) is_host: bool,
    /// Set when this host M's main goroutine has ended.
    pub(crate) main_done: AtomicBool,
    /// Kernel thread id (for dumps and tests).
    pub(crate) tid: AtomicI32,
    /// Alternate signal stack of this thread, (base, len), to unmap on exit.
    pub(crate) sigstack: (usize, usize),
    /// The previous alternate signal stack, restored when a host M leaves.
    pub(crate) old_sigstack: Option<libc::stack_t>,
    /// True while on g0 in the scheduler waiting, for stats.
    pub(crate) idle: AtomicBool,
    /// In a blocking call (gs_entersyscall), for stats.
    pub(crate) in_syscall: AtomicBool,
    /// Waiting, without a P, for the goroutine locked to it (stoplockedm). Written
    /// by this M, read by anyone (the thread-cap warning).
    pub(crate) waiting_locked: AtomicBool,
    /// The M of gs_run_for (see host.rs): runs host goroutines only, has no P.
    pub(crate) host_runner: bool,
    /// End of the current gs_run_for budget, and steps run in it. Host runner only.
    pub(crate) host_deadline: i64,
    pub(crate) host_steps: u64,
}

// SAFETY: an M is shared between threads only through the fields documented above.
unsafe impl Send for M {}
// SAFETY: as above.
unsafe impl Sync for M {}

impl M {
    pub(crate) fn new(rt: *const Runtime, id: u64, is_host: bool) -> *mut M {
        Box::into_raw(Box::new(M {
            rt,
            id,
            g0_sp: 0,
            curg: AtomicPtr::new(null_mut()),
            p: null_mut(),
            oldp: null_mut(),
            nextp: AtomicPtr::new(null_mut()),
            spinning: false,
            park: Note::new(),
            lockedg: null_mut(),
            is_host,
            main_done: AtomicBool::new(false),
            tid: AtomicI32::new(0),
            sigstack: (0, 0),
            old_sigstack: None,
            idle: AtomicBool::new(false),
            in_syscall: AtomicBool::new(false),
            waiting_locked: AtomicBool::new(false),
            host_runner: false,
            host_deadline: 0,
            host_steps: 0,
        }))
    }

    #[inline]
    pub(crate) fn rt(&self) -> &'static Runtime {
        // SAFETY: the runtime outlives its Ms (shutdown frees it only after every M left).
        unsafe { &*self.rt }
    }

    #[inline]
    pub(crate) fn curg(&self) -> *mut G {
        self.curg.load(Relaxed)
    }
}
