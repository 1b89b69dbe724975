//! Poll descriptors and the poller's place in the scheduler (Go's netpoll.go).
//!
//! The backend (`crate::netpoll`) only reports ready tokens; this file owns who waits.
//!
//! # Poll descriptors
//!
//! One `PollDesc` per fd number, allocated on first use and never freed before
//! shutdown. It is armed in the poller once (edge-triggered, read and write) with the
//! token `fd << 32 | seq`. `gs_close` bumps `seq`: events carrying an old seq are
//! stale and ignored, and a waiter that finds `seq` changed returns GS_ECANCELED. So
//! an fd number reused after `gs_close` never sees the old fd's events.
//!
//! Each direction (`rg` for reading, `wg` for writing) holds one of:
//! - `0`: nothing;
//! - `PD_READY`: an event arrived and nobody consumed it;
//! - `PD_WAIT`: a goroutine is about to park;
//! - a pointer to the `Waiter` in the frame of the parked goroutine.
//!
//! Transitions: the waiter CASes 0 -> WAIT, then (on g0, parked) WAIT -> &Waiter; an
//! event CASes WAIT/&Waiter/0 -> READY; `gs_close` and timeouts CAS them to 0. A
//! goroutine waiting for both directions puts the same Waiter in both; every waker
//! must win `Waiter::claimed` before readying it, so it is readied exactly once.
//! One waiter per direction and fd at a time: a second one gets GS_EBUSY.
//!
//! # Waiter lifetime
//!
//! A Waiter lives in the frame of `wait_fd`, and the next `wait_fd` of the same
//! goroutine builds a new one at the same address. A waker that took a Waiter out of
//! a slot may still be about to try its claim when the goroutine, woken by something
//! else (its timeout, the other direction), has left: its claim would then succeed
//! on the *new* Waiter and ready a goroutine that is running. So `Waiter::refs`
//! counts the references to it: one for each slot it was published in, held from
//! then on by whoever takes it out of the slot (a waker's swap, or the goroutine's
//! own CAS back to 0). A waker reads all it needs, then drops its reference as its
//! last touch of the Waiter (`take`); the goroutine leaves its frame only once the
//! count is 0.
//!
//! The commit (`netpollblockcommit` in fdwait.rs, on g0 once the goroutine is parked) publishes
//! the Waiter, then arms the timeout in the goroutine's frame. A waker may claim the
//! Waiter as soon as it is in a slot; if it readied the goroutine then, the goroutine
//! could run and leave while the commit still works in its frame. So a Waiter is
//! born `W_COMMIT`: a claim during the commit takes the Waiter (`W_CLAIMED`) without
//! readying it, and the commit, seeing that at its end, resumes the goroutine itself
//! (Go's netpollblockcommit leaves the frame alone: its poll descriptor holds the G).
//!
//! # Fds closed behind our back
//!
//! An fd should be closed with `gs_close`. One closed with close(2) loses its epoll
//! registration in the kernel while its PollDesc still says armed, and a new file
//! that gets the same number is unknown to the poller, maybe in blocking mode, maybe
//! a file that cannot be polled at all (or the other way round). Checking the file
//! behind the number on every call would cost a system call per read (fcntl is half
//! the price of a read here), so each case is caught where it shows:
//! - a number returned by `gs_accept`, or given to `gs_connect`, is a new file: its
//!   PollDesc is reset at once (`forget`);
//! - sockets are read and written (io.rs) with `MSG_DONTWAIT` (`Io::Socket`), which does not
//!   depend on the file's O_NONBLOCK; ENOTSOCK says the number names something else
//!   now, and the PollDesc is renewed (`renew`);
//! - other fds depend on O_NONBLOCK, which the runtime sets on every fd it arms: a
//!   goroutine's call on one that lacks it renews it first (`prepare`), and so does
//!   `gs_accept` on a listener;
//! - a number armed as "cannot be polled" (a regular file, always ready) that returns
//!   EAGAIN, or that poll(2) says is not ready, names a new file: renewed;
//! - what remains is a new file that was created non-blocking behind a number whose
//!   registration died: a wait on it parks, and sysmon renews, once a second, the
//!   registration of every fd on which a goroutine is parked (`revalidate_waiters`),
//!   so such a wait is late by at most about a second instead of hanging. Renewing on
//!   every park would cost a system call per wait (about a fifth of an echo server's
//!   throughput).
//!
//! # Waking on time
//!
//! A thread that blocks until a timer's deadline wakes some time after it: the
//! kernel's (and, in a virtual machine, the hypervisor's) latency for waking an idle
//! CPU, 5 to 50 us depending on the machine. The poller learns that lateness
//! (`wake_late`, a moving average of how late its timed waits returned) and blocks
//! only until `deadline - wake_late`, then waits the rest awake, watching the clock
//! and `wake_requested`. A timer due sooner than `wake_late` is waited for awake
//! from the start. The CPU this costs is at most `wake_late` (capped at
//! `TIMER_SPIN_MAX`) per timed wait; a runtime without timers, or whose next timer is
//! far off, sleeps as before.

