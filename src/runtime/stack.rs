//! Goroutine stacks: lazily committed mappings with a guard page below each.
//!
//! C code keeps pointers into its stack, so stacks never move or grow (unlike Go's).
//! A stack is a range of virtual memory that the kernel commits page by page
//! as it is touched; RSS is the pages used, not the size.
//!
//! Stacks of the runtime's default size are carved from *slabs* of `SLAB_STACKS`
//! stacks, one mapping each, and are never unmapped before shutdown: a dead G keeps
//! its stack on the free lists (`gfput`), so spawning costs no system call. Stacks of
//! other sizes get a mapping of their own and are unmapped when their G dies.
//!
//! # Guard pages and the mapping budget
//!
//! The lowest page of every stack is its guard. In order of preference:
//! - `Madvise`: `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+) makes the page fault
//!   without splitting the mapping, so a slab stays one mapping however many guards.
//!   Carving installs the guards of the next `GUARD_BATCH` stacks in one
//!   `process_madvise` call where the kernel takes that advice through it (6.13+):
//!   half the cost of a call per stack, which skynet, with 14,000 stacks alive at
//!   its peak, notices. (Not a slab at once: slabs are mapped ahead for every live
//!   goroutine, most of which may never need a stack.)
//! - `Mprotect`: `mprotect(PROT_NONE)` splits the mapping in three, two more of the
//!   kernel's `vm.max_map_count` (65530 by default) per stack. Used while the guard
//!   budget (half of what was left when the runtime started) lasts; the other half
//!   stays for slabs and the program.
//! - `Canary`: no guard; a magic word at the stack's low end is checked at every
//!   switch, and a goroutine that overwrote it is reported as a stack overflow. With
//!   it 1,000,000 live goroutines work on a default kernel.
//!
//! `$GS_STACK_GUARD` (`madvise`, `mprotect`, `canary`) picks the first mode to try.
//!
//! This file knows nothing of signals: the SIGSEGV handler (`signal.rs`) asks the
//! current goroutine's `Stack` whether a fault address is its guard.

use super::lock::Mutex;
use crate::error::{Error, Result};
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering::*};

pub(crate) const PAGE: usize = 4096;
/// Default usable size of a goroutine stack (gs_config.stack_size in gosched.h).
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 << 10;
/// Smallest stack accepted from a user: the runtime's own frames plus a little.
pub(crate) const MIN_STACK_SIZE: usize = 16 << 10;
/// Largest stack accepted from a user.
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;

/// Is `n` a stack size gs_config and gs_go_opts accept?
pub(crate) fn valid_size(n: u64) -> bool {
    (MIN_STACK_SIZE as u64..=MAX_STACK_SIZE as u64).contains(&n)
}
/// Stacks per slab: 256 x 256 KiB = 64 MiB of address space per mapping.
const SLAB_STACKS: usize = 256;
/// Guards installed per `process_madvise` call while carving.
const GUARD_BATCH: usize = 32;
/// Magic word at the low end of a canary-checked stack.
pub(crate) const STACK_CANARY: u64 = 0x6773_5f73_7461_636b; // "gs_stack"
/// Pages kept committed when a dead G's stack is reused; deeper pages are given back.
pub(crate) const STACK_KEEP_BYTES: usize = 32 << 10;
/// `MADV_GUARD_INSTALL`, Linux 6.13; not yet in every libc.
const MADV_GUARD_INSTALL: libc::c_int = 102;
/// `PIDFD_SELF_THREAD_GROUP` (Linux 6.15): "this process" for pidfd calls.
const PIDFD_SELF_THREAD_GROUP: libc::c_int = -10001;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Guard {
    Madvise = 0,
    Mprotect = 1,
    Canary = 2,
}

/// A goroutine stack: usable memory is `[lo, hi)`; the guard page is `[lo - PAGE, lo)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stack {
    pub(crate) lo: usize,
    pub(crate) hi: usize,
    pub(crate) guard: Guard,
    /// A mapping of its own (non-default size), unmapped by `free`.
    pub(crate) own_map: bool,
}

impl Stack {
    pub(crate) const EMPTY: Stack = Stack { lo: 0, hi: 0, guard: Guard::Canary, own_map: false };

    pub(crate) fn is_empty(&self) -> bool {
        self.hi == 0
    }

