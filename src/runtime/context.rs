//! The machine-level switch: declarations of the assembly in `asm/<arch>.S` and the
//! initial frame of a new goroutine.
//!
//! A G's saved context lives on its own stack; `G::sched_sp` points at it (see the
//! layout drawn at the top of the assembly file). The slots that Rust code writes
//! are named in `slot` and checked at compile time against the `.set GS_FRAME_*`
//! lines of both assembly files (`asm_offset`), whatever the target.
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

/// Slots of a saved context, in words from its first byte, by role (the `.set
/// GS_FRAME_*` lines at the top of asm/x86_64.S).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) mod slot_x86_64 {
    /// MXCSR (low half) and x87 control word.
    pub(crate) const FPCTRL: usize = 0;
    /// r14: the function a new goroutine's `gs_gostart` calls when its function returns.
    pub(crate) const START_EXIT: usize = 2;
    /// r13: a new goroutine's argument.
    pub(crate) const START_ARG: usize = 3;
    /// r12: a new goroutine's function.
    pub(crate) const START_FN: usize = 4;
    /// Where the context resumes.
    pub(crate) const PC: usize = 7;
    /// Bytes of a saved context.
    pub(crate) const FRAME_SIZE: usize = 64;
    /// `gs_bench_min_swap`'s frame: its resume address, and its size.
    pub(crate) const MIN_PC: usize = 6;
    pub(crate) const MIN_FRAME_SIZE: usize = 56;
    /// The callee-saved registers a saved context holds, for debuggers (see
    /// debugger.rs): `.set` name in the assembly, register name, slot.
    pub(crate) const CALLEE_SAVED: [(&str, &str, usize); 6] = [
        ("GS_FRAME_RBX", "rbx", 5),
        ("GS_FRAME_RBP", "rbp", 6),
        ("GS_FRAME_R12", "r12", 4),
        ("GS_FRAME_R13", "r13", 3),
        ("GS_FRAME_R14", "r14", 2),
        ("GS_FRAME_R15", "r15", 1),
    ];
    /// The names of the program counter and stack pointer registers.
    pub(crate) const PC_SP_NAMES: (&str, &str) = ("rip", "rsp");
}

/// The same for AArch64 (asm/aarch64.S).
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
pub(crate) mod slot_aarch64 {
    /// x19: a new goroutine's function.
    pub(crate) const START_FN: usize = 0;
    /// x20: its argument.
    pub(crate) const START_ARG: usize = 1;
    /// x21: what `gs_gostart` calls when the function returns.
    pub(crate) const START_EXIT: usize = 2;
    /// x30, the link register: where the context resumes.
    pub(crate) const PC: usize = 11;
    /// FPCR.
    pub(crate) const FPCTRL: usize = 20;
    pub(crate) const FRAME_SIZE: usize = 176;
    pub(crate) const MIN_PC: usize = 11;
    pub(crate) const MIN_FRAME_SIZE: usize = 176;
    pub(crate) const CALLEE_SAVED: [(&str, &str, usize); 11] = [
        ("GS_FRAME_X19", "x19", 0),
        ("GS_FRAME_X20", "x20", 1),
        ("GS_FRAME_X21", "x21", 2),
        ("GS_FRAME_X22", "x22", 3),
        ("GS_FRAME_X23", "x23", 4),
        ("GS_FRAME_X24", "x24", 5),
        ("GS_FRAME_X25", "x25", 6),
        ("GS_FRAME_X26", "x26", 7),
        ("GS_FRAME_X27", "x27", 8),
        ("GS_FRAME_X28", "x28", 9),
        ("GS_FRAME_X29", "x29", 10),
    ];
    pub(crate) const PC_SP_NAMES: (&str, &str) = ("pc", "sp");
}

#[cfg(target_arch = "aarch64")]
pub(crate) use slot_aarch64 as slot;
#[cfg(target_arch = "x86_64")]
pub(crate) use slot_x86_64 as slot;

/// Bytes of a saved context.
pub(crate) const FRAME_SIZE: usize = slot::FRAME_SIZE;

/// The value of `.set NAME, <decimal>` in an assembly source; fails the build if
/// there is none.
const fn asm_offset(src: &str, name: &str) -> usize {
    let (s, n) = (src.as_bytes(), name.as_bytes());
    let mut i = 0;
    while i + 5 + n.len() < s.len() {
        let mut k = 0;
        let mut hit = true;
        while k < 5 + n.len() {
            let want = if k < 5 { b".set "[k] } else { n[k - 5] };
            if s[i + k] != want {
                hit = false;
                break;
            }
            k += 1;
        }
        if hit && s[i + k] == b',' {
            let mut j = i + k + 1;
            while j < s.len() && s[j] == b' ' {
                j += 1;
            }
            let mut v = 0;
            let start = j;
            while j < s.len() && s[j].is_ascii_digit() {
                v = v * 10 + (s[j] - b'0') as usize;
                j += 1;
            }
            assert!(j > start, "a .set GS_FRAME_* of the assembly is not a decimal number");
            return v;
        }
        i += 1;
    }
    panic!("a .set GS_FRAME_* that context.rs checks is missing from the assembly")
}

macro_rules! check_layout {
    ($file:literal, $m:ident) => {
        const _: () = {
            const A: &str = include_str!($file);
            assert!(asm_offset(A, "GS_FRAME_FPCTRL") == $m::FPCTRL * 8);
            assert!(asm_offset(A, "GS_FRAME_START_EXIT") == $m::START_EXIT * 8);
            assert!(asm_offset(A, "GS_FRAME_START_ARG") == $m::START_ARG * 8);
            assert!(asm_offset(A, "GS_FRAME_START_FN") == $m::START_FN * 8);
            assert!(asm_offset(A, "GS_FRAME_PC") == $m::PC * 8);
            assert!(asm_offset(A, "GS_FRAME_SIZE") == $m::FRAME_SIZE);
            assert!(asm_offset(A, "GS_MINFRAME_PC") == $m::MIN_PC * 8);
            assert!(asm_offset(A, "GS_MINFRAME_SIZE") == $m::MIN_FRAME_SIZE);
            assert!($m::FRAME_SIZE % 16 == 0);
            let mut i = 0;
            while i < $m::CALLEE_SAVED.len() {
                let (name, _, slot) = $m::CALLEE_SAVED[i];
                assert!(asm_offset(A, name) == slot * 8);
                assert!(slot != $m::PC && slot * 8 < $m::FRAME_SIZE);
                i += 1;
            }
        };
    };
}
check_layout!("../../asm/x86_64.S", slot_x86_64);
check_layout!("../../asm/aarch64.S", slot_aarch64);

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
            *w.add(slot::FPCTRL) = DEFAULT_FPCTRL as usize;
        }
        // FPCR (aarch64) stays 0: round to nearest, no flush-to-zero (the default).
        *w.add(slot::START_EXIT) = goexit1 as *const () as usize;
        *w.add(slot::START_ARG) = arg as usize;
        *w.add(slot::START_FN) = f as *const () as usize;
        *w.add(slot::PC) = gs_gostart as *const () as usize;
    }
    sp
}