use super::entry::{caller, Caller};
use super::g::G;
use super::runq::GQueue;
use super::sched::Runtime;
use super::time::nanotime;
use crate::error::{Error, Result};
use crate::netpoll::{Poller, EV_READ, EV_WRITE};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

pub(crate) const PD_READY: usize = 1;
pub(crate) const PD_WAIT: usize = 2;

/// `PollDesc::kind`: a socket (read and written with MSG_DONTWAIT).
pub(crate) const KIND_SOCKET: u32 = 1;
/// `PollDesc::kind`: anything else (its I/O needs O_NONBLOCK).
const KIND_OTHER: u32 = 2;

/// What the file behind `fd` is, for `PollDesc::kind`.
fn file_kind(fd: i32) -> u32 {
    // SAFETY: fstat into a valid stat buffer; an error leaves the default.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFSOCK {
            KIND_SOCKET
        } else {
            KIND_OTHER
        }
    }
}

/// True if `fd` is in non-blocking mode; `Inval` for a bad fd.
pub(crate) fn is_nonblock(fd: i32) -> Result<bool> {
    // SAFETY: fcntl on a caller-provided fd; errors are reported.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        return Err(Error::Inval);
    }
    Ok(fl & libc::O_NONBLOCK != 0)
}

/// `gs_wait_fd` event bits (GS_POLLIN... in gosched.h).
pub(crate) const GS_POLLIN: u32 = 0x1;
pub(crate) const GS_POLLOUT: u32 = 0x4;

const SEG_SHIFT: usize = 10;
const SEG_LEN: usize = 1 << SEG_SHIFT;
const NSEGS: usize = 1 << 11;
/// Highest fd number the poller handles (2M); larger fds get GS_EINVAL.
const MAX_FD: usize = SEG_LEN * NSEGS;

pub(crate) struct PollDesc {
    /// Serializes registration and close.
    pub(crate) lock: super::lock::Mutex<()>,
    pub(crate) seq: AtomicU32,
    /// Armed in the poller for the current seq (0 no, 1 yes, 2 cannot be polled).
    pub(crate) armed: AtomicU32,
    /// `KIND_*`: what the number named when it was armed. Under `lock`; read anywhere.
    pub(crate) kind: AtomicU32,
    pub(crate) rg: AtomicUsize,
    pub(crate) wg: AtomicUsize,
}

/// `Waiter::state`: open, a claim readies the goroutine.
pub(crate) const W_OPEN: u32 = 0;
/// `Waiter::state`: claimed; whoever claimed it readies (or resumes) the goroutine.
pub(crate) const W_CLAIMED: u32 = 1;
/// `Waiter::state`: the commit is running; a claim leaves the goroutine to it.
pub(crate) const W_COMMIT: u32 = 2;

/// A parked goroutine waiting on one or two directions of a PollDesc.
pub(crate) struct Waiter {
    pub(crate) gp: *mut G,
    /// `W_*`; the first to swap it to `W_CLAIMED` owns the wakeup.
    pub(crate) state: AtomicU32,
    /// References from slots, and from wakers that took it out of one (see *Waiter
    /// lifetime*).
    pub(crate) refs: AtomicU32,
    /// The goroutine really parked (counted in `Netpoll::waiters`).
    pub(crate) slept: AtomicBool,
    pub(crate) rt: *const Runtime,
}

