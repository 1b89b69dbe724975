//! What a debugger needs to see goroutines: `gs_debug_layout`, a version-stamped
//! description of where the runtime keeps them, and the gdb extension
//! (`gdb/gosched-gdb.py`) embedded in the library's `.debug_gdb_scripts` section.
//!
//! # The layout descriptor
//!
//! A release build carries line tables but no DWARF types, and the runtime's statics
//! are internal symbols that LTO removes from the symbol table. So the library
//! exports one read-only static, `gs_debug_layout` (`DebugLayout`), that says where
//! the live runtime is and where the fields a goroutine list needs lie in G, M, P and
//! the runtime object. A debugger reads it and then plain memory: it runs no code in
//! the process, so the same reading works on a live process and on a core file.
//! It costs nothing at run time: nothing in the runtime reads or writes it.
//!
//! The walk it allows:
//! - `*runtime` is the live `Runtime`, or null (before gs_init, after gs_shutdown).
//! - The goroutine table (`AllGs`): at `rt + rt_allgs_segs` a pointer to
//!   `allgs_nsegs` segment pointers, at `rt + rt_allgs_len` the number of slots handed
//!   out (a usize). Slot `s` is in segment `s >> allgs_seg_shift`, which, when not
//!   null, has at `seg_published` an array of G pointers indexed by the low bits of
//!   `s`; a null entry is a slot not made yet.
//! - A G (`g_*` offsets): the state (u32, a value whose name is the n-th string of
//!   `status_names`), goid (u64), name and wait reason (pointers to NUL-terminated
//!   strings, or null), `waitsince` (u64, the clock of `*coarse_now`), the M (null
//!   unless running or in a blocking call), and `sched_sp`, the saved context of a G
//!   that is not running (0 for one that has not run yet).
//! - An M: id (u64), kernel thread id (i32), P held (or null), current G.
//! - The Ps: at `rt + rt_allp` a pointer to `*(rt + rt_allp_len)` Ps, `p_size` bytes
//!   apart; a P's id is a u32.
//! - A saved context (asm/<arch>.S, the `GS_FRAME_*` lines): the resume address at
//!   `sched_sp + frame_pc`, the stack pointer after the resume is `sched_sp +
//!   frame_size`, and the callee-saved registers named by `reg_names` (after the
//!   program counter's and the stack pointer's names) are at `sched_sp +
//!   frame_regs[i]`. That is a complete caller frame for an unwinder.
//!
//! Fields are only ever appended (`size` says how many there are); `version`
//! changes when a field changes meaning, and the extension refuses a version it does
//! not know.
//!
//! # The embedded extension
//!
//! `.debug_gdb_scripts` holds entries that gdb runs when it loads the object file,
//! if the file is in its auto-load safe path. An entry of type 4 carries the script's
//! text (a name on the first line, then the script, then a NUL); type 1 would only
//! name a file, which gdb would then look for in its own script directories, where
//! the library cannot know it is installed. The text is the same file as
//! `gdb/gosched-gdb.py`, included at build time, so the library that wrote a core
//! file is all that is needed to read it. The section is never touched at run time.

use super::context::slot;
use super::g::{self, Gstatus, G};
use super::m::M;
use super::p::P;
use super::sched::Runtime;
use core::ffi::{c_char, c_void};
use core::mem::{offset_of, size_of};

/// `DebugLayout::magic`.
pub(crate) const LAYOUT_MAGIC: [u8; 8] = *b"GSDEBUG\0";
/// `DebugLayout::version`.
pub(crate) const LAYOUT_VERSION: u32 = 1;
/// Room in `DebugLayout::frame_regs`.
const MAX_FRAME_REGS: usize = 12;

