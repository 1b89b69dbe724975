//! The global scheduler state (Go's `schedt`), the runtime object, and its life cycle:
//! `init` (Go's schedinit + procresize) and `shutdown`.
//!
//! # Spinning and parking
//!
//! An M is *spinning* when it holds a P, found no local work and is looking in the
//! global queue and other Ps' queues. `nmspinning` counts them; at most half of the
//! busy Ps may spin at once (findrunnable).
//!
//!   Submitting work:                       Leaving the spinning state:
//!    1. put the G on a run queue            1. decrement `nmspinning`
//!    2. (SeqCst) read npidle, nmspinning    2. (SeqCst fence)
//!    3. if a P is idle and nobody spins:    3. re-check every run queue and the
//!       `wakep()` starts a spinning M          global queue before parking
//!
//! If both sides skipped their step 3, a runnable G would sit with every M asleep.
//! A spinning M that finds work calls `resetspinning`, which wakes another spinning M
//! if it was the last, so that a burst of work fans out to idle Ps one M at a time.
//!
//! # Locks and who touches what
//!
//! `sched` (Go's sched.lock) guards the global run queue, the idle P and M lists,
//! the global free lists of dead Gs and the list of all Ms. `npidle`, `nmspinning`
//! and `runqsize` are atomics written under it (except nmspinning, which spinning Ms
//! change with atomic adds) and read without it as hints.
//!
//! # Counting goroutines
//!
//! `ngoroutines` is what gs_wait watches for zero, so one shared counter would be
//! written twice per goroutine by every P. Instead each P keeps a reserve of counts,
//! `P::greserve`, written only by the P's holder:
//! - making a goroutine takes a count from the reserve, first adding a batch
//!   (`GRESERVE_BATCH`) to `ngoroutines` and to the reserve when it is empty;
//! - ending one adds a count to the reserve, returning the excess over a batch to
//!   `ngoroutines` when it holds more than two;
//! - a P going idle (`pidleput`) returns its whole reserve.
//!
//! So `ngoroutines` = goroutines alive + the reserves, never less than the goroutines
//! alive: it reaches zero only when no goroutine is alive, and when none is alive it
//! does reach zero as soon as every P is idle, which an M with nothing to run makes
//! its P. Without a P (foreign threads, the host runner) `ngoroutines` is changed
//! directly. `live_goroutines` subtracts the reserves for statistics.
//!
//! # Life cycle
//!
//! `RT` points at the live runtime or is null. Ms reach their runtime through
//! `M::rt`. Foreign threads reach it through `enter_foreign`, which counts them in
//! `INFLIGHT`; `shutdown` sets `state`, wakes every M, waits for all of them to leave,
//! clears `RT`, waits for `INFLIGHT` to drain (a gs_run_for's host runner is counted
//! there, not among the Ms), takes the abandoned goroutines' sudogs off the objects'
//! queues, and only then frees memory.

use super::config::{parse_schedtrace, Config};
use super::freelist::FreeList;
use super::g::{AllGs, G};
use super::lock::{Mutex, MutexGuard};
use super::m::M;
use super::note::{futex_wait, futex_wake, Note};
use super::p::{Pstatus, P};
use super::runq::{GQueue, Overflow};
use super::stack::StackPool;
use crate::error::{Error, Result};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};
use std::collections::VecDeque;

/// Goroutine counts a P takes from `ngoroutines` at a time (see *Counting goroutines*).
const GRESERVE_BATCH: u64 = 32;

pub(crate) const STATE_RUNNING: u32 = 1;
pub(crate) const STATE_SHUTDOWN: u32 = 2;

/// How long shutdown waits for Ms still running goroutines before abandoning them.
const SHUTDOWN_GRACE_NS: i64 = 2_000_000_000;

/// What `sched.lock` guards.
pub(crate) struct SchedLocked {
    /// Global run queue: pointers, so that moving a batch to a P touches no G.
    /// Its capacity, like the dead Gs' free list's, is kept at least the number of
    /// Gs ever made (`reserve_gslots`), so pushing never allocates and cannot fail.
    pub(crate) runq: VecDeque<*mut G>,
    /// Idle Ps.
    pub(crate) pidle: Vec<*mut P>,
    /// Idle Ms, asleep on their note.
    pub(crate) midle: Vec<*mut M>,
    /// Every M alive (freed at shutdown, or by a main M leaving).
    pub(crate) allm: Vec<*mut M>,
    /// Thread handles of the Ms and sysmon, joined at shutdown.
    pub(crate) threads: Vec<super::osthread::OsThread>,
    /// Runnable host goroutines (see host.rs).
    pub(crate) hostq: GQueue,
    /// The M that gs_run_for uses, made on first use.
    pub(crate) host_runner: *mut M,
}

