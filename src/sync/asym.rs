//! Asymmetric fences (membarrier(2)): the per-P reader slots of rwmutex.rs let readers
//! go without a locked instruction and make the writer pay instead.
//!
//! A reader stores to its slot, then (compiler fence only) loads the writer's gate. On
//! its own that store and that load may be reordered by the CPU. The writer stores the
//! gate, then calls `heavy()`: `MEMBARRIER_CMD_PRIVATE_EXPEDITED` runs a full memory
//! barrier on every CPU that runs a thread of this process at that moment (a thread
//! that is not running passed one when it was switched out), and returns after they
//! all did. So each reader either stored before its barrier, and the writer's loads
//! after `heavy()` see its slot, or loaded after it, and sees the gate: the pair acts
//! as a sequentially consistent fence on both sides (the model of liburcu's and
//! folly's asymmetric fences).
//!
//! `slots_usable()` decides once per process whether readers may use slots: not
//! under a sanitizer or Valgrind (they do not model the barrier; Valgrind does not
//! even have the system call), not when the kernel lacks the command or refuses it
//! (ENOSYS, EINVAL, a seccomp filter's EPERM), and not with `GS_DEBUG=rwmutexslots=0`.
//! Otherwise it registers the process for the expedited command, and readers use
//! slots for good. Then `heavy()` must succeed: the registration belongs to the
//! address space, so a forked child that finds itself unregistered registers again;
//! if that fails it uses the slower `MEMBARRIER_CMD_GLOBAL` (no registration), and if
//! even that fails the runtime cannot keep its promise to readers and stops (fatal).

use core::sync::atomic::{AtomicU8, Ordering::*};

const MEMBARRIER_CMD_QUERY: libc::c_long = 0;
const MEMBARRIER_CMD_GLOBAL: libc::c_long = 1;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 16;

/// 0: not probed yet; 1: slots usable; 2: not.
static STATE: AtomicU8 = AtomicU8::new(0);

fn membarrier(cmd: libc::c_long) -> libc::c_long {
    // SAFETY: membarrier(cmd, flags = 0, cpu_id = 0) reads and writes no memory of ours.
    unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long, 0 as libc::c_long) }
}

fn disabled_by_env() -> bool {
    let Ok(v) = std::env::var("GS_DEBUG") else { return false };
    v.split(',').any(|kv| kv.trim() == "rwmutexslots=0")
}

#[cold]
#[inline(never)]
fn probe() -> bool {
    let want = MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
    let ok = crate::runtime::tools::present() == 0 && !disabled_by_env() && {
        // The commands the kernel has (a bit mask), or -1 (ENOSYS, or EPERM from seccomp).
        let have = membarrier(MEMBARRIER_CMD_QUERY);
        have >= 0 && have & want == want && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
    };
    // Racing probes agree (the same tests on the same process), and registering twice
    // is harmless.
    STATE.store(if ok { 1 } else { 2 }, Relaxed);
    ok
}

/// True if readers may use per-P slots (see the module's doc). Probes on first use.
/// Can be executed by anyone.
#[inline]
pub(crate) fn slots_usable() -> bool {
    match STATE.load(Relaxed) {
        1 => true,
        2 => false,
        _ => probe(),
    }
}

/// The writer's half of the asymmetric fence. Only after `slots_usable()` said true.
/// Costs a system call and an interrupt of every CPU running this process's threads
/// (microseconds).
/// Can be executed by anyone.
pub(crate) fn heavy() {
    core::sync::atomic::fence(SeqCst);
    if membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 {
        heavy_slow();
    }
    core::sync::atomic::fence(SeqCst);
}

#[cold]
#[inline(never)]
fn heavy_slow() {
    // Not registered (a forked child): register and try again; else the global command.
    if membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0
    {
        return;
    }
    if membarrier(MEMBARRIER_CMD_GLOBAL) == 0 {
        return;
    }
    crate::runtime::throw::fatal(
        "rwmutex: membarrier failed after it worked (readers in per-P slots need it)",
    );
}
