//! Waiting for an fd (gs_wait_fd, and the waits of io.rs): a goroutine parks on
//! the fd's poll descriptor until the poller, a timeout or gs_close readies it; a
//! foreign thread waits in poll(2). The slots, the Waiter and its lifetime are
//! described at the top of netpoll.rs.

use super::entry::{caller, Caller};
use super::netpoll::{
    claim, is_nonblock, Waiter, GS_POLLIN, GS_POLLOUT, PD_READY, PD_WAIT, W_CLAIMED, W_COMMIT, W_OPEN,
};
use super::sched::Runtime;
use super::time::nanotime;
use super::timer::Timeout;
use crate::error::{errno, Error, Result};
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};

struct CommitArgs {
    slots: [*const AtomicUsize; 2],
    waiter: *const Waiter,
    to: *mut Timeout,
    rt: *const Runtime,
}

/// unlockf of wait_fd: publish the Waiter in each WAIT slot and arm the timeout; if
/// an event came first, or the Waiter was claimed meanwhile, resume at once (see
/// *Waiter lifetime*). Executed on g0 with the goroutine parked; until its end the
/// goroutine cannot run, so the frame is ours.
unsafe extern "C" fn netpollblockcommit(_gp: *mut c_void, a: *mut c_void) -> bool {
    // SAFETY: a points to CommitArgs in the parking goroutine's frame, which stays put
    // until we return (the Waiter is W_COMMIT: nobody readies the goroutine before).
    let a = unsafe { &*(a as *const CommitArgs) };
    // SAFETY: as above.
    let w = unsafe { &*a.waiter };
    let mut event_first = false;
    for &s in a.slots.iter() {
        if s.is_null() {
            continue;
        }
        // SAFETY: the slots belong to a PollDesc, alive for the runtime's life.
        let slot = unsafe { &*s };
        w.refs.fetch_add(1, Relaxed); // the slot's reference, before it is visible
        if slot.compare_exchange(PD_WAIT, a.waiter as usize, AcqRel, Acquire).is_err() {
            w.refs.fetch_sub(1, Relaxed);
            event_first = true;
        }
    }
    if event_first {
        // Resume now: claim the Waiter ourselves (or a waker just did).
        w.state.store(W_CLAIMED, Release);
        return false;
    }
    // SAFETY: the runtime outlives its goroutines.
    let rt = unsafe { &*a.rt };
    rt.netpoll.waiters.fetch_add(1, Relaxed);
    w.slept.store(true, Relaxed);
    // SAFETY: the Timeout and the Waiter live in the parked goroutine's frame, which
    // disarms the Timeout before it ends.
    unsafe { (*a.to).arm(wait_fd_timeout, a.waiter as usize) };
    // Open for wakers; a claim made during the commit left the wakeup to us.
    w.state.compare_exchange(W_COMMIT, W_OPEN, AcqRel, Acquire).is_ok()
}

/// Timer function of wait_fd: time out the waiter if nobody readied it.
///
/// # Safety
/// `arg` is the `Waiter` in the frame of the goroutine parked in `wait_fd`, which
/// deletes the timer before that frame ends.
unsafe fn wait_fd_timeout(arg: usize) {
    let w = arg as *const Waiter;
    // SAFETY: the goroutine deletes this timer (waiting for us) before it leaves.
    unsafe {
        if claim(w) {
            super::park::ready(&*(*w).rt, (*w).gp, true);
        }
    }
}