impl PollDesc {
    fn new() -> PollDesc {
        PollDesc {
            lock: super::lock::Mutex::new(()),
            seq: AtomicU32::new(1),
            armed: AtomicU32::new(0),
            kind: AtomicU32::new(KIND_OTHER),
            rg: AtomicUsize::new(0),
            wg: AtomicUsize::new(0),
        }
    }
}

/// The runtime's poller state.
pub(crate) struct Netpoll {
    poller: Poller,
    segs: Box<[AtomicPtr<PollDesc>]>,
    /// Goroutines parked on fds now.
    pub(crate) waiters: AtomicU64,
    /// nanotime of the last poll, or 0 while an M is blocked in `netpoll` (Go's
    /// sched.lastpoll).
    pub(crate) lastpoll: AtomicI64,
    /// When the blocked poller will wake up by itself, 0 if never.
    pub(crate) poll_until: AtomicI64,
    /// Moving average of how late (ns) a timed blocking poll returned; see *Waking
    /// on time*. Written by the poller M only.
    wake_late: AtomicI64,
}

/// Longest a poller waits awake for a timer (see *Waking on time*).
const TIMER_SPIN_MAX: i64 = 100_000;

// SAFETY: PollDescs are shared through atomics and their own lock.
unsafe impl Sync for Netpoll {}
// SAFETY: as above.
unsafe impl Send for Netpoll {}

impl Netpoll {
    pub(crate) fn new() -> Result<Netpoll> {
        let poller = Poller::new().map_err(|_| Error::NoMem)?;
        Ok(Netpoll {
            poller,
            segs: (0..NSEGS).map(|_| AtomicPtr::new(null_mut())).collect(),
            waiters: AtomicU64::new(0),
            lastpoll: AtomicI64::new(nanotime()),
            poll_until: AtomicI64::new(0),
            wake_late: AtomicI64::new(0),
        })
    }

