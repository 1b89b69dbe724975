//! Support for `benches/switch.rs`, the raw context-switch benchmark; not part of the
//! API. It ping-pongs between the calling thread's stack and one fresh stack with the
//! runtime's full switch (`gs_ctx_swap`: callee-saved registers + FP control state,
//! ends in `pop; jmp`) or with the minimal baseline (`gs_bench_min_swap`:
//! callee-saved registers only), outside the scheduler.

use crate::runtime::context::{gostartcall, gs_bench_min_swap, gs_ctx_swap};
use core::ffi::c_void;
use core::ptr::{addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, Ordering::*};
use std::time::Instant;

/// Bytes of each benchmark stack; the second context uses a few hundred.
const STACK_BYTES: usize = 64 * 1024;

/// The two saved stack pointers. Shared by both contexts through a raw pointer; only
/// one of them runs at a time.
#[repr(C)]
struct Pair {
    main_sp: usize,
    co_sp: usize,
}

/// An anonymous private mapping, unmapped on drop.
struct Stack {
    base: *mut c_void,
}

impl Stack {
    fn new() -> Stack {
        // SAFETY: a fresh anonymous mapping; no existing memory is touched.
        let base = unsafe {
            libc::mmap(
                null_mut(),
                STACK_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(base != libc::MAP_FAILED, "bench_support: mmap of a stack failed");
        Stack { base }
    }

    /// The 16-byte-aligned high end.
    fn top(&self) -> usize {
        (self.base as usize + STACK_BYTES) & !15
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: base/STACK_BYTES is the mapping made in new(); nothing runs on it
        // any more (the second context is abandoned while switched out).
        unsafe { libc::munmap(self.base, STACK_BYTES) };
    }
}

/// Never reached: the second context never returns from its loop.
unsafe extern "C" fn unreachable_exit() -> ! {
    std::process::abort()
}

/// Body of the second context for the full switch, started by `gs_gostart` through
/// the frame that `gostartcall` lays out.
unsafe extern "C" fn co_full(arg: *mut c_void) {
    let pair = arg.cast::<Pair>();
    loop {
        // SAFETY: pair outlives the benchmark; main_sp holds the context that
        // switched to us.
        unsafe { gs_ctx_swap(addr_of_mut!((*pair).co_sp), (*pair).main_sp) };
    }
}

/// The pair for `co_min`, which is entered by a jump with no argument register set.
static MIN_PAIR: AtomicPtr<Pair> = AtomicPtr::new(null_mut());

/// Body of the second context for the minimal switch.
extern "C" fn co_min() -> ! {
    let pair = MIN_PAIR.load(Acquire);
    loop {
        // SAFETY: as in co_full.
        unsafe { gs_bench_min_swap(addr_of_mut!((*pair).co_sp), (*pair).main_sp) };
    }
}

/// Lays out below `top` the frame that `gs_bench_min_swap` restores, so that it
/// "returns" into `co_min` with an ABI-aligned stack. See the minimal switch in
/// asm/<arch>.S: it saves no FP control word, so `gostartcall`'s frame does not fit.
///
/// # Safety
/// `top` is the 16-byte-aligned high end of an unused writable stack.
unsafe fn min_start_frame(top: usize) -> usize {
    use crate::runtime::context::slot::{MIN_FRAME_SIZE, MIN_PC};
    // x86-64: r15..rbp and the resume address, below one more word, so that after the
    // final `pop %rcx; jmp *%rcx` rsp = top - 8, as right after a call (16-byte
    // alignment). AArch64: 176 bytes, the resume address in x30's slot.
    let frame = (MIN_FRAME_SIZE + 15) & !15;
    let sp = top - frame;
    let w = sp as *mut usize;
    // SAFETY: [sp, top) lies in the caller's unused stack.
    unsafe {
        core::ptr::write_bytes(w, 0, frame / 8);
        *w.add(MIN_PC) = co_min as *const () as usize;
    }
    sp
}

/// Switches back and forth between this thread's stack and a second context `iters`
/// times (two switches each) and returns the mean ns per round trip. `minimal`
/// selects `gs_bench_min_swap` instead of the runtime's `gs_ctx_swap`. Runs a
/// warm-up of `iters / 10` round trips first. Not reentrant: call it from one thread
/// at a time.
pub fn switch_roundtrip_ns(iters: u64, minimal: bool) -> f64 {
    let iters = iters.max(1);
    let stack = Stack::new();
    let p: *mut Pair = Box::into_raw(Box::new(Pair { main_sp: 0, co_sp: 0 }));
    // SAFETY: the stack is ours and unused; the frame is laid out for the switch
    // that will first resume it.
    unsafe {
        if minimal {
            MIN_PAIR.store(p, Release);
            (*p).co_sp = min_start_frame(stack.top());
        } else {
            (*p).co_sp = gostartcall(stack.top(), co_full, p.cast(), unreachable_exit);
        }
    }
    // SAFETY: p is live; co_sp was laid out for (or saved by) the same switch.
    unsafe { roundtrips(p, iters / 10 + 1, minimal) };
    let start = Instant::now();
    // SAFETY: as above.
    unsafe { roundtrips(p, iters, minimal) };
    let el = start.elapsed();
    MIN_PAIR.store(null_mut(), Release);
    // SAFETY: p came from Box::into_raw; the second context is switched out for good.
    drop(unsafe { Box::from_raw(p) });
    drop(stack);
    el.as_nanos() as f64 / iters as f64
}

/// `k` round trips; the branch is outside the loops so that each loop makes a
/// direct call to its switch.
///
/// # Safety
/// `p` is live and `(*p).co_sp` holds a context for the selected switch, which
/// switches straight back to `(*p).main_sp`.
#[inline(never)]
unsafe fn roundtrips(p: *mut Pair, k: u64, minimal: bool) {
    if minimal {
        for _ in 0..k {
            // SAFETY: the caller's contract.
            unsafe { gs_bench_min_swap(addr_of_mut!((*p).main_sp), (*p).co_sp) };
        }
    } else {
        for _ in 0..k {
            // SAFETY: the caller's contract.
            unsafe { gs_ctx_swap(addr_of_mut!((*p).main_sp), (*p).co_sp) };
        }
    }
}