// SAFETY: the raw pointers are only followed under the rules of the files that own
// the pointees; SchedLocked itself is only reached through its mutex.
unsafe impl Send for SchedLocked {}

pub(crate) struct Runtime {
    pub(crate) sched: Mutex<SchedLocked>,
    pub(crate) cfg: Config,
    /// STATE_*; changed under sched.lock, read anywhere.
    pub(crate) state: AtomicU32,
    pub(crate) npidle: AtomicU32,
    pub(crate) nmspinning: AtomicU32,
    /// Length of the global run queue; written under sched.lock.
    pub(crate) runqsize: AtomicUsize,
    pub(crate) allp: Box<[P]>,
    pub(crate) allgs: AllGs,
    pub(crate) stacks: StackPool,
    /// Goroutines alive (not dead) plus the counts the Ps have reserved (see
    /// *Counting goroutines*).
    pub(crate) ngoroutines: AtomicU64,
    /// Bumped (and futex-woken) when ngoroutines drops to 0, and at shutdown.
    pub(crate) nogo_seq: AtomicU32,
    /// Threads that are Ms now (workers and gs_main callers).
    pub(crate) nm_alive: AtomicU32,
    /// Ms wired to a goroutine by gs_lock_os_thread.
    pub(crate) nlocked: AtomicU32,
    /// When the thread-cap warning was last printed (nanotime), 0 if never.
    pub(crate) thread_cap_warned: AtomicI64,
    /// Bumped (and futex-woken) when an M leaves.
    pub(crate) mexit_seq: AtomicU32,
    pub(crate) mnext: AtomicU64,
    pub(crate) spawned_foreign: AtomicU64,
    /// sysmon sleeps deeply on `sysmon_note` while this is set.
    pub(crate) sysmon_wait: AtomicBool,
    pub(crate) sysmon_note: Note,
    /// Period of schedtrace lines in ms (0: off), from $GS_DEBUG.
    pub(crate) schedtrace_ms: u64,
    pub(crate) start_time: i64,
    /// Kernel tid of the thread that called gs_init.
    pub(crate) init_tid: i32,
    /// Dead Gs (without stacks; last in, first out: the most recently freed is
    /// taken first), and free default-size stacks: per-P caches over global lists
    /// (freelist.rs).
    pub(crate) gfree: FreeList<*mut G>,
    pub(crate) stackfree: FreeList<super::stack::Stack>,
    /// Gs that `runq` and `gfree` have room for (see `reserve_gslots`).
    pub(crate) gslots_reserved: AtomicUsize,
    /// Set (with GS_CFG_CHECKDEAD) once every goroutine is parked with nothing that
    /// could wake it; gs_wait and gs_main then return GS_EDEADLK.
    pub(crate) deadlock: AtomicBool,
    /// Length of `hostq`; written under sched.lock.
    pub(crate) hostq_len: AtomicUsize,
    /// Goroutine switches made by the host runner (it has no P to count them).
    pub(crate) host_switches: AtomicU64,
    /// The network poller and poll descriptors.
    pub(crate) netpoll: super::netpoll::Netpoll,
}

// SAFETY: shared state is atomics or behind sched.lock; P and G follow their files' rules.
unsafe impl Sync for Runtime {}
// SAFETY: as above.
unsafe impl Send for Runtime {}

/// The live runtime, or null.
pub(crate) static RT: AtomicPtr<Runtime> = AtomicPtr::new(null_mut());
/// Foreign threads inside the runtime now (see *Life cycle*).
static INFLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Held by gs_init and gs_shutdown (a flag, not a lock, so fork can reset it).
static LIFECYCLE_BUSY: AtomicBool = AtomicBool::new(false);
/// goids are unique for the life of the process, across re-inits (handles rely on it).
pub(crate) static GOIDGEN: AtomicU64 = AtomicU64::new(1);

impl Runtime {
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, SchedLocked> {
        self.sched.lock()
    }

    #[inline]
    pub(crate) fn running(&self) -> bool {
        self.state.load(Acquire) == STATE_RUNNING
    }