/// The layout descriptor (see *The layout descriptor*). Offsets are in bytes.
#[repr(C)]
pub struct DebugLayout {
    /// `GSDEBUG` and a NUL.
    pub magic: [u8; 8],
    /// `LAYOUT_VERSION`.
    pub version: u32,
    /// Bytes of this descriptor.
    pub size: u32,
    /// ELF `e_machine` of the code: 62 for x86-64, 183 for AArch64.
    pub machine: u32,
    /// Bytes of a pointer.
    pub ptr_size: u32,
    /// Address of the pointer to the live runtime (null when there is none).
    pub runtime: *const c_void,
    /// Address of an i64: a recent CLOCK_MONOTONIC_COARSE reading in nanoseconds,
    /// refreshed by sysmon; `g_waitsince` is on that clock.
    pub coarse_now: *const c_void,
    /// The G states' names by value, each NUL-terminated, then an empty string.
    pub status_names: *const c_char,
    /// Register names: the program counter, the stack pointer, then one per
    /// `frame_regs` entry; each NUL-terminated, then an empty string.
    pub reg_names: *const c_char,
    pub rt_allgs_segs: u32,
    pub rt_allgs_len: u32,
    pub rt_allp: u32,
    pub rt_allp_len: u32,
    pub allgs_seg_shift: u32,
    pub allgs_nsegs: u32,
    pub seg_published: u32,
    pub g_size: u32,
    pub g_sched_sp: u32,
    pub g_status: u32,
    pub g_flags: u32,
    pub g_m: u32,
    pub g_lockedm: u32,
    pub g_startfn: u32,
    pub g_startarg: u32,
    pub g_goid: u32,
    pub g_waitreason: u32,
    pub g_waitsince: u32,
    pub g_name: u32,
    pub g_stack_lo: u32,
    pub g_stack_hi: u32,
    /// The `g_flags` bit of a host goroutine (GS_GO_HOST).
    pub gflag_host: u32,
    /// The `g_flags` bit of the main goroutine of gs_main.
    pub gflag_main: u32,
    pub m_id: u32,
    pub m_tid: u32,
    pub m_p: u32,
    pub m_curg: u32,
    pub p_size: u32,
    pub p_id: u32,
    /// Bytes of a saved context; the stack pointer after its resume is
    /// `sched_sp + frame_size`.
    pub frame_size: u32,
    /// Where the resume address is in a saved context.
    pub frame_pc: u32,
    /// Entries used in `frame_regs`.
    pub nframe_regs: u32,
    /// Where each callee-saved register named by `reg_names` is in a saved context.
    pub frame_regs: [u32; MAX_FRAME_REGS],
}

// SAFETY: the descriptor is immutable; its pointers point at immutable strings and
// at statics that are read through atomics.
unsafe impl Sync for DebugLayout {}

/// `s` as the NUL-separated list a debugger reads, in `N` bytes (a compile-time
/// error if it does not fit).
const fn name_list<const N: usize>(names: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut i = 0;
    while i < names.len() {
        let b = names[i].as_bytes();
        let mut k = 0;
        while k < b.len() {
            out[at] = b[k];
            at += 1;
            k += 1;
        }
        at += 1; // the NUL after each name
        i += 1;
    }
    assert!(at < N, "name_list: the names do not fit");
    out
}

const fn status_names() -> [&'static str; Gstatus::ALL.len()] {
    let mut out = [""; Gstatus::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        assert!(Gstatus::ALL[i] as usize == i, "Gstatus::ALL is not in value order");
        out[i] = Gstatus::ALL[i].name();
        i += 1;
    }
    out
}

const fn reg_names() -> [&'static str; slot::CALLEE_SAVED.len() + 2] {
    let mut out = [""; slot::CALLEE_SAVED.len() + 2];
    out[0] = slot::PC_SP_NAMES.0;
    out[1] = slot::PC_SP_NAMES.1;
    let mut i = 0;
    while i < slot::CALLEE_SAVED.len() {
        out[i + 2] = slot::CALLEE_SAVED[i].1;
        i += 1;
    }
    out
}

