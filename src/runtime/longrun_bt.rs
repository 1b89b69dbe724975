//! The backtrace of a long-running goroutine (longrun.rs), taken where that is safe.
//!
//! # Taking it
//!
//! Only while the detector is on, and only when SIGURG had no handler of the
//! program's at gs_init (its disposition was SIG_DFL or SIG_IGN, whose effect on
//! SIGURG is the same: nothing), `install` gives SIGURG a handler (SA_SIGINFO |
//! SA_ONSTACK | SA_RESTART). A handler of the program's is never replaced: then
//! there is no backtrace, and the report says why. SIGURG is what Go sends to
//! preempt goroutines, for the same reason: its default action is to do nothing, so
//! no other program or library expects it, bar the out-of-band data of sockets
//! whose owner was set with F_SETOWN (which then also see ours: nothing, as before).
//!
//! To take one, sysmon (`take`, never the handler) fills the request (the thread's
//! tid and the goroutine's id), moves `STATE` to Requested under a new sequence
//! number, sends SIGURG to that thread alone (`tgkill`) and waits for the answer up
//! to `WAIT_MS`. The handler, on the interrupted thread:
//!
//! 1. saves errno (restored on the way out);
//! 2. answers only a request for its own thread (claims it: Requested -> Writing,
//!    a compare-and-swap, so that a request sysmon gave up on is not written
//!    late);
//! 3. checks that the thread's M still runs that goroutine: it may have switched,
//!    or ended, between sysmon's look and the signal;
//! 4. copies the interrupted PC, then walks the frame-pointer chain from the
//!    interrupted frame pointer, reading only inside the goroutine's stack
//!    `[lo, hi)` (mapped while it runs), each frame's two words at `fp` and
//!    `fp + 8` with `sp <= fp <= hi - 16`, 8-aligned, stopping at the first
//!    frame pointer that does not increase, into `FRAMES` (static atomics);
//! 5. moves `STATE` to Done (release).
//!
//! It allocates nothing, takes no lock and calls no unwinder, none of which is
//! async-signal-safe; the thread-local read of the M is an initial-exec TLS load.
//! Sysmon then names each address with `dladdr` and prints them. Code built
//! without frame pointers (`-fomit-frame-pointer`, the default of `-O2` on
//! x86-64, and this library) leaves frames out: the chain stops, or skips the
//! frames of such code; the first line, the interrupted PC, is always right.
//! `dladdr` knows the symbols of the dynamic symbol table: a program's own
//! functions need `-rdynamic` to be named, else a line says the module and the
//! offset in it, for `addr2line`.
//!
//! # What the goroutine sees
//!
//! A goroutine that has run MS without a scheduling point gets one SIGURG per
//! report (once per such stretch). A slow system call it is in, one the runtime
//! does not wrap (a blocking `read`, `nanosleep`, `poll`), may then return EINTR:
//! with SA_RESTART most are restarted, but not those the kernel never restarts
//! (`nanosleep`, `poll`, `epoll_wait`, `select`, socket calls with a timeout). This
//! happens only while the detector is on.

use core::ffi::{c_int, c_void};
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize};
use std::fmt::Write;

/// Frames kept, the interrupted PC included.
const MAX_FRAMES: usize = 32;
/// How long sysmon waits for the handler (it runs once the thread is scheduled).
const WAIT_MS: u64 = 100;

/// `STATE`'s low two bits; the rest is the request's sequence number.
const IDLE: u64 = 0;
const REQUESTED: u64 = 1;
const WRITING: u64 = 2;
const DONE: u64 = 3;

/// `RESULT`: what the handler found.
const OK: u32 = 0;
const SWITCHED: u32 = 1;
const OFF_STACK: u32 = 2;

static STATE: AtomicU64 = AtomicU64::new(IDLE);
/// The request: the thread and the goroutine. Written by sysmon before `STATE`
/// becomes Requested (release), read by the handler after it saw that (acquire).
static TARGET_TID: AtomicI32 = AtomicI32::new(0);
static TARGET_GOID: AtomicU64 = AtomicU64::new(0);
/// The answer, written by the handler before `STATE` becomes Done (release).
static RESULT: AtomicU32 = AtomicU32::new(OK);
static NFRAMES: AtomicUsize = AtomicUsize::new(0);
static FRAMES: [AtomicUsize; MAX_FRAMES] = [const { AtomicUsize::new(0) }; MAX_FRAMES];

