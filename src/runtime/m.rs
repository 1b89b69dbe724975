//! The machine: `M`, an OS thread that runs goroutines when it holds a P, and its
//! life cycle: created by `newm` (from `startm`, when no idle M is left), started
//! by `mstart`, parked by `stopm` when it finds no work, ended by `mexit`.
//!
//! Each M has a g0: the stack of its OS thread, on which the scheduler runs. g0's
//! saved sp (`g0_sp`) is fixed when the M starts (`gs_mstart0`) and never changes:
//! every `mcall` starts afresh at that point, as Go's does.
//!
//! Fields marked "this M only" are written only by the thread of the M itself.

use super::context::{gs_gogo, gs_mstart0};
use super::g::G;
use super::note::Note;
use super::p::P;
use super::p::{acquirep, releasep};
use super::proc::{handoffp, schedule};
use super::sched::Runtime;
use super::sched::SchedLocked;
use super::tls::setm;
use core::ffi::c_void;
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
    pub(crate) is_main_m: bool,
    /// Set when this main M's main goroutine has ended.
    pub(crate) main_done: AtomicBool,
    /// Kernel thread id (for dumps and tests).
    pub(crate) tid: AtomicI32,
    /// Alternate signal stack of this thread, (base, len), to unmap on exit.
    pub(crate) sigstack: (usize, usize),
    /// The previous alternate signal stack, restored when a main M leaves.
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
    /// What the sanitizers know of this M's g0 (tools.rs). This M only.
    pub(crate) tools: super::tools::MTools,
    /// Goroutines by state, as changes made by this M (see gstats.rs). This M
    /// writes, anyone reads.
    pub(crate) gcounts: super::gstats::Counts,
    /// This thread's C++ exception globals (`cxxabi::none()` without a C++ runtime); and the
    /// thread's own state, set aside while it is an M. See *Exception state* in
    /// cxxabi.rs. This M only.
    pub(crate) cxa: *mut super::cxxabi::EhState,
    pub(crate) cxa_own: super::cxxabi::EhState,
    /// State of this M's cheap random numbers (Go's m.cheaprand; see `sync::cheaprand_m`).
    /// This M only.
    pub(crate) fastrand: core::cell::Cell<u64>,
}

// SAFETY: an M is shared between threads only through the fields documented above.
unsafe impl Send for M {}
// SAFETY: as above.
unsafe impl Sync for M {}

