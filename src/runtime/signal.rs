//! Stack overflow reporting: a SIGSEGV handler on an alternate signal stack.
//!
//! A goroutine that runs off the low end of its stack touches the guard page (see
//! stack.rs). The fault is delivered on the M's alternate signal stack (the faulting
//! stack has no room). The handler asks the current goroutine's `Stack` whether the
//! address is its guard; if so it prints `stack overflow` with the goroutine's id and
//! name and lets the process die of the signal. Any other fault goes to the handler
//! the program had before (or the default action), so NULL dereferences and the
//! program's own handlers behave as without gosched.
//!
//! Unguarded (canary) stacks are checked at every switch instead
//! (`report_overflow_and_die`).
//!
//! # Signal stacks
//!
//! A signal handler runs on the stack of whatever the thread was running when the
//! signal came, unless it was installed with `SA_ONSTACK`: on a goroutine, that is
//! the goroutine's stack, which may have as little room left as the goroutine's
//! deepest frame leaves it (a signal frame with AVX-512 state is about 3.5 KiB). So:
//! - every thread that runs goroutines has an alternate signal stack of
//!   `SIGSTACK_SIZE` (`minit_signal_stack`; a thread that already had one keeps it);
//! - `gs_init` adds `SA_ONSTACK` to every handler already installed (Go does the same:
//!   its `setsigstack`), so those run on the alternate stack;
//! - a handler installed later without `SA_ONSTACK` runs on the goroutine's stack; if
//!   its frame does not fit, the fault hits the guard page and is reported as a stack
//!   overflow that names the handlers that lack the flag (`print_overflow`).
//!
//! # SIGPIPE
//!
//! A write to a pipe or socket whose reader is gone raises SIGPIPE, whose default
//! action kills the process; a C program that never touched SIGPIPE would die of a
//! peer hanging up on `gs_write`. Go returns EPIPE from such writes (only its writes
//! to fds 1 and 2 raise the signal). So `gs_init`, when SIGPIPE has its default
//! disposition, installs `sigpipe_handler`, and the runtime's writes for the program
//! (`write_nosigpipe`: gs_write, gs_dump) mark their thread while in write(2)
//! (`tls::in_write`). A SIGPIPE raised on a marked thread is dropped, and the write
//! returns -EPIPE; any other (the program's own write(2), a kill) is handled as the
//! default disposition would: the handler restores it and raises the signal again,
//! so `yes | head` still ends as it did. A program that set SIG_IGN or a handler of
//! its own keeps it.

use super::g::G;
use super::m::M;
use super::tls::getm;
use core::sync::atomic::{AtomicBool, Ordering::*};

/// Size of each M's alternate signal stack.
const SIGSTACK_SIZE: usize = 64 << 10;

/// The SIGSEGV/SIGBUS handler is installed. Set by `install`, under the life-cycle
/// flag (no `Once`: see *Fork* in fork.rs).
static INSTALLED: AtomicBool = AtomicBool::new(false);
static mut OLD_SEGV: Option<libc::sigaction> = None;
static mut OLD_BUS: Option<libc::sigaction> = None;
static HANDLING: AtomicBool = AtomicBool::new(false);

/// Signals numbered below this are checked for handlers without SA_ONSTACK.
const NSIG: libc::c_int = 65;

/// True for a signal whose disposition is a handler of the program's (not ours, not
/// SIG_DFL or SIG_IGN) installed without SA_ONSTACK. Async-signal-safe.
fn lacks_onstack(sig: libc::c_int, old: &mut libc::sigaction) -> bool {
    if sig == libc::SIGKILL || sig == libc::SIGSTOP {
        return false;
    }
    // SAFETY: querying a disposition into a valid sigaction.
    if unsafe { libc::sigaction(sig, core::ptr::null(), old) } != 0 {
        return false;
    }
    old.sa_sigaction != libc::SIG_DFL
        && old.sa_sigaction != libc::SIG_IGN
        && old.sa_sigaction != segv_handler as *const () as usize
        && old.sa_sigaction != sigpipe_handler as *const () as usize
        && old.sa_flags & libc::SA_ONSTACK == 0
}

/// Installs `sigpipe_handler` if SIGPIPE has its default disposition (see
/// *SIGPIPE*). Called by every gs_init.
pub(crate) fn install_sigpipe() {
    // SAFETY: querying and setting a disposition with valid sigaction values.
    unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, core::ptr::null(), &mut old) != 0
            || old.sa_sigaction != libc::SIG_DFL
        {
            return;
        }
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = sigpipe_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGPIPE, &sa, core::ptr::null_mut());
    }
}

