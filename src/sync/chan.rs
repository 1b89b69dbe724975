//! Channels (Go's chan.go): unbuffered hand-off and buffered FIFO rings, close, and
//! the non-blocking and timed variants. select is in select.rs.
//!
//! # A channel
//!
//! One allocation: the `Chan` header, then `cap * elem_size` bytes of ring; a ring of
//! more than `RING_INLINE_MAX` bytes is an allocation of its own (see *Handles* in
//! mod.rs).
//! - `lock` guards everything below except the constants (`cap`, `esz`, `buf`).
//! - `magic`: `MAGIC_CHAN` from `new` until `free` stores `MAGIC_FREED`, under
//!   `lock`; read without it by every operation's `check`.
//! - `closed`, `qcount`: written under `lock`; read without it by the fast paths of
//!   non-blocking operations and by `len` (as Go does).
//! - `sendx`, `recvx`: the ring's indices; under `lock`.
//! - `recvq`, `sendq`: parties blocked receiving / sending. At most one of them is
//!   non-empty (a waiting receiver would have taken a waiting sender's value), and
//!   after close both are empty. `free` refuses while either is busy: a party waits
//!   on it, or left it and may still touch the channel (see *Parties inside an
//!   object* in sudog.rs).
//!
//! # Hand-off
//!
//! A sender that finds a waiting receiver copies its value straight into the
//! receiver's buffer (`sudog.elem`) and wakes it; a receiver that finds a waiting
//! sender copies from the sender's buffer (unbuffered) or takes the ring's head and
//! puts the sender's value at its tail (full ring), so order stays FIFO.
//!
//! # Memory model (Go's)
//!
//! A send happens before the corresponding receive completes, and close happens
//! before a receive that returns because the channel is closed: every transfer is made
//! under `lock` or before the wakeup of the party that reads it; the fast path's
//! `closed` load is an acquire of close's release store.

use super::sudog::{Sudog, WaitQ};
use super::waiter::{block, deadline, wake, Ctx, Waiter, Woke};
use super::{retire, ObjLock, MAGIC_CHAN, MAGIC_FREED, MAGIC_OFFSET, RING_INLINE_MAX};
use crate::error::{Error, Result};
use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::{null_mut, slice_from_raw_parts_mut};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};

/// Largest element: Go's limit (64 KiB). Bigger values are better sent by pointer.
pub(crate) const MAX_ELEM_SIZE: usize = 1 << 16;
/// Largest ring in bytes (Go allows up to its maxAlloc; beyond 1 TiB is a mistake).
pub(crate) const MAX_BUF_SIZE: usize = 1 << 40;
/// Alignment of the allocation (and of the ring that follows the header).
const CHAN_ALIGN: usize = 16;

/// A channel. See *A channel*.
#[repr(C)]
pub(crate) struct Chan {
    pub(crate) lock: ObjLock,
    closed: AtomicBool,
    magic: AtomicU32,
    qcount: AtomicUsize,
    pub(crate) cap: usize,
    pub(crate) esz: usize,
    buf: *mut u8,
    sendx: UnsafeCell<usize>,
    recvx: UnsafeCell<usize>,
    pub(crate) recvq: WaitQ,
    pub(crate) sendq: WaitQ,
}

// SAFETY: shared state is atomics or under `lock` (see *A channel*).
unsafe impl Sync for Chan {}
// SAFETY: as above.
unsafe impl Send for Chan {}

/// The outcome of an attempt made under the lock.
pub(crate) enum Poll {
    /// Done; wake this party (if not null) after unlocking.
    Done(*mut Sudog),
    /// The channel is closed (a receive zeroed its buffer).
    Closed,
    /// It would block.
    Blocked,
}

/// Copies one element of `n` bytes (memmove: the buffers may be the same).
///
/// # Safety
/// `src` is readable and `dst` writable for `n` bytes.
#[inline(always)]
unsafe fn copy_elem(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller passes buffers of n bytes.
    unsafe {
        match n {
            0 => {}
            8 => dst.cast::<u64>().write_unaligned(src.cast::<u64>().read_unaligned()),
            4 => dst.cast::<u32>().write_unaligned(src.cast::<u32>().read_unaligned()),
            16 => dst.cast::<u128>().write_unaligned(src.cast::<u128>().read_unaligned()),
            _ => core::ptr::copy(src, dst, n),
        }
    }
}