    /// The PollDesc of `fd`, allocating its segment if needed.
    pub(crate) fn pd(&self, fd: i32) -> Result<&PollDesc> {
        if fd < 0 || fd as usize >= MAX_FD {
            return Err(Error::Inval);
        }
        let fd = fd as usize;
        let slot = &self.segs[fd >> SEG_SHIFT];
        let mut seg = slot.load(Acquire);
        if seg.is_null() {
            let fresh: Box<[PollDesc]> = (0..SEG_LEN).map(|_| PollDesc::new()).collect();
            let fresh = Box::into_raw(fresh) as *mut PollDesc;
            seg = match slot.compare_exchange(null_mut(), fresh, AcqRel, Acquire) {
                Ok(_) => fresh,
                Err(won) => {
                    // SAFETY: never published; rebuild the box to free it.
                    drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(fresh, SEG_LEN)) });
                    won
                }
            };
        }
        // SAFETY: segments are never freed while the runtime lives.
        Ok(unsafe { &*seg.add(fd & (SEG_LEN - 1)) })
    }

    /// The PollDesc of `fd` if one was ever allocated.
    fn pd_existing(&self, fd: i32) -> Option<&PollDesc> {
        if fd < 0 || fd as usize >= MAX_FD {
            return None;
        }
        let seg = self.segs[fd as usize >> SEG_SHIFT].load(Acquire);
        if seg.is_null() {
            return None;
        }
        // SAFETY: as in pd().
        Some(unsafe { &*seg.add(fd as usize & (SEG_LEN - 1)) })
    }

    /// Arms `fd` in the poller (once per seq) and puts it in non-blocking mode.
    /// Returns false for an fd that cannot be polled (always ready, e.g. a file).
    pub(crate) fn arm(&self, fd: i32, pd: &PollDesc) -> Result<bool> {
        match pd.armed.load(Acquire) {
            1 => return Ok(true),
            2 => return Ok(false),
            _ => {}
        }
        let _l = pd.lock.lock();
        match pd.armed.load(Acquire) {
            1 => return Ok(true),
            2 => return Ok(false),
            _ => {}
        }
        set_nonblock(fd)?;
        pd.kind.store(file_kind(fd), Release);
        let token = ((fd as u64) << 32) | pd.seq.load(Acquire) as u64;
        match self.poller.open(fd, token) {
            Ok(()) => {
                pd.armed.store(1, Release);
                Ok(true)
            }
            Err(libc::EPERM) => {
                pd.armed.store(2, Release);
                Ok(false)
            }
            Err(libc::EEXIST) => {
                // Armed by someone who closed the fd behind our back with close(2);
                // re-arm with the current token.
                self.poller.close(fd);
                match self.poller.open(fd, token) {
                    Ok(()) => {
                        pd.armed.store(1, Release);
                        Ok(true)
                    }
                    Err(_) => Err(Error::Inval),
                }
            }
            Err(_) => Err(Error::Inval),
        }
    }

    /// Renews what the PollDesc of `fd` knows, for a number that may name a new file
    /// (see *Fds closed behind our back*): non-blocking mode, kind, and the poller's
    /// registration with the current token (ADD if the kernel forgot the old file).
    /// A number that now names a file that cannot be polled is always ready: its
    /// waiters are woken (they retry). Waiters of a pollable file stay parked: the new
    /// registration reports readiness that is there. `rt` owns this poller.
    pub(crate) fn renew(&self, rt: &Runtime, fd: i32, pd: &PollDesc) -> Result<()> {
        let _l = pd.lock.lock();
        set_nonblock(fd)?;
        pd.kind.store(file_kind(fd), Release);
        let token = ((fd as u64) << 32) | pd.seq.load(Acquire) as u64;
        let r = match self.poller.modify(fd, token) {
            Err(libc::ENOENT) => self.poller.open(fd, token),
            r => r,
        };
        match r {
            Ok(()) => {
                pd.armed.store(1, Release);
                Ok(())
            }
            Err(libc::EPERM) => {
                pd.armed.store(2, Release);
                for slot in [&pd.rg, &pd.wg] {
                    let gp = netpollunblock(slot, true);
                    if !gp.is_null() {
                        super::park::ready(rt, gp, true);
                    }
                }
                Ok(())
            }
            Err(_) => Err(Error::Inval),
        }
    }

    /// Resets the PollDesc of a number that now names a new file (the old one was
    /// closed without gs_close): any old registration died with the old file.
    /// `rt` is the runtime that owns this poller.
    pub(crate) fn forget(&self, rt: &Runtime, fd: i32) {
        if let Some(pd) = self.pd_existing(fd) {
            if pd.armed.load(Acquire) == 0 {
                return;
            }
            let _l = pd.lock.lock();
            pd.seq.fetch_add(1, AcqRel);
            pd.armed.store(0, Release);
            for slot in [&pd.rg, &pd.wg] {
                let gp = netpollunblock(slot, false);
                if !gp.is_null() {
                    super::park::ready(rt, gp, true);
                }
                let _ = slot.compare_exchange(PD_READY, 0, AcqRel, Acquire);
            }
        }
    }

    /// Interrupts a blocked poll.
    pub(crate) fn wake(&self) {
        self.poller.wake();
    }
}

impl Drop for Netpoll {
    fn drop(&mut self) {
        for s in self.segs.iter() {
            let p = s.swap(null_mut(), AcqRel);
            if !p.is_null() {
                // SAFETY: made by Box::into_raw of a SEG_LEN boxed slice in pd().
                drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(p, SEG_LEN)) });
            }
        }
    }
}

fn set_nonblock(fd: i32) -> Result<()> {
    // SAFETY: fcntl on a caller-provided fd; errors are reported, never UB.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 {
            return Err(Error::Inval);
        }
        if fl & libc::O_NONBLOCK == 0 && libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            return Err(Error::Inval);
        }
    }
    Ok(())
}