/// See *SIGPIPE*: drops the signal of a runtime write, handles any other as the
/// default disposition.
extern "C" fn sigpipe_handler(_sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if super::tls::in_write() {
        return; // the write returns EPIPE
    }
    // SAFETY: restoring the default action and raising the signal again, which now
    // ends the process as SIGPIPE's default action does (SA_NODEFER: at once).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
}

/// write(2) for the program (gs_write, gs_dump): a reader that is gone gives -EPIPE,
/// never SIGPIPE (see *SIGPIPE*). Returns the count, or -errno.
#[inline(never)]
pub(crate) fn write_nosigpipe(fd: i32, buf: *const u8, n: usize) -> isize {
    super::tls::set_in_write(true);
    // SAFETY: the caller passes n readable bytes at buf.
    let r = unsafe { libc::write(fd, buf.cast(), n) };
    let r = if r < 0 { -(crate::error::errno() as isize) } else { r };
    super::tls::set_in_write(false);
    r
}

/// Adds SA_ONSTACK to every handler the program has installed (see *Signal stacks*).
/// Called by every gs_init.
pub(crate) fn setsigstack_all() {
    for sig in 1..NSIG {
        // SAFETY: sigaction is plain data.
        let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
        if lacks_onstack(sig, &mut old) {
            old.sa_flags |= libc::SA_ONSTACK;
            // SAFETY: re-installing the same handler, mask and flags, plus SA_ONSTACK.
            unsafe { libc::sigaction(sig, &old, core::ptr::null_mut()) };
        }
    }
}

/// Installs the SIGSEGV/SIGBUS handler, keeping the program's previous ones for
/// chaining. Executed by gs_init under the life-cycle flag; does nothing once done.
pub(crate) fn install() {
    if INSTALLED.load(Acquire) {
        return;
    }
    // SAFETY: sigaction with a valid handler. The old actions are kept for chaining
    // unless they are ours (a child of a fork in the middle of this function runs it
    // again), and are written before the handler can run on their signal.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = segv_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        libc::sigemptyset(&mut sa.sa_mask);
        for (sig, slot) in [(libc::SIGSEGV, &raw mut OLD_SEGV), (libc::SIGBUS, &raw mut OLD_BUS)] {
            let mut old: libc::sigaction = core::mem::zeroed();
            if libc::sigaction(sig, core::ptr::null(), &mut old) != 0
                || old.sa_sigaction == segv_handler as *const () as usize
            {
                continue;
            }
            *slot = Some(old);
            libc::sigaction(sig, &sa, core::ptr::null_mut());
        }
    }
    INSTALLED.store(true, Release);
}

