//! The goroutine: `G`, its states, the table of all Gs, handles, and the free lists.
//!
//! # Ownership of a G
//!
//! A G is owned by exactly one party at a time, and only the owner writes its
//! non-atomic fields:
//! - `Runnable`: the run queue it sits on (a P's ring or `runnext`, or the global
//!   queue); whoever dequeues it becomes the owner.
//! - `Running`: the M in `g.m` (which has a P). The G owns its stack.
//! - `Waiting`: the object it is recorded in (a `gs_park` caller's structure, a
//!   sudog, a timer). Exactly one `ready` may make it `Runnable` again; for parks made
//!   through `gs_park`, the winner is whoever swaps `park_token` from the G's goid to 0.
//! - `Dead`: the free list it is on (a P's cache of `Runtime::gfree`, or its global
//!   list), or nobody while `goexit0` moves it there.
//!
//! Legal transitions: Idle -> Runnable (newproc); Runnable -> Running (execute);
//! Running -> Runnable (gosched_m, preemption); Running -> Waiting (park_m);
//! Waiting -> Runnable (ready); Waiting -> Running (park_m when unlockf says no);
//! Running -> Dead (goexit0); Dead -> Runnable (newproc reusing it).
//!
//! # Copied arguments
//!
//! `gs_go_copy` copies the caller's argument bytes into the goroutine, as Go's
//! `go f(x, y)` does, so that the caller has no allocation to free. Up to
//! `ARGS_INLINE` bytes wait in the G itself (`park.args`: a G parks only after it
//! has run); bigger ones are written at once at the top of a stack given to the G in
//! newproc. Either way `startarg` points at them and `GFLAG_ARGS` is set, so that
//! making and starting other goroutines never reads the G's third 64 bytes. When
//! the G first runs, `gstart` leaves them at the top of its stack, 16-byte aligned,
//! and passes their address: they live as long as the goroutine.
//!
//! # Handles
//!
//! `gs_g*` handles are not pointers: a handle is `goid << SLOT_BITS | slot`, where
//! `slot` indexes `AllGs` (G memory is never freed before shutdown) and `goid` is
//! unique for the life of the process. A handle whose goid is not the G's current one
//! (the G exited and was reused) is stale and wakes nobody.

use super::stack::Stack;
use core::ffi::{c_char, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

/// Goroutine states (Go's `_G*`). See *Ownership of a G* above.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum Gstatus {
    /// Just allocated, not yet initialized. Owned by its allocator.
    Idle = 0,
    /// On a run queue, not running. The stack is not owned; the dequeuer takes it.
    Runnable = 1,
    /// Running on `g.m`. Owns its stack. On no queue.
    Running = 2,
    /// Parked by `park_m`. On no run queue, recorded where one `ready` will find it.
    Waiting = 3,
    /// In a blocking call (`gs_entersyscall`); still on its M, its P may be taken.
    Syscall = 4,
    /// Exited; on a free list with (usually) its stack.
    Dead = 5,
}

impl Gstatus {
    /// Every state, by value.
    pub(crate) const ALL: [Gstatus; 6] = [
        Gstatus::Idle,
        Gstatus::Runnable,
        Gstatus::Running,
        Gstatus::Waiting,
        Gstatus::Syscall,
        Gstatus::Dead,
    ];

    pub(crate) const fn from_u32(v: u32) -> Gstatus {
        match v {
            1 => Gstatus::Runnable,
            2 => Gstatus::Running,
            3 => Gstatus::Waiting,
            4 => Gstatus::Syscall,
            5 => Gstatus::Dead,
            _ => Gstatus::Idle,
        }
    }
    /// The name dumps show (gs_dump, and debuggers through gs_debug_layout).
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Gstatus::Idle => "idle",
            Gstatus::Runnable => "runnable",
            Gstatus::Running => "running",
            Gstatus::Waiting => "waiting",
            Gstatus::Syscall => "syscall",
            Gstatus::Dead => "dead",
        }
    }
}

/// A C callback run on g0 after the G is marked waiting (`gs_unlockf`).
pub(crate) type UnlockFn = unsafe extern "C" fn(*mut c_void, *mut c_void) -> bool;