/// gs_wait_fd from a goroutine: parks until `fd` is ready for `events`, the timeout,
/// or gs_close. Returns the ready events (GS_POLLIN/GS_POLLOUT).
pub(crate) fn wait_fd(rt: &Runtime, fd: i32, events: u32, timeout_ns: i64) -> Result<u32> {
    if events == 0 || events & !(GS_POLLIN | GS_POLLOUT) != 0 {
        return Err(Error::Inval);
    }
    let np = &rt.netpoll;
    let pd = np.pd(fd)?;
    if !np.arm(fd, pd)? {
        // Cannot be polled, so always ready: unless the number names a new file now.
        match poll_thread(fd, events, 0) {
            Err(Error::TimedOut) => {
                np.renew(rt, fd, pd)?;
                if pd.armed.load(Acquire) != 1 {
                    return Ok(events);
                }
            }
            r => return r,
        }
    }
    let seq = pd.seq.load(Acquire);
    let want: [(u32, &AtomicUsize); 2] = [(GS_POLLIN, &pd.rg), (GS_POLLOUT, &pd.wg)];
    // Phase 1: consume pending events or announce WAIT.
    let mut ready = 0u32;
    let mut waiting: [*const AtomicUsize; 2] = [core::ptr::null(); 2];
    for (i, (bit, slot)) in want.iter().enumerate() {
        if events & bit == 0 {
            continue;
        }
        loop {
            let old = slot.load(Acquire);
            if old == PD_READY {
                if slot.compare_exchange(PD_READY, 0, AcqRel, Acquire).is_ok() {
                    ready |= bit;
                    break;
                }
            } else if old == 0 {
                if slot.compare_exchange(0, PD_WAIT, AcqRel, Acquire).is_ok() {
                    waiting[i] = *slot;
                    break;
                }
            } else {
                // Another goroutine waits in this direction.
                undo_wait(&waiting);
                return Err(Error::Busy);
            }
        }
    }
    if ready != 0 || timeout_ns == 0 {
        undo_wait(&waiting);
        if ready != 0 {
            return Ok(ready);
        }
        return if pd.seq.load(Acquire) != seq { Err(Error::Canceled) } else { Err(Error::TimedOut) };
    }
    let gp = {
        let mp = super::tls::getm();
        // SAFETY: on a goroutine.
        unsafe { (*mp).curg() }
    };
    let w = Waiter {
        gp,
        state: AtomicU32::new(W_COMMIT),
        refs: AtomicU32::new(0),
        slept: AtomicBool::new(false),
        rt,
    };
    let wmem = (&w as *const Waiter as usize, size_of::<Waiter>());
    super::tools::runtime_memory_in_frame(wmem.0, wmem.1);
    let mut to = Timeout::after(rt, timeout_ns);
    let a = CommitArgs { slots: waiting, waiter: &w, to: &mut to, rt };
    // SAFETY: on a goroutine; w, to and a live in this frame until `to` is disarmed
    // and nobody references w any more (below).
    unsafe {
        super::park::gopark(
            Some(netpollblockcommit),
            &a as *const CommitArgs as *mut c_void,
            c"IO wait".as_ptr(),
            false,
        );
    }
    to.disarm();
    // Take our Waiter (or a READY that arrived for this fd) out of the slots; leave
    // alone what belongs to a new fd of the same number (seq changed).
    let same_fd = pd.seq.load(Acquire) == seq;
    for (i, (bit, _)) in want.iter().enumerate() {
        let s = waiting[i];
        if s.is_null() {
            continue;
        }
        // SAFETY: the slot belongs to pd.
        let slot = unsafe { &*s };
        let mine = &w as *const Waiter as usize;
        if slot.compare_exchange(mine, 0, AcqRel, Acquire).is_ok() {
            w.refs.fetch_sub(1, Relaxed); // the slot's reference, taken back
            continue;
        }
        if same_fd && slot.compare_exchange(PD_READY, 0, AcqRel, Acquire).is_ok() {
            ready |= bit;
        } else if same_fd {
            let _ = slot.compare_exchange(PD_WAIT, 0, AcqRel, Acquire);
        }
    }
    // A waker that took w out of a slot may still be at its claim: wait for it to let
    // go before this frame ends (a few instructions, unless its thread was preempted).
    let mut spins = 0u32;
    while w.refs.load(Acquire) != 0 {
        // load-acquire, synchronize with take()'s release
        spins += 1;
        if spins < 64 {
            core::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    if w.slept.load(Relaxed) {
        np.waiters.fetch_sub(1, Relaxed);
    }
    super::tools::user_memory_again(wmem.0, wmem.1);
    if pd.seq.load(Acquire) != seq {
        return Err(Error::Canceled);
    }
    if ready != 0 {
        Ok(ready)
    } else {
        Err(Error::TimedOut)
    }
}

/// Puts back to 0 the slots we set to WAIT (if still WAIT).
fn undo_wait(waiting: &[*const AtomicUsize; 2]) {
    for &s in waiting.iter() {
        if !s.is_null() {
            // SAFETY: the slot belongs to a PollDesc.
            let _ = unsafe { &*s }.compare_exchange(PD_WAIT, 0, AcqRel, Acquire);
        }
    }
}

/// poll(2) for a thread that is not running a goroutine.
pub(crate) fn poll_thread(fd: i32, events: u32, timeout_ns: i64) -> Result<u32> {
    let mut pev: libc::c_short = 0;
    if events & GS_POLLIN != 0 {
        pev |= libc::POLLIN;
    }
    if events & GS_POLLOUT != 0 {
        pev |= libc::POLLOUT;
    }
    let deadline = if timeout_ns < 0 { i64::MAX } else { nanotime().saturating_add(timeout_ns) };
    loop {
        let left = deadline.saturating_sub(nanotime());
        let ms = if timeout_ns < 0 {
            -1
        } else {
            ((left.max(0) + 999_999) / 1_000_000).min(i32::MAX as i64) as i32
        };
        let mut p = libc::pollfd { fd, events: pev, revents: 0 };
        // SAFETY: p is a valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(Error::Inval);
        }
        if n == 0 {
            if nanotime() >= deadline {
                return Err(Error::TimedOut);
            }
            continue;
        }
        if p.revents & libc::POLLNVAL != 0 {
            return Err(Error::Inval);
        }
        let mut r = 0;
        if p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 && events & GS_POLLIN != 0 {
            r |= GS_POLLIN;
        }
        if p.revents & (libc::POLLOUT | libc::POLLHUP | libc::POLLERR) != 0 && events & GS_POLLOUT != 0 {
            r |= GS_POLLOUT;
        }
        if r == 0 {
            r = events;
        }
        return Ok(r);
    }
}

/// gs_wait_fd from any caller. On a goroutine, readiness reported by the poller is
/// confirmed with poll(2), so that a notification left over from data that was read
/// meanwhile does not count: the answer is the fd's state, as poll(2) would give.
pub(crate) fn wait_fd_any(fd: i32, events: u32, timeout_ns: i64) -> Result<u32> {
    if fd < 0 || events == 0 || events & !(GS_POLLIN | GS_POLLOUT) != 0 {
        return Err(Error::Inval);
    }
    let rt = match caller() {
        // SAFETY: m is this thread's M.
        Caller::Goroutine(m, _) => unsafe { (*m).rt() },
        _ => return poll_thread(fd, events, timeout_ns),
    };
    // A number that names a new file in blocking mode (closed behind our back): renew
    // it now rather than wait for sysmon (see *Fds closed behind our back*).
    if let Ok(pd) = rt.netpoll.pd(fd) {
        if pd.armed.load(Acquire) == 1 && !is_nonblock(fd)? {
            rt.netpoll.renew(rt, fd, pd)?;
        }
    }
    let deadline = if timeout_ns < 0 { i64::MAX } else { nanotime().saturating_add(timeout_ns) };
    loop {
        match poll_thread(fd, events, 0) {
            Ok(ev) => return Ok(ev),
            Err(Error::TimedOut) => {}
            Err(e) => return Err(e),
        }
        let left = if timeout_ns < 0 { -1 } else { deadline.saturating_sub(nanotime()) };
        if timeout_ns >= 0 && left <= 0 {
            return Err(Error::TimedOut);
        }
        // Any answer but an error is re-checked by poll(2) above.
        wait_fd(rt, fd, events, left)?;
    }
}