    /// Puts `gp` on the global run queue. sched.lock must be held: the guard proves it.
    pub(crate) fn globrunqput(&self, s: &mut SchedLocked, gp: *mut G) {
        if s.runq.len() == s.runq.capacity() {
            super::throw::fatal("globrunqput: more runnable Gs than G slots reserved");
        }
        s.runq.push_back(gp);
        self.runqsize.store(s.runq.len(), Release);
    }

    /// Takes a batch from the global queue for `pp`: returns one G and moves up to
    /// `max - 1` more (0: no limit but a fair share) into pp's ring.
    /// sched.lock must be held; executed by the owner of `pp`.
    pub(crate) fn globrunqget(&self, s: &mut SchedLocked, pp: &P, max: usize) -> *mut G {
        let size = s.runq.len();
        if size == 0 {
            return null_mut();
        }
        let mut n = (size / self.allp.len() + 1).min(size);
        if max > 0 {
            n = n.min(max);
        }
        n = n.min(super::runq::LOCAL_RUNQ_LEN / 2);
        // The ring may hold Gs already (the end of a time slice): never more than fits.
        n = n.min(pp.runq.room() + 1);
        let gp = s.runq.pop_front().unwrap_or(null_mut());
        for g in s.runq.drain(..n - 1) {
            pp.runq.runqput(g, false, &NoOverflow);
        }
        self.runqsize.store(s.runq.len(), Release);
        gp
    }

    /// Makes `runq` and `gfree` able to hold every G there is without growing.
    /// Called when a new G slot is made, before the G can reach either list.
    /// Err(NoMem) leaves the new G unused.
    pub(crate) fn reserve_gslots(&self) -> Result<()> {
        if self.allgs.len() <= self.gslots_reserved.load(Acquire) {
            return Ok(());
        }
        let mut s = self.lock();
        // Counted under the lock: other threads may have made (and queued) more Gs.
        let want = self.allgs.len().max(256) * 2;
        let r = s.runq.len();
        s.runq.try_reserve(want.saturating_sub(r)).map_err(|_| Error::NoMem)?;
        let room = s.runq.capacity().min(self.gfree.reserve(want)?);
        self.gslots_reserved.store(room, Release);
        Ok(())
    }

    /// Puts `pp` on the idle list. sched.lock must be held; pp's run queue is empty.
    pub(crate) fn pidleput(&self, s: &mut SchedLocked, pp: *mut P) {
        // SAFETY: Ps live as long as the runtime.
        let p = unsafe { &*pp };
        debug_assert!(p.runq.is_empty(), "pidleput: P has a non-empty run queue");
        self.greserve_return(p);
        p.status.store(Pstatus::Idle as u32, Release);
        s.pidle.push(pp);
        self.npidle.fetch_add(1, SeqCst);
    }

    /// Puts `mp` on the idle M list. sched.lock must be held.
    pub(crate) fn mput(&self, s: &mut SchedLocked, mp: *mut M) {
        s.midle.push(mp);
    }

    /// Takes an idle M, or null. sched.lock must be held.
    pub(crate) fn mget(&self, s: &mut SchedLocked) -> *mut M {
        s.midle.pop().unwrap_or(null_mut())
    }

    /// Takes an idle P. sched.lock must be held.
    pub(crate) fn pidleget(&self, s: &mut SchedLocked) -> *mut P {
        match s.pidle.pop() {
            Some(pp) => {
                self.npidle.fetch_sub(1, SeqCst);
                pp
            }
            None => null_mut(),
        }
    }

    /// Wakes sysmon if it sleeps deeply (work has appeared).
    #[inline]
    pub(crate) fn wake_sysmon(&self) {
        if self.sysmon_wait.load(SeqCst) && self.sysmon_wait.swap(false, SeqCst) {
            super::time::coarse_tick(); // sysmon's clock is stale after a deep sleep
            self.sysmon_note.wakeup();
        }
    }

    /// Counts a goroutine being made, by the holder of `pp` (or anyone, with null):
    /// from pp's reserve, topped up from `ngoroutines` a batch at a time (see
    /// *Counting goroutines*). Returns an upper bound of the goroutines alive.
    #[inline]
    pub(crate) fn goroutine_started(&self, pp: *mut P) -> u64 {
        if pp.is_null() {
            return self.ngoroutines.fetch_add(1, AcqRel) + 1;
        }
        // SAFETY: Ps live as long as the runtime; we hold pp, so its reserve is ours.
        let p = unsafe { &*pp };
        let r = p.greserve.load(Relaxed);
        if r == 0 {
            self.ngoroutines.fetch_add(GRESERVE_BATCH, AcqRel);
            p.greserve.store(GRESERVE_BATCH - 1, Relaxed);
        } else {
            p.greserve.store(r - 1, Relaxed);
        }
        self.ngoroutines.load(Relaxed)
    }