pub(crate) static STATUS_NAMES: [u8; 64] = name_list(&status_names());
pub(crate) static REG_NAMES: [u8; 64] = name_list(&reg_names());

const fn frame_regs() -> [u32; MAX_FRAME_REGS] {
    let mut out = [0u32; MAX_FRAME_REGS];
    let mut i = 0;
    while i < slot::CALLEE_SAVED.len() {
        out[i] = (slot::CALLEE_SAVED[i].2 * 8) as u32;
        i += 1;
    }
    out
}

#[cfg(target_arch = "x86_64")]
const MACHINE: u32 = 62;
#[cfg(target_arch = "aarch64")]
const MACHINE: u32 = 183;

const fn off(v: usize) -> u32 {
    assert!(v <= u32::MAX as usize);
    v as u32
}

/// The value of `gs_debug_layout`: `LAYOUT_OFFSETS` with the addresses filled in.
/// A macro, for a static's initializer: a `const` may not take the address of a
/// static before Rust 1.83.
macro_rules! debug_layout {
    () => {
        $crate::runtime::debugger::DebugLayout {
            runtime: &$crate::runtime::sched::RT as *const _ as *const ::core::ffi::c_void,
            coarse_now: &$crate::runtime::time::COARSE_NOW as *const _ as *const ::core::ffi::c_void,
            status_names: &$crate::runtime::debugger::STATUS_NAMES as *const _ as *const ::core::ffi::c_char,
            reg_names: &$crate::runtime::debugger::REG_NAMES as *const _ as *const ::core::ffi::c_char,
            ..$crate::runtime::debugger::LAYOUT_OFFSETS
        }
    };
}
pub(crate) use debug_layout;

/// Everything of `gs_debug_layout` but its addresses (null here).
pub(crate) const LAYOUT_OFFSETS: DebugLayout = DebugLayout {
    magic: LAYOUT_MAGIC,
    version: LAYOUT_VERSION,
    size: size_of::<DebugLayout>() as u32,
    machine: MACHINE,
    ptr_size: size_of::<usize>() as u32,
    runtime: core::ptr::null(),
    coarse_now: core::ptr::null(),
    status_names: core::ptr::null(),
    reg_names: core::ptr::null(),
    rt_allgs_segs: off(offset_of!(Runtime, allgs) + g::ALLGS_SEGS_OFFSET),
    rt_allgs_len: off(offset_of!(Runtime, allgs) + g::ALLGS_LEN_OFFSET),
    rt_allp: off(offset_of!(Runtime, allp)),
    // A boxed slice is its data pointer, then its length (checked by a test below).
    rt_allp_len: off(offset_of!(Runtime, allp) + size_of::<usize>()),
    allgs_seg_shift: g::SEG_SHIFT,
    allgs_nsegs: off(g::NSEGS),
    seg_published: off(g::SEG_PUBLISHED_OFFSET),
    g_size: off(size_of::<G>()),
    g_sched_sp: off(offset_of!(G, sched_sp)),
    g_status: off(offset_of!(G, status)),
    g_flags: off(offset_of!(G, flags)),
    g_m: off(offset_of!(G, m)),
    g_lockedm: off(offset_of!(G, lockedm)),
    g_startfn: off(offset_of!(G, startfn)),
    g_startarg: off(offset_of!(G, startarg)),
    g_goid: off(offset_of!(G, goid)),
    g_waitreason: off(offset_of!(G, waitreason)),
    g_waitsince: off(offset_of!(G, waitsince)),
    g_name: off(offset_of!(G, name)),
    g_stack_lo: off(offset_of!(G, stack) + offset_of!(super::stack::Stack, lo)),
    g_stack_hi: off(offset_of!(G, stack) + offset_of!(super::stack::Stack, hi)),
    gflag_host: g::GFLAG_HOST,
    gflag_main: g::GFLAG_MAIN,
    m_id: off(offset_of!(M, id)),
    m_tid: off(offset_of!(M, tid)),
    m_p: off(offset_of!(M, p)),
    m_curg: off(offset_of!(M, curg)),
    p_size: off(size_of::<P>()),
    p_id: off(offset_of!(P, id)),
    frame_size: off(slot::FRAME_SIZE),
    frame_pc: off(slot::PC * 8),
    nframe_regs: off(slot::CALLEE_SAVED.len()),
    frame_regs: frame_regs(),
};