/// Takes the waiter out of `slot` (leaving READY if `ioready`, else 0), and returns
/// its goroutine if this caller won the claim: the caller must then ready it. Null
/// if there was no waiter or another waker has it (Go's netpollunblock).
/// Can be executed by anyone.
fn netpollunblock(slot: &AtomicUsize, ioready: bool) -> *mut G {
    loop {
        let old = slot.load(Acquire);
        if old == PD_READY {
            return null_mut();
        }
        if old == 0 && !ioready {
            return null_mut();
        }
        let new = if ioready { PD_READY } else { 0 };
        if slot.compare_exchange(old, new, AcqRel, Acquire).is_ok() {
            if old == PD_WAIT || old == 0 {
                return null_mut();
            }
            // SAFETY: we took the slot's reference to this Waiter.
            return unsafe { take(old as *const Waiter) };
        }
    }
}

/// Tries to claim `w`, which the caller took out of a slot, then drops the caller's
/// reference: its last touch of `w` (see *Waiter lifetime*). Returns the goroutine to
/// ready if the claim was won, else null.
/// # Safety
/// The caller holds one of `w`'s references.
unsafe fn take(w: *const Waiter) -> *mut G {
    // SAFETY: the caller's reference keeps w alive until the fetch_sub below.
    unsafe {
        let won = claim(w);
        let gp = if won { (*w).gp } else { null_mut() };
        (*w).refs.fetch_sub(1, Release); // store-release: our reads of w are done
        gp
    }
}

/// Claims `w`; true if this caller must ready its goroutine (false: someone claimed
/// it before, or the commit is still running and will resume it).
/// # Safety
/// `w` is alive: the caller holds a reference to it, or is its timer (which the
/// goroutine deletes before leaving).
pub(crate) unsafe fn claim(w: *const Waiter) -> bool {
    // SAFETY: the caller's contract.
    unsafe { (*w).state.swap(W_CLAIMED, AcqRel) == W_OPEN }
}

/// The new average wake lateness after a timed wait that returned `sample` ns after
/// it was due: a moving average (weight 1/8) of samples capped at `TIMER_SPIN_MAX`.
fn learn_late(late: i64, sample: i64) -> i64 {
    let sample = sample.clamp(0, TIMER_SPIN_MAX);
    late + (sample - late) / 8
}

/// The blocking poll of `findrunnable`: waits for fd events, a `wake`, or `until`
/// (a `nanotime`; 0: no timer), blocking until shortly before `until` and waiting
/// the rest awake (*Waking on time*). Executed by the single M that polls.
pub(crate) fn netpoll_until(rt: &Runtime, until: i64) -> GQueue {
    if until == 0 {
        return netpoll(rt, -1);
    }
    let np = &rt.netpoll;
    let late = np.wake_late.load(Relaxed);
    let target = until - late;
    let now = nanotime();
    if target > now {
        let list = netpoll(rt, target - now);
        let after = nanotime();
        if list.len != 0 || after < target {
            return list; // events, or woken early: let findrunnable look again
        }
        // Timed out: learn how late the kernel woke us.
        np.wake_late.store(learn_late(late, after - target), Relaxed);
        if after >= until {
            return list;
        }
    }
    while nanotime() < until && !np.poller.wake_requested() {
        for _ in 0..16 {
            core::hint::spin_loop();
        }
    }
    netpoll(rt, 0)
}

/// Polls the backend for `delay_ns` and returns the goroutines it made runnable
/// (Go's netpoll + netpollready).
pub(crate) fn netpoll(rt: &Runtime, delay_ns: i64) -> GQueue {
    let np = &rt.netpoll;
    let mut evs = Vec::new();
    np.poller.poll(delay_ns, &mut evs);
    let mut list = GQueue::new();
    for (token, mode) in evs {
        let fd = (token >> 32) as i32;
        let seq = token as u32;
        let Some(pd) = np.pd_existing(fd) else { continue };
        if pd.seq.load(Acquire) != seq {
            continue; // stale: the fd was closed since
        }
        for (bit, slot) in [(EV_READ, &pd.rg), (EV_WRITE, &pd.wg)] {
            if mode & bit != 0 {
                let gp = netpollunblock(slot, true);
                if !gp.is_null() {
                    // SAFETY: claimed: we are the single waker of this parked G.
                    unsafe {
                        if (*gp).flags & super::g::GFLAG_HOST != 0 {
                            super::park::ready(rt, gp, false);
                        } else {
                            super::park::set_runnable(&*gp);
                            list.push_back(gp);
                        }
                    }
                }
            }
        }
    }
    list
}