/// SIGURG's handler is ours (set by `install`).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// At gs_init with the detector on: gives SIGURG our handler unless the program has
/// one. Returns whether backtraces can be taken.
pub(crate) fn install() -> bool {
    // SAFETY: querying and setting a disposition with valid sigaction values.
    unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        if libc::sigaction(libc::SIGURG, core::ptr::null(), &mut old) != 0 {
            return false;
        }
        if old.sa_sigaction == on_sigurg as *const () as usize {
            INSTALLED.store(true, Relaxed);
            return true;
        }
        if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
            INSTALLED.store(false, Relaxed);
            return false;
        }
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_sigurg as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        let ok = libc::sigaction(libc::SIGURG, &sa, core::ptr::null_mut()) == 0;
        INSTALLED.store(ok, Relaxed);
        ok
    }
}

/// Whether SIGURG's handler is still ours (a program may replace it after gs_init).
fn still_ours() -> bool {
    if !INSTALLED.load(Relaxed) {
        return false;
    }
    // SAFETY: querying a disposition.
    unsafe {
        let mut cur: libc::sigaction = core::mem::zeroed();
        libc::sigaction(libc::SIGURG, core::ptr::null(), &mut cur) == 0
            && cur.sa_sigaction == on_sigurg as *const () as usize
    }
}