/// The layout of the channel's allocation, and of its ring's own (if it has one).
fn layouts(bufsize: usize) -> Option<(Layout, Option<Layout>)> {
    let head = core::mem::size_of::<Chan>();
    if bufsize <= RING_INLINE_MAX {
        return Some((Layout::from_size_align(head + bufsize, CHAN_ALIGN).ok()?, None));
    }
    Some((
        Layout::from_size_align(head, CHAN_ALIGN).ok()?,
        Some(Layout::from_size_align(bufsize, CHAN_ALIGN).ok()?),
    ))
}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(Chan, magic) == MAGIC_OFFSET);

impl Chan {
    /// Allocates a channel (Go's makechan). Null on bad sizes or no memory.
    /// Can be executed by anyone, with or without a runtime.
    pub(crate) fn new(esz: usize, cap: usize) -> *mut Chan {
        if esz > MAX_ELEM_SIZE {
            return null_mut();
        }
        let bufsize = match esz.checked_mul(cap) {
            Some(b) if b <= MAX_BUF_SIZE => b,
            _ => return null_mut(),
        };
        let Some((l, ring)) = layouts(bufsize) else { return null_mut() };
        // SAFETY: the layout has a non-zero size (the header).
        let p = unsafe { std::alloc::alloc(l) } as *mut Chan;
        if p.is_null() {
            return null_mut();
        }
        let buf = match ring {
            _ if bufsize == 0 => null_mut(),
            // SAFETY: the ring follows the header inside the allocation.
            None => unsafe { (p as *mut u8).add(core::mem::size_of::<Chan>()) },
            Some(rl) => {
                // SAFETY: rl has a non-zero size (bufsize > RING_INLINE_MAX).
                let b = unsafe { std::alloc::alloc(rl) };
                if b.is_null() {
                    // SAFETY: allocated above with l; never used.
                    unsafe { std::alloc::dealloc(p.cast(), l) };
                    return null_mut();
                }
                b
            }
        };
        // SAFETY: p is a fresh allocation for a Chan.
        unsafe {
            p.write(Chan {
                lock: ObjLock::new(),
                closed: AtomicBool::new(false),
                magic: AtomicU32::new(MAGIC_CHAN),
                qcount: AtomicUsize::new(0),
                cap,
                esz,
                buf,
                sendx: UnsafeCell::new(0),
                recvx: UnsafeCell::new(0),
                recvq: WaitQ::new(),
                sendq: WaitQ::new(),
            });
        }
        p
    }

