//! Cache hints for the scheduler: fetching the Gs that will run next, and what they
//! touch first, while the current goroutine runs.
//!
//! With many goroutines alive (skynet keeps tens of thousands runnable) the next G,
//! its saved context and its argument are far from the cache; touching them one after
//! another in `schedule`, `execute` and the goroutine's first lines costs a memory
//! round trip each. A hint costs an instruction and never faults, so a wrong guess
//! (a G stolen meanwhile, a stale field) only wastes a fetch.

use super::p::P;

/// Hints the CPU to fetch the cache line at `p` (any address: a hint never faults).
#[inline(always)]
fn prefetch(p: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetcht0 only hints the cache; it never faults, whatever the address.
    unsafe {
        core::arch::asm!("prefetcht0 ({p})", p = in(reg) p, options(att_syntax, nostack, preserves_flags, readonly));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (prfm never faults).
    unsafe {
        core::arch::asm!("prfm pldl1keep, [{p}]", p = in(reg) p, options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}

/// Reads a word of a G that another P may be writing (it stole the G): the value is
/// only used as a hint. The read is done by the hardware, outside the language's
/// memory model, as the hint instructions are.
#[inline(always)]
fn racy_word(p: *const usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let v: usize;
        // SAFETY: p points into a G, and Gs stay allocated until the runtime is freed.
        unsafe {
            core::arch::asm!("movq ({p}), {v}", p = in(reg) p, v = out(reg) v, options(att_syntax, nostack, preserves_flags, readonly));
        }
        v
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = p;
        0
    }
}

/// Called by the holder of `pp` after taking the G it runs now: fetches the G two
/// places ahead in pp's ring, and what the next G touches first (its saved context,
/// or its argument when it has not run yet), which the previous call fetched.
#[inline(always)]
pub(crate) fn upcoming(pp: &P) {
    if super::tools::no_racy_reads() {
        return; // a thread checker would take the racy reads below for races
    }
    let far = pp.runq.peek(1);
    if !far.is_null() {
        prefetch(far as usize);
        prefetch(far as usize + 64);
    }
    let next = pp.runq.peek(0);
    if next.is_null() {
        return;
    }
    // SAFETY: only addresses are formed; the fields are read by racy_word.
    let (sp, arg) = unsafe { (&raw const (*next).sched_sp, &raw const (*next).startarg) };
    let sp = racy_word(sp);
    if sp != 0 {
        prefetch(sp);
        prefetch(sp + 56);
    } else {
        let arg = racy_word(arg);
        if arg != 0 {
            prefetch(arg);
        }
    }
}