/// The interrupted context's PC, stack pointer and frame pointer.
///
/// # Safety
/// `ctx` is the `ucontext_t` the kernel passed to an SA_SIGINFO handler.
#[cfg(target_arch = "x86_64")]
unsafe fn regs(ctx: *const c_void) -> (usize, usize, usize) {
    // SAFETY: the caller's contract.
    let g = unsafe { &(*ctx.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
    (
        g[libc::REG_RIP as usize] as usize,
        g[libc::REG_RSP as usize] as usize,
        g[libc::REG_RBP as usize] as usize,
    )
}

/// As on x86-64: pc, sp, and x29 (the frame pointer of AAPCS64).
///
/// # Safety
/// `ctx` is the `ucontext_t` the kernel passed to an SA_SIGINFO handler.
#[cfg(target_arch = "aarch64")]
unsafe fn regs(ctx: *const c_void) -> (usize, usize, usize) {
    // SAFETY: the caller's contract.
    let m = unsafe { &(*ctx.cast::<libc::ucontext_t>()).uc_mcontext };
    (m.pc as usize, m.sp as usize, m.regs[29] as usize)
}

/// SIGURG: see *Taking it*. Async-signal-safe: atomics, a raw system call, reads
/// inside the current goroutine's stack.
extern "C" fn on_sigurg(_sig: c_int, _info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: errno is this thread's; restored below.
    let saved = unsafe { *libc::__errno_location() };
    let st = STATE.load(Acquire);
    // SAFETY: gettid has no preconditions (a raw system call).
    if st & 3 == REQUESTED && unsafe { libc::syscall(libc::SYS_gettid) } as i32 == TARGET_TID.load(Relaxed) {
        let writing = (st & !3) | WRITING;
        if STATE.compare_exchange(st, writing, AcqRel, Relaxed).is_ok() {
            let r = walk(ctx);
            RESULT.store(r, Relaxed);
            STATE.store((st & !3) | DONE, Release);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Steps 3 and 4 of *Taking it*, in the handler.
fn walk(ctx: *mut c_void) -> u32 {
    let mp = super::tls::getm();
    if mp.is_null() {
        return SWITCHED;
    }
    // SAFETY: the thread's own M, alive while the thread runs it.
    let gp = unsafe { (*mp).curg.load(Relaxed) };
    if gp.is_null() {
        return SWITCHED;
    }
    // SAFETY: the G the thread runs (Gs are never freed while the runtime lives);
    // its stack bounds do not change while it runs.
    let (goid, lo, hi) = unsafe { ((*gp).goid(), (*gp).stack.lo, (*gp).stack.hi) };
    if goid != TARGET_GOID.load(Relaxed) {
        return SWITCHED;
    }
    // SAFETY: ctx is the handler's ucontext_t.
    let (pc, sp, mut fp) = unsafe { regs(ctx) };
    if sp < lo || sp >= hi {
        return OFF_STACK; // on g0 or a signal stack: not the goroutine's code
    }
    FRAMES[0].store(pc, Relaxed);
    let mut n = 1;
    while n < MAX_FRAMES && fp >= sp && fp >= lo && fp <= hi.saturating_sub(16) && fp % 8 == 0 {
        // SAFETY: [fp, fp + 16) is inside the goroutine's stack, mapped while it runs.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if ret == 0 {
            break;
        }
        FRAMES[n].store(ret, Relaxed);
        n += 1;
        if next <= fp {
            break;
        }
        fp = next;
    }
    NFRAMES.store(n, Relaxed);
    OK
}

/// One frame, named: its address, `name+0xOFF` when dladdr knows the symbol, and
/// `module+0xOFF`.
pub(crate) struct Frame {
    pub(crate) pc: usize,
    pub(crate) symbol: Option<String>,
    pub(crate) module: String,
}

/// By sysmon: the backtrace of goroutine `goid` running on thread `tid`, innermost
/// frame first, or why there is none.
pub(crate) fn take(tid: i32, goid: u64) -> Result<Vec<Frame>, &'static str> {
    if !INSTALLED.load(Relaxed) {
        return Err("SIGURG has a handler of the program's");
    }
    if !still_ours() {
        return Err("the program replaced the runtime's SIGURG handler");
    }
    let seq = (STATE.load(Relaxed) & !3).wrapping_add(4);
    TARGET_TID.store(tid, Relaxed);
    TARGET_GOID.store(goid, Relaxed);
    STATE.store(seq | REQUESTED, Release);
    // SAFETY: tgkill with our own pid and a thread of ours; a thread gone meanwhile
    // only makes it fail.
    if unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGURG) } != 0 {
        STATE.store(seq | IDLE, Relaxed);
        return Err("the thread could not be signalled");
    }
    let deadline = super::time::nanotime() + (WAIT_MS * 1_000_000) as i64;
    loop {
        let st = STATE.load(Acquire);
        if st == seq | DONE {
            break;
        }
        if super::time::nanotime() >= deadline
            && STATE.compare_exchange(seq | REQUESTED, seq | IDLE, Relaxed, Relaxed).is_ok()
        {
            return Err("the thread did not take the signal in time");
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let r = RESULT.load(Relaxed);
    let n = NFRAMES.load(Relaxed);
    STATE.store(seq | IDLE, Relaxed);
    match r {
        SWITCHED => return Err("the goroutine reached a scheduling point before the signal landed"),
        OFF_STACK => return Err("the thread was not on the goroutine's stack"),
        _ => {}
    }
    let frames = FRAMES.iter().take(n).enumerate().map(|(i, f)| {
        let pc = f.load(Relaxed);
        // A return address names the call's next instruction; the call is before.
        symbolize(pc, if i == 0 { pc } else { pc - 1 })
    });
    Ok(frames.collect())
}

/// The lines of a report: `    #N 0xPC name+0xOFF (module+0xOFF)`.
pub(crate) fn lines(frames: &[Frame]) -> String {
    let mut out = String::new();
    for (i, f) in frames.iter().enumerate() {
        let sym = f.symbol.as_deref().map(|s| format!("{s} ")).unwrap_or_default();
        let _ = writeln!(out, "    #{i} {:#x} {sym}({})", f.pc, f.module);
    }
    out
}

/// Frame `pc` named by dladdr from `addr` (in the call of `pc`).
fn symbolize(pc: usize, addr: usize) -> Frame {
    // SAFETY: Dl_info is plain data; dladdr fills it for any address.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::dladdr(addr as *const c_void, &mut info) } == 0 {
        return Frame { pc, symbol: None, module: "?".into() };
    }
    let cstr = |p: *const libc::c_char| {
        // SAFETY: dladdr's strings are NUL-terminated and live as long as the module.
        (!p.is_null()).then(|| unsafe { core::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    let module = format!(
        "{}+{:#x}",
        cstr(info.dli_fname).unwrap_or_else(|| "?".into()),
        pc.wrapping_sub(info.dli_fbase as usize)
    );
    let symbol = match cstr(info.dli_sname) {
        Some(name) if !info.dli_saddr.is_null() => {
            Some(format!("{name}+{:#x}", pc - info.dli_saddr as usize))
        }
        _ => None,
    };
    Frame { pc, symbol, module }
}