impl M {
    pub(crate) fn new(rt: *const Runtime, id: u64, is_main_m: bool) -> *mut M {
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
            is_main_m,
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
            tools: super::tools::MTools::new(),
            gcounts: super::gstats::new_counts(),
            cxa: super::cxxabi::none(),
            cxa_own: Default::default(),
            fastrand: core::cell::Cell::new(
                (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ super::time::nanotime() as u64) | 1,
            ),
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

/// Timer slack of worker threads (the kernel's default is 50 us).
const TIMER_SLACK_NS: libc::c_ulong = 1_000;

/// Stack of a worker M's OS thread, where g0 (the scheduler and unlockf callbacks) runs.
const G0_STACK_SIZE: usize = 512 << 10;

/// Schedules some M to run `pp` (an idle P if null; then, if none, does nothing).
/// `spinning` means the caller incremented nmspinning for the new M.
/// Can be executed by anyone.
pub(crate) fn startm(rt: &Runtime, mut pp: *mut P, spinning: bool) {
    let mut s = rt.lock();
    if pp.is_null() {
        pp = rt.pidleget(&mut s);
        if pp.is_null() {
            drop(s);
            if spinning {
                rt.nmspinning.fetch_sub(1, SeqCst);
            }
            return;
        }
    }
    if !rt.running() {
        rt.pidleput(&mut s, pp);
        drop(s);
        if spinning {
            rt.nmspinning.fetch_sub(1, SeqCst);
        }
        return;
    }
    let nmp = rt.mget(&mut s);
    match (!nmp.is_null()).then_some(nmp) {
        Some(nmp) => {
            // Hand over the P under sched.lock: an M woken for another reason (shutdown,
            // its gs_main goroutine ended) looks for it under the lock too, so the P is
            // never left behind in an M that leaves.
            // SAFETY: an idle M sleeps on its note; until woken, we own its handoff fields.
            unsafe {
                (*nmp).spinning = spinning;
                (*nmp).nextp.store(pp, Release);
                if (*nmp).is_main_m {
                    // A main M frees itself (gs_main returning) after taking the lock:
                    // wake it before we let go of the lock.
                    (*nmp).park.wakeup();
                    drop(s);
                } else {
                    drop(s);
                    // Worker Ms live until shutdown, which waits for us (see sched.rs).
                    (*nmp).park.wakeup();
                }
            }
        }
        None => {
            let ok = newm(rt, &mut s, pp, spinning);
            if !ok {
                // No M for pp (the cap on threads, or no thread could be made): its
                // work goes to the global queue, where any M looks, since an idle P's
                // queue is one nobody looks in; and the M blocked in the poller, if
                // any, looks again.
                // SAFETY: Ps live as long as the runtime; we hold pp.
                let p = unsafe { &*pp };
                loop {
                    let (gp, _) = p.runq.runqget();
                    if gp.is_null() {
                        break;
                    }
                    rt.globrunqput(&mut s, gp);
                }
                rt.pidleput(&mut s, pp);
                drop(s);
                if spinning {
                    rt.nmspinning.fetch_sub(1, SeqCst);
                }
                rt.netpoll.wake();
                return;
            }
            drop(s);
        }
    }
    rt.wake_sysmon();
}

/// Creates an M (an OS thread) that starts with `pp`. False if max_threads is reached
/// or the thread cannot be created. sched.lock must be held.
fn newm(rt: &Runtime, s: &mut SchedLocked, pp: *mut P, spinning: bool) -> bool {
    if rt.nm_alive.load(Acquire) >= rt.cfg.max_threads {
        warn_thread_cap(rt, s);
        return false;
    }
    let id = rt.mnext.fetch_add(1, Relaxed);
    let mp = M::new(rt, id, false);
    // SAFETY: mp is new and ours until its thread starts.
    unsafe {
        (*mp).spinning = spinning;
        (*mp).nextp.store(pp, Relaxed);
    }
    rt.nm_alive.fetch_add(1, AcqRel);
    let h = super::osthread::newosproc(
        &format!("gosched-m{id}"),
        G0_STACK_SIZE,
        |a| mstart(a as *mut M),
        mp as usize,
    );
    match h {
        Ok(h) => {
            s.allm.push(mp);
            s.threads.push(h);
            true
        }
        Err(_) => {
            rt.nm_alive.fetch_sub(1, AcqRel);
            // SAFETY: the thread never started; nobody else knows mp.
            drop(unsafe { Box::from_raw(mp) });
            false
        }
    }
}

/// Says on stderr (at most every `THREAD_CAP_WARN_NS`) that goroutines wait for a
/// thread when the cap on Ms is reached and every M is stuck in a blocking call or
/// waits for its locked goroutine: nothing runs until one comes back, and a silent
/// hang is the worst way to find that out. (Ms busy running goroutines are the cap
/// working as asked: no warning.) sched.lock must be held.
fn warn_thread_cap(rt: &Runtime, s: &SchedLocked) {
    let (mut syscall, mut locked) = (0u32, 0u32);
    for &mp in s.allm.iter() {
        // SAFETY: Ms in allm are alive while the lock is held; the fields read are
        // hints written by their own threads.
        let m = unsafe { &*mp };
        if m.host_runner {
            continue;
        }
        if m.in_syscall.load(Relaxed) {
            syscall += 1;
        } else if m.waiting_locked.load(Relaxed) {
            locked += 1;
        } else {
            return; // an M that runs goroutines, or will: no starvation
        }
    }
    let now = super::time::nanotime();
    let last = rt.thread_cap_warned.load(Relaxed);
    if last != 0 && now - last < THREAD_CAP_WARN_NS {
        return;
    }
    rt.thread_cap_warned.store(now, Relaxed);
    let msg = format!(
        "gosched: warning: goroutines wait for a thread: all {} threads that gs_config.max_threads allows are busy ({} in blocking calls, {} waiting for goroutines locked to them)\n",
        rt.cfg.max_threads, syscall, locked
    );
    // SAFETY: write(2) of a valid buffer.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

/// The thread-cap warning is repeated at most this often.
const THREAD_CAP_WARN_NS: i64 = 10_000_000_000;

/// Thread body of a worker M.
fn mstart(mp: *mut M) {
    // SAFETY: mp is this thread's M from now on.
    let rt = unsafe { &*(*mp).rt };
    mstart_common(mp);
    // SAFETY: after mstart_common no one else uses mp on this thread's behalf; the
    // runtime is alive until nm_alive reaches 0.
    unsafe { super::signal::mexit_signal_stack(&mut *mp) };
    setm(null_mut());
    m_left(rt);
}

/// Binds `mp` to this thread, runs the scheduler on it until the M exits (mexit), and
/// returns. Used by worker threads and by gs_main's thread.
pub(crate) fn mstart_common(mp: *mut M) {
    setm(mp);
    // SAFETY: mp is this thread's M.
    unsafe {
        (*mp).tid.store(libc::gettid(), Relaxed);
        if !(*mp).is_main_m {
            // Timers fire from epoll/futex waits on this thread: the kernel's default
            // slack of 50 us would make every sleep that much late.
            libc::prctl(libc::PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0);
        }
        super::signal::minit_signal_stack(&mut *mp);
        super::cxxabi::enter_thread(&mut *mp);
        gs_mstart0(&mut (*mp).g0_sp, mstart1, mp.cast());
        super::cxxabi::leave_thread(&mut *mp);
    }
}

/// Notes that an M left; the last access of an exiting thread to its runtime.
pub(crate) fn m_left(rt: &Runtime) {
    rt.nm_alive.fetch_sub(1, AcqRel);
    rt.mexit_seq.fetch_add(1, Release);
    super::note::futex_wake(&rt.mexit_seq, i32::MAX);
}

/// Parks the calling M until it is given a P (true), or woken to leave (false:
/// shutdown, or the main M's main goroutine ended).
/// Executed on g0 by an M without a P.
pub(crate) fn stopm(m: &mut M) -> bool {
    let rt = m.rt();
    debug_assert!(m.p.is_null(), "stopm: holding a P");
    {
        let mut s = rt.lock();
        if m_should_exit(m) {
            return false;
        }
        // Goroutines on the global queue and a P for them, but nobody running them:
        // startm found no idle M and the cap on threads let it make none, so it queued
        // the P's goroutines globally and idled the P, for the next M that is free.
        // That may be this one, coming from startlockedm or a blocking call without
        // looking at the queue: take them rather than sleep beside them.
        if rt.runqsize.load(Acquire) != 0 {
            let pp = rt.pidleget(&mut s);
            if !pp.is_null() {
                drop(s);
                acquirep(m, pp);
                return true;
            }
        }
        rt.mput(&mut s, m);
        m.idle.store(true, Relaxed);
    }
    m.park.sleep();
    m.park.clear();
    m.idle.store(false, Relaxed);
    let mut pp = m.nextp.swap(null_mut(), Acquire);
    if pp.is_null() {
        // Woken without a P (shutdown, or our gs_main goroutine ended): under the lock,
        // either startm already gave us one (take it) or we are still on the idle list
        // (leave it, so that nobody gives us one any more).
        let mut s = rt.lock();
        pp = m.nextp.swap(null_mut(), Acquire);
        if pp.is_null() {
            let me = m as *mut M;
            s.midle.retain(|&x| x != me);
            return false;
        }
    }
    acquirep(m, pp);
    true
}

/// `stopm` until a P comes; leaves the M (mexit) when told to.
/// Executed on g0 by an M without a P.
pub(crate) fn stopm_until_p(m: &mut M) {
    loop {
        if stopm(m) {
            return;
        }
        if m_should_exit(m) {
            // SAFETY: on g0.
            unsafe { mexit(m) };
        }
    }
}

#[inline]
pub(crate) fn m_should_exit(m: &M) -> bool {
    !m.rt().running() || (m.is_main_m && (m.main_done.load(Acquire) || m.rt().deadlock.load(Acquire)))
}

/// Leaves the scheduler: gives the P away and returns from gs_mstart0 on this thread.
/// Executed on g0.
///
/// # Safety
/// On g0 of `m`, the calling thread's M, which runs no goroutine.
pub(crate) unsafe fn mexit(m: &mut M) -> ! {
    let rt = m.rt();
    if m.spinning {
        m.spinning = false;
        rt.nmspinning.fetch_sub(1, SeqCst);
    }
    if !m.p.is_null() {
        let pp = releasep(m);
        if rt.running() {
            handoffp(rt, pp);
        } else {
            let mut s = rt.lock();
            rt.pidleput(&mut s, pp);
        }
    }
    // This M may have been the one that waited in the poller for every P's timers
    // (gs_main's thread leaves from there): make sure another one does.
    let next = super::timer::timesleepuntil(rt);
    if next != 0 && rt.running() {
        super::netpoll::wake_netpoller(rt, next);
    }
    if !m.lockedg.is_null() && rt.running() {
        // SAFETY: the locked G is ours to unlock; it will be run by any M.
        unsafe {
            (*m.lockedg).lockedm = null_mut();
            (*m.lockedg).lockcount = 0;
        }
        m.lockedg = null_mut();
        rt.nlocked.fetch_sub(1, AcqRel);
    }
    // While the runtime stops, the locked G stays wired to this M, which leaves: the G
    // is abandoned with the others and no other M may run it. (Unwired, an M still
    // leaving could dequeue it, if it was readied meanwhile, and run it on its own
    // thread: code that relies on the wiring, a Python goroutine's thread state or any
    // thread-local state, would then run on the wrong thread. An M that dequeues it
    // hands it to this M with startlockedm and, finding the runtime stopping, leaves.)
    let sp = m.g0_sp;
    // SAFETY: g0_sp is the context gs_mstart0 saved on this thread's stack.
    unsafe { gs_gogo(sp) }
}

/// First code on g0: take the P we were started with (or any), then schedule.
unsafe extern "C" fn mstart1(arg: *mut c_void) -> ! {
    let mp: *mut M = arg.cast();
    // SAFETY: mp is this thread's M.
    let m = unsafe { &mut *mp };
    let pp = m.nextp.swap(null_mut(), Acquire);
    if !pp.is_null() {
        acquirep(m, pp);
    } else {
        let rt = m.rt();
        let pp = rt.pidleget(&mut rt.lock());
        if !pp.is_null() {
            acquirep(m, pp);
        } else {
            stopm_until_p(m);
        }
    }
    // SAFETY: on g0 with a P.
    unsafe { schedule(mp) }
}