    pub(crate) fn size(&self) -> usize {
        self.hi - self.lo
    }

    /// True if `addr` lies in this stack's guard page or just below it (a large frame
    /// can step over the page).
    pub(crate) fn is_overflow_addr(&self, addr: usize) -> bool {
        !self.is_empty() && addr < self.lo + 64 && addr + 64 * 1024 >= self.lo
    }

    /// False if a canary-checked stack's magic word was overwritten.
    #[inline]
    pub(crate) fn canary_ok(&self) -> bool {
        if self.guard != Guard::Canary || self.is_empty() {
            return true;
        }
        // SAFETY: lo is the first usable, mapped word of the stack.
        unsafe { (self.lo as *const u64).read_volatile() == STACK_CANARY }
    }

    fn write_canary(&self) {
        if self.guard == Guard::Canary {
            // SAFETY: lo is the first usable, mapped word of the stack.
            unsafe { (self.lo as *mut u64).write_volatile(STACK_CANARY) };
        }
    }

    /// Gives back the pages of a dead goroutine's stack below the top
    /// `STACK_KEEP_BYTES` when it was seen using them (`lowest` is the lowest saved sp).
    pub(crate) fn release_deep(&self, lowest: usize) {
        if self.is_empty() || lowest >= self.hi.saturating_sub(STACK_KEEP_BYTES) {
            return;
        }
        let end = self.hi - STACK_KEEP_BYTES;
        let start = self.lo;
        if end > start {
            // SAFETY: [start, end) is part of this stack's mapping and no goroutine runs on
            // it (the G is dead); MADV_DONTNEED only drops the pages' contents.
            unsafe { libc::madvise(start as *mut _, end - start, libc::MADV_DONTNEED) };
            self.write_canary();
        }
    }
}

struct PoolInner {
    /// Every slab: (base, length), in carving order.
    slabs: Vec<(usize, usize)>,
    /// Index of the slab stacks are carved from now.
    carve: usize,
    /// Next unused stack in the newest slab, and that slab's end.
    cur: usize,
    cur_end: usize,
    /// Stacks of the carved slab below this address have their guard installed.
    guarded_to: usize,
}

/// The runtime's stack allocator. Its lock is held only while carving a slab.
pub(crate) struct StackPool {
    inner: Mutex<PoolInner>,
    /// Usable bytes of a default stack; a multiple of PAGE.
    pub(crate) default_size: usize,
    /// The guard mode tried first; moves down to Mprotect/Canary, never up.
    mode: AtomicU8,
    /// Kernel mappings we may still add with guards or own-map stacks.
    map_budget: AtomicI64,
    /// Guards may be installed GUARD_BATCH at a time (false once the kernel refused).
    batch_guards: AtomicBool,
    /// Default-size stacks the mapped slabs hold, carved or not.
    capacity: core::sync::atomic::AtomicUsize,
}

/// A lazily committed, zeroed, private mapping of `len` bytes (`MAP_NORESERVE`, plus
/// `flags`); None if the kernel refuses. Released with `munmap`.
pub(crate) fn map_anon(len: usize, flags: libc::c_int) -> Option<usize> {
    // SAFETY: an anonymous private mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | flags,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p as usize)
}

pub(crate) fn round_page(n: usize) -> usize {
    (n + PAGE - 1) & !(PAGE - 1)
}

/// Mappings the kernel still allows this process: `vm.max_map_count` minus the lines
/// of /proc/self/maps.
fn maps_left() -> i64 {
    let max = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(65530);
    let used = std::fs::read("/proc/self/maps")
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as i64)
        .unwrap_or(1000);
    max - used
}