/// A new timer at `when` may be earlier than what the poller sleeps for: wake it, or
/// an idle P (Go's wakeNetPoller).
pub(crate) fn wake_netpoller(rt: &Runtime, when: i64) {
    let np = &rt.netpoll;
    if np.lastpoll.load(SeqCst) == 0 {
        let until = np.poll_until.load(SeqCst);
        if until == 0 || until > when {
            np.wake();
        }
    } else {
        super::proc::wakep(rt);
    }
}

/// Renews the registration of every fd a goroutine is parked on (see *Fds closed
/// behind our back*). Called by sysmon about once a second while there are waiters.
pub(crate) fn revalidate_waiters(rt: &Runtime) {
    let np = &rt.netpoll;
    for (si, s) in np.segs.iter().enumerate() {
        let seg = s.load(Acquire);
        if seg.is_null() {
            continue;
        }
        for i in 0..SEG_LEN {
            // SAFETY: segments are never freed while the runtime lives.
            let pd = unsafe { &*seg.add(i) };
            let parked = |v: usize| v > PD_WAIT;
            if pd.armed.load(Relaxed) == 1 && (parked(pd.rg.load(Relaxed)) || parked(pd.wg.load(Relaxed))) {
                let _ = np.renew(rt, ((si << SEG_SHIFT) | i) as i32, pd);
            }
        }
    }
}

/// Runs `f` with the calling thread's runtime, kept alive meanwhile: an M's own, or
/// for a foreign thread the published one, entered with a foreign pass (a gs_shutdown
/// on another thread frees the runtime only once the pass is back). Not at all
/// without a runtime or while one stops: its goroutines are being abandoned, so
/// there is nobody to wake and no poll descriptor to keep up to date.
pub(crate) fn with_caller_rt(f: impl FnOnce(&Runtime)) {
    match caller() {
        // SAFETY: m is this thread's M; its runtime outlives it.
        Caller::Goroutine(m, _) | Caller::G0(m) => f(unsafe { (*m).rt() }),
        Caller::Foreign => {
            if let Ok(fg) = super::sched::enter_foreign() {
                f(fg.rt());
            }
        }
    }
}

/// gs_close's part in the poll descriptors (Go's pollDesc evict): the fd's PollDesc
/// forgets its registration (a new `seq`, so that its events still in flight are
/// stale) and its waiters return GS_ECANCELED. Before the fd is closed.
pub(crate) fn evict(fd: i32) {
    with_caller_rt(|rt| {
        if let Some(pd) = rt.netpoll.pd_existing(fd) {
            let _l = pd.lock.lock();
            pd.seq.fetch_add(1, AcqRel);
            if pd.armed.swap(0, AcqRel) == 1 {
                rt.netpoll.poller.close(fd);
            }
            for slot in [&pd.rg, &pd.wg] {
                let gp = netpollunblock(slot, false);
                if !gp.is_null() {
                    super::park::ready(rt, gp, true);
                }
                // A pending event belongs to the old fd.
                let _ = slot.compare_exchange(PD_READY, 0, AcqRel, Acquire);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_lateness_is_a_capped_moving_average() {
        // Converges to a steady lateness from below and from above.
        let mut late = 0;
        for _ in 0..200 {
            late = learn_late(late, 30_000);
        }
        assert!((29_900..=30_000).contains(&late), "{late}");
        for _ in 0..200 {
            late = learn_late(late, 5_000);
        }
        assert!((5_000..=5_100).contains(&late), "{late}");
        // One outlier moves it by an eighth, and never past the cap.
        assert_eq!(learn_late(0, 80_000), 10_000);
        for _ in 0..200 {
            late = learn_late(late, 10_000_000);
        }
        assert!(late <= TIMER_SPIN_MAX && late > TIMER_SPIN_MAX - 1_000, "{late}");
        // A wait that returned early (negative sample) counts as on time.
        assert_eq!(learn_late(8_000, -50_000), 7_000);
    }
}
