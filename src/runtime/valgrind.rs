//! Valgrind client requests: tell Valgrind where goroutine stacks are, so that its
//! tools treat a switch as a change of stack rather than a huge stack-pointer jump
//! (Valgrind's `VALGRIND_STACK_REGISTER`). Outside Valgrind the request is a few
//! instructions that do nothing: a no-op rotation of a register (by 128 bits in all)
//! that Valgrind recognizes, and an exchange of rbx with itself.

/// `VG_USERREQ__STACK_REGISTER`, from valgrind.h.
const STACK_REGISTER: usize = 0x1501;
/// `VG_USERREQ__RUNNING_ON_VALGRIND`, from valgrind.h.
const RUNNING_ON_VALGRIND: usize = 0x1001;

/// Sends a client request; returns `default` when not running under Valgrind.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn client_request(default: usize, req: usize, a1: usize, a2: usize) -> usize {
    let args: [usize; 6] = [req, a1, a2, 0, 0, 0];
    let mut result = default;
    // SAFETY: the sequence Valgrind recognizes; natively it changes no register (rdi
    // is rotated by 128 bits in all, rbx exchanged with itself) and reads only `args`.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") result,
            in("rax") args.as_ptr(),
            inout("rdi") 0usize => _,
            options(nostack, preserves_flags)
        );
    }
    result
}

/// Other architectures: no Valgrind requests (yet).
#[cfg(not(target_arch = "x86_64"))]
fn client_request(default: usize, _req: usize, _a1: usize, _a2: usize) -> usize {
    default
}

/// Registers `[lo, hi)` as a stack. Stacks stay registered until the process exits
/// or the memory is unmapped (Valgrind forgets stacks it cannot see any more only
/// when told; gosched reuses its stacks, so registrations stay few).
pub(crate) fn stack_register(lo: usize, hi: usize) {
    let _ = client_request(0, STACK_REGISTER, lo, hi);
}

/// True under Valgrind, whose older versions do not know every system call we may
/// make (they fail it, and print a warning).
pub(crate) fn running() -> bool {
    client_request(0, RUNNING_ON_VALGRIND, 0, 0) != 0
}

/// `ANNOTATE_HAPPENS_BEFORE` of helgrind.h and drd.h (the same request in both).
const HAPPENS_BEFORE: usize = 0x4847_0121;
/// `ANNOTATE_HAPPENS_AFTER` of helgrind.h and drd.h.
const HAPPENS_AFTER: usize = 0x4847_0122;

/// helgrind and drd: what this thread did so far happens before whatever a thread
/// does after a later `happens_after(obj)`.
pub(crate) fn happens_before(obj: usize) {
    let _ = client_request(0, HAPPENS_BEFORE, obj, 0);
}

/// helgrind and drd: the other half of `happens_before`.
pub(crate) fn happens_after(obj: usize) {
    let _ = client_request(0, HAPPENS_AFTER, obj, 0);
}

/// `VALGRIND_HG_DISABLE_CHECKING` of helgrind.h (`_VG_USERREQ__HG_ARANGE_MAKE_UNTRACKED`).
const HG_UNTRACK: usize = 0x4847_0127;
/// `ANNOTATE_BENIGN_RACE_SIZED` of drd.h (`VG_USERREQ__DRD_START_SUPPRESSION`).
const DRD_SUPPRESS: usize = 0x4452_0002;

/// helgrind and drd: do not check accesses to `[addr, addr + len)`, memory only the
/// runtime touches, ordered by its own atomics and locks, which those tools cannot
/// see. (Memcheck ignores both requests.)
pub(crate) fn untrack(addr: usize, len: usize) {
    let _ = client_request(0, HG_UNTRACK, addr, len);
    let _ = client_request(0, DRD_SUPPRESS, addr, len);
}

/// `VALGRIND_HG_ENABLE_CHECKING` of helgrind.h (`_VG_USERREQ__HG_ARANGE_MAKE_TRACKED`).
const HG_TRACK: usize = 0x4847_0128;
/// `VG_USERREQ__DRD_FINISH_SUPPRESSION` of drd.h.
const DRD_UNSUPPRESS: usize = 0x4452_0003;

/// helgrind and drd: check `[addr, addr + len)` again (after `untrack`).
pub(crate) fn track(addr: usize, len: usize) {
    let _ = client_request(0, HG_TRACK, addr, len);
    let _ = client_request(0, DRD_UNSUPPRESS, addr, len);
}
