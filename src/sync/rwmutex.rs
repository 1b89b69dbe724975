//! Reader/writer mutexes (Go's sync.RWMutex, with Go's rules: a waiting writer keeps
//! new readers out, and the readers that waited for a writer get in before the next
//! writer).
//!
//! # Readers count themselves in slots
//!
//! Go's readers add to one shared counter, so readers on different Ps bounce its cache
//! line and each pays two locked instructions. Here the lock has a slot per P (P ids
//! below `SLOTS`), each on a cache line of its own, with two counters that only grow:
//! `locks` (read-locks counted there) and `unlocks` (read-unlocks). Only the M that
//! holds the P writes its slot, with a plain load and store (no locked instruction): a
//! goroutine does not switch between reading its P and storing (there is no
//! preemption point), and a P has one M at a time (an M in a system call has none, see
//! syscall.rs). A foreign thread, an M without a P, and a P beyond `SLOTS` use the
//! `shared` slot with atomic adds. The readers inside are
//!
//!     sum(locks) - sum(unlocks)   over every slot (`readers()`),
//!
//! which counts a reader that locked on one P and unlocked on another. A P slot's own
//! difference never goes below zero: a read-unlock that finds none outstanding in its
//! P's slot (its read-lock was counted in another slot) counts itself in `shared`,
//! whose difference may go below zero; only the sum matters. (Were the P slot let go
//! below zero, every later read-unlock on that P would find it so and take the slow
//! check of *Misuse*; with `shared` below zero, read-unlocks there take it, but they
//! are the slow kind already.) `readers()` loads every
//! `unlocks` first (acquire) and then every `locks`: a read-unlock it counted
//! happened after its read-lock, whose count it then sees too, so the result is never
//! below the true number of readers inside (it may be above, by readers between a
//! count and its undo).
//!
//! # The writer's gate
//!
//! `gate` is 0 or `BIAS` (see *Reader bias*) while no writer is there, `PENDING` from
//! a writer's announcement until the readers inside left, then `HELD` until its
//! unlock. A reader counts itself in its slot, then loads `gate`; a writer swaps
//! `gate` (sequentially consistent), runs the asymmetric fence of asym.rs and then
//! reads `readers()`: each reader either is counted there or sees the gate (the fence
//! orders the reader's store before its load, see asym.rs; a reader in `shared` uses
//! sequentially consistent operations instead). Always count first, then look: never
//! the other way round.
//! A reader that sees the gate takes its count back (`unlocks` + 1), then waits: under
//! `wl` it adds itself to `rwait` and sleeps on `reader_sem`, unless the gate is open
//! again; then it counts itself in `shared` and looks again. The writer's unlock,
//! under `wl`, counts the `rwait` readers in `shared` on their behalf, opens the gate,
//! bumps `wgen` and releases them: they hold the lock before the next writer can
//! announce. Only the holder of `w` closes the gate, without `wl`; it opens it under
//! `wl`, so a reader that added itself to `rwait` under `wl` with the gate closed is
//! seen by the unlock that opens it.
//!
//! A writer that finds readers inside sets `wwait` and sleeps on `writer_sem`. Every
//! reader that changes its slot while the gate is not 0 (an unlock, or an undo) then
//! runs `departed()`: a sequentially consistent fence, and if `wwait` is set and
//! `readers()` is at most 0, the one that clears `wwait` releases the writer. The
//! writer's `wwait` store, fence and `readers()` against each reader's slot store,
//! fence and `wwait` load: one of the two sees the other, so the last reader out does
//! not miss a sleeping writer, and a writer does not sleep after the last one left.
//!
//! # Reader bias
//!
//! The asymmetric fence costs the writer a system call and interrupts (about half a
//! microsecond on an idle machine, more when many threads run), so it is paid only
//! when needed (BRAVO's reader bias). Readers use P slots only while `gate` is
//! exactly `BIAS`; otherwise they take the count back and use `shared`. A writer that
//! finds `BIAS` set revokes it (its gate store clears it) and fences; the bias then
//! stays off for `INHIBIT_FACTOR` times what the fence cost (`inhibit_until`). While
//! it is off no reader can enter through a slot (each loads the gate after its slot
//! store and sees no `BIAS`), and the slot readers still inside entered before the
//! revocation, whose fence made their counts visible: a writer that finds the bias
//! off needs only a plain fence to read `readers()` (its lower bound holds). Only if it
//! then finds readers inside, and so will wait for their read-unlocks (a plain store
//! and a compiler fence when in a slot), does it fence (`fence_for_wait`) before
//! `wwait`. One read lock in `REBIAS_EVERY` in `shared`, if taken by a party that
//! could use a P slot, looks at the clock and, past `inhibit_until`, re-arms the bias:
//! under `w` (taken with a try, so no writer is between lock and unlock) and `wl`, only
//! from gate 0. A lock used only by writers, or read only by foreign threads, thus
//! fences once; alternating readers and writers, a writer fences at most once per
//! inhibition window.
//!
//! Without membarrier (`asym::slots_usable()` false: an old kernel, seccomp, a
//! sanitizer or Valgrind, or `GS_DEBUG=rwmutexslots=0`) the lock has no P slots
//! (`nslots` 0): every reader uses `shared` with sequentially consistent atomic adds
//! and the writer a plain fence, as costly for readers as Go's counter. The
//! sanitizers' happens-before edges (tools::release/acquire) are made only on that
//! path (the tools always take it) and in the writer's calls.
//!
//! # Misuse
//!
//! Go calls a read-unlock of a lock no reader holds, and an unlock of a lock no
//! writer holds, fatal errors; here they are refused with `Perm` and change nothing.
//! A read-unlock that finds no read-lock outstanding in its own slot (the reader
//! locked on another P, or there was no read-lock) checks `readers()` first: at most
//! 0 means no reader holds the lock (never a false error: `readers()` is never below
//! the readers inside). Detected, then: a read-unlock when no reader holds the lock, as
//! long as the slot it unlocks in is not ahead, i.e. every earlier read-lock counted in
//! that slot was read-unlocked in it too. Readers that read-lock on one P and read-unlock
//! on another (they switched inside the read section and resumed on another P, or
//! entered a system call) leave the first slot ahead until read-unlocks there catch
//! up; a misused read-unlock in a slot that is ahead is not seen. (A reader that
//! waited for a writer is counted in `shared` by the writer's unlock and moves that
//! count to its own slot, so waiting alone leaves no slot ahead.) Not detected either:
//! a read-unlock too many while another reader still holds the lock (Go's counter does
//! not see that either), and two read-unlocks racing for one read-lock on different
//! Ps (each may see the other's reader still inside; Go's atomic counter catches the
//! second). After an undetected misuse the count is low, and a writer may get in
//! while a reader is still inside, as after any misuse Go calls fatal.
//!
//! # The inline fast path
//!
//! On x86-64 the header makes gs_rwmutex_rlock and gs_rwmutex_runlock inline
//! functions (the end of include/gosched.h) that do what `rlock_slot` and the slot
//! branch of `runlock` do, without a call: Go's RLock and RUnlock are inlined too. For
//! that the lock's head has a fixed layout (abi/layout.txt, `gs__rwmutex_head`):
//! `magic` at 4, `gate` at 12 and `tpoff` at 16. `tpoff` is the offset of the
//! thread-local `rwslot` (runtime/tls.rs) from the thread pointer, or 0 when the lock
//! has no P slots; `rwslot` is the byte offset in the lock of the calling thread's P
//! slot, 0 without one, and `my_slot` reads the same word, so the library and the
//! inline code always agree on the slot. The inline read-lock checks `magic`, reads
//! `tpoff` and then `rwslot`, and if both are not 0 counts itself in the slot,
//! compiler-fences and loads the gate; at `BIAS` it holds the lock, otherwise it takes
//! its count back (the `unlocks` store of `undo`) and calls
//! `gs__rwmutex_rlock_slow`, which does the rest of `undo` (`departed`) and then the
//! shared path. The inline read-unlock, if its slot has a read-lock outstanding,
//! stores `unlocks`, compiler-fences, and calls `gs__rwmutex_departed` when the gate
//! has a writer bit. Anything else (NULL, another magic, `tpoff` or `rwslot` 0, no
//! read-lock in the slot) calls the exported function. A freed lock has another magic.
//! Between reading `rwslot` and its store the inline code makes no call, so the
//! goroutine cannot move to another M (there is no preemption), as in the library.
//! The values `BIAS`, `WRITER` and the slot layout are fixed with the head; a later
//! library that changes them records `tpoff` 0, and old binaries take the exported
//! functions.
//!
//! # Who may not block
//!
//! On g0 (an unlockf, a timer function) a call that would wait gives `Perm` and
//! leaves the lock as it was: `lock` then only tries; a reader that found the gate
//! closed takes itself out of `rwait` again, or, if the writer's unlock counted it in
//! meanwhile, takes its permit and read-unlocks (see `rlock_cannot_wait`).