    /// The channel behind handle `c`: `Inval` if it is null, or not a live channel's
    /// (see *Handles* in mod.rs).
    /// Can be executed by anyone.
    /// # Safety
    /// `c` is null or came from `new`, and its memory is still the runtime's (alive
    /// or in quarantine).
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(c: *const Chan) -> Result<&'a Chan> {
        if c.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let ch = unsafe { &*c };
        if ch.magic.load(Relaxed) != MAGIC_CHAN {
            return Err(Error::Inval);
        }
        Ok(ch)
    }

    /// Frees `c` unless a party (goroutine or thread) is blocked on it or may still
    /// touch it (see *Parties inside an object* in sudog.rs): `Busy`. `Inval` if it
    /// was freed meanwhile (a racing free).
    /// Can be executed by anyone.
    /// # Safety
    /// `c` passed `check`; no operation of the caller's on it is in progress or follows.
    pub(crate) unsafe fn free(c: *mut Chan) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let ch = unsafe { &*c };
        ch.lock.lock();
        // SAFETY: the lock is held.
        let r = unsafe {
            if ch.magic.load(Relaxed) != MAGIC_CHAN {
                Err(Error::Inval)
            } else if ch.recvq.busy() || ch.sendq.busy() {
                Err(Error::Busy)
            } else {
                ch.magic.store(MAGIC_FREED, Relaxed);
                Ok(())
            }
        };
        // SAFETY: we hold it.
        unsafe { ch.lock.unlock() };
        r?;
        let bufsize = ch.esz * ch.cap;
        let (l, ring) = layouts(bufsize).expect("Chan::free: layout was valid at new");
        // SAFETY: allocated in `new` with these layouts; nobody touches them any more
        // as a live channel (the ring not even through a stale handle: `check` fails).
        unsafe {
            if let Some(rl) = ring {
                std::alloc::dealloc(ch.buf, rl);
            }
            retire(c.cast(), l);
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.qcount.load(Relaxed)
    }

    /// Address of ring slot `i`.
    #[inline]
    fn slot(&self, i: usize) -> *mut u8 {
        // SAFETY: i < cap; for esz == 0 the pointer is never dereferenced.
        unsafe { self.buf.add(i * self.esz) }
    }

    /// Racy: a send would block right now (Go's full()).
    #[inline]
    fn full(&self) -> bool {
        if self.cap == 0 {
            self.recvq.is_empty()
        } else {
            self.qcount.load(Relaxed) == self.cap
        }
    }

    /// Racy: a receive would block right now (Go's empty()). Acquire: ordered before
    /// the following load of `closed`.
    #[inline]
    fn empty(&self) -> bool {
        if self.cap == 0 {
            self.sendq.is_empty()
        } else {
            self.qcount.load(Acquire) == 0
        }
    }

    /// Racy hint for select's first pass: a receive may not block right now (an item,
    /// a waiting sender, or closed). A false answer only makes select look again with
    /// every channel locked.
    #[inline(always)]
    pub(crate) fn recv_may_fire(&self) -> bool {
        !self.empty() || self.closed.load(Relaxed)
    }

    /// Racy hint for select's first pass: a send may not block right now (room, a
    /// waiting receiver, or closed).
    #[inline(always)]
    pub(crate) fn send_may_fire(&self) -> bool {
        !self.full() || self.closed.load(Relaxed)
    }

    #[inline]
    fn zero(&self, ep: *mut u8) {
        if self.esz != 0 && !ep.is_null() {
            // SAFETY: ep is a receive buffer of esz bytes.
            unsafe { core::ptr::write_bytes(ep, 0, self.esz) };
        }
    }

    /// Tries to send `*ep` without blocking.
    /// Can be executed by anyone; `lock` must be held.
    /// # Safety
    /// `ep` points to esz readable bytes (or esz is 0).
    pub(crate) unsafe fn send_locked(&self, ctx: &mut Ctx, ep: *const u8) -> Poll {
        if self.closed.load(Relaxed) {
            return Poll::Closed;
        }
        // SAFETY: the lock is held.
        let sg = unsafe { self.recvq.dequeue(ctx) };
        if !sg.is_null() {
            // SAFETY: the receiver waits with a buffer of esz bytes (or none if 0).
            unsafe {
                copy_elem((*sg).elem, ep, self.esz);
                (*sg).success = true;
            }
            return Poll::Done(sg);
        }
        let n = self.qcount.load(Relaxed);
        if n < self.cap {
            // SAFETY: sendx < cap; under the lock.
            unsafe {
                let i = *self.sendx.get();
                copy_elem(self.slot(i), ep, self.esz);
                *self.sendx.get() = if i + 1 == self.cap { 0 } else { i + 1 };
            }
            self.qcount.store(n + 1, Relaxed);
            return Poll::Done(null_mut());
        }
        Poll::Blocked
    }

    /// Tries to receive into `ep` without blocking.
    /// Can be executed by anyone; `lock` must be held.
    /// # Safety
    /// `ep` points to esz writable bytes (or esz is 0).
    pub(crate) unsafe fn recv_locked(&self, ctx: &mut Ctx, ep: *mut u8) -> Poll {
        if self.closed.load(Relaxed) {
            if self.qcount.load(Relaxed) == 0 {
                self.zero(ep);
                return Poll::Closed;
            }
        } else {
            // SAFETY: the lock is held.
            let sg = unsafe { self.sendq.dequeue(ctx) };
            if !sg.is_null() {
                // SAFETY: the sender waits with esz readable bytes; under the lock.
                unsafe {
                    if self.cap == 0 {
                        copy_elem(ep, (*sg).elem, self.esz);
                    } else {
                        // Full ring: take its head, put the sender's value at its tail.
                        let i = *self.recvx.get();
                        copy_elem(ep, self.slot(i), self.esz);
                        copy_elem(self.slot(i), (*sg).elem, self.esz);
                        let j = if i + 1 == self.cap { 0 } else { i + 1 };
                        *self.recvx.get() = j;
                        *self.sendx.get() = j;
                    }
                    (*sg).success = true;
                }
                return Poll::Done(sg);
            }
        }
        let n = self.qcount.load(Relaxed);
        if n > 0 {
            // SAFETY: recvx < cap; under the lock.
            unsafe {
                let i = *self.recvx.get();
                copy_elem(ep, self.slot(i), self.esz);
                *self.recvx.get() = if i + 1 == self.cap { 0 } else { i + 1 };
            }
            self.qcount.store(n - 1, Relaxed);
            return Poll::Done(null_mut());
        }
        Poll::Blocked
    }

    /// Releases the lock and wakes `sg` (if any): the end of a successful attempt.
    ///
    /// # Safety
    /// The caller holds the channel's lock; `sg`, if not null, was dequeued (and its
    /// claim won) by the caller under that lock.
    #[inline]
    pub(crate) unsafe fn unlock_and_wake(&self, ctx: &Ctx, sg: *mut Sudog) {
        // SAFETY: the caller holds the lock; sg was dequeued and claimed by it.
        unsafe {
            self.lock.unlock();
            if !sg.is_null() {
                wake(ctx, sg, true);
            }
        }
    }

    /// Queues a sudog for the calling party on `q` and blocks (the slow half of send
    /// and recv).
    /// Executed by the blocking party; `lock` is held on entry, not on return.
    /// Inlined, as `block` is (see there).
    ///
    /// # Safety
    /// The caller holds the channel's lock and `q` is one of its queues; `ep` is valid
    /// for the element size (read for a send, written for a receive) until the call
    /// returns.
    #[inline(always)]
    unsafe fn block_on(
        &self,
        mut ctx: Ctx,
        q: &WaitQ,
        ep: *mut u8,
        timeout: i64,
        reason: &'static core::ffi::CStr,
    ) -> Result<()> {
        if let Err(e) = ctx.may_block() {
            // SAFETY: held.
            unsafe { self.lock.unlock() };
            return Err(e);
        }
        let w = Waiter::new(&ctx);
        let mut sgv = Sudog::EMPTY;
        let sg: *mut Sudog = &mut sgv;
        // SAFETY: sg is ours and queued under the lock; `w` and `sgv` outlive the wait
        // (block returns only when no waker will touch them again, and we take sg off
        // the queue below if it is still there). Woken by a waker, we do not touch the
        // channel again (so sg is not counted: see *Parties inside an object* in
        // sudog.rs); else we `leave` as our last touch.
        unsafe {
            w.init_sudog(sg, ep, timeout > 0);
            q.push_back(sg);
            let locks = [&self.lock as *const ObjLock];
            let r = block(&mut ctx, &w, &locks, slice_from_raw_parts_mut(sg, 1), deadline(timeout), reason);
            match r {
                Woke::Fired => {
                    if (*sg).success {
                        Ok(())
                    } else {
                        Err(Error::Closed)
                    }
                }
                Woke::TimedOut | Woke::Shutdown => {
                    self.lock.lock();
                    q.leave(sg);
                    self.lock.unlock();
                    Err(if r == Woke::TimedOut { Error::TimedOut } else { Error::Shutdown })
                }
            }
        }
    }

    /// The common end of send and recv: acts on what the attempt under the lock gave
    /// (wake the partner, report closed, give up a poll, or block on `q`).
    /// # Safety
    /// The channel is locked by the caller; `ep` stays valid until the call returns.
    #[inline(always)]
    unsafe fn settle(
        &self,
        ctx: Ctx,
        poll: Poll,
        q: &WaitQ,
        ep: *mut u8,
        timeout: i64,
        reason: &'static core::ffi::CStr,
    ) -> Result<()> {
        match poll {
            Poll::Done(sg) => {
                // SAFETY: locked; sg (if any) is ours to wake.
                unsafe { self.unlock_and_wake(&ctx, sg) };
                Ok(())
            }
            Poll::Closed => {
                // SAFETY: locked.
                unsafe { self.lock.unlock() };
                Err(Error::Closed)
            }
            Poll::Blocked if timeout == 0 => {
                // SAFETY: locked.
                unsafe { self.lock.unlock() };
                Err(Error::Again)
            }
            // SAFETY: locked; the caller keeps ep valid while we wait.
            Poll::Blocked => unsafe { self.block_on(ctx, q, ep, timeout, reason) },
        }
    }
}

