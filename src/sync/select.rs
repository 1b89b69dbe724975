//! select over channels (Go's selectgo).
//!
//! 1. Poll order: the cases with a channel, in a uniformly random permutation (Go's
//!    pollorder), so that among ready cases each is chosen with equal probability.
//!    The random numbers are the M's own (Go's per-M cheaprand): no thread-local.
//! 2. Pass 0, one lock at a time: in poll order, each case whose channel looks ready
//!    without its lock (`recv_may_fire` / `send_may_fire`) is tried under that
//!    channel's lock alone; the first that fires ends the select. See *Why pass 0 is
//!    a valid select* below. Nothing ready: on to the passes with every lock.
//! 3. Lock order: the same cases sorted by channel address (Go's lockorder); every
//!    select and every single-channel operation then takes channel locks in one
//!    global order, so two selects cannot deadlock. A channel named twice is
//!    locked once.
//! 4. Pass 1, all locked: the first ready case in poll order fires.
//! 5. Pass 2 (nothing ready, may block): one claimed sudog per case, queued on each
//!    channel in lock order; the party blocks. The first waker to win the party's
//!    claim fires its case; the others skip the party's sudogs.
//! 6. Pass 3, all locked again: the party takes its remaining sudogs off the queues.
//!    Until then every channel counts it as inside (its sudogs are `is_select`; see
//!    *Parties inside an object* in sudog.rs): the waker of one channel returns
//!    before the party has let go of any, and a free must not take them meanwhile.
//!
//! A send case on a closed channel is ready and fires with result GS_ECLOSED (Go
//! panics); a receive case on a closed, drained channel fires with GS_ECLOSED and a
//! zeroed buffer.
//!
//! # Why pass 0 is a valid select
//!
//! A select may fire any one of the cases that are ready when it fires; which one is
//! a matter of fairness, not of correctness. A case that pass 0 fires was ready at
//! the moment it fired, under its channel's lock: that is the select's linearization
//! point, the same point a plain send or receive on that channel would have, and the
//! other channels' states at that instant do not constrain the outcome. Pass 0 takes
//! one lock at a time, so it needs no lock order. What pass 0 cannot decide is that
//! *no* case is ready (it saw the channels at different instants), so it never
//! returns `Again` or blocks: that needs pass 1, every lock held at once. Fairness
//! stays Go's: cases are tried in the random poll order, and a case that is ready
//! throughout is never skipped (the racy hint can miss only a case that just became
//! ready, which a later select finds).

use super::chan::{Chan, Poll};
use super::sudog::Sudog;
use super::waiter::{block, deadline, wake, Ctx, Waiter, Woke, NEVER};
use super::{randn, ObjLock};
use crate::error::{Error, Result};
use core::ffi::{c_int, c_void};
use core::ptr::{null_mut, slice_from_raw_parts_mut};

/// `Case::op`: send `*elem`.
pub(crate) const OP_SEND: c_int = 1;
/// `Case::op`: receive into `elem`.
pub(crate) const OP_RECV: c_int = 2;
/// Most cases in one select (Go's limit).
pub(crate) const MAX_CASES: usize = 1 << 16;
/// Up to this many cases, the select's bookkeeping stays on the stack.
const SMALL: usize = 8;

/// One case, laid out as `gs_select_case`.
#[repr(C)]
pub(crate) struct Case {
    pub(crate) chan: *mut Chan,
    pub(crate) op: c_int,
    pub(crate) elem: *mut c_void,
    pub(crate) result: c_int,
}

/// A slice of `n` items: on the stack when small, else on the heap.
struct Scratch<T: Copy, const N: usize> {
    small: [T; N],
    big: Vec<T>,
    n: usize,
}

impl<T: Copy, const N: usize> Scratch<T, N> {
    fn new(fill: T, n: usize) -> Self {
        let big = if n > N { vec![fill; n] } else { Vec::new() };
        Scratch { small: [fill; N], big, n }
    }
    fn get(&mut self) -> &mut [T] {
        if self.n > N {
            &mut self.big[..]
        } else {
            &mut self.small[..self.n]
        }
    }
}

/// Locks the channels' locks in order.
fn sellock(locks: &[*const ObjLock]) {
    for &l in locks {
        // SAFETY: the channels outlive the select.
        unsafe { (*l).lock() };
    }
}

/// Unlocks them in reverse order.
/// # Safety
/// They are held.
unsafe fn selunlock(locks: &[*const ObjLock]) {
    for &l in locks.iter().rev() {
        // SAFETY: the caller's contract.
        unsafe { (*l).unlock() };
    }
}