use super::sema::Sema;
use super::waiter::{Ctx, Kind};
use super::{asym, retire, ObjLock, MAGIC_FREED, MAGIC_OFFSET};
use crate::error::{Error, Result};
use crate::sync::mutex::Mutex;
use core::alloc::Layout;
use core::sync::atomic::{compiler_fence, fence, AtomicI64, AtomicU32, AtomicU64, Ordering::*};

/// `magic` of a live RWMutex ("rwmx"). See *Handles* in mod.rs.
pub(crate) const MAGIC_RWMUTEX: u32 = u32::from_le_bytes(*b"rwmx");

/// Per-P reader slots of a lock: Ps with a larger id use `shared`.
pub(crate) const SLOTS: usize = 8;

/// `gate`: a writer announced itself and waits for the readers inside.
const PENDING: u32 = 1;
/// `gate`: a writer holds the lock.
const HELD: u32 = 2;
/// `gate` bits of a writer.
const WRITER: u32 = PENDING | HELD;
/// `gate`: readers may count themselves in P slots (the reader bias); never with a
/// writer. See *Reader bias*.
const BIAS: u32 = 4;
/// A revocation of the bias keeps it off for this many times its own cost (BRAVO's N).
const INHIBIT_FACTOR: i64 = 9;
/// A read lock in `shared` looks at re-arming the bias once in this many.
const REBIAS_EVERY: u64 = 256;