/// `G::flags` bits.
pub(crate) const GFLAG_HOST: u32 = 0x1;
/// GS_GO_GIL: the G runs under a lock one thread holds at a time (see gil.rs).
pub(crate) const GFLAG_GIL: u32 = 0x2;
/// Internal: the main goroutine of `gs_main` (`main_m` is set). Not a GS_GO_* flag.
pub(crate) const GFLAG_MAIN: u32 = 0x8000_0000;
/// Internal: the G has copied start arguments that it has not run with yet
/// (`argsize`; `startarg` is where they wait). See *Copied arguments*.
pub(crate) const GFLAG_ARGS: u32 = 0x4000_0000;
/// Internal: the G's C++ exception state is saved in its `GExt` (cxxabi.rs).
pub(crate) const GFLAG_CXA: u32 = 0x2000_0000;
/// Internal: the G has goroutine-local values in its `GExt` (gls.rs).
pub(crate) const GFLAG_KEYS: u32 = 0x1000_0000;

/// What few goroutines need, kept out of `G` (whose three cache lines are full) in
/// a side table of `AllGs`, one per slot, allocated the first time a G of that slot
/// needs it and kept for the slot's next lives. Each part is meaningful only while
/// its flag (`GFLAG_CXA`, `GFLAG_KEYS`) is set in the G; newproc clears the flags, so
/// a new life starts with none. Owner of the G only.
#[derive(Default)]
pub(crate) struct GExt {
    /// The C++ exception state while the G is switched out (cxxabi.rs).
    pub(crate) cxa: super::cxxabi::EhState,
    /// Goroutine-local values by key index (gls.rs).
    pub(crate) keys: Vec<super::gls::Value>,
}

/// Why a parked G was resumed (`G::param`). Every value is written here once.
/// A word wide, as the field it replaced: the layout of `G` stays as drawn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
pub(crate) enum WakeParam {
    /// Readied by whoever owned its wakeup (the default).
    Readied,
    /// A timed park whose timer won the wakeup (timer.rs).
    TimedOut,
    /// A user park (gs_park) whose unlockf returned false: park_m won its own park
    /// token and resumed it at once (park.rs).
    ResumedAtOnce,
}

/// A goroutine. `sched_sp` must stay the first field (the assembly gets its address).
/// What every switch touches comes in the first 64 bytes (see prefetch.rs), what
/// parking touches in the next 64. Gs live in `AllGs` segments, not on the heap, so
/// aligning them to a cache line costs nothing (a `memalign` per G would cost more
/// than the rest of a spawn).
#[repr(C, align(64))]
pub(crate) struct G {
    /// Saved context: sp of the frame described in `asm/<arch>.S`. Written by the
    /// switch, read by `gogo`. Meaningful only while the G is not running.
    pub(crate) sched_sp: usize,
    /// `Gstatus` as u32. Written by the owner; read by anyone (stats, dumps).
    pub(crate) status: AtomicU32,
    /// `GFLAG_*`; set by newproc.
    pub(crate) flags: u32,
    /// The M running this G; null unless Running/Syscall. Owner only.
    pub(crate) m: *mut super::m::M,
    /// Set by `gs_lock_os_thread`: the only M allowed to run this G. Owner only.
    pub(crate) lockedm: *mut super::m::M,
    /// Function and argument of the goroutine; `sched_sp == 0` until it first runs.
    pub(crate) startfn: usize,
    pub(crate) startarg: usize,
    /// Lowest saved sp seen since the stack was (re)used: tells `gfput` how deep the
    /// stack went. Owner only.
    pub(crate) stack_lowest: usize,
    /// Why the G was resumed from its last park (Go's `gp.param`): set by whoever
    /// won its wakeup, read by the G after it. Owner only.
    pub(crate) param: WakeParam,
    // Second 64 bytes: the stack, identity, name and park bookkeeping; with the first,
    // all that making and ending a goroutine touches.
    /// The G's stack; empty while the G is dead without one. Owner only.
    pub(crate) stack: Stack,
    /// Unique id, > 0. Written by newproc before the G is published; read by anyone.
    pub(crate) goid: AtomicU64,
    /// While parked through `gs_park`: the goid. Swapped to 0 by the single winner
    /// among `gs_ready`, the timeout and `park_m` itself (unlockf said no). Only
    /// through `parktoken()` (park.rs).
    pub(crate) park_token: crate::loom::atomic::AtomicU64,
    /// Why the G waits (Go's waitreason): a NUL-terminated string that outlives the wait.
    pub(crate) waitreason: AtomicPtr<c_char>,
    /// Name given in gs_go_with, NUL-terminated; null if none (always null while the
    /// G is dead: gfput frees it). Freed when the G is reused.
    pub(crate) name: AtomicPtr<c_char>,
    /// Index in `AllGs`; fixed for the G's life.
    pub(crate) slot: u32,
    /// Nesting depth of `gs_lock_os_thread`.
    pub(crate) lockcount: u32,
    // Third 64 bytes: touched when parking, or rarely.
    /// Intrusive link for run queues and free lists. Owner only.
    pub(crate) schedlink: *mut G,
    /// For the main goroutine of `gs_main`: the M that waits for it to end.
    pub(crate) main_m: *mut super::m::M,
    /// `nanotime()` when the G last parked; read by dumps.
    pub(crate) waitsince: AtomicU64,
    /// `PARKING_*` of park.rs: set by the G before a park whose commit does work after
    /// the user's unlockf; the hand-over between park_m and a waker. Only through
    /// `parktoken()` (park.rs).
    pub(crate) parking: crate::loom::atomic::AtomicU32,
    /// True for parks made through the public `gs_park` (readiable by `gs_ready`).
    pub(crate) park_user: bool,
    /// Requested by sysmon: this G ran longer than its time slice.
    pub(crate) preempt: AtomicBool,
    /// Bytes of start arguments copied by `gs_go_copy`; meaningful while `GFLAG_ARGS`
    /// is set. See *Copied arguments*.
    pub(crate) argsize: u16,
    /// Before the G first runs, its copied arguments (when they fit); afterwards the
    /// park arguments. Owner only.
    pub(crate) park: ParkArgs,
}

