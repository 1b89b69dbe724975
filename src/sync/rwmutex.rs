//! Reader/writer mutexes (Go's sync.RWMutex, rwmutex.go).
//!
//! # State
//!
//! - `w`: a gosched mutex that writers hold from `lock` to `unlock`, so that one
//!   writer at a time gets to the readers.
//! - `reader_count`: the readers that hold it or wait for it; minus
//!   `RWMUTEX_MAX_READERS` while a writer holds it or waits for the readers to leave.
//!   A reader that finds it negative waits on `reader_sem`: so a waiting writer keeps
//!   new readers out and cannot starve.
//! - `reader_wait`: the readers a waiting writer still waits for (those that held the
//!   lock when it subtracted `RWMUTEX_MAX_READERS`); the last of them to unlock
//!   releases `writer_sem`.
//!
//! Go calls a read-unlock of a lock no reader holds, and an unlock of a lock no
//! writer holds, fatal errors; here they are refused with `Perm`. An unlock checks
//! with a compare-and-swap and changes nothing; a read-unlock subtracts (one atomic
//! add, as Go's) and adds the reader back when it finds none held the lock, so the
//! state is as before, unless a writer's lock ran in that window (then that writer
//! may wait for a reader that never was).
//!
//! # Who may not block
//!
//! On g0 (an unlockf, a timer function) a call that would wait gives `Perm` and
//! leaves the lock as it was: `lock` then only tries; a reader that counted itself in
//! while a writer held the lock takes itself out again (see `rlock_cannot_wait`).

use super::sema::Sema;
use super::waiter::{Ctx, Kind};
use super::{retire, ObjLock, MAGIC_FREED, MAGIC_OFFSET};
use crate::error::{Error, Result};
use crate::sync::mutex::Mutex;
use core::alloc::Layout;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering::*};

/// `magic` of a live RWMutex ("rwmx"). See *Handles* in mod.rs.
pub(crate) const MAGIC_RWMUTEX: u32 = u32::from_le_bytes(*b"rwmx");

/// Go's rwmutexMaxReaders: the most readers at once.
const RWMUTEX_MAX_READERS: i32 = 1 << 30;

/// The counters, on a cache line of their own: readers on several Ps write them at
/// every lock and unlock, and the handle check's read of `magic` must not pull that
/// line in shared first (a read, then a read-modify-write, moves a contended line
/// twice; Go's RLock moves it once).
#[repr(C, align(64))]
struct Counts {
    reader_count: AtomicI32,
    reader_wait: AtomicI32,
}

#[repr(C)]
pub(crate) struct RwMutex {
    /// Guards `free` against a racing free (the fields have their own protocols).
    lock: ObjLock,
    magic: AtomicU32,
    w: *mut Mutex,
    writer_sem: Sema,
    reader_sem: Sema,
    counts: Counts,
}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(RwMutex, magic) == MAGIC_OFFSET);