impl StackPool {
    pub(crate) fn new(default_size: usize) -> StackPool {
        let mode = match std::env::var("GS_STACK_GUARD").as_deref() {
            Ok("mprotect") => Guard::Mprotect,
            Ok("canary") => Guard::Canary,
            _ => Guard::Madvise,
        };
        StackPool {
            inner: Mutex::new(PoolInner { slabs: Vec::new(), carve: 0, cur: 0, cur_end: 0, guarded_to: 0 }),
            default_size: round_page(default_size),
            mode: AtomicU8::new(mode as u8),
            map_budget: AtomicI64::new(maps_left() / 2),
            // (Valgrind 3.19 does not know process_madvise.)
            batch_guards: AtomicBool::new(!super::valgrind::running()),
            capacity: core::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn mode(&self) -> Guard {
        match self.mode.load(Relaxed) {
            0 => Guard::Madvise,
            1 => Guard::Mprotect,
            _ => Guard::Canary,
        }
    }

    /// Takes `n` mappings from the budget; false (and nothing taken) if not there.
    fn take_maps(&self, n: i64) -> bool {
        let mut cur = self.map_budget.load(Relaxed);
        loop {
            if cur < n {
                return false;
            }
            match self.map_budget.compare_exchange_weak(cur, cur - n, Relaxed, Relaxed) {
                Ok(_) => return true,
                Err(v) => cur = v,
            }
        }
    }

    /// Makes `[base, base + PAGE)` the guard of a stack that starts at `base + PAGE`,
    /// in the best mode still available; `extra_maps` is what an mprotect costs.
    fn install_guard(&self, base: usize, extra_maps: i64) -> Guard {
        loop {
            match self.mode() {
                Guard::Madvise => {
                    // SAFETY: [base, base+PAGE) is a private anonymous page of ours.
                    let r = unsafe { libc::madvise(base as *mut _, PAGE, MADV_GUARD_INSTALL) };
                    if r == 0 {
                        return Guard::Madvise;
                    }
                    self.mode.store(Guard::Mprotect as u8, Relaxed);
                }
                Guard::Mprotect => {
                    if self.take_maps(extra_maps) {
                        // SAFETY: as above; PROT_NONE on our own page.
                        let r = unsafe { libc::mprotect(base as *mut _, PAGE, libc::PROT_NONE) };
                        if r == 0 {
                            return Guard::Mprotect;
                        }
                        self.map_budget.fetch_add(extra_maps, Relaxed);
                    }
                    // Budget gone (or the kernel refused): unguarded from now on.
                    self.mode.store(Guard::Canary as u8, Relaxed);
                }
                Guard::Canary => return Guard::Canary,
            }
        }
    }

    /// Maps `len` bytes. Mappings themselves are not taken from the guard budget
    /// (which is only half of what the kernel allowed at start), so that the other
    /// half stays for slabs: a slab holds 256 stacks, a million stacks need 3,907.
    fn map(&self, len: usize) -> Result<usize> {
        map_anon(len, libc::MAP_STACK).ok_or(Error::NoMem)
    }

    /// A stack with `size` usable bytes (0: the default size).
    pub(crate) fn alloc(&self, size: usize) -> Result<Stack> {
        let size = if size == 0 { self.default_size } else { round_page(size) };
        if size == self.default_size {
            return self.alloc_from_slab();
        }
        let base = self.map(size + PAGE)?;
        let guard = self.install_guard(base, 1);
        let st = Stack { lo: base + PAGE, hi: base + PAGE + size, guard, own_map: true };
        st.write_canary();
        super::valgrind::stack_register(st.lo, st.hi);
        Ok(st)
    }

    /// Makes sure the slabs hold at least `n` default-size stacks, mapping more if
    /// needed. `NoMem` if the kernel refuses.
    #[inline]
    pub(crate) fn reserve(&self, n: usize) -> Result<()> {
        if n <= self.capacity.load(Relaxed) {
            return Ok(());
        }
        let mut inner = self.inner.lock();
        while self.capacity.load(Relaxed) < n {
            self.new_slab(&mut inner)?;
        }
        Ok(())
    }

    /// Installs the guard pages of the `n` (at most GUARD_BATCH) slab stacks from
    /// `base` in one call; false if the kernel cannot (each stack then gets its guard
    /// from `install_guard`, and no batch is tried again). Pool lock held.
    fn install_guards(&self, base: usize, n: usize) -> bool {
        debug_assert!(n <= GUARD_BATCH);
        if self.mode() != Guard::Madvise || !self.batch_guards.load(Relaxed) {
            return false;
        }
        let stride = self.default_size + PAGE;
        let mut iov = [libc::iovec { iov_base: core::ptr::null_mut(), iov_len: 0 }; GUARD_BATCH];
        for (i, v) in iov.iter_mut().take(n).enumerate() {
            *v = libc::iovec { iov_base: (base + i * stride) as *mut _, iov_len: PAGE };
        }
        let want = (n * PAGE) as isize;
        let advise = |pidfd: libc::c_int| -> isize {
            // SAFETY: each iovec names the guard page of a stack of our own fresh slab;
            // pidfd names this process, so only our memory is advised.
            unsafe {
                libc::syscall(libc::SYS_process_madvise, pidfd, iov.as_ptr(), n, MADV_GUARD_INSTALL, 0)
                    as isize
            }
        };
        let mut done = advise(PIDFD_SELF_THREAD_GROUP);
        if done < 0 && crate::error::errno() == libc::EBADF {
            // Before Linux 6.15: a pidfd of our own, opened now (not kept: after a fork
            // it would name the parent).
            // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) } as libc::c_int;
            if fd >= 0 {
                done = advise(fd);
                // SAFETY: fd is the descriptor just opened, used by nobody else.
                unsafe { libc::close(fd) };
            }
        }
        // Short or failed: the guards installed so far are harmless, and installing one
        // again is allowed.
        if done != want {
            self.batch_guards.store(false, Relaxed);
        }
        done == want
    }

    /// Maps a new slab, queued after the others for carving. Pool lock held.
    fn new_slab(&self, inner: &mut PoolInner) -> Result<()> {
        let stride = self.default_size + PAGE;
        let len = stride * SLAB_STACKS;
        let b = self.map(len)?;
        inner.slabs.push((b, len));
        if inner.cur_end == 0 {
            inner.carve = inner.slabs.len() - 1;
            inner.cur = b;
            inner.cur_end = b + len;
            inner.guarded_to = b;
        }
        self.capacity.fetch_add(SLAB_STACKS, Relaxed);
        Ok(())
    }

    fn alloc_from_slab(&self) -> Result<Stack> {
        let stride = self.default_size + PAGE;
        let (base, guarded) = {
            let mut inner = self.inner.lock();
            while inner.cur + stride > inner.cur_end {
                if inner.cur_end != 0 && inner.carve + 1 < inner.slabs.len() {
                    inner.carve += 1;
                } else {
                    inner.cur_end = 0;
                    self.new_slab(&mut inner)?;
                    inner.carve = inner.slabs.len() - 1;
                }
                let (b, len) = inner.slabs[inner.carve];
                inner.cur = b;
                inner.cur_end = b + len;
                inner.guarded_to = b;
            }
            let b = inner.cur;
            inner.cur += stride;
            if b >= inner.guarded_to {
                let n = ((inner.cur_end - b) / stride).min(GUARD_BATCH);
                if self.install_guards(b, n) {
                    inner.guarded_to = b + n * stride;
                }
            }
            (b, b < inner.guarded_to)
        };
        let guard = if guarded { Guard::Madvise } else { self.install_guard(base, 2) };
        let st = Stack { lo: base + PAGE, hi: base + stride, guard, own_map: false };
        st.write_canary();
        super::valgrind::stack_register(st.lo, st.hi);
        Ok(st)
    }

    /// Frees a stack of its own mapping; slab stacks stay with their G (see gfput).
    pub(crate) fn free(&self, st: Stack) {
        if !st.own_map || st.is_empty() {
            return;
        }
        let base = st.lo - PAGE;
        super::tools::stack_freed(st.lo, st.size());
        // SAFETY: the mapping [base, hi) was made by `alloc` for this stack alone and no
        // goroutine runs on it any more.
        unsafe { libc::munmap(base as *mut _, st.hi - base) };
        if st.guard == Guard::Mprotect {
            self.map_budget.fetch_add(1, Relaxed);
        }
    }

    /// Unmaps every slab. Only at shutdown, when no goroutine and no M is left.
    pub(crate) fn release_all(&self) {
        let mut inner = self.inner.lock();
        for &(b, len) in &inner.slabs {
            super::tools::stack_freed(b, len);
            // SAFETY: each slab is a mapping of ours that nothing uses any more.
            unsafe { libc::munmap(b as *mut _, len) };
        }
        inner.slabs.clear();
        inner.carve = 0;
        inner.cur = 0;
        inner.cur_end = 0;
        inner.guarded_to = 0;
        self.capacity.store(0, Relaxed);
    }
}