    /// Counts a goroutine that ended (or was never started), by the holder of `pp`
    /// (or anyone, with null). Wakes gs_wait callers when none is left.
    #[inline]
    pub(crate) fn goroutine_ended(&self, pp: *mut P) {
        if pp.is_null() {
            self.ngoroutines_sub(1);
            return;
        }
        // SAFETY: as in goroutine_started.
        let p = unsafe { &*pp };
        let r = p.greserve.load(Relaxed) + 1;
        if r > 2 * GRESERVE_BATCH {
            p.greserve.store(GRESERVE_BATCH, Relaxed);
            self.ngoroutines_sub(r - GRESERVE_BATCH);
        } else {
            p.greserve.store(r, Relaxed);
        }
    }

    /// Gives pp's whole reserve back, when pp goes idle. By whoever holds pp.
    fn greserve_return(&self, p: &P) {
        let r = p.greserve.load(Relaxed);
        if r != 0 {
            p.greserve.store(0, Relaxed);
            self.ngoroutines_sub(r);
        }
    }

    fn ngoroutines_sub(&self, n: u64) {
        if self.ngoroutines.fetch_sub(n, AcqRel) == n {
            self.nogo_seq.fetch_add(1, Release);
            futex_wake(&self.nogo_seq, i32::MAX);
        }
    }

    /// Goroutines alive: `ngoroutines` less the Ps' reserves. Exact when no P is
    /// making or ending goroutines meanwhile, else a snapshot that may be off by a
    /// reserve.
    pub(crate) fn live_goroutines(&self) -> u64 {
        let reserved: u64 = self.allp.iter().map(|p| p.greserve.load(Relaxed)).sum();
        self.ngoroutines.load(Acquire).saturating_sub(reserved)
    }
}

/// The ring overflows into the global queue.
impl Overflow for Runtime {
    fn push_batch(&self, batch: &[*mut G]) {
        let mut s = self.lock();
        if s.runq.len() + batch.len() > s.runq.capacity() {
            super::throw::fatal("runqputslow: more runnable Gs than G slots reserved");
        }
        s.runq.extend(batch.iter().copied());
        self.runqsize.store(s.runq.len(), Release);
    }
}

/// For refilling a P's ring from the global queue: it never overflows there, since
/// globrunqget moves no more than the ring has room for (only its owner adds to it).
struct NoOverflow;
impl Overflow for NoOverflow {
    fn push_batch(&self, _batch: &[*mut G]) {
        super::throw::fatal("globrunqget: local run queue overflow");
    }
}

fn lifecycle_lock() {
    while LIFECYCLE_BUSY.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
        std::thread::yield_now();
    }
}

fn lifecycle_unlock() {
    LIFECYCLE_BUSY.store(false, Release);
}

/// Makes the runtime's `nprocs` Ps (Go's procresize, at start-up only: gosched does
/// not change GOMAXPROCS while running).
fn procresize(nprocs: u32) -> Box<[P]> {
    (0..nprocs).map(|id| P::new(id, nprocs)).collect()
}

/// Creates and publishes a runtime (Go's schedinit + procresize). `Already` if one runs.
pub(crate) fn init(cfg: Config) -> Result<()> {
    lifecycle_lock();
    let r = init_locked(cfg);
    lifecycle_unlock();
    r
}