/// Copied start arguments of up to this many bytes wait in the G itself.
pub(crate) const ARGS_INLINE: usize = 32;

/// Park arguments, passed from `gs_park` to `park_m` on g0.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct ParkCall {
    pub(crate) unlockf: Option<UnlockFn>,
    pub(crate) lock: *mut c_void,
}

/// The G's last 32 bytes: what a G that has not run yet and a G that parks need are
/// never needed at once (`gstart` moves the arguments to the stack before the G runs).
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) union ParkArgs {
    pub(crate) call: ParkCall,
    pub(crate) args: [u8; ARGS_INLINE],
}

// The switch path's fields fill the first 64 bytes; the assembly needs sched_sp first.
// (Not under loom, whose atomics are bigger.)
#[cfg(not(loom))]
const _: () = {
    assert!(core::mem::offset_of!(G, sched_sp) == 0);
    assert!(core::mem::offset_of!(G, param) + 8 <= 64);
    assert!(core::mem::offset_of!(G, lockcount) + 4 <= 128);
    assert!(core::mem::size_of::<G>() == 192);
};

// SAFETY: a G is handed between threads by the scheduler; the ownership rules at the
// top of this file say which thread may touch which field.
unsafe impl Send for G {}
// SAFETY: as above; shared fields are atomics.
unsafe impl Sync for G {}

impl G {
    /// A dead-to-be G for `slot`, in state Idle.
    pub(crate) fn new(slot: u32) -> G {
        super::tools::gnew(slot);
        G {
            sched_sp: 0,
            stack: Stack::EMPTY,
            stack_lowest: usize::MAX,
            status: AtomicU32::new(Gstatus::Idle as u32),
            goid: AtomicU64::new(0),
            slot,
            flags: 0,
            park_token: crate::loom::atomic::AtomicU64::new(0),
            parking: crate::loom::atomic::AtomicU32::new(0),
            schedlink: null_mut(),
            m: null_mut(),
            lockedm: null_mut(),
            lockcount: 0,
            argsize: 0,
            park: ParkArgs { call: ParkCall { unlockf: None, lock: null_mut() } },
            park_user: false,
            waitreason: AtomicPtr::new(null_mut()),
            waitsince: AtomicU64::new(0),
            param: WakeParam::Readied,
            startfn: 0,
            startarg: 0,
            name: AtomicPtr::new(null_mut()),
            main_m: null_mut(),
            preempt: AtomicBool::new(false),
        }
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn new_boxed(slot: u32) -> *mut G {
        Box::into_raw(Box::new(G::new(slot)))
    }

    #[inline]
    pub(crate) fn status(&self) -> Gstatus {
        Gstatus::from_u32(self.status.load(Acquire))
    }

    /// Moves the G from `from` to `to`; a G in another state is a broken invariant.
    #[inline]
    pub(crate) fn casgstatus(&self, from: Gstatus, to: Gstatus) {
        if cfg!(debug_assertions) {
            if let Err(cur) = self.status.compare_exchange(from as u32, to as u32, AcqRel, Acquire) {
                super::throw::fatal(&format!(
                    "casgstatus: goroutine {} is {:?}, expected {:?} -> {:?}",
                    self.goid.load(Relaxed),
                    Gstatus::from_u32(cur),
                    from,
                    to
                ));
            }
        } else {
            self.status.store(to as u32, Release);
        }
    }

    #[inline]
    pub(crate) fn goid(&self) -> u64 {
        self.goid.load(Relaxed)
    }

    /// The G's park token (see `ParkToken` in park.rs).
    #[inline]
    pub(crate) fn parktoken(&self) -> super::park::ParkToken<'_> {
        super::park::ParkToken::new(&self.park_token, &self.parking)
    }