/// Blocks until the timeout with nothing to wait for (a select with no channel):
/// `Again` for a poll, `TimedOut`, or (timeout < 0) forever, as Go's `select {}`.
fn block_no_cases(timeout: i64) -> Result<usize> {
    if timeout == 0 {
        return Err(Error::Again);
    }
    let mut ctx = Ctx::new();
    ctx.may_block()?;
    let w = Waiter::new(&ctx);
    let none = slice_from_raw_parts_mut(null_mut(), 0);
    // SAFETY: may_block succeeded; the party has no sudogs and holds no lock.
    let r = unsafe { block(&mut ctx, &w, &[], none, deadline(timeout), c"select (no cases)") };
    match r {
        Woke::Shutdown => Err(Error::Shutdown),
        _ => Err(Error::TimedOut),
    }
}

/// gs_select: runs the first ready case (chosen at random among the ready ones), or
/// blocks on all of them. Returns the index of the case that fired, with its
/// `result` set; `Again` (poll), `TimedOut`, `Inval` (bad op, NULL elem with a
/// non-zero elem_size, a channel that is not a live one), `Perm` (would block on g0),
/// `Shutdown`.
/// Can be executed by anyone (g0 only to poll).
/// # Safety
/// `cases` points to `n` cases whose buffers stay valid during the call, and whose
/// channels are null or handles whose memory is still the runtime's (see `Chan::check`);
/// no channel is freed during the call.
pub(crate) unsafe fn select(cases: *mut Case, n: usize, timeout: i64) -> Result<usize> {
    if n > MAX_CASES {
        return Err(Error::Inval);
    }
    let cases: &mut [Case] = if n == 0 {
        &mut []
    } else {
        // SAFETY: the caller's contract.
        unsafe { core::slice::from_raw_parts_mut(cases, n) }
    };
    let ctx = Ctx::new();
    // 1. Check the cases and shuffle them (inside-out Fisher-Yates).
    let mut small = [0u32; SMALL];
    let mut big: Vec<u32> = Vec::new();
    let pollorder: &mut [u32] = if n <= SMALL {
        &mut small[..n]
    } else {
        big.resize(n, 0);
        &mut big[..]
    };
    let mut norder = 0usize;
    for (i, cs) in cases.iter().enumerate() {
        if cs.chan.is_null() {
            continue;
        }
        if cs.op != OP_SEND && cs.op != OP_RECV {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract for a non-NULL channel.
        let c = unsafe { Chan::check(cs.chan)? };
        if cs.elem.is_null() && c.esz != 0 {
            return Err(Error::Inval);
        }
        let j = if norder == 0 { 0 } else { randn(ctx.rand(), norder as u32 + 1) as usize };
        pollorder[norder] = pollorder[j];
        pollorder[j] = i as u32;
        norder += 1;
    }
    if norder == 0 {
        drop(ctx);
        return block_no_cases(timeout);
    }
    let pollorder = &pollorder[..norder];
    // 2. Pass 0: each case that looks ready, under its own channel's lock only.
    let mut ctx = ctx;
    for &i in pollorder {
        let cs = &mut cases[i as usize];
        // SAFETY: a non-NULL channel is valid (caller's contract).
        let c = unsafe { &*cs.chan };
        let recv = cs.op == OP_RECV;
        if !(if recv { c.recv_may_fire() } else { c.send_may_fire() }) {
            continue;
        }
        c.lock.lock();
        // SAFETY: c is locked; the buffer has esz bytes (checked above).
        let r = unsafe {
            if recv {
                c.recv_locked(&mut ctx, cs.elem.cast())
            } else {
                c.send_locked(&mut ctx, cs.elem.cast())
            }
        };
        match r {
            // SAFETY: locked.
            Poll::Blocked => unsafe { c.lock.unlock() },
            Poll::Done(sg) => {
                cs.result = 0;
                // SAFETY: locked; sg (if any) was dequeued and claimed by us.
                unsafe { c.unlock_and_wake(&ctx, sg) };
                return Ok(i as usize);
            }
            Poll::Closed => {
                cs.result = Error::Closed.to_code();
                // SAFETY: locked.
                unsafe { c.lock.unlock() };
                return Ok(i as usize);
            }
        }
    }
    // SAFETY: the caller's contract; pollorder holds the checked cases.
    unsafe { select_locked(ctx, cases, pollorder, timeout) }
}

/// Passes 1 to 3 (see the module's doc): every channel locked, then block if nothing
/// is ready.
/// # Safety
/// As `select`; `pollorder` is the poll order of `cases`' checked, non-NULL cases.
#[inline(never)]
unsafe fn select_locked(mut ctx: Ctx, cases: &mut [Case], pollorder: &[u32], timeout: i64) -> Result<usize> {
    let norder = pollorder.len();
    // 3. Lock order: by channel address; each lock once.
    let mut lockbuf = Scratch::<u32, SMALL>::new(0, norder);
    let lockorder = lockbuf.get();
    lockorder.copy_from_slice(pollorder);
    lockorder.sort_unstable_by_key(|&i| cases[i as usize].chan as usize);
    let mut locksbuf = Scratch::<*const ObjLock, SMALL>::new(core::ptr::null(), norder);
    let locks_all = locksbuf.get();
    let mut nlocks = 0;
    for &i in lockorder.iter() {
        // SAFETY: non-NULL channels are valid.
        let l: *const ObjLock = unsafe { &(*cases[i as usize].chan).lock };
        if nlocks == 0 || locks_all[nlocks - 1] != l {
            locks_all[nlocks] = l;
            nlocks += 1;
        }
    }
    let locks = &locks_all[..nlocks];

    sellock(locks);
    // 4. Pass 1: the first ready case in poll order.
    for &i in pollorder {
        let cs = &mut cases[i as usize];
        // SAFETY: a non-NULL channel is valid (caller's contract).
        let c = unsafe { &*cs.chan };
        // SAFETY: c is locked; the buffer has esz bytes (checked above).
        let r = unsafe {
            if cs.op == OP_RECV {
                c.recv_locked(&mut ctx, cs.elem.cast())
            } else {
                c.send_locked(&mut ctx, cs.elem.cast())
            }
        };
        let sg: *mut Sudog = match r {
            Poll::Blocked => continue,
            Poll::Done(sg) => {
                cs.result = 0;
                sg
            }
            Poll::Closed => {
                cs.result = Error::Closed.to_code();
                null_mut()
            }
        };
        // SAFETY: locked; sg (if any) was dequeued and claimed by us.
        unsafe {
            selunlock(locks);
            if !sg.is_null() {
                wake(&ctx, sg, true);
            }
        }
        return Ok(i as usize);
    }
    if timeout == 0 {
        // SAFETY: locked.
        unsafe { selunlock(locks) };
        return Err(Error::Again);
    }
    if let Err(e) = ctx.may_block() {
        // SAFETY: locked.
        unsafe { selunlock(locks) };
        return Err(e);
    }
    // 5. Pass 2: a claimed sudog on every channel, in lock order. They live in this
    // frame (or in a vector it owns) until pass 3 took them off every queue.
    let w = Waiter::new(&ctx);
    let mut small = [Sudog::EMPTY; SMALL];
    let mut big: Vec<Sudog> = Vec::new();
    let sgs: *mut Sudog = if norder <= SMALL {
        small.as_mut_ptr()
    } else {
        big.resize_with(norder, || Sudog::EMPTY);
        big.as_mut_ptr()
    };
    for (k, &i) in lockorder.iter().enumerate() {
        let cs = &cases[i as usize];
        // SAFETY: k < norder sudogs; the channel is locked.
        unsafe {
            let sg = sgs.add(k);
            w.init_sudog(sg, cs.elem.cast(), true);
            (*sg).idx = i as usize;
            (*sg).is_select = true;
            let c = &*cs.chan;
            if cs.op == OP_RECV {
                c.recvq.push_back(sg);
            } else {
                c.sendq.push_back(sg);
            }
        }
    }
    let dl = deadline(timeout);
    let reason = if dl == NEVER { c"select" } else { c"select (with timeout)" };
    // SAFETY: may_block succeeded; our sudogs are queued under `locks`, which we hold.
    let woke = unsafe { block(&mut ctx, &w, locks, slice_from_raw_parts_mut(sgs, norder), dl, reason) };
    // 6. Pass 3: off every queue we are still on, and out of every channel's count:
    // the unlocks below are our last touches of the channels.
    sellock(locks);
    for (k, &i) in lockorder.iter().enumerate() {
        let cs = &cases[i as usize];
        // SAFETY: locked; sg is ours, pushed on that queue in pass 2.
        unsafe {
            let sg = sgs.add(k);
            let c = &*cs.chan;
            if cs.op == OP_RECV {
                c.recvq.leave(sg);
            } else {
                c.sendq.leave(sg);
            }
        }
    }
    // SAFETY: locked.
    unsafe { selunlock(locks) };
    let res = match woke {
        Woke::Fired => {
            let sg = w.fired.load(core::sync::atomic::Ordering::Relaxed);
            // SAFETY: the waker wrote its result into sg before waking us.
            let (i, ok) = unsafe { ((*sg).idx, (*sg).success) };
            cases[i].result = if ok { 0 } else { Error::Closed.to_code() };
            Ok(i)
        }
        Woke::TimedOut => Err(Error::TimedOut),
        Woke::Shutdown => Err(Error::Shutdown),
    };
    drop(ctx);
    res
}