fn init_locked(cfg: Config) -> Result<()> {
    if !RT.load(Acquire).is_null() {
        return Err(Error::Already);
    }
    super::tools::probe();
    super::signal::install();
    super::signal::setsigstack_all();
    super::signal::install_sigpipe();
    super::time::coarse_tick();
    super::trace::from_env();
    super::gstats::reset();
    super::longrun::from_env(cfg.longrun_ms);
    let allp = procresize(cfg.nprocs);
    let rt = Box::new(Runtime {
        sched: Mutex::new(SchedLocked {
            runq: VecDeque::new(),
            pidle: Vec::with_capacity(cfg.nprocs as usize),
            midle: Vec::new(),
            allm: Vec::new(),
            threads: Vec::new(),
            hostq: GQueue::new(),
            host_runner: null_mut(),
        }),
        cfg,
        state: AtomicU32::new(STATE_RUNNING),
        npidle: AtomicU32::new(0),
        nmspinning: AtomicU32::new(0),
        runqsize: AtomicUsize::new(0),
        allp,
        allgs: AllGs::new(),
        stacks: StackPool::new(cfg.stack_size),
        ngoroutines: AtomicU64::new(0),
        nogo_seq: AtomicU32::new(0),
        nm_alive: AtomicU32::new(0),
        nlocked: AtomicU32::new(0),
        thread_cap_warned: AtomicI64::new(0),
        mexit_seq: AtomicU32::new(0),
        mnext: AtomicU64::new(1),
        spawned_foreign: AtomicU64::new(0),
        sysmon_wait: AtomicBool::new(false),
        sysmon_note: Note::new(),
        schedtrace_ms: parse_schedtrace(),
        start_time: super::time::nanotime(),
        // SAFETY: gettid has no preconditions.
        init_tid: unsafe { libc::gettid() },
        hostq_len: AtomicUsize::new(0),
        deadlock: AtomicBool::new(false),
        gfree: FreeList::new(true),
        stackfree: FreeList::new(false),
        gslots_reserved: AtomicUsize::new(0),
        host_switches: AtomicU64::new(0),
        netpoll: super::netpoll::Netpoll::new()?,
    });
    let rt: &'static Runtime = Box::leak(rt);
    {
        let mut s = rt.lock();
        // Every P starts idle; highest first, so that pidleget hands out P0 first.
        for i in (0..rt.allp.len()).rev() {
            let pp = &rt.allp[i] as *const P as *mut P;
            rt.pidleput(&mut s, pp);
        }
    }
    let rtp = rt as *const Runtime as usize;
    let h = super::osthread::newosproc(
        "gosched-sysmon",
        256 << 10,
        |a| super::sysmon::sysmon(a as *const Runtime),
        rtp,
    );
    match h {
        Ok(h) => rt.lock().threads.push(h),
        Err(_) => {
            // SAFETY: nothing else knows rt yet.
            free_runtime(rt as *const Runtime as *mut Runtime);
            return Err(Error::NoMem);
        }
    }
    RT.store(rt as *const Runtime as *mut Runtime, SeqCst);
    Ok(())
}

/// A foreign thread's pass into the runtime: counted in INFLIGHT until dropped.
pub(crate) struct Foreign {
    rt: &'static Runtime,
}

impl Foreign {
    pub(crate) fn rt(&self) -> &'static Runtime {
        self.rt
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        INFLIGHT.fetch_sub(1, SeqCst);
    }
}

/// Enters the runtime from a thread that is not an M. `NotInit` if none runs,
/// `Shutdown` if it is stopping.
pub(crate) fn enter_foreign() -> Result<Foreign> {
    INFLIGHT.fetch_add(1, SeqCst);
    let p = RT.load(SeqCst);
    if p.is_null() {
        INFLIGHT.fetch_sub(1, SeqCst);
        return Err(Error::NotInit);
    }
    // SAFETY: RT was non-null after our INFLIGHT increment, so shutdown will not free it
    // before we leave (see *Life cycle*).
    let rt = unsafe { &*p };
    if !rt.running() {
        INFLIGHT.fetch_sub(1, SeqCst);
        return Err(Error::Shutdown);
    }
    Ok(Foreign { rt })
}

/// Stops every M and frees the runtime; returns the number of goroutines abandoned.
pub(crate) fn shutdown() -> Result<u64> {
    lifecycle_lock();
    let r = shutdown_locked();
    lifecycle_unlock();
    r
}