    /// The handle of this G as given to C (`gs_g*`).
    #[inline]
    pub(crate) fn handle(&self) -> usize {
        ((self.goid() as usize) << SLOT_BITS) | self.slot as usize
    }

    /// Replaces the name (copied; NULL clears it).
    pub(crate) fn set_name(&self, name: *const c_char) {
        if name.is_null() && self.name.load(Relaxed).is_null() {
            return; // the common case, without an atomic swap
        }
        let new = if name.is_null() {
            null_mut()
        } else {
            // SAFETY: the caller passes a NUL-terminated string (API contract).
            let s = unsafe { core::ffi::CStr::from_ptr(name) };
            s.to_owned().into_raw()
        };
        let old = self.name.swap(new, AcqRel);
        if !old.is_null() {
            // SAFETY: `old` came from CString::into_raw above and nobody else frees it.
            // Dumps that read it race only with the G's own reuse, which they tolerate by
            // reading a G snapshot under the same rules as Go's (best effort).
            drop(unsafe { std::ffi::CString::from_raw(old) });
        }
    }

    /// The name as a Rust string, or "".
    pub(crate) fn name_string(&self) -> String {
        let p = self.name.load(Acquire);
        if p.is_null() {
            return String::new();
        }
        // SAFETY: a name stays valid while its G is not reused.
        unsafe { core::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Bits of a handle that hold the slot; the rest is the goid.
pub(crate) const SLOT_BITS: u32 = 26;
/// A slot's segment is `slot >> SEG_SHIFT`, its index there the low bits.
pub(crate) const SEG_SHIFT: u32 = 12;
const SEG_LEN: usize = 1 << SEG_SHIFT;
pub(crate) const NSEGS: usize = 1 << (SLOT_BITS - SEG_SHIFT);

/// One segment of `AllGs`: `SEG_LEN` Gs in a single lazily committed mapping, so
/// that making a G costs no `malloc` (whose arena, grown a page at a time by
/// `mprotect`, was a system call every 20 new Gs) and Gs sit on cache-line
/// boundaries. `published[i]` points at `gs[i]` once that G is initialized.
#[repr(C)]
struct Seg {
    published: [AtomicPtr<G>; SEG_LEN],
    /// `GExt` of each slot, null until first needed (committed only where used).
    ext: [AtomicPtr<GExt>; SEG_LEN],
    gs: [core::mem::MaybeUninit<G>; SEG_LEN],
}

/// Every G ever allocated by one runtime, indexed by slot. Segments never move, so
/// lookups need no lock. Gs are freed only by `free_all` at shutdown.
pub(crate) struct AllGs {
    segs: Box<[AtomicPtr<Seg>]>,
    len: AtomicUsize,
}

/// Where `AllGs` keeps its segments (the data pointer of `segs`, a boxed slice) and
/// its `len`, and where a segment keeps its `published` array: for debuggers, which
/// walk the table from a core file (see debugger.rs).
pub(crate) const ALLGS_SEGS_OFFSET: usize = core::mem::offset_of!(AllGs, segs);
pub(crate) const ALLGS_LEN_OFFSET: usize = core::mem::offset_of!(AllGs, len);
pub(crate) const SEG_PUBLISHED_OFFSET: usize = core::mem::offset_of!(Seg, published);

impl AllGs {
    pub(crate) fn new() -> AllGs {
        let segs = (0..NSEGS).map(|_| AtomicPtr::new(null_mut())).collect();
        AllGs { segs, len: AtomicUsize::new(0) }
    }

    /// Number of slots handed out.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire).min(SEG_LEN * NSEGS)
    }

    /// Segment `i`, mapped on first use; null if the kernel refuses the mapping.
    fn seg(&self, i: usize) -> *mut Seg {
        let s = &self.segs[i];
        let p = s.load(Acquire);
        if !p.is_null() {
            return p;
        }
        // Zeroed memory is a valid Seg: null `published` pointers, uninitialized Gs.
        let Some(fresh) = super::stack::map_anon(core::mem::size_of::<Seg>(), 0) else {
            return null_mut();
        };
        super::tools::runtime_memory(fresh, core::mem::size_of::<Seg>());
        let fresh = fresh as *mut Seg;
        match s.compare_exchange(null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => fresh,
            Err(won) => {
                // SAFETY: `fresh` was never published; unmap it whole.
                unsafe { libc::munmap(fresh as *mut _, core::mem::size_of::<Seg>()) };
                won
            }
        }
    }

    /// Allocates a new G in a new slot. None when every slot is used or the kernel
    /// refuses memory (the slot then stays empty: `get` gives null for it).
    pub(crate) fn alloc(&self) -> Option<*mut G> {
        let slot = self.len.fetch_add(1, AcqRel);
        if slot >= SEG_LEN * NSEGS {
            return None;
        }
        let seg = self.seg(slot >> SEG_SHIFT);
        if seg.is_null() {
            return None;
        }
        let i = slot & (SEG_LEN - 1);
        // SAFETY: the segment is mapped and slot i is ours alone (fetch_add above);
        // nobody reads gs[i] before `published[i]` is set.
        unsafe {
            let gp = (*seg).gs[i].as_mut_ptr();
            gp.write(G::new(slot as u32));
            (*seg).published[i].store(gp, Release);
            Some(gp)
        }
    }

    /// The G in `slot`, or null.
    pub(crate) fn get(&self, slot: usize) -> *mut G {
        if slot >= self.len() {
            return null_mut();
        }
        let seg = self.segs[slot >> SEG_SHIFT].load(Acquire);
        if seg.is_null() {
            return null_mut();
        }
        // SAFETY: the index is within the segment, which stays mapped until free_all.
        unsafe { (*seg).published[slot & (SEG_LEN - 1)].load(Acquire) }
    }

    /// The `GExt` of `g`'s slot, allocated on first use; valid until free_all.
    /// Executed by the owner of `g` only (see `GExt`), who alone may dereference it.
    pub(crate) fn ext(&self, g: &G) -> *mut GExt {
        let slot = g.slot as usize;
        let seg = self.segs[slot >> SEG_SHIFT].load(Acquire);
        // SAFETY: g lives in this segment, which stays mapped until free_all.
        let cell = unsafe { &(*seg).ext[slot & (SEG_LEN - 1)] };
        let mut p = cell.load(Acquire);
        if p.is_null() {
            p = Box::into_raw(Box::default());
            // Only the owner of the G writes its cell; free_all reads it when no M runs.
            cell.store(p, Release);
        }
        p
    }

    /// The G a handle names if the handle is current (not stale), else null.
    pub(crate) fn lookup_handle(&self, h: usize) -> *mut G {
        let slot = h & ((1 << SLOT_BITS) - 1);
        let goid = (h >> SLOT_BITS) as u64;
        if goid == 0 {
            return null_mut();
        }
        let gp = self.get(slot);
        // SAFETY: Gs in the table stay allocated until shutdown.
        if gp.is_null() || unsafe { (*gp).goid() } != goid {
            return null_mut();
        }
        gp
    }

    /// Calls `f` on every G.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&G)) {
        for slot in 0..self.len() {
            let gp = self.get(slot);
            if !gp.is_null() {
                // SAFETY: Gs in the table stay allocated until shutdown.
                f(unsafe { &*gp });
            }
        }
    }

    /// Frees every G and segment. Only at shutdown, when no M runs.
    pub(crate) fn free_all(&self) {
        for slot in 0..self.len() {
            let gp = self.get(slot);
            if !gp.is_null() {
                // SAFETY: nothing uses the G now; G has no Drop, its name is the only
                // thing it owns.
                unsafe { (*gp).set_name(core::ptr::null()) };
            }
        }
        for s in self.segs.iter() {
            let p = s.swap(null_mut(), AcqRel);
            if !p.is_null() {
                // SAFETY: the segment is mapped; no G uses its GExt any more.
                for cell in unsafe { (*p).ext.iter() } {
                    let e = cell.swap(null_mut(), AcqRel);
                    if !e.is_null() {
                        // SAFETY: made by Box::into_raw in `ext`, freed only here.
                        drop(unsafe { Box::from_raw(e) });
                    }
                }
                // SAFETY: mapped by `seg` with this size; no G in it is used any more.
                unsafe { libc::munmap(p as *mut _, core::mem::size_of::<Seg>()) };
            }
        }
        self.len.store(0, Release);
    }
}
