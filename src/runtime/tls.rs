//! The current M of this OS thread.
//!
//! # Thread-locals move
//!
//! A goroutine may resume on another M after any switch (`mcall`). The value read from
//! the thread-local belongs to the thread, not the goroutine, so code running on a
//! goroutine's stack must read it again after every call that can switch, never keep
//! the M (or the thread-local's address) across one.
//!
//! On x86-64 the thread-local is `gs_tls_m`, defined in the assembly with the
//! initial-exec model, and read and written here by inline assembly: one load
//! relative to `%fs`, inlined everywhere, and never cached by the compiler (the asm is
//! neither `pure` nor `nomem`, so every call reads afresh). Elsewhere it is a Rust
//! thread-local, read by a function that is never inlined so that the compiler cannot
//! reuse an address computed before a switch.
//! Code on g0 never moves: g0 belongs to its M.
//!
//! C's `errno` is a thread-local too: read it with `crate::error::errno`, right after
//! the call that set it.
//!
//! `in_write` marks a thread inside a write(2) the runtime makes for the program
//! (see *SIGPIPE* in signal.rs). It is set and cleared around the system call, never
//! across a switch, and read by a signal handler: on x86-64 it is `gs_tls_in_write`,
//! initial-exec like `gs_tls_m`, so that reading it never allocates.
//!
//! # The static TLS budget
//!
//! Every thread-local of the library (these, and Rust's `thread_local!`, which are
//! initial-exec in a cdylib too) lives in its static TLS block. Loaded at start-up, the
//! block is part of each thread's initial TLS; loaded with dlopen (Python's ctypes, a
//! plugin), it must fit into the surplus the C library set aside at start-up, a few
//! hundred bytes shared by every library loaded so, and dlopen fails with "cannot
//! allocate memory in static TLS block" when it does not. So a thread-local is a word
//! or two; larger per-thread state is allocated on first use and the thread-local holds
//! its pointer (the quarantine of `sync::retire`). `tests/c/dlopen_static_tls.c` keeps
//! the block within 256 bytes and dlopens a copy of the library with the surplus shrunk.

use super::m::M;

/// The M of the calling thread, or null on a foreign thread.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn getm() -> *mut M {
    let mp: *mut M;
    // SAFETY: gs_tls_m is an 8-byte thread-local of this library (asm/x86_64.S); the
    // GOTTPOFF slot holds its offset from the thread pointer in %fs.
    unsafe {
        core::arch::asm!(
            "movq gs_tls_m@GOTTPOFF(%rip), {mp}",
            "movq %fs:({mp}), {mp}",
            mp = out(reg) mp,
            options(att_syntax, nostack, preserves_flags, readonly),
        );
    }
    mp
}

/// Binds `mp` to the calling thread (null unbinds).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn setm(mp: *mut M) {
    // SAFETY: as in getm; the slot is this thread's own.
    unsafe {
        core::arch::asm!(
            "movq gs_tls_m@GOTTPOFF(%rip), {off}",
            "movq {mp}, %fs:({off})",
            off = out(reg) _,
            mp = in(reg) mp,
            options(att_syntax, nostack, preserves_flags),
        );
    }
}

/// Marks the calling thread as inside a write of the runtime's (or not).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn set_in_write(on: bool) {
    // SAFETY: gs_tls_in_write is an 8-byte thread-local of this library
    // (asm/x86_64.S), at the offset the GOTTPOFF slot holds.
    unsafe {
        core::arch::asm!(
            "movq gs_tls_in_write@GOTTPOFF(%rip), {off}",
            "movq {v}, %fs:({off})",
            off = out(reg) _,
            v = in(reg) on as u64,
            options(att_syntax, nostack, preserves_flags),
        );
    }
}

/// True while the calling thread is inside a write of the runtime's.
/// Async-signal-safe.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn in_write() -> bool {
    let v: u64;
    // SAFETY: as in set_in_write.
    unsafe {
        core::arch::asm!(
            "movq gs_tls_in_write@GOTTPOFF(%rip), {v}",
            "movq %fs:({v}), {v}",
            v = out(reg) v,
            options(att_syntax, nostack, preserves_flags, readonly),
        );
    }
    v != 0
}

#[cfg(not(target_arch = "x86_64"))]
thread_local! {
    /// See `in_write`.
    static IN_WRITE: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Marks the calling thread as inside a write of the runtime's (or not).
#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
pub(crate) fn set_in_write(on: bool) {
    IN_WRITE.with(|c| c.set(on));
}

/// True while the calling thread is inside a write of the runtime's.
#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
pub(crate) fn in_write() -> bool {
    IN_WRITE.with(|c| c.get())
}

#[cfg(not(target_arch = "x86_64"))]
thread_local! {
    /// The M running on this thread; null on foreign threads.
    static CUR_M: core::cell::Cell<*mut M> = const { core::cell::Cell::new(core::ptr::null_mut()) };
}

/// The M of the calling thread, or null on a foreign thread.
#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
pub(crate) fn getm() -> *mut M {
    CUR_M.with(|c| c.get())
}

/// Binds `mp` to the calling thread (null unbinds).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn setm(mp: *mut M) {
    CUR_M.with(|c| c.set(mp));
}