const _: () = {
    assert!(slot::CALLEE_SAVED.len() <= MAX_FRAME_REGS);
    // Every field is 4 or 8 bytes, in an order that leaves no padding: a reader
    // computes the offsets from the field list alone.
    assert!(size_of::<DebugLayout>() == 8 + 4 * 4 + 4 * 8 + (32 + MAX_FRAME_REGS) * 4);
};

/// The gdb extension as one inline-script entry of `.debug_gdb_scripts` (see *The
/// embedded extension*): type 4, the script's name and a newline, its text, a NUL.
const GDB_SCRIPT_ENTRY: &str =
    concat!("\x04gosched-gdb.py\n", include_str!("../../gdb/gosched-gdb.py"), "\0");

const fn entry_bytes<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    assert!(b.len() == N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        // A NUL inside the script would end the entry early.
        assert!(b[i] != 0 || i == N - 1, "gdb/gosched-gdb.py contains a NUL byte");
        out[i] = b[i];
        i += 1;
    }
    out
}

#[link_section = ".debug_gdb_scripts"]
#[used]
static GDB_SCRIPTS: [u8; GDB_SCRIPT_ENTRY.len()] = entry_bytes(GDB_SCRIPT_ENTRY);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// `rt_allgs_segs` and `rt_allp` read a boxed slice's first word as its data
    /// pointer, and `rt_allp_len` its second as its length.
    #[test]
    fn boxed_slice_is_pointer_then_length() {
        let b: Box<[u64]> = vec![7, 8, 9].into_boxed_slice();
        // SAFETY: a boxed slice is two words; this copies them without dropping `b`.
        let words: [usize; 2] = unsafe { core::mem::transmute_copy(&b) };
        assert_eq!(words, [b.as_ptr() as usize, 3]);
    }

    fn names(list: &[u8]) -> Vec<String> {
        list.split(|&c| c == 0)
            .take_while(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into())
            .collect()
    }

    #[test]
    fn status_names_follow_the_values() {
        let got = names(&STATUS_NAMES);
        assert_eq!(got.len(), Gstatus::ALL.len());
        for (i, n) in got.iter().enumerate() {
            assert_eq!(n, Gstatus::from_u32(i as u32).name(), "state {i}");
        }
    }

    #[test]
    fn register_names_match_the_frame_slots() {
        let got = names(&REG_NAMES);
        assert_eq!(got.len(), LAYOUT_OFFSETS.nframe_regs as usize + 2);
        assert_eq!(got[0], slot::PC_SP_NAMES.0);
        for (i, (_, reg, s)) in slot::CALLEE_SAVED.iter().enumerate() {
            assert_eq!(&got[i + 2], reg);
            assert_eq!(LAYOUT_OFFSETS.frame_regs[i] as usize, s * 8);
        }
    }

    #[test]
    fn script_entry_is_an_inline_python_entry() {
        assert_eq!(GDB_SCRIPTS[0], 4);
        assert_eq!(*GDB_SCRIPTS.last().unwrap(), 0);
        let text = core::str::from_utf8(&GDB_SCRIPTS[1..GDB_SCRIPTS.len() - 1]).unwrap();
        let (name, body) = text.split_once('\n').unwrap();
        assert_eq!(name, "gosched-gdb.py");
        assert!(body.contains("gs_debug_layout"));
        // The script is in every binary linked with libgosched.a, which the static
        // link test checks does not name the shared library.
        assert!(!body.contains(concat!("libgosched", ".so")), "the embedded script names the shared library");
    }
}