/// Sends `*ep` on `c` (Go's chansend). `timeout`: < 0 blocks until done, 0 polls
/// (`Again`), > 0 gives up after that many ns (`TimedOut`). `Closed` if `c` is or
/// gets closed; `Perm` if it would block on g0; `Shutdown` for a foreign thread when
/// the runtime stops.
/// Can be executed by anyone (a goroutine, g0, a foreign thread).
/// # Safety
/// `ep` points to esz readable bytes (or esz is 0) until the call returns.
#[inline(always)]
pub(crate) unsafe fn send(c: &Chan, ep: *const u8, timeout: i64) -> Result<()> {
    // Fast path of a poll: not closed and no room, seen without the lock.
    if timeout == 0 && !c.closed.load(Relaxed) && c.full() {
        return Err(Error::Again);
    }
    let mut ctx = Ctx::new();
    c.lock.lock();
    // SAFETY: locked; the caller's contract for ep.
    let poll = unsafe { c.send_locked(&mut ctx, ep) };
    // SAFETY: locked; ep stays valid while we wait.
    unsafe { c.settle(ctx, poll, &c.sendq, ep as *mut u8, timeout, c"chan send") }
}

/// Receives from `c` into `ep` (Go's chanrecv). `Closed` once `c` is closed and
/// drained, with `ep` zeroed (Go's zero value). Timeouts and errors as `send`.
/// Can be executed by anyone.
/// # Safety
/// `ep` points to esz writable bytes (or esz is 0) until the call returns.
#[inline(always)]
pub(crate) unsafe fn recv(c: &Chan, ep: *mut u8, timeout: i64) -> Result<()> {
    // Fast path of a poll. A channel cannot reopen: seeing it empty and then not
    // closed means it was open and empty at the first look.
    if timeout == 0 && c.empty() {
        if !c.closed.load(Acquire) {
            return Err(Error::Again);
        }
        if c.empty() {
            c.zero(ep);
            return Err(Error::Closed);
        }
    }
    let mut ctx = Ctx::new();
    c.lock.lock();
    // SAFETY: locked; the caller's contract for ep.
    let poll = unsafe { c.recv_locked(&mut ctx, ep) };
    // SAFETY: locked; ep stays valid while we wait.
    unsafe { c.settle(ctx, poll, &c.recvq, ep, timeout, c"chan receive") }
}

