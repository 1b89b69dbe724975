//! The machine-level switch: declarations of the assembly in `asm/<arch>.S` and the
//! initial frame of a new goroutine.
//!
//! A G's saved context lives on its own stack; `G::sched_sp` points at it (see the
//! layout drawn at the top of the assembly file). The offsets used by the assembly
//! are checked here against `FRAME_*`.
//!
//! # Return prediction
//!
//! The CPU predicts each `ret` from a small stack of the return addresses of the
//! `call`s it has seen. A goroutine that blocks has made calls (C caller -> `gs_park`
//! -> `gs_mcall`) whose returns happen only after it resumes, possibly in another
//! goroutine's place. If the scheduler's path on g0 made calls of its own that never
//! return, their addresses would sit on top of that stack when the next goroutine
//! resumes, and each of its returns would be mispredicted (~15 cycles each).
//! So on x86-64 the path from a goroutine to the next one makes no call that does not
//! return: `gs_mcall` enters its function with a jump, `schedule` jumps into
//! `schedule0` on a fresh g0 stack, `execute` is inlined into it and jumps to
//! `gs_gogo`, and `gs_gogo` resumes with `ret`. The predictor's stack then holds
//! exactly the returns of the goroutine that blocked last: a goroutine resuming
//! through the same code (ping-pong partners, workers of one loop) has its returns
//! predicted, up to the first frame where the two differ. `gs_ctx_swap`, a direct
//! switch between two fixed contexts, keeps `pop; jmp`, predicted by target instead.

use core::ffi::c_void;

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(include_str!("../../asm/x86_64.S"), options(att_syntax, raw));

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(include_str!("../../asm/aarch64.S"), options(raw));

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("gosched has context-switch assembly for x86_64 and aarch64 only");

/// A function run on g0 by `mcall`; never returns.
pub(crate) type McallFn = unsafe extern "C" fn(*mut c_void) -> !;

extern "C" {
    /// Saves the caller's context into `*save_sp`, switches to `g0_sp` and calls
    /// `f(arg)` there. Returns when something `gs_gogo`s the saved context.
    pub(crate) fn gs_mcall(save_sp: *mut usize, g0_sp: usize, f: McallFn, arg: *mut c_void);
    /// Resumes the context saved at `sp`.
    pub(crate) fn gs_gogo(sp: usize) -> !;
    /// Saves into `*save_sp` and resumes `to_sp`.
    pub(crate) fn gs_ctx_swap(save_sp: *mut usize, to_sp: usize);
    /// Saves the caller's context, stores g0's fixed sp into `*g0_sp`, calls `f(arg)`.
    /// Returns when something `gs_gogo(*g0_sp)`s.
    pub(crate) fn gs_mstart0(g0_sp: *mut usize, f: McallFn, arg: *mut c_void);
    /// The first code of every goroutine (see the assembly).
    fn gs_gostart();
    /// A minimal switch without FP control state: the benchmark's baseline.
    pub(crate) fn gs_bench_min_swap(save_sp: *mut usize, to_sp: usize);
}

/// Bytes of a saved context (x86-64: FP control word slot, 6 registers, resume pc).
#[cfg(target_arch = "x86_64")]
pub(crate) const FRAME_SIZE: usize = 64;
#[cfg(target_arch = "aarch64")]
pub(crate) const FRAME_SIZE: usize = 176;

/// Default MXCSR (all exceptions masked, round to nearest) and x87 control word
/// (extended precision, all exceptions masked), as a fresh thread has them.
#[cfg(target_arch = "x86_64")]
const DEFAULT_FPCTRL: u64 = 0x1F80 | (0x037F << 32);

/// Lays out, just below `top`, the frame that makes `gs_gogo` start `f(arg)` on a new
/// stack and end it in `goexit1`, and returns the saved sp to store in `G::sched_sp`.
///
/// # Safety
/// `top` must be the 16-byte-aligned high end of a writable stack with at least
/// `FRAME_SIZE` bytes below it that nothing else uses.
pub(crate) unsafe fn gostartcall(
    top: usize,
    f: unsafe extern "C" fn(*mut c_void),
    arg: *mut c_void,
    goexit1: unsafe extern "C" fn() -> !,
) -> usize {
    debug_assert!(top % 16 == 0, "gostartcall: misaligned stack top");
    let sp = top - FRAME_SIZE;
    let w = sp as *mut usize;
    // SAFETY: the caller guarantees [sp, top) is writable and unused; sp is aligned.
    unsafe {
        core::ptr::write_bytes(w, 0, FRAME_SIZE / 8);
        #[cfg(target_arch = "x86_64")]
        {
            *w.add(0) = DEFAULT_FPCTRL as usize;
            *w.add(2) = goexit1 as *const () as usize; // r14
            *w.add(3) = arg as usize; // r13
            *w.add(4) = f as *const () as usize; // r12
            *w.add(7) = gs_gostart as *const () as usize; // resume address
        }
        #[cfg(target_arch = "aarch64")]
        {
            *w.add(0) = f as *const () as usize; // x19
            *w.add(1) = arg as usize; // x20
            *w.add(2) = goexit1 as *const () as usize; // x21
            *w.add(11) = gs_gostart as *const () as usize; // x30
            // FPCR at +160 stays 0: round to nearest, no flush-to-zero (the default).
        }
    }
    sp
}