impl RwMutex {
    pub(crate) fn new() -> *mut RwMutex {
        Box::into_raw(Box::new(RwMutex {
            lock: ObjLock::new(),
            magic: AtomicU32::new(MAGIC_RWMUTEX),
            w: Mutex::new(),
            writer_sem: Sema::new(),
            reader_sem: Sema::new(),
            counts: Counts { reader_count: AtomicI32::new(0), reader_wait: AtomicI32::new(0) },
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
        } else if r.counts.reader_count.load(Acquire) != 0
            || r.counts.reader_wait.load(Acquire) != 0
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

    /// Locks for reading (Go's RLock): one atomic add unless a writer holds the lock
    /// or waits for it. `Perm` on g0 if it would wait; `Shutdown` for a foreign
    /// thread when the runtime stops (not locked then).
    /// Can be executed by anyone.
    #[inline]
    pub(crate) fn rlock(&self) -> Result<()> {
        if self.counts.reader_count.fetch_add(1, Acquire) + 1 < 0 {
            // A writer is pending: wait for it to let us in.
            if let Err(e) = self.reader_sem.acquire(c"sync.RWMutex.RLock") {
                self.rlock_cannot_wait();
                return Err(e);
            }
        }
        crate::runtime::tools::acquire(self as *const RwMutex as usize);
        Ok(())
    }

    /// A reader that counted itself in while a writer was pending, and may not wait
    /// (g0, shutdown), takes itself out again. While the writer still holds the lock,
    /// taking one off `reader_count` is enough: the writer's unlock releases only the
    /// readers counted then. If the writer's unlock came first, it counted us and a
    /// permit of ours is on its way to `reader_sem`: we take it (the writer gives it
    /// right after its count) and unlock as a reader that had the lock.
    #[cold]
    fn rlock_cannot_wait(&self) {
        let mut c = self.counts.reader_count.load(Relaxed);
        loop {
            if c >= 0 {
                while !self.reader_sem.try_acquire() {
                    core::hint::spin_loop();
                }
                let _ = self.runlock_inner();
                return;
            }
            match self.counts.reader_count.compare_exchange_weak(c, c - 1, AcqRel, Relaxed) {
                Ok(_) => return,
                Err(v) => c = v,
            }
        }
    }

    /// Locks for reading if no writer holds or waits for the lock (Go's TryRLock):
    /// `Again` otherwise. Never blocks.
    pub(crate) fn try_rlock(&self) -> Result<()> {
        let mut c = self.counts.reader_count.load(Relaxed);
        loop {
            if c < 0 {
                return Err(Error::Again);
            }
            match self.counts.reader_count.compare_exchange_weak(c, c + 1, Acquire, Relaxed) {
                Ok(_) => {
                    crate::runtime::tools::acquire(self as *const RwMutex as usize);
                    return Ok(());
                }
                Err(v) => c = v,
            }
        }
    }

    /// Unlocks one reader (Go's RUnlock); the last reader a waiting writer waits for
    /// lets it in. `Perm` if no reader holds the lock (nothing changes).
    /// Can be executed by anyone; never blocks.
    #[inline]
    pub(crate) fn runlock(&self) -> Result<()> {
        crate::runtime::tools::release(self as *const RwMutex as usize);
        self.runlock_inner()
    }

    #[inline]
    fn runlock_inner(&self) -> Result<()> {
        let r = self.counts.reader_count.fetch_sub(1, Release) - 1;
        if r < 0 {
            return self.runlock_slow(r);
        }
        Ok(())
    }

    /// Go's rUnlockSlow: a writer is pending (or this is a misuse, see *State*).
    #[cold]
    #[inline(never)]
    fn runlock_slow(&self, r: i32) -> Result<()> {
        if r + 1 == 0 || r + 1 == -RWMUTEX_MAX_READERS {
            // No reader held it: take the decrement back. (Go throws here. A
            // misuse that races with a writer's lock may still confuse that writer.)
            self.counts.reader_count.fetch_add(1, Relaxed);
            return Err(Error::Perm);
        }
        if self.counts.reader_wait.fetch_sub(1, AcqRel) == 1 {
            // The last reader the writer waits for.
            self.writer_sem.release();
        }
        Ok(())
    }

    /// Locks for writing (Go's Lock): takes `w`, announces itself to readers (new
    /// ones wait from now on) and waits for the readers inside to leave. `Perm` on g0
    /// if it would wait (then nothing changes); `Shutdown` for a foreign thread when
    /// the runtime stops.
    /// Can be executed by anyone (g0 only if it need not wait).
    pub(crate) fn lock(&self) -> Result<()> {
        if Ctx::new().kind == Kind::G0 {
            return self.try_lock().map_err(|_| Error::Perm);
        }
        self.w().lock()?;
        let r = self.counts.reader_count.fetch_add(-RWMUTEX_MAX_READERS, AcqRel);
        if r != 0 && self.counts.reader_wait.fetch_add(r, AcqRel) + r != 0 {
            self.writer_sem.acquire(c"sync.RWMutex.Lock")?;
        }
        crate::runtime::tools::acquire(self as *const RwMutex as usize);
        Ok(())
    }

    /// Locks for writing if nobody holds the lock (Go's TryLock): `Again` otherwise.
    /// Never blocks.
    pub(crate) fn try_lock(&self) -> Result<()> {
        self.w().trylock()?;
        if self.counts.reader_count.compare_exchange(0, -RWMUTEX_MAX_READERS, Acquire, Relaxed).is_err() {
            let _ = self.w().unlock();
            return Err(Error::Again);
        }
        crate::runtime::tools::acquire(self as *const RwMutex as usize);
        Ok(())
    }

    /// Unlocks the writer (Go's Unlock): lets in the readers that waited meanwhile,
    /// then the next writer. `Perm` if no writer holds it (nothing changes).
    /// Can be executed by anyone (not only the party that locked); never blocks.
    pub(crate) fn unlock(&self) -> Result<()> {
        crate::runtime::tools::release(self as *const RwMutex as usize);
        let mut c = self.counts.reader_count.load(Relaxed);
        loop {
            if c >= 0 {
                return Err(Error::Perm);
            }
            match self.counts.reader_count.compare_exchange_weak(c, c + RWMUTEX_MAX_READERS, Release, Relaxed)
            {
                Ok(_) => break,
                Err(v) => c = v,
            }
        }
        let r = c + RWMUTEX_MAX_READERS;
        for _ in 0..r {
            self.reader_sem.release();
        }
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
        assert_eq!(rw.counts.reader_count.load(Relaxed), 0);
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
        assert_eq!((rw.counts.reader_count.load(Relaxed), rw.counts.reader_wait.load(Relaxed)), (0, 0));
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