/// Closes `c` (Go's closechan): every blocked receiver gets `Closed` with a zeroed
/// buffer, every blocked sender `Closed`. Buffered values stay receivable.
/// `Already` if it was closed.
/// Can be executed by anyone; never blocks.
pub(crate) fn close(c: &Chan) -> Result<()> {
    let mut ctx = Ctx::new();
    c.lock.lock();
    if c.closed.load(Relaxed) {
        // SAFETY: locked.
        unsafe { c.lock.unlock() };
        return Err(Error::Already);
    }
    c.closed.store(true, Release); // store-release, synchronize with the fast paths
                                   // Collect every party to wake, in queue order, linked through `next`.
    let (mut head, mut tail): (*mut Sudog, *mut Sudog) = (null_mut(), null_mut());
    for q in [&c.recvq, &c.sendq] {
        loop {
            // SAFETY: locked.
            let sg = unsafe { q.dequeue(&mut ctx) };
            if sg.is_null() {
                break;
            }
            // SAFETY: sg is dequeued and claimed by us; a receiver's buffer has esz bytes.
            unsafe {
                if core::ptr::eq(q, &c.recvq) {
                    c.zero((*sg).elem);
                }
                (*sg).success = false;
                if tail.is_null() {
                    head = sg;
                } else {
                    (*tail).next = sg;
                }
                tail = sg;
            }
        }
    }
    // SAFETY: locked.
    unsafe { c.lock.unlock() };
    while !head.is_null() {
        // SAFETY: each is ours to wake; read the link first (the party reuses it).
        unsafe {
            let next = (*head).next;
            wake(&ctx, head, false);
            head = next;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(esz: usize, cap: usize) -> *mut Chan {
        let c = Chan::new(esz, cap);
        assert!(!c.is_null());
        c
    }

    #[test]
    fn new_rejects_overflow_and_absurd_sizes() {
        assert!(Chan::new(usize::MAX, 2).is_null());
        assert!(Chan::new(8, usize::MAX).is_null());
        assert!(Chan::new(MAX_ELEM_SIZE + 1, 0).is_null());
        assert!(Chan::new(1 << 16, 1 << 30).is_null());
        let c = ring(0, usize::MAX); // no ring bytes: fine, as in Go
                                     // SAFETY: fresh and unused.
        unsafe { Chan::free(c).unwrap() };
    }

    #[test]
    fn ring_is_fifo_across_wraparound() {
        let c = ring(24, 3);
        // SAFETY: no other thread; buffers of 24 bytes.
        unsafe {
            let ch = &*c;
            let mut next_in = 0u64;
            let mut next_out = 0u64;
            for round in 0..10 {
                // Fill up to the capacity, then one more must block.
                while ch.len() < 3 {
                    let v = [next_in, !next_in, round];
                    send(ch, v.as_ptr().cast(), 0).unwrap();
                    next_in += 1;
                }
                assert_eq!(send(ch, [0u64; 3].as_ptr().cast(), 0), Err(Error::Again));
                // Drain one or two, so the indices wrap at different places.
                for _ in 0..(1 + round as usize % 2) {
                    let mut v = [0u64; 3];
                    recv(ch, v.as_mut_ptr().cast(), 0).unwrap();
                    assert_eq!(v[0], next_out);
                    assert_eq!(v[1], !next_out);
                    next_out += 1;
                }
            }
            close(ch).unwrap();
            assert_eq!(close(ch), Err(Error::Already));
            assert_eq!(send(ch, [0u64; 3].as_ptr().cast(), 0), Err(Error::Closed));
            while ch.len() > 0 {
                let mut v = [0u64; 3];
                recv(ch, v.as_mut_ptr().cast(), -1).unwrap();
                assert_eq!(v[0], next_out);
                next_out += 1;
            }
            assert_eq!(next_out, next_in);
            let mut v = [7u64; 3];
            assert_eq!(recv(ch, v.as_mut_ptr().cast(), -1), Err(Error::Closed));
            assert_eq!(v, [0; 3], "a receive on a closed channel yields the zero value");
            Chan::free(c).unwrap();
        }
    }

    #[test]
    fn unbuffered_poll_without_partner_would_block() {
        let c = ring(8, 0);
        // SAFETY: no other thread.
        unsafe {
            let ch = &*c;
            let mut v = 5u64;
            assert_eq!(send(ch, (&v as *const u64).cast(), 0), Err(Error::Again));
            assert_eq!(recv(ch, (&mut v as *mut u64).cast(), 0), Err(Error::Again));
            assert_eq!(recv(ch, (&mut v as *mut u64).cast(), 1_000_000), Err(Error::TimedOut));
            assert_eq!(ch.len(), 0);
            assert!(ch.recvq.is_empty(), "a timed-out receiver leaves the queue");
            Chan::free(c).unwrap();
        }
    }

    #[test]
    fn threads_hand_off_values_in_order() {
        let c = ring(8, 0) as usize;
        let t = std::thread::spawn(move || {
            // SAFETY: the channel outlives both threads' use.
            let ch = unsafe { &*(c as *const Chan) };
            for i in 0..1000u64 {
                // SAFETY: an 8-byte value.
                unsafe { send(ch, (&i as *const u64).cast(), -1).unwrap() };
            }
            close(ch).unwrap();
        });
        // SAFETY: as above.
        let ch = unsafe { &*(c as *const Chan) };
        let mut want = 0u64;
        loop {
            let mut v = 0u64;
            // SAFETY: an 8-byte buffer.
            match unsafe { recv(ch, (&mut v as *mut u64).cast(), -1) } {
                Ok(()) => {
                    assert_eq!(v, want);
                    want += 1;
                }
                Err(e) => {
                    assert_eq!(e, Error::Closed);
                    break;
                }
            }
        }
        t.join().unwrap();
        assert_eq!(want, 1000);
        // SAFETY: nobody uses it any more.
        unsafe { Chan::free(c as *mut Chan).unwrap() };
    }
}
