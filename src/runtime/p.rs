//! The processor: `P`, the right to run goroutines, its states, and how an M takes
//! and gives back one (`acquirep`, `releasep`).
//!
//! # Ownership of a P
//!
//! - `Idle`: on `sched.pidle`, owned by `sched.lock`. Its run queue is empty.
//! - `Running`: owned by the M in `p.m`, which is running Go code or scheduling.
//! - `Syscall`: its M is in a blocking call; sysmon (or the M itself, on return) may
//!   take it with a CAS of the status to Idle/Running (`retake`, `exitsyscall`).
//! - `Stopped`: at shutdown.
//!
//! Fields marked "owner only" are touched only by the M that holds the P.

use super::g::G;
use super::m::M;
use super::runq::LocalRunq;
use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum Pstatus {
    Idle = 0,
    Running = 1,
    Syscall = 2,
    Stopped = 3,
}

/// Dead Gs kept by a P, with their stacks (Go's `p.gFree`). Owner only.
pub(crate) struct PLocal {
    /// Dead Gs, most recently freed last. Never grows past its initial capacity.
    pub(crate) gfree: Vec<*mut G>,
    /// Free default-size stacks (Go's mcache stackcache).
    pub(crate) stackcache: Vec<super::stack::Stack>,
    /// goids handed to this P in a batch (Go's goidcache / goidcacheend).
    pub(crate) goidcache: u64,
    pub(crate) goidcacheend: u64,
    /// xorshift state for the random order of stealing.
    pub(crate) fastrand: u64,
}

pub(crate) struct P {
    pub(crate) id: u32,
    /// `Pstatus` as u32. CAS by the owner M, by sysmon's retake and by exitsyscall.
    pub(crate) status: AtomicU32,
    /// The M holding this P, or null. Written by acquirep/releasep.
    pub(crate) m: AtomicPtr<M>,
    /// Incremented on every scheduling round. Owner writes; sysmon reads.
    pub(crate) schedtick: AtomicU32,
    /// Incremented on every blocking call. Owner writes; sysmon reads.
    pub(crate) syscalltick: AtomicU32,
    /// Set by sysmon when the running G overran its time slice, and by execute after
    /// inherited turns (see *Time slices* in sysmon.rs); cleared by execute at the
    /// start of a slice.
    pub(crate) preempt: AtomicBool,
    /// The ring and runnext (see runq.rs for who may touch what).
    pub(crate) runq: LocalRunq,
    /// Armed timers of this P (see timer.rs). Any M may lock it.
    pub(crate) timers: crate::loom::Mutex<super::timer::TimerHeap>,
    /// `when` of the earliest timer, 0 if none. Written under `timers`; read by anyone.
    pub(crate) timer0_when: crate::loom::atomic::AtomicI64,
    /// Timers in `timers`; written under its lock, read by anyone (stats).
    pub(crate) ntimers: crate::loom::atomic::AtomicUsize,
    /// Goroutine counts taken from `Runtime::ngoroutines` ahead of use (see
    /// *Counting goroutines* in sched.rs). Written by the P's holder; read by anyone.
    pub(crate) greserve: AtomicU64,
    /// Owner only; see PLocal.
    local: UnsafeCell<PLocal>,
    /// Statistics; the owner adds, anyone reads.
    pub(crate) switches: AtomicU64,
    pub(crate) spawned: AtomicU64,
    pub(crate) steals: AtomicU64,
    /// sysmon's own record of this P (Go's sysmontick): last schedtick/syscalltick seen
    /// and when. Sysmon only.
    pub(crate) sysmon_tick: AtomicU32,
    pub(crate) sysmon_when: AtomicI64,
    pub(crate) sysmon_syscalltick: AtomicU32,
    pub(crate) sysmon_syscallwhen: AtomicI64,
}

// SAFETY: `local` is touched only by the owner M (the P is handed between threads
// through sched.lock or atomics with release/acquire); the rest are atomics.
unsafe impl Sync for P {}
// SAFETY: as above.
unsafe impl Send for P {}

impl P {
    /// P `id` of a runtime with `nprocs` Ps.
    pub(crate) fn new(id: u32, nprocs: u32) -> P {
        P {
            id,
            status: AtomicU32::new(Pstatus::Idle as u32),
            m: AtomicPtr::new(null_mut()),
            schedtick: AtomicU32::new(0),
            syscalltick: AtomicU32::new(0),
            preempt: AtomicBool::new(false),
            runq: LocalRunq::new(nprocs > 1),
            timers: crate::loom::Mutex::new(super::timer::TimerHeap::new()),
            timer0_when: crate::loom::atomic::AtomicI64::new(0),
            ntimers: crate::loom::atomic::AtomicUsize::new(0),
            greserve: AtomicU64::new(0),
            local: UnsafeCell::new(PLocal {
                gfree: Vec::with_capacity(super::freelist::LOCAL_MAX),
                stackcache: Vec::new(),
                goidcache: 0,
                goidcacheend: 0,
                fastrand: 0x9E37_79B9_7F4A_7C15 ^ (u64::from(id) + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            }),
            switches: AtomicU64::new(0),
            spawned: AtomicU64::new(0),
            steals: AtomicU64::new(0),
            sysmon_tick: AtomicU32::new(0),
            sysmon_when: AtomicI64::new(0),
            sysmon_syscalltick: AtomicU32::new(0),
            sysmon_syscallwhen: AtomicI64::new(0),
        }
    }

    pub(crate) fn status(&self) -> Pstatus {
        match self.status.load(Acquire) {
            0 => Pstatus::Idle,
            1 => Pstatus::Running,
            2 => Pstatus::Syscall,
            _ => Pstatus::Stopped,
        }
    }

    /// The owner's private part.
    ///
    /// # Safety
    /// The caller holds this P (it is `m.p` of the calling M) or holds `sched.lock`
    /// with the P idle, and does not keep two of these references at once.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub(crate) unsafe fn local(&self) -> &mut PLocal {
        // SAFETY: exclusive by the caller's contract.
        unsafe { &mut *self.local.get() }
    }

    /// A pseudo-random number (xorshift64*). Owner only.
    ///
    /// # Safety
    /// As `local`.
    pub(crate) unsafe fn fastrand(&self) -> u32 {
        // SAFETY: forwarded contract.
        let l = unsafe { self.local() };
        let mut x = l.fastrand;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        l.fastrand = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
}

/// Binds `pp` to `m`.
pub(crate) fn acquirep(m: &mut M, pp: *mut P) {
    // SAFETY: pp was handed to us (idle list, nextp or a CAS on its status).
    let p = unsafe { &*pp };
    debug_assert!(m.p.is_null(), "acquirep: M already has a P");
    m.p = pp;
    p.m.store(m, Release);
    p.status.store(Pstatus::Running as u32, Release);
    super::tls::set_p_slot(pp);
}

/// Unbinds and returns m's P.
pub(crate) fn releasep(m: &mut M) -> *mut P {
    let pp = m.p;
    debug_assert!(!pp.is_null(), "releasep: M has no P");
    super::tls::set_p_slot(core::ptr::null());
    // SAFETY: we hold pp.
    unsafe { (*pp).m.store(null_mut(), Release) };
    m.p = null_mut();
    pp
}
