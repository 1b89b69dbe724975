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
//! `rwslot` is the byte offset, in every gs_rwmutex, of the reader slot of the P the
//! thread holds (0 without a P, or with a P past the locks' slots): the inline
//! read-lock and read-unlock of the header read it, at the thread-pointer offset each
//! lock records (`rwslot_tpoff`), and count themselves there as the library's own
//! read-lock does (see *The inline fast path* in sync/rwmutex.rs). So it must name the
//! P of this thread's M at every moment the thread runs code that is not the
//! runtime's: `set_p_slot` is called wherever an M's `p` changes, on that M's thread
//! (acquirep, releasep, entersyscall, exitsyscall's fast path, setm), and before a P
//! is given up, after it is taken. On x86-64 only; elsewhere the header has no inline
//! path and these do nothing.
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

/// Binds `mp` to the calling thread (null unbinds), and its P's reader slot.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn setm(mp: *mut M) {
    // SAFETY: mp is null or an M that is to run on this thread: its `p` is ours to read.
    set_p_slot(if mp.is_null() { core::ptr::null() } else { unsafe { (*mp).p } });
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

/// Sets the calling thread's `rwslot` (see the module's doc) for P `pp` (null: none).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn set_p_slot(pp: *const super::p::P) {
    let v = crate::sync::rwmutex::slot_offset(pp);
    // SAFETY: gs_tls_rwslot is an 8-byte thread-local of this library (asm/x86_64.S),
    // at the offset the GOTTPOFF slot holds; the slot is this thread's own.
    unsafe {
        core::arch::asm!(
            "movq gs_tls_rwslot@GOTTPOFF(%rip), {off}",
            "movq {v}, %fs:({off})",
            off = out(reg) _,
            v = in(reg) v,
            options(att_syntax, nostack, preserves_flags),
        );
    }
}

/// The calling thread's `rwslot`.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn p_slot() -> usize {
    let v: usize;
    // SAFETY: as in set_p_slot.
    unsafe {
        core::arch::asm!(
            "movq gs_tls_rwslot@GOTTPOFF(%rip), {v}",
            "movq %fs:({v}), {v}",
            v = out(reg) v,
            options(att_syntax, nostack, preserves_flags, readonly),
        );
    }
    v
}

/// The offset of `rwslot` from the thread pointer: the same for every thread of the
/// process (the initial-exec model), never 0 (x86-64 keeps the static TLS blocks
/// below the thread pointer).
#[cfg(target_arch = "x86_64")]
pub(crate) fn rwslot_tpoff() -> isize {
    let off: isize;
    // SAFETY: reads the GOT slot the linker filled with the offset; no memory written.
    unsafe {
        core::arch::asm!(
            "movq gs_tls_rwslot@GOTTPOFF(%rip), {off}",
            off = out(reg) off,
            options(att_syntax, nostack, preserves_flags, readonly),
        );
    }
    off
}

/// No inline read-lock outside x86-64: nothing to keep.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn set_p_slot(_pp: *const super::p::P) {}

/// No inline read-lock outside x86-64: locks record 0 (the library's path).
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn rwslot_tpoff() -> isize {
    0
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