/// Gives this thread an alternate signal stack (keeping a previous one, if any, in
/// place for a gs_main caller that had its own).
///
/// # Safety
/// Called on the thread of `m`.
pub(crate) unsafe fn minit_signal_stack(m: &mut M) {
    // SAFETY: querying and setting this thread's signal stack with valid stack_t values.
    unsafe {
        let mut old: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(core::ptr::null(), &mut old);
        if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= libc::MINSIGSTKSZ {
            return; // the thread already has one: use it
        }
        let base = libc::mmap(
            core::ptr::null_mut(),
            SIGSTACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if base == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t { ss_sp: base, ss_flags: 0, ss_size: SIGSTACK_SIZE };
        if libc::sigaltstack(&st, core::ptr::null_mut()) != 0 {
            libc::munmap(base, SIGSTACK_SIZE);
            return;
        }
        m.sigstack = (base as usize, SIGSTACK_SIZE);
        m.old_sigstack = Some(old);
    }
}

/// Removes the alternate signal stack that `minit_signal_stack` gave this thread.
///
/// # Safety
/// Called on the thread of `m`, after it left the scheduler.
pub(crate) unsafe fn mexit_signal_stack(m: &mut M) {
    let (base, len) = m.sigstack;
    if base == 0 {
        return;
    }
    // SAFETY: disable (or restore) this thread's signal stack before unmapping ours.
    unsafe {
        let old = m.old_sigstack.take();
        match old {
            Some(o) if o.ss_flags & libc::SS_DISABLE == 0 => {
                libc::sigaltstack(&o, core::ptr::null_mut());
            }
            _ => {
                let st =
                    libc::stack_t { ss_sp: core::ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
                libc::sigaltstack(&st, core::ptr::null_mut());
            }
        }
        libc::munmap(base as *mut _, len);
    }
    m.sigstack = (0, 0);
}

/// Writes `s` to stderr (async-signal-safe).
fn write_stderr(s: &[u8]) {
    // SAFETY: write(2) of a valid buffer.
    unsafe { libc::write(2, s.as_ptr().cast(), s.len()) };
}

/// Formats `n` in decimal into `buf`, returning the digits (no allocation).
fn fmt_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Reports `g`'s overflow; `signal_frame`: what did not fit was a signal's frame.
fn print_overflow(g: &G, signal_frame: bool) {
    let mut buf = [0u8; 20];
    write_stderr(b"gosched: fatal error: stack overflow in goroutine ");
    write_stderr(fmt_u64(g.goid(), &mut buf));
    let name = g.name.load(Relaxed);
    if !name.is_null() {
        write_stderr(b" \"");
        // SAFETY: the name is a NUL-terminated string owned by the running G.
        let s = unsafe { core::ffi::CStr::from_ptr(name) };
        write_stderr(s.to_bytes());
        write_stderr(b"\"");
    }
    write_stderr(b" (stack ");
    write_stderr(fmt_u64((g.stack.size() >> 10) as u64, &mut buf));
    write_stderr(b" KiB)");
    if signal_frame {
        write_stderr(b": no room for a signal handler's frame");
    }
    write_stderr(b"\n");
    // A signal handler without SA_ONSTACK may have been what ran out of room.
    let mut first = true;
    for sig in 1..NSIG {
        // SAFETY: sigaction is plain data.
        let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
        if lacks_onstack(sig, &mut old) {
            write_stderr(if first {
                b"gosched: these signal handlers run on goroutine stacks (installed after gs_init without SA_ONSTACK); one of them may have overflowed it: signal"
            } else {
                b","
            });
            write_stderr(b" ");
            write_stderr(fmt_u64(sig as u64, &mut buf));
            first = false;
        }
    }
    if !first {
        write_stderr(b"\n");
    }
}

/// A canary-checked goroutine overwrote the end of its stack: report and abort.
pub(crate) fn report_overflow_and_die(g: &G) -> ! {
    print_overflow(g, false);
    std::process::abort();
}

/// The stack pointer of the context a signal interrupted.
fn interrupted_sp(ctx: *mut libc::c_void) -> usize {
    let uc = ctx as *const libc::ucontext_t;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the kernel passes a valid ucontext to SA_SIGINFO handlers.
    let sp = unsafe { (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as usize };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    let sp = unsafe { (*uc).uc_mcontext.sp as usize };
    sp
}

/// True if the kernel could not deliver a signal because its frame did not fit below
/// `sp` on `g`'s stack: it then sends a SIGSEGV of its own (SI_KERNEL, no address)
/// with the interrupted context, whose sp is near the stack's low end.
fn is_signal_frame_overflow(g: &G, code: libc::c_int, sp: usize) -> bool {
    // SAFETY: getauxval has no preconditions.
    let frame = unsafe { libc::getauxval(libc::AT_MINSIGSTKSZ) } as usize;
    let room = frame.max(2048) + 4096; // the frame, the red zone and a handler's locals
    code == libc::SI_KERNEL && !g.stack.is_empty() && sp >= g.stack.lo && sp < g.stack.lo + room
}

/// Dies of `sig` with its default action: returning re-executes a faulting
/// instruction, but a signal that no instruction raised (the kernel's SI_KERNEL, a
/// kill(2)) must be raised again, or returning would carry on as if nothing happened.
fn die_of(sig: libc::c_int, code: libc::c_int) {
    // SAFETY: resetting a disposition and raising a signal are async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        if code <= 0 || code == libc::SI_KERNEL {
            libc::raise(sig); // SA_NODEFER: delivered now, and fatal
        }
    }
}

unsafe extern "C" fn segv_handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let (addr, code) = unsafe { ((*info).si_addr() as usize, (*info).si_code) };
    let mp = getm();
    if !mp.is_null() && !HANDLING.swap(true, AcqRel) {
        // SAFETY: mp is this thread's M; curg, if any, is the G running on it.
        let gp = unsafe { (*mp).curg() };
        if !gp.is_null() {
            // SAFETY: a running G's fields are stable while it runs.
            let g = unsafe { &*gp };
            let frame = is_signal_frame_overflow(g, code, interrupted_sp(ctx));
            if frame || g.stack.is_overflow_addr(addr) {
                print_overflow(g, frame);
                die_of(sig, code);
                return;
            }
        }
        HANDLING.store(false, Release);
    }
    // Not ours: chain to the program's previous handler, or the default action.
    // SAFETY: reading the saved actions, written once before the handler was installed.
    let old = unsafe {
        if sig == libc::SIGBUS {
            (*core::ptr::addr_of!(OLD_BUS)).as_ref().copied()
        } else {
            (*core::ptr::addr_of!(OLD_SEGV)).as_ref().copied()
        }
    };
    match old {
        Some(o) if o.sa_sigaction != libc::SIG_DFL && o.sa_sigaction != libc::SIG_IGN => {
            if o.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { core::mem::transmute(o.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a plain handler.
                let f: extern "C" fn(libc::c_int) = unsafe { core::mem::transmute(o.sa_sigaction) };
                f(sig);
            }
        }
        _ => die_of(sig, code),
    }
}