fn shutdown_locked() -> Result<u64> {
    let p = RT.load(SeqCst);
    if p.is_null() {
        return Err(Error::NotInit);
    }
    super::trace::stop_env();
    // SAFETY: only shutdown frees the runtime, and we hold the life-cycle flag.
    let rt = unsafe { &*p };
    {
        let s = rt.lock();
        rt.state.store(STATE_SHUTDOWN, SeqCst);
        for &mp in s.allm.iter() {
            // SAFETY: Ms in allm are alive.
            unsafe { (*mp).park.wakeup() };
        }
    }
    // Foreign threads blocked in channels, mutexes and wait groups return GS_ESHUTDOWN.
    crate::sync::wake_foreign_waiters();
    rt.sysmon_note.wakeup();
    rt.netpoll.wake();
    rt.nogo_seq.fetch_add(1, Release);
    futex_wake(&rt.nogo_seq, i32::MAX);

    // Wait for every M to leave the scheduler.
    let deadline = super::time::nanotime() + SHUTDOWN_GRACE_NS;
    let all_left = loop {
        let seq = rt.mexit_seq.load(Acquire);
        if rt.nm_alive.load(Acquire) == 0 {
            break true;
        }
        let left = deadline - super::time::nanotime();
        if left <= 0 {
            break false;
        }
        futex_wait(&rt.mexit_seq, seq, left.min(50_000_000));
    };
    let abandoned = rt.live_goroutines();
    RT.store(null_mut(), SeqCst);
    while INFLIGHT.load(SeqCst) != 0 {
        std::thread::yield_now();
    }
    // Goroutines still blocked in sync objects are abandoned: their sudogs come off
    // the objects' queues. Only now: a gs_run_for (a foreign pass) may have been
    // running a host goroutine on its host runner, which is no M that nm_alive
    // counts, until the pass was given back; that goroutine may have blocked after
    // the other Ms left. (If some M did not leave, nothing is freed and they stay.)
    if all_left {
        // SAFETY: every M has left and every foreign pass is back, so no goroutine
        // runs; the stacks are freed only below.
        unsafe { crate::sync::runtime_stopped(rt) };
    }
    if !all_left {
        let msg = "gosched: gs_shutdown: some threads are still running goroutines; \
                   their runtime's memory is left allocated\n";
        // SAFETY: write(2) of a valid buffer.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        return Ok(abandoned);
    }
    let threads = core::mem::take(&mut rt.lock().threads);
    for h in threads {
        h.join();
    }
    free_runtime(p);
    Ok(abandoned)
}

/// Frees a runtime that no thread uses any more.
fn free_runtime(p: *mut Runtime) {
    // SAFETY: the caller guarantees that no M, foreign thread or sysmon uses it.
    let rt = unsafe { Box::from_raw(p) };
    {
        let mut s = rt.lock();
        for &mp in s.allm.iter() {
            // SAFETY: Ms were made by Box::into_raw in M::new and have all left.
            drop(unsafe { Box::from_raw(mp) });
        }
        s.allm.clear();
    }
    rt.allgs.for_each(|g| rt.stacks.free(g.stack));
    rt.allgs.free_all();
    rt.stacks.release_all();
    drop(rt);
}

/// In a child after fork(): the parent's runtime is not ours; forget it (its memory
/// is the parent's copy, its threads do not exist here). See *Fork* in fork.rs.
pub(crate) fn forget_after_fork() {
    RT.store(null_mut(), SeqCst);
    INFLIGHT.store(0, SeqCst);
    LIFECYCLE_BUSY.store(false, SeqCst);
    super::tls::setm(null_mut());
}

/// Declares a deadlock (GS_CFG_CHECKDEAD): wakes gs_wait callers and gs_main threads,
/// which return GS_EDEADLK. Called by sysmon.
pub(crate) fn report_deadlock(rt: &Runtime) {
    if rt.deadlock.swap(true, AcqRel) {
        return;
    }
    rt.nogo_seq.fetch_add(1, Release);
    futex_wake(&rt.nogo_seq, i32::MAX);
    let s = rt.lock();
    for &mp in s.allm.iter() {
        // SAFETY: Ms in allm are alive while the lock is held.
        unsafe {
            if (*mp).is_main_m {
                (*mp).park.wakeup();
            }
        }
    }
    drop(s);
    rt.netpoll.wake();
}

/// Waits (foreign thread) until no goroutine is alive, or `timeout_ns` (< 0: forever).
pub(crate) fn wait_all(rt: &Runtime, timeout_ns: i64) -> Result<()> {
    let deadline = if timeout_ns < 0 { i64::MAX } else { super::time::nanotime().saturating_add(timeout_ns) };
    loop {
        let seq = rt.nogo_seq.load(Acquire);
        if rt.ngoroutines.load(Acquire) == 0 {
            return Ok(());
        }
        if !rt.running() {
            return Err(Error::Shutdown);
        }
        if rt.deadlock.load(Acquire) {
            return Err(Error::Deadlock);
        }
        let now = super::time::nanotime();
        if now >= deadline {
            return Err(Error::TimedOut);
        }
        futex_wait(&rt.nogo_seq, seq, deadline - now);
    }
}