/// The counts of one slot, on a cache line of its own. See *Readers count themselves
/// in slots*.
#[repr(C, align(64))]
struct Slot {
    locks: AtomicU64,
    unlocks: AtomicU64,
}

impl Slot {
    const fn new() -> Slot {
        Slot { locks: AtomicU64::new(0), unlocks: AtomicU64::new(0) }
    }

    /// This slot's own share of `readers()` (may be below zero).
    #[inline(always)]
    fn own(&self) -> i64 {
        self.locks.load(Relaxed).wrapping_sub(self.unlocks.load(Relaxed)) as i64
    }
}

#[repr(C)]
pub(crate) struct RwMutex {
    /// Guards `free` against a racing free (the fields have their own protocols).
    lock: ObjLock,
    magic: AtomicU32,
    /// The P slots in use: `SLOTS`, or 0 without membarrier. Constant.
    nslots: u32,
    /// See *The writer's gate*. Written by writers only, read by every reader.
    gate: AtomicU32,
    /// See *The inline fast path*: the thread-pointer offset of `rwslot`, or 0 when
    /// the lock has no P slots. Constant.
    tpoff: isize,
    w: *mut Mutex,
    /// Guards the opening of the gate, `rwait` and `wgen`.
    wl: ObjLock,
    /// Readers asleep on `reader_sem` until the writer's unlock. Under `wl`.
    rwait: AtomicU32,
    /// Writer unlocks so far (a waiting reader tells by it whether it was counted in).
    /// Under `wl`.
    wgen: AtomicU64,
    /// Until this time (nanotime) readers do not re-arm the bias. Written by writers.
    inhibit_until: AtomicI64,
    /// 1 while the writer sleeps (or is about to) on `writer_sem` for readers to leave.
    wwait: AtomicU32,
    writer_sem: Sema,
    reader_sem: Sema,
    shared: Slot,
    slots: [Slot; SLOTS],
}

// SAFETY: shared state is atomics, or under `wl`/`lock` (see the module's doc).
unsafe impl Sync for RwMutex {}
// SAFETY: as above.
unsafe impl Send for RwMutex {}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(RwMutex, magic) == MAGIC_OFFSET);
// The head the inline fast path of the header reads (*The inline fast path*): these
// offsets and values are written there as numbers.
const _: () = assert!(
    cfg!(loom)
        || (core::mem::offset_of!(RwMutex, gate) == 12
            && core::mem::offset_of!(RwMutex, tpoff) == 16
            && core::mem::offset_of!(Slot, locks) == 0
            && core::mem::offset_of!(Slot, unlocks) == 8
            && BIAS == 4
            && WRITER == 3)
);

/// The byte offset in every RwMutex of the reader slot of P `pp`, for the thread-local
/// `rwslot` (runtime/tls.rs); 0 for no P or a P without a slot.
/// Can be executed by anyone.
pub(crate) fn slot_offset(pp: *const crate::runtime::p::P) -> usize {
    if pp.is_null() {
        return 0;
    }
    // SAFETY: Ps live as long as the runtime, and their ids never change.
    let id = unsafe { (*pp).id } as usize;
    if id >= SLOTS {
        return 0;
    }
    core::mem::offset_of!(RwMutex, slots) + id * core::mem::size_of::<Slot>()
}

impl RwMutex {
    pub(crate) fn new() -> *mut RwMutex {
        let nslots = if asym::slots_usable() { SLOTS as u32 } else { 0 };
        Box::into_raw(Box::new(RwMutex {
            lock: ObjLock::new(),
            magic: AtomicU32::new(MAGIC_RWMUTEX),
            nslots,
            gate: AtomicU32::new(if nslots != 0 { BIAS } else { 0 }),
            tpoff: if nslots != 0 { crate::runtime::tls::rwslot_tpoff() } else { 0 },
            w: Mutex::new(),
            wl: ObjLock::new(),
            rwait: AtomicU32::new(0),
            wgen: AtomicU64::new(0),
            inhibit_until: AtomicI64::new(0),
            wwait: AtomicU32::new(0),
            writer_sem: Sema::new(),
            reader_sem: Sema::new(),
            shared: Slot::new(),
            slots: [const { Slot::new() }; SLOTS],
        }))
    }

    /// The RWMutex behind handle `rw`: `Inval` if it is null or not a live RWMutex's.
    /// Can be executed by anyone.
    /// # Safety
    /// `rw` is null or came from `new`, and its memory is still the runtime's.
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(rw: *const RwMutex) -> Result<&'a RwMutex> {
        if rw.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let r = unsafe { &*rw };
        if r.magic.load(Relaxed) != MAGIC_RWMUTEX {
            return Err(Error::Inval);
        }
        Ok(r)
    }

    /// Frees `rw` unless it is held (read or write) or waited on: `Busy`. `Inval` if
    /// it was freed meanwhile.
    /// Can be executed by anyone.
    /// # Safety
    /// `rw` passed `check`; no operation of the caller's on it is in progress or follows.
    pub(crate) unsafe fn free(rw: *mut RwMutex) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let r = unsafe { &*rw };
        r.lock.lock();
        let res = if r.magic.load(Relaxed) != MAGIC_RWMUTEX {
            Err(Error::Inval)
        } else if r.readers() != 0
            || r.gate.load(Acquire) & WRITER != 0
            || r.rwait.load(Acquire) != 0
            || r.wwait.load(Acquire) != 0
            || r.writer_sem.busy()
            || r.reader_sem.busy()
        {
            Err(Error::Busy)
        } else {
            // SAFETY: `w` is ours, made in `new`; nobody else frees it.
            match unsafe { Mutex::free(r.w) } {
                Ok(()) => {
                    r.magic.store(MAGIC_FREED, Relaxed);
                    Ok(())
                }
                Err(_) => Err(Error::Busy),
            }
        };
        // SAFETY: locked.
        unsafe { r.lock.unlock() };
        res?;
        // SAFETY: made by Box::into_raw in `new`; nobody touches it as live any more.
        unsafe { retire(rw.cast(), Layout::new::<RwMutex>()) };
        Ok(())
    }

    #[inline]
    fn w(&self) -> &Mutex {
        // SAFETY: `w` lives as long as the RWMutex (freed by its `free` only).
        unsafe { &*self.w }
    }

    #[inline(always)]
    fn addr(&self) -> usize {
        self as *const RwMutex as usize
    }

    /// The slot of the calling thread's P, if it has one of this lock's slots. The
    /// caller stores to it before any switch (see *Readers count themselves in slots*).
    #[inline(always)]
    fn my_slot(&self) -> Option<&Slot> {
        #[cfg(all(not(loom), target_arch = "x86_64"))]
        {
            // The word the inline fast path reads too (*The inline fast path*).
            let off = crate::runtime::tls::p_slot();
            if off == 0 || self.nslots == 0 {
                return None;
            }
            // SAFETY: a non-zero `rwslot` is the offset of one of `slots` (slot_offset).
            Some(unsafe { &*(self as *const RwMutex).cast::<u8>().add(off).cast::<Slot>() })
        }
        #[cfg(all(not(loom), not(target_arch = "x86_64")))]
        {
            let m = crate::runtime::tls::getm();
            if m.is_null() {
                return None;
            }
            // SAFETY: m is this thread's M; its `p` is this M's to read.
            let p = unsafe { (*m).p };
            if p.is_null() {
                return None;
            }
            // SAFETY: the P is held by this M: alive.
            let id = unsafe { (*p).id };
            if id >= self.nslots {
                return None;
            }
            // SAFETY: id < nslots <= SLOTS.
            Some(unsafe { self.slots.get_unchecked(id as usize) })
        }
        #[cfg(loom)]
        None
    }

    /// The readers inside (see *Readers count themselves in slots*): never below the
    /// true number.
    #[inline(never)]
    fn readers(&self) -> i64 {
        let n = self.nslots as usize;
        let mut u = self.shared.unlocks.load(SeqCst);
        for s in &self.slots[..n] {
            u = u.wrapping_add(s.unlocks.load(Acquire));
        }
        let mut l = self.shared.locks.load(SeqCst);
        for s in &self.slots[..n] {
            l = l.wrapping_add(s.locks.load(Acquire));
        }
        l.wrapping_sub(u) as i64
    }

    /// A reader changed its slot while the gate was not 0: wakes a writer that waits
    /// for the readers if none is left. See *The writer's gate*.
    #[cold]
    #[inline(never)]
    fn departed(&self) {
        fence(SeqCst);
        if self.wwait.load(SeqCst) != 0
            && self.readers() <= 0
            && self.wwait.compare_exchange(1, 0, AcqRel, Relaxed).is_ok()
        {
            self.writer_sem.release();
        }
    }

    /// Takes back a count made in slot `s` by this M just now.
    #[cold]
    #[inline(never)]
    fn undo(&self, s: &Slot) {
        s.unlocks.store(s.unlocks.load(Relaxed).wrapping_add(1), Release);
        self.departed();
    }

    /// Locks for reading (Go's RLock): a plain load and store to the P's slot and a
    /// load of the gate, unless a writer holds the lock or waits for it. `Perm` on g0
    /// if it would wait; `Shutdown` for a foreign thread when the runtime stops (not
    /// locked then).
    /// Can be executed by anyone.
    #[inline]
    pub(crate) fn rlock(&self) -> Result<()> {
        if self.rlock_slot() {
            return Ok(());
        }
        self.rlock_shared()
    }

    /// The readers' fast path: counts the caller in its P's slot and keeps the count if
    /// the bias is still on (true); otherwise takes it back (false, not locked). False
    /// at once without a slot.
    #[inline(always)]
    fn rlock_slot(&self) -> bool {
        if let Some(s) = self.my_slot() {
            s.locks.store(s.locks.load(Relaxed).wrapping_add(1), Relaxed);
            // The CPU's half of this fence is the writer's (asym.rs).
            compiler_fence(SeqCst);
            if self.gate.load(Acquire) == BIAS {
                return true;
            }
            self.undo(s);
        }
        false
    }

    /// The rest of an inline read-lock that found the gate not at `BIAS` and took its
    /// count back with the `unlocks` store (*The inline fast path*): wakes a writer
    /// that waits for it, then locks in `shared` as `rlock` would.
    /// Can be executed by anyone.
    #[cold]
    #[inline(never)]
    pub(crate) fn rlock_after_undo(&self) -> Result<()> {
        self.departed();
        self.rlock_shared()
    }

    /// The rest of an inline read-unlock that found a writer bit in the gate: wakes
    /// the writer if it was the last reader (*The inline fast path*).
    /// Can be executed by anyone.
    #[cold]
    #[inline(never)]
    pub(crate) fn runlock_departed(&self) {
        self.departed();
    }

    /// rlock in the shared slot.
    #[cold]
    #[inline(never)]
    fn rlock_shared(&self) -> Result<()> {
        if self.shared_try() {
            crate::runtime::tools::acquire(self.addr());
            return Ok(());
        }
        self.rlock_wait()
    }

    /// Counts a reader in `shared`, then loads the gate (sequentially consistent, as
    /// the writer's gate swap and its loads of `shared`): true if no writer is there;
    /// else takes the count back and gives false.
    #[inline]
    fn shared_try(&self) -> bool {
        let n = self.shared.locks.fetch_add(1, SeqCst);
        let g = self.gate.load(SeqCst);
        if g & WRITER == 0 {
            if g == 0 && self.nslots != 0 && n % REBIAS_EVERY == 0 {
                self.maybe_rebias();
            }
            return true;
        }
        self.shared.unlocks.fetch_add(1, SeqCst);
        self.departed();
        false
    }

    /// Re-arms the reader bias once the inhibition after the last revocation is over,
    /// if the caller could use a P slot (readers that cannot would only make the next
    /// writer fence for nothing). Only while no writer is there: under `w` (see
    /// *Reader bias*).
    #[cold]
    #[inline(never)]
    fn maybe_rebias(&self) {
        if self.my_slot().is_some() {
            self.rebias_if_due();
        }
    }

    /// The re-arming of `maybe_rebias`, once the inhibition is over.
    fn rebias_if_due(&self) {
        if crate::runtime::time::nanotime() < self.inhibit_until.load(Relaxed) || self.w().trylock().is_err()
        {
            return;
        }
        self.wl.lock();
        if self.gate.load(Relaxed) == 0 {
            self.gate.store(BIAS, Release);
        }
        // SAFETY: locked.
        unsafe { self.wl.unlock() };
        let _ = self.w().unlock();
    }

    /// A reader that found the gate closed (and took its count back) waits for the
    /// writer's unlock, which counts it in. See *The writer's gate*.
    #[cold]
    #[inline(never)]
    fn rlock_wait(&self) -> Result<()> {
        loop {
            self.wl.lock();
            if self.gate.load(Relaxed) & WRITER != 0 {
                break;
            }
            // SAFETY: locked.
            unsafe { self.wl.unlock() };
            // The writer left meanwhile (its gate is opened under `wl`): count in, then
            // look again, as any reader (a next writer closes the gate without `wl`).
            if self.shared_try() {
                crate::runtime::tools::acquire(self.addr());
                return Ok(());
            }
        }
        // Under `wl` with the gate closed: the writer's unlock (under `wl`) counts us.
        let gen = self.wgen.load(Relaxed);
        self.rwait.store(self.rwait.load(Relaxed) + 1, Relaxed);
        // SAFETY: locked.
        unsafe { self.wl.unlock() };
        if let Err(e) = self.reader_sem.acquire(c"sync.RWMutex.RLock") {
            self.rlock_cannot_wait(gen);
            return Err(e);
        }
        // The unlock counted us in `shared`; move the count to our P's slot, where we
        // will most likely read-unlock (see *Misuse*). The slot first: `readers()` that
        // sees the `shared` unlock sees the slot's lock too (it loads unlocks first).
        if let Some(s) = self.my_slot() {
            s.locks.store(s.locks.load(Relaxed).wrapping_add(1), Relaxed);
            self.shared.unlocks.fetch_add(1, SeqCst);
        }
        crate::runtime::tools::acquire(self.addr());
        Ok(())
    }

    /// A reader in `rwait` that may not wait (g0, shutdown) takes itself out again. If
    /// the writer's unlock came first (`wgen` moved), it counted us in and a permit of
    /// ours is on its way to `reader_sem`: we take it (the writer gives it right after
    /// its unlock of `wl`) and read-unlock as a reader that had the lock.
    #[cold]
    fn rlock_cannot_wait(&self, gen: u64) {
        self.wl.lock();
        let still = self.wgen.load(Relaxed) == gen;
        if still {
            self.rwait.store(self.rwait.load(Relaxed) - 1, Relaxed);
        }
        // SAFETY: locked.
        unsafe { self.wl.unlock() };
        if !still {
            while !self.reader_sem.try_acquire() {
                core::hint::spin_loop();
            }
            let _ = self.runlock_shared();
        }
    }

    /// Locks for reading if no writer holds or waits for the lock (Go's TryRLock):
    /// `Again` otherwise. Never blocks.
    pub(crate) fn try_rlock(&self) -> Result<()> {
        let g = self.gate.load(Acquire);
        if g & WRITER != 0 {
            return Err(Error::Again);
        }
        if g == BIAS && self.rlock_slot() {
            return Ok(());
        }
        self.shared.locks.fetch_add(1, SeqCst);
        if self.gate.load(SeqCst) & WRITER == 0 {
            crate::runtime::tools::acquire(self.addr());
            return Ok(());
        }
        self.shared.unlocks.fetch_add(1, SeqCst);
        self.departed();
        Err(Error::Again)
    }

    /// Unlocks one reader (Go's RUnlock); the last reader a waiting writer waits for
    /// lets it in. `Perm` if no reader holds the lock (nothing changes; see *Misuse*).
    /// Can be executed by anyone; never blocks.
    #[inline]
    pub(crate) fn runlock(&self) -> Result<()> {
        if let Some(s) = self.my_slot() {
            if s.own() < 1 {
                // Not this slot's read lock: count the unlock in `shared` (see *Misuse*).
                return self.runlock_counted(true);
            }
            s.unlocks.store(s.unlocks.load(Relaxed).wrapping_add(1), Release);
            compiler_fence(SeqCst);
            if self.gate.load(Relaxed) & WRITER != 0 {
                self.departed();
            }
            return Ok(());
        }
        self.runlock_shared()
    }

    /// runlock in the shared slot.
    #[cold]
    #[inline(never)]
    fn runlock_shared(&self) -> Result<()> {
        self.runlock_counted(false)
    }

    /// runlock counted in the shared slot; `elsewhere`: the caller's P slot has no read
    /// lock outstanding, so the lock was counted in another slot.
    #[cold]
    #[inline(never)]
    fn runlock_counted(&self, elsewhere: bool) -> Result<()> {
        if (elsewhere || self.shared.own() < 1) && self.readers() < 1 {
            return Err(Error::Perm);
        }
        crate::runtime::tools::release(self.addr());
        self.shared.unlocks.fetch_add(1, SeqCst);
        if self.gate.load(SeqCst) & WRITER != 0 {
            self.departed();
        }
        Ok(())
    }

    /// Closes the gate for new readers. If the reader bias was on, revokes it: the
    /// asymmetric fence (asym.rs) makes every P slot reader's count visible, and the
    /// bias stays off for a while. The caller holds `w`. Returns true if it fenced.
    fn announce(&self) -> bool {
        // Sequentially consistent, as the shared slot's adds and gate loads of readers
        // (`shared_try`) and the loads of `shared` in `readers()`: of a reader and the
        // writer, one sees the other. Without `wl`: only its holder opens the gate.
        let old = self.gate.swap(PENDING, SeqCst);
        if old & BIAS == 0 {
            return false;
        }
        let t0 = crate::runtime::time::nanotime();
        asym::heavy();
        let t1 = crate::runtime::time::nanotime();
        self.inhibit_until.store(t1 + INHIBIT_FACTOR * (t1 - t0), Relaxed);
        true
    }

    /// The writer found readers inside: the ones in P slots read-unlock with a plain
    /// store and a compiler fence, so unless `announce` fenced, fence now, before
    /// `wwait` (see *Reader bias*).
    fn fence_for_wait(&self, fenced: bool) {
        if !fenced && self.nslots != 0 {
            asym::heavy();
        }
    }

    /// Opens the gate: the readers that waited for it are counted in and released.
    /// The caller holds `w` and `wl`; `wl` is released here.
    fn open(&self) {
        // Both are written under `wl` only.
        let n = self.rwait.load(Relaxed);
        self.rwait.store(0, Relaxed);
        self.wgen.store(self.wgen.load(Relaxed).wrapping_add(1), Relaxed);
        if n > 0 {
            self.shared.locks.fetch_add(n as u64, SeqCst);
        }
        self.gate.store(0, Release);
        // SAFETY: the caller's contract.
        unsafe { self.wl.unlock() };
        for _ in 0..n {
            self.reader_sem.release();
        }
    }

    /// Locks for writing (Go's Lock): takes `w`, closes the gate (new readers wait
    /// from now on) and waits for the readers inside to leave. `Perm` on g0 if it
    /// would wait (then nothing changes); `Shutdown` for a foreign thread when the
    /// runtime stops (nothing changes either).
    /// Can be executed by anyone (g0 only if it need not wait).
    pub(crate) fn lock(&self) -> Result<()> {
        if Ctx::new().kind == Kind::G0 {
            return self.try_lock().map_err(|_| Error::Perm);
        }
        self.w().lock()?;
        let fenced = self.announce();
        if self.readers() > 0 {
            self.fence_for_wait(fenced);
            self.wwait.store(1, SeqCst);
            fence(SeqCst);
            if self.readers() > 0 {
                if let Err(e) = self.writer_sem.acquire(c"sync.RWMutex.Lock") {
                    if self.wwait.swap(0, AcqRel) == 0 {
                        // The last reader woke us meanwhile: take its permit.
                        while !self.writer_sem.try_acquire() {
                            core::hint::spin_loop();
                        }
                    }
                    self.wl.lock();
                    self.open();
                    let _ = self.w().unlock();
                    return Err(e);
                }
            } else if self.wwait.swap(0, AcqRel) == 0 {
                // A departing reader cleared it and releases us: take that permit.
                while !self.writer_sem.try_acquire() {
                    core::hint::spin_loop();
                }
            }
        }
        fence(Acquire);
        self.gate.store(HELD, Relaxed);
        crate::runtime::tools::acquire(self.addr());
        Ok(())
    }

    /// Locks for writing if nobody holds the lock (Go's TryLock): `Again` otherwise.
    /// Never blocks.
    pub(crate) fn try_lock(&self) -> Result<()> {
        self.w().trylock()?;
        if self.readers() > 0 {
            let _ = self.w().unlock();
            return Err(Error::Again);
        }
        self.announce();
        if self.readers() > 0 {
            self.wl.lock();
            self.open();
            let _ = self.w().unlock();
            return Err(Error::Again);
        }
        fence(Acquire);
        self.gate.store(HELD, Relaxed);
        crate::runtime::tools::acquire(self.addr());
        Ok(())
    }

    /// Unlocks the writer (Go's Unlock): lets in the readers that waited meanwhile,
    /// then the next writer. `Perm` if no writer holds it (nothing changes).
    /// Can be executed by anyone (not only the party that locked); never blocks.
    pub(crate) fn unlock(&self) -> Result<()> {
        self.wl.lock();
        if self.gate.load(Relaxed) != HELD {
            // SAFETY: locked.
            unsafe { self.wl.unlock() };
            return Err(Error::Perm);
        }
        crate::runtime::tools::release(self.addr());
        self.open();
        self.w().unlock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misuse_is_refused_and_changes_nothing() {
        let p = RwMutex::new();
        // SAFETY: ours until freed.
        let rw = unsafe { &*p };
        assert_eq!(rw.runlock(), Err(Error::Perm));
        assert_eq!(rw.unlock(), Err(Error::Perm));
        assert_eq!(rw.readers(), 0);
        rw.rlock().unwrap();
        assert_eq!(rw.unlock(), Err(Error::Perm));
        assert_eq!(rw.try_lock(), Err(Error::Again));
        // SAFETY: still ours.
        assert_eq!(unsafe { RwMutex::free(p) }, Err(Error::Busy));
        rw.runlock().unwrap();
        assert_eq!(rw.runlock(), Err(Error::Perm));
        rw.lock().unwrap();
        assert_eq!(rw.runlock(), Err(Error::Perm));
        assert_eq!(rw.try_rlock(), Err(Error::Again));
        rw.unlock().unwrap();
        assert_eq!((rw.readers(), rw.gate.load(Relaxed), rw.rwait.load(Relaxed)), (0, 0, 0));
        // SAFETY: unused from now on.
        unsafe { RwMutex::free(p).unwrap() };
    }

    #[test]
    fn writer_revokes_the_bias_and_readers_rearm_it() {
        let p = RwMutex::new();
        // SAFETY: ours until freed.
        let rw = unsafe { &*p };
        if rw.nslots == 0 {
            return; // no membarrier here: no bias either
        }
        assert_eq!(rw.gate.load(Relaxed), BIAS);
        rw.lock().unwrap();
        assert_eq!(rw.gate.load(Relaxed), HELD);
        assert!(rw.inhibit_until.load(Relaxed) > 0);
        rw.unlock().unwrap();
        assert_eq!(rw.gate.load(Relaxed), 0);
        // Past the inhibition, reads by a thread without a P (no slot) leave it off...
        while crate::runtime::time::nanotime() <= rw.inhibit_until.load(Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for _ in 0..2 * REBIAS_EVERY {
            rw.rlock().unwrap();
            rw.runlock().unwrap();
        }
        assert_eq!(rw.gate.load(Relaxed), 0);
        // ...and a reader with a slot (here: the step it takes) re-arms it, with no
        // writer between lock and unlock.
        rw.w().lock().unwrap();
        rw.rebias_if_due();
        assert_eq!(rw.gate.load(Relaxed), 0);
        rw.w().unlock().unwrap();
        rw.rebias_if_due();
        assert_eq!(rw.gate.load(Relaxed), BIAS);
        assert_eq!(rw.readers(), 0);
        // A writer revokes it again, and the lock is whole.
        rw.rlock().unwrap();
        assert_eq!(rw.try_lock(), Err(Error::Again));
        rw.runlock().unwrap();
        rw.try_lock().unwrap();
        rw.unlock().unwrap();
        // SAFETY: unused from now on.
        unsafe { RwMutex::free(p).unwrap() };
    }

    #[test]
    fn threads_read_together_and_write_alone() {
        let p = RwMutex::new() as usize;
        static CELLS: [core::sync::atomic::AtomicU64; 2] =
            [core::sync::atomic::AtomicU64::new(0), core::sync::atomic::AtomicU64::new(0)];
        let ts: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    // SAFETY: freed after the joins.
                    let rw = unsafe { &*(p as *const RwMutex) };
                    for i in 0..5_000u64 {
                        if (i + t) % 4 == 0 {
                            rw.lock().unwrap();
                            let a = CELLS[0].load(Relaxed);
                            std::hint::spin_loop();
                            CELLS[0].store(a + 1, Relaxed);
                            CELLS[1].store(a + 1, Relaxed);
                            rw.unlock().unwrap();
                        } else {
                            rw.rlock().unwrap();
                            assert_eq!(CELLS[0].load(Relaxed), CELLS[1].load(Relaxed), "torn read");
                            rw.runlock().unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(CELLS[0].load(Relaxed), 5_000);
        // SAFETY: all threads joined.
        unsafe { RwMutex::free(p as *mut RwMutex).unwrap() };
    }
}
