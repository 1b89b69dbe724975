//! The execution tracer and flight recorder: scheduling events recorded into
//! per-thread buffers, written out in the JSON Trace Event format that the Perfetto
//! UI and chrome://tracing load (trace_json.rs). See docs/tracing.md for reading one.
//!
//! # Switched off
//!
//! `ON` is one word. Every event site is `if trace::on() { trace::event(..) }`: one
//! relaxed load and one predictable branch; the body is a cold function that is never
//! inlined, so that the hot paths keep their code layout.
//!
//! # Buffers
//!
//! Each thread that records an event (an M, or a foreign thread that readies a
//! goroutine or starts one) owns a `Buf`, found through a thread-local and made at
//! its first event. Only the owner writes it, with plain (relaxed) stores and no
//! lock or system call: a record is one or more 32-byte slots, written, then
//! published by a release store of `head`. A buffer is a table of 64 KiB chunks: in
//! file mode the owner appends chunks (a `malloc` every 2048 slots) up to
//! `MAX_CHUNKS`, past which events are counted as dropped; in ring mode (the flight
//! recorder) it has a fixed number of chunks and position `i` reuses the slot of
//! `i - cap`. Buffers and chunks are never freed (a later session reuses them), so a
//! thread still finishing an event when tracing stops writes into memory that is
//! still its own. A thread that ends gives its buffer to the next thread that needs
//! one (`FREE`), so their number is the most threads that traced at once.
//!
//! # Sessions
//!
//! Every start (`GS_TRACE`, `gs_trace_start`, `gs_trace_ring`) begins a new session
//! (`SESSION`). A buffer whose `gen` is an older session's is reset by its owner at
//! its next event; readers skip buffers of other sessions. Start, stop and snapshot
//! are serialized by `CTRL`.
//!
//! # Reading without tearing
//!
//! A reader (stop, snapshot) never stops the writers. For each buffer it loads
//! `head` (acquire), copies the slots below it, issues an acquire fence and loads
//! `reserve`. The owner stores `reserve` (the end of the record it is about to write)
//! and a release fence before writing the record's slots, and `head` after. If any
//! slot copied was overwritten meanwhile (ring mode), the fence pair makes the
//! reader see the `reserve` of that write, and every slot below `reserve - cap` is
//! discarded. The copy that remains is consistent: whole records only (string
//! continuation slots at the start of what remains are skipped).

use super::g::{Gstatus, G};
use super::m::M;
use core::sync::atomic::Ordering::*;
use core::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64};
use std::sync::Mutex;

/// Tracing is on. Relaxed: an event site that misses the switch by a moment records
/// one event more or less.
static ON: AtomicBool = AtomicBool::new(false);
/// The current session; buffers of other sessions are stale.
static SESSION: AtomicU64 = AtomicU64::new(0);
/// Ring mode: slots per thread buffer; 0 in file mode. Set before `ON`.
static RING_SLOTS: AtomicU64 = AtomicU64::new(0);
/// Events dropped because a file-mode buffer was full.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// `gs_trace_start`'s fd, or -1 (a `GS_TRACE` file, or ring mode). Under `CTRL`.
static CTRL: Mutex<Ctrl> = Mutex::new(Ctrl { fd: -1, path: None, active: false, atexit: false });
/// Every buffer ever made (leaked: see *Buffers*).
static BUFS: Mutex<Vec<&'static Buf>> = Mutex::new(Vec::new());

struct Ctrl {
    /// Where `stop` writes the trace: an fd of the caller's, or a path (GS_TRACE).
    fd: i32,
    path: Option<String>,
    /// A session is running.
    active: bool,
    /// The at-exit writer is registered.
    atexit: bool,
}

/// Whether tracing is on. The one check at every event site.
#[inline(always)]
pub(crate) fn on() -> bool {
    ON.load(Relaxed)
}

/// Slots per chunk (64 KiB chunks).
pub(crate) const CHUNK_SLOTS: usize = 2048;
/// Bytes per slot.
pub(crate) const SLOT_BYTES: usize = 32;
/// Chunks a file-mode buffer may grow to (256 MiB per thread).
const MAX_CHUNKS: usize = 4096;
/// String bytes per continuation slot (the first word is the slot's header).
const STR_PER_SLOT: usize = 24;
/// Longest string recorded with an event (names, reasons, log messages), in slots.
const MAX_STR_SLOTS: usize = 11;
/// The first word of a continuation slot: this bit (never set in a timestamp) and the
/// number of string bytes in the slot.
const STR_MARK: u64 = 1 << 63;
/// Smallest ring: one chunk.
pub(crate) const MIN_RING_BYTES: u64 = (CHUNK_SLOTS * SLOT_BYTES) as u64;

type Chunk = [[AtomicU64; 4]; CHUNK_SLOTS];

/// Event kinds (the low byte of a record's second word).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Ev {
    /// A continuation slot carrying string bytes.
    Str = 0,
    /// `g` created by goroutine `arg` (0: a thread); string: its name.
    GoCreate = 1,
    /// `g` starts or resumes on this M.
    GoStart = 2,
    /// `g` parked; string: the wait reason. For this and the next three, `arg` is the
    /// depth its stack reached, in bytes.
    GoBlock = 3,
    /// `g` yielded or was preempted (still runnable).
    GoYield = 4,
    /// `g` ended.
    GoEnd = 5,
    /// `g` readied by goroutine `arg` (0: the runtime or a thread that runs none).
    GoReady = 6,
    /// `g` enters a blocking call.
    SyscallEnter = 7,
    /// `g` is back from a blocking call with a P.
    SyscallExit = 8,
    /// `g`, back from a blocking call, found no P and waits as runnable.
    SyscallBlock = 9,
    /// This M stole `extra` goroutines from P `arg`.
    Steal = 10,
    /// This M starts spinning; `arg`: idle Ps, `extra`: spinning Ms.
    Spin = 11,
    /// This M stops (parks) with no work; `arg`: idle Ps, `extra`: spinning Ms.
    MStop = 12,
    /// This M wakes with a P; `arg`: idle Ps, `extra`: spinning Ms.
    MWake = 13,
    /// sysmon handed P `arg` off from a blocking call.
    Handoff = 14,
    /// sysmon asked the goroutine on P `arg` to yield (its slice ran out).
    Preempt = 15,
    /// `extra` timers fired on P `arg`.
    Timers = 16,
    /// `g` begins a region; string: its name.
    RegionBegin = 17,
    /// `g` ends a region; string: its name.
    RegionEnd = 18,
    /// A log message of `g`; string: "category\0message".
    Log = 19,
    /// `g` ran `arg` ns without a scheduling point (longrun detector).
    LongRun = 20,
}

impl Ev {
    pub(crate) fn from_u8(v: u8) -> Option<Ev> {
        use Ev::*;
        const ALL: [Ev; 21] = [
            Str,
            GoCreate,
            GoStart,
            GoBlock,
            GoYield,
            GoEnd,
            GoReady,
            SyscallEnter,
            SyscallExit,
            SyscallBlock,
            Steal,
            Spin,
            MStop,
            MWake,
            Handoff,
            Preempt,
            Timers,
            RegionBegin,
            RegionEnd,
            Log,
            LongRun,
        ];
        ALL.get(v as usize).copied()
    }
}

/// "No P" in a record.
pub(crate) const NO_P: u16 = 0xffff;

/// One thread's events. Owner: the thread; readers: stop and snapshot.
pub(crate) struct Buf {
    /// Slots published (positions below it are whole records). Release by the owner.
    head: AtomicU64,
    /// End of the record being written; stored before its slots (see *Reading
    /// without tearing*).
    reserve: AtomicU64,
    /// Session of the contents. Written by the owner (release) after a reset.
    gen: AtomicU64,
    /// Slots of the ring, or 0 in file mode. Written by the owner at a reset.
    cap: AtomicU64,
    /// The chunks; a non-null entry is never changed again.
    chunks: Box<[AtomicPtr<Chunk>]>,
    /// The owner's kernel id (the last owner's once it ended).
    pub(crate) tid: core::sync::atomic::AtomicI32,
    /// The M id of the thread's last event on an M, + 1; 0: never an M.
    pub(crate) mid: AtomicU64,
}

// SAFETY: chunks are reached through atomics only; the owner/reader protocol is in
// the file header.
unsafe impl Sync for Buf {}

thread_local! {
    static MYBUF: core::cell::Cell<*const Buf> = const { core::cell::Cell::new(core::ptr::null()) };
    /// Gives the thread's buffer back to `FREE` when the thread ends.
    static OWNER: Owner = const { Owner(core::cell::Cell::new(core::ptr::null())) };
}

/// Buffers whose threads ended, for the next new thread: the number of buffers is
/// the most threads that traced at once, not all that ever did (Ms come and go, and
/// so do foreign threads). The new owner goes on where the last one stopped, on the
/// same track.
static FREE: Mutex<Vec<&'static Buf>> = Mutex::new(Vec::new());

struct Owner(core::cell::Cell<*const Buf>);

impl Drop for Owner {
    fn drop(&mut self) {
        let b = self.0.get();
        if !b.is_null() {
            // The thread records nothing more: its buffer goes to the next thread.
            MYBUF.with(|c| c.set(core::ptr::null()));
            // SAFETY: buffers are never freed.
            FREE.lock().unwrap_or_else(|e| e.into_inner()).push(unsafe { &*b });
        }
    }
}

/// A buffer for the calling thread: one that an ended thread left, or a new one.
#[cold]
fn adopt() -> Option<&'static Buf> {
    // A thread whose `OWNER` is gone (it is ending) records nothing.
    OWNER.try_with(|_| ()).ok()?;
    let reused = FREE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let b = reused.unwrap_or_else(|| {
        let nb: &'static Buf = Box::leak(Box::new(Buf {
            head: AtomicU64::new(0),
            reserve: AtomicU64::new(0),
            gen: AtomicU64::new(0),
            cap: AtomicU64::new(0),
            chunks: (0..MAX_CHUNKS).map(|_| AtomicPtr::new(core::ptr::null_mut())).collect(),
            tid: core::sync::atomic::AtomicI32::new(0),
            mid: AtomicU64::new(0),
        }));
        BUFS.lock().unwrap_or_else(|e| e.into_inner()).push(nb);
        nb
    });
    // SAFETY: gettid has no preconditions.
    b.tid.store(unsafe { libc::gettid() }, Relaxed);
    b.mid.store(0, Relaxed);
    OWNER.with(|o| o.0.set(b));
    MYBUF.with(|c| c.set(b));
    Some(b)
}

/// The calling thread's buffer, reset for the current session. Owner only.
fn mybuf() -> Option<&'static Buf> {
    let mut b = MYBUF.with(|c| c.get());
    if b.is_null() {
        b = adopt()?;
    }
    // SAFETY: buffers are leaked, never freed.
    let b = unsafe { &*b };
    let s = SESSION.load(Acquire);
    if b.gen.load(Relaxed) != s {
        let ring = RING_SLOTS.load(Relaxed);
        let nring = (ring as usize).div_ceil(CHUNK_SLOTS);
        for i in 0..nring.min(MAX_CHUNKS) {
            chunk(b, i, true)?;
        }
        b.head.store(0, Relaxed);
        b.reserve.store(0, Relaxed);
        b.cap.store((nring * CHUNK_SLOTS) as u64, Relaxed);
        b.gen.store(s, Release);
    }
    Some(b)
}

/// Chunk `i` of `b`, made if `make` and missing. Owner only when `make`.
fn chunk(b: &Buf, i: usize, make: bool) -> Option<&Chunk> {
    let p = b.chunks.get(i)?.load(Acquire);
    if !p.is_null() {
        // SAFETY: chunks are never freed.
        return Some(unsafe { &*p });
    }
    if !make {
        return None;
    }
    let c: Box<Chunk> = (0..CHUNK_SLOTS)
        .map(|_| [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)])
        .collect::<Vec<_>>()
        .into_boxed_slice()
        .try_into()
        .ok()?;
    let p = Box::into_raw(c);
    b.chunks[i].store(p, Release); // store-release: readers see the zeroed chunk
                                   // SAFETY: just made, never freed.
    Some(unsafe { &*p })
}

/// The slot of position `pos`: in the ring, or the file-mode chunk (made if `make`).
fn slot(b: &Buf, cap: u64, pos: u64, make: bool) -> Option<&[AtomicU64; 4]> {
    // cap is a power of two (see `begin`).
    let idx = if cap != 0 { pos & (cap - 1) } else { pos } as usize;
    let c = chunk(b, idx / CHUNK_SLOTS, make)?;
    Some(&c[idx % CHUNK_SLOTS])
}

// ---------------------------------------------------------------------------------
// The clock
//
// # Timestamps
//
// A record's timestamp is in ticks: the CPU's time-stamp counter where the kernel
// itself keeps time with it (its clocksource is `tsc`, which Linux picks only when
// the counter is invariant and synchronized across CPUs), else `nanotime`
// (CLOCK_MONOTONIC, through the vDSO). Reading the counter costs a few nanoseconds,
// the vDSO clock tens on a virtual machine. Readers convert ticks to nanoseconds
// with two points, the session's start and the read (`Clock`).

/// The time-stamp counter is the clock of this session. Set before `ON`.
static USE_TSC: AtomicBool = AtomicBool::new(false);
/// The session's start: (ticks, nanotime). Set before `ON`.
static T0_TICKS: AtomicU64 = AtomicU64::new(0);
static T0_NS: AtomicU64 = AtomicU64::new(0);

/// Whether the kernel keeps time with the TSC (so it is invariant and in step on
/// every CPU). Read once per process.
fn tsc_usable() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        cfg!(target_arch = "x86_64")
            && std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
                .map(|s| s.trim() == "tsc")
                .unwrap_or(false)
    })
}

/// The current time in ticks (see *Timestamps*).
#[inline]
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if USE_TSC.load(Relaxed) {
        // SAFETY: rdtsc has no preconditions; the TSC exists on every x86_64 CPU.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    super::time::nanotime() as u64
}

/// Ticks to nanoseconds for one read of the buffers.
#[derive(Clone, Copy)]
pub(crate) struct Clock {
    t0: u64,
    ns0: u64,
    /// Nanoseconds per tick, or 0: ticks are nanoseconds.
    rate: f64,
}

impl Clock {
    /// The conversion from the session's start to now.
    fn now() -> Clock {
        let (t0, ns0) = (T0_TICKS.load(Relaxed), T0_NS.load(Relaxed));
        if !USE_TSC.load(Relaxed) {
            return Clock { t0, ns0, rate: 0.0 };
        }
        let (t1, ns1) = (ticks(), super::time::nanotime() as u64);
        let rate = if t1 > t0 && ns1 > ns0 { (ns1 - ns0) as f64 / (t1 - t0) as f64 } else { 1.0 };
        Clock { t0, ns0, rate }
    }
    fn ns(&self, t: u64) -> u64 {
        if self.rate == 0.0 {
            t
        } else {
            self.ns0.wrapping_add(((t.wrapping_sub(self.t0) as i64) as f64 * self.rate) as i64 as u64)
        }
    }
}

/// Records one event with an optional string (truncated to `MAX_STR_SLOTS` slots).
/// Owner of the calling thread's buffer only (any thread).
fn emit(kind: Ev, p: u16, extra: u32, g: u64, arg: u64, s: &[u8]) {
    let Some(b) = mybuf() else {
        DROPPED.fetch_add(1, Relaxed);
        return;
    };
    let nstr = s.len().div_ceil(STR_PER_SLOT).min(MAX_STR_SLOTS);
    let slen = s.len().min(nstr * STR_PER_SLOT);
    let cap = b.cap.load(Relaxed);
    let pos = b.head.load(Relaxed);
    let end = pos + 1 + nstr as u64;
    if cap == 0 && end > (MAX_CHUNKS * CHUNK_SLOTS) as u64 {
        DROPPED.fetch_add(1, Relaxed);
        return;
    }
    b.reserve.store(end, Relaxed);
    fence(Release); // pairs with the reader's acquire fence (Reading without tearing)
    let ts = ticks();
    let mp = super::tls::getm();
    if !mp.is_null() {
        // SAFETY: the thread's own M.
        let id = unsafe { (*mp).id } + 1;
        if b.mid.load(Relaxed) != id {
            b.mid.store(id, Relaxed);
        }
    }
    let w1 = kind as u64 | (nstr as u64) << 8 | (p as u64) << 16 | (extra as u64) << 32;
    let Some(sl) = slot(b, cap, pos, true) else {
        DROPPED.fetch_add(1, Relaxed);
        return;
    };
    sl[0].store(ts, Relaxed);
    sl[1].store(w1, Relaxed);
    sl[2].store(g, Relaxed);
    sl[3].store(arg, Relaxed);
    for i in 0..nstr {
        let Some(sl) = slot(b, cap, pos + 1 + i as u64, true) else {
            DROPPED.fetch_add(1, Relaxed);
            return;
        };
        let part = &s[i * STR_PER_SLOT..((i + 1) * STR_PER_SLOT).min(slen)];
        let mut w = [0u8; STR_PER_SLOT];
        w[..part.len()].copy_from_slice(part);
        sl[0].store(STR_MARK | part.len() as u64, Relaxed);
        for k in 0..3 {
            sl[1 + k].store(u64::from_le_bytes(w[k * 8..k * 8 + 8].try_into().unwrap_or([0; 8])), Relaxed);
        }
    }
    b.head.store(end, Release); // store-release: publishes the record to readers
}

/// The P id of `m`, or `NO_P`.
fn pid(m: &M) -> u16 {
    if m.p.is_null() {
        NO_P
    } else {
        // SAFETY: m holds its P.
        unsafe { (*m.p).id as u16 }
    }
}

/// The goroutine the calling thread runs, or 0 (g0, foreign thread).
fn curgoid() -> u64 {
    let mp = super::tls::getm();
    if mp.is_null() {
        return 0;
    }
    // SAFETY: the thread's own M.
    let gp = unsafe { (*mp).curg() };
    if gp.is_null() {
        0
    } else {
        // SAFETY: the M's current G is alive while it runs.
        unsafe { (*gp).goid() }
    }
}

fn cstr_bytes<'a>(p: *const core::ffi::c_char) -> &'a [u8] {
    if p.is_null() {
        return &[];
    }
    // SAFETY: callers pass NUL-terminated strings (names, wait reasons) that outlive
    // the call.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// P id of the calling thread's M, or `NO_P`.
fn curpid() -> u16 {
    let mp = super::tls::getm();
    if mp.is_null() {
        NO_P
    } else {
        // SAFETY: the thread's own M.
        pid(unsafe { &*mp })
    }
}

// ---------------------------------------------------------------------------------
// The event sites (see *Where to hook tools* in docs/internals.md). Each is called
// only when `on()`.

/// newproc: `g` was made, with its goid and name, by the calling thread.
#[cold]
#[inline(never)]
pub(crate) fn go_create(g: &G) {
    emit(Ev::GoCreate, curpid(), 0, g.goid(), curgoid(), cstr_bytes(g.name.load(Relaxed)));
}

/// execute: `g` enters `m`.
#[cold]
#[inline(never)]
pub(crate) fn go_start(m: &M, g: &G) {
    emit(Ev::GoStart, pid(m), 0, g.goid(), 0, &[]);
}

/// leaveg: `g` left `m`, going from `from` to `to`.
#[cold]
#[inline(never)]
pub(crate) fn go_stop(m: &M, g: &G, from: Gstatus, to: Gstatus) {
    let p = pid(m);
    // How deep its stack went, as far as the switches saw (the lowest saved sp since
    // the stack was made or reused): no system call, unlike the committed pages that
    // gs_dump shows.
    let depth =
        if g.stack.is_empty() { 0 } else { g.stack.hi.saturating_sub(g.stack_lowest.min(g.sched_sp)) } as u64;
    match to {
        Gstatus::Waiting => emit(Ev::GoBlock, p, 0, g.goid(), depth, cstr_bytes(g.waitreason.load(Relaxed))),
        Gstatus::Dead => emit(Ev::GoEnd, p, 0, g.goid(), depth, &[]),
        _ if from == Gstatus::Syscall => emit(Ev::SyscallBlock, p, 0, g.goid(), depth, &[]),
        _ => emit(Ev::GoYield, p, 0, g.goid(), depth, &[]),
    }
}

/// set_runnable: the calling thread readies `g`.
#[cold]
#[inline(never)]
pub(crate) fn go_ready(g: &G) {
    emit(Ev::GoReady, curpid(), 0, g.goid(), curgoid(), &[]);
}

/// entersyscall / exitsyscall (fast paths) of `g` on `m`.
#[cold]
#[inline(never)]
pub(crate) fn syscall(m: &M, g: &G, enter: bool) {
    let k = if enter { Ev::SyscallEnter } else { Ev::SyscallExit };
    emit(k, pid(m), 0, g.goid(), 0, &[]);
}

/// stealwork: `m` took `n` goroutines from P `from`.
#[cold]
#[inline(never)]
pub(crate) fn steal(m: &M, from: u32, n: u32) {
    emit(Ev::Steal, pid(m), n, 0, from as u64, &[]);
}

/// findrunnable: `m` starts spinning, stops, or wakes; with the idle Ps and spinning
/// Ms at that moment.
#[cold]
#[inline(never)]
pub(crate) fn mstate(m: &M, kind: Ev, npidle: u32, nmspinning: u32) {
    emit(kind, pid(m), nmspinning, 0, npidle as u64, &[]);
}

/// sysmon: a hand-off of P `p` from a blocking call, or a yield request to it.
#[cold]
#[inline(never)]
pub(crate) fn sysmon(kind: Ev, p: u32, g: u64) {
    emit(kind, p as u16, 0, g, p as u64, &[]);
}

/// runtimers: `n` timers of P `p` fired.
#[cold]
#[inline(never)]
pub(crate) fn timers(p: u32, n: u32) {
    emit(Ev::Timers, curpid(), n, 0, p as u64, &[]);
}

/// The long-running detector: `goid` ran `ns` without a scheduling point;
/// `backtrace`, its frames' names (one per line, as long as a string of an event
/// may be), or empty.
#[cold]
#[inline(never)]
pub(crate) fn longrun(p: u32, goid: u64, ns: u64, backtrace: &[u8]) {
    emit(Ev::LongRun, p as u16, 0, goid, ns, backtrace);
}

/// gs_trace_region_begin/end and gs_trace_log, by the calling goroutine or thread.
pub(crate) fn user(kind: Ev, s: &[u8]) {
    if on() {
        emit(kind, curpid(), 0, curgoid(), 0, s);
    }
}

/// gs_trace_log: `category` and `message` as one string, NUL between them.
pub(crate) fn log(category: &[u8], message: &[u8]) {
    if on() {
        let mut v = Vec::with_capacity(category.len() + 1 + message.len());
        v.extend_from_slice(category);
        v.push(0);
        v.extend_from_slice(message);
        user(Ev::Log, &v);
    }
}

// ---------------------------------------------------------------------------------
// Reading the buffers

/// One event as read back.
#[derive(Clone, Debug)]
pub(crate) struct Rec {
    pub(crate) ts: u64,
    pub(crate) kind: Ev,
    pub(crate) p: u16,
    pub(crate) extra: u32,
    pub(crate) g: u64,
    pub(crate) arg: u64,
    pub(crate) s: Vec<u8>,
}

/// One thread's events as read back.
pub(crate) struct Track {
    pub(crate) tid: i32,
    /// M id + 1, 0 for a thread that never ran as an M.
    pub(crate) mid: u64,
    pub(crate) recs: Vec<Rec>,
    /// Slots the records take (a ring's are at most its size).
    pub(crate) slots: u64,
}

/// Copies the records of `b` (see *Reading without tearing*).
fn read_buf(b: &Buf, session: u64, clock: Clock) -> Option<Track> {
    if b.gen.load(Acquire) != session {
        return None;
    }
    let cap = b.cap.load(Relaxed);
    let head = b.head.load(Acquire); // load-acquire, synchronize with the owner's publish
    let lo = if cap != 0 { head.saturating_sub(cap) } else { 0 };
    let mut raw: Vec<[u64; 4]> = Vec::with_capacity((head - lo) as usize);
    for pos in lo..head {
        let Some(sl) = slot(b, cap, pos, false) else { break };
        raw.push([sl[0].load(Relaxed), sl[1].load(Relaxed), sl[2].load(Relaxed), sl[3].load(Relaxed)]);
    }
    fence(Acquire); // pairs with the owner's release fence after `reserve`
    let valid_lo = if cap != 0 { b.reserve.load(Relaxed).saturating_sub(cap).max(lo) } else { lo };
    let skip = (valid_lo - lo) as usize;
    let raw = if skip < raw.len() { &raw[skip..] } else { &[][..] };
    let mut recs = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let w = raw[i];
        // A continuation slot here belongs to a record that was overwritten.
        let Some(kind) = Ev::from_u8((w[1] & 0xff) as u8).filter(|_| w[0] & STR_MARK == 0) else {
            i += 1;
            continue;
        };
        let nstr = ((w[1] >> 8) & 0xff) as usize;
        if i + nstr >= raw.len() {
            break;
        }
        let mut s = Vec::new();
        for c in &raw[i + 1..i + 1 + nstr] {
            let len = ((c[0] & 0xff) as usize).min(STR_PER_SLOT);
            let mut bytes = [0u8; STR_PER_SLOT];
            for j in 0..3 {
                bytes[j * 8..j * 8 + 8].copy_from_slice(&c[1 + j].to_le_bytes());
            }
            s.extend_from_slice(&bytes[..len]);
        }
        recs.push(Rec {
            ts: clock.ns(w[0]),
            kind,
            p: ((w[1] >> 16) & 0xffff) as u16,
            extra: (w[1] >> 32) as u32,
            g: w[2],
            arg: w[3],
            s,
        });
        i += 1 + nstr;
    }
    Some(Track { tid: b.tid.load(Relaxed), mid: b.mid.load(Relaxed), recs, slots: raw.len() as u64 })
}

/// Every buffer of the current session, read.
fn read_all() -> Vec<Track> {
    let session = SESSION.load(Acquire);
    let bufs: Vec<&'static Buf> = BUFS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let clock = Clock::now();
    bufs.iter().filter_map(|b| read_buf(b, session, clock)).collect()
}

// ---------------------------------------------------------------------------------
// Control

/// Begins a session: `ring_bytes` per thread (0: file mode).
fn begin(c: &mut Ctrl, ring_bytes: u64) {
    let slots = if ring_bytes == 0 { 0 } else { (ring_bytes.max(MIN_RING_BYTES) / SLOT_BYTES as u64).max(1) };
    // A power of two of chunks, so that a position's slot is a mask, not a division.
    let slots = if slots == 0 {
        0
    } else {
        ((slots as usize).div_ceil(CHUNK_SLOTS).next_power_of_two().min(MAX_CHUNKS) * CHUNK_SLOTS) as u64
    };
    RING_SLOTS.store(slots, Relaxed);
    DROPPED.store(0, Relaxed);
    USE_TSC.store(tsc_usable(), Relaxed);
    T0_TICKS.store(ticks(), Relaxed);
    T0_NS.store(super::time::nanotime() as u64, Relaxed);
    SESSION_PID.store(std::process::id(), Relaxed);
    SESSION.fetch_add(1, Release);
    c.active = true;
    ON.store(true, SeqCst);
    super::tools::set_trace(true);
    sync_hooks();
}

/// After `ON` changed: every M's copy of it (see `MTools::hooks` in tools.rs), which
/// the switch paths test.
fn sync_hooks() {
    let _ = super::entry::with_runtime(|rt| {
        let s = rt.lock();
        for &mp in s.allm.iter() {
            // SAFETY: Ms in allm are alive while the lock is held.
            super::tools::sync_trace_hook(unsafe { &*mp });
        }
    });
}

fn ctrl() -> std::sync::MutexGuard<'static, Ctrl> {
    CTRL.lock().unwrap_or_else(|e| e.into_inner())
}

/// gs_trace_start: traces into `fd` until `stop`. `Busy` if a session runs.
pub(crate) fn start_fd(fd: i32) -> crate::error::Result<()> {
    let mut c = ctrl();
    if c.active {
        return Err(crate::error::Error::Busy);
    }
    c.fd = fd;
    c.path = None;
    begin(&mut c, 0);
    Ok(())
}

/// gs_trace_ring: a flight recorder of `bytes` per thread. `Busy` if a session runs.
pub(crate) fn start_ring(bytes: u64) -> crate::error::Result<()> {
    let mut c = ctrl();
    if c.active {
        return Err(crate::error::Error::Busy);
    }
    c.fd = -1;
    c.path = None;
    begin(&mut c, bytes);
    Ok(())
}

/// gs_trace_stop: ends the session; a file-mode session's trace is written to its fd
/// or file. Err: GS_EINVAL if none runs, else the code of the failed open or write.
pub(crate) fn stop() -> core::result::Result<(), i32> {
    let mut c = ctrl();
    if !c.active {
        return Err(-libc::EINVAL);
    }
    ON.store(false, SeqCst);
    super::tools::set_trace(false);
    sync_hooks();
    c.active = false;
    if RING_SLOTS.load(Relaxed) != 0 {
        return Ok(());
    }
    let tracks = read_all();
    let out =
        super::trace_json::render(&tracks, &live_names(), DROPPED.load(Relaxed), RING_SLOTS.load(Relaxed));
    if let Some(path) = c.path.take() {
        let f = std::fs::File::create(&path).map_err(|e| -e.raw_os_error().unwrap_or(libc::EIO))?;
        use std::os::fd::AsRawFd;
        return write_all(f.as_raw_fd(), out.as_bytes());
    }
    write_all(c.fd, out.as_bytes())
}

/// gs_trace_snapshot: writes what the buffers hold now to `fd`, while tracing goes
/// on. `Inval` if no session runs.
pub(crate) fn snapshot(fd: i32) -> core::result::Result<(), i32> {
    let c = ctrl();
    if !c.active {
        return Err(-libc::EINVAL);
    }
    let tracks = read_all();
    drop(c);
    let out =
        super::trace_json::render(&tracks, &live_names(), DROPPED.load(Relaxed), RING_SLOTS.load(Relaxed));
    write_all(fd, out.as_bytes())
}

fn write_all(fd: i32, b: &[u8]) -> core::result::Result<(), i32> {
    match super::debug::write_all(fd, b) {
        0 => Ok(()),
        e => Err(e),
    }
}

/// Names of the live goroutines, from the runtime if one runs.
fn live_names() -> Vec<(u64, String)> {
    let mut v = Vec::new();
    let _ = super::entry::with_runtime(|rt| {
        rt.allgs.for_each(|g| {
            if !matches!(g.status(), Gstatus::Dead | Gstatus::Idle) {
                let n = g.name_string();
                if !n.is_empty() {
                    v.push((g.goid(), n));
                }
            }
        })
    });
    v
}

/// GS_TRACE at gs_init: `path` traces the whole run into a file (written at
/// gs_shutdown or exit), `ring:SIZE` starts a flight recorder (SIZE in bytes, with
/// an optional k/m/g suffix). A session already running is left alone; a bad value
/// is reported on stderr once and ignored.
pub(crate) fn from_env() {
    let Ok(v) = std::env::var("GS_TRACE") else { return };
    if v.is_empty() {
        return;
    }
    let mut c = ctrl();
    if c.active {
        return;
    }
    if let Some(size) = v.strip_prefix("ring:") {
        match parse_size(size) {
            Some(n) if n > 0 => {
                c.fd = -1;
                c.path = None;
                begin(&mut c, n);
            }
            _ => eprintln!("gosched: GS_TRACE={v}: bad ring size (ring:SIZE, e.g. ring:4m): ignored"),
        }
        return;
    }
    c.fd = -1;
    c.path = Some(v);
    begin(&mut c, 0);
    if !c.atexit {
        c.atexit = true;
        // SAFETY: registering a plain extern "C" function with no arguments.
        unsafe { libc::atexit(stop_at_exit) };
    }
}

/// Writes a GS_TRACE file at gs_shutdown (the file session only).
pub(crate) fn stop_env() {
    let is_env = {
        let c = ctrl();
        c.active && c.path.is_some() && std::process::id() == SESSION_PID.load(Relaxed)
    };
    if is_env {
        if let Err(e) = stop() {
            eprintln!("gosched: GS_TRACE: writing the trace failed (errno {})", -e);
        }
    }
}

extern "C" fn stop_at_exit() {
    // A forked child inherits the session but not the threads that recorded it: only
    // the process that started it writes the file.
    if std::process::id() == SESSION_PID.load(Relaxed) {
        let _ = std::panic::catch_unwind(stop_env);
    }
}

/// The process that began the current session.
static SESSION_PID: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// `123`, `64k`, `4m`, `1g`.
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The payload a writer puts in record `seq` of thread `t`: checkable alone.
    fn payload(t: u64, seq: u64) -> Vec<u8> {
        format!("t{t}-seq{seq}-{}", "x".repeat((seq % 40) as usize)).into_bytes()
    }

    #[test]
    fn ring_keeps_last_events_and_snapshots_are_never_torn() {
        const THREADS: u64 = 3;
        const PER_THREAD: u64 = 200_000;
        // Tracks of this test: g = MARK + thread.
        const MARK: u64 = 0x7e57_0000_0000;
        {
            let mut c = ctrl();
            begin(&mut c, MIN_RING_BYTES);
        }
        let cap = RING_SLOTS.load(Relaxed);
        assert_eq!(cap, CHUNK_SLOTS as u64);
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    for seq in 0..PER_THREAD {
                        emit(Ev::Log, NO_P, 0, MARK + t, seq, &payload(t, seq));
                    }
                })
            })
            .collect();
        // Snapshots while the writers write: whole records, consecutive, within the ring.
        let check = |final_: bool| {
            let mut seen = 0;
            for tr in read_all() {
                let mine: Vec<&Rec> =
                    tr.recs.iter().filter(|r| r.g >= MARK && r.g < MARK + THREADS).collect();
                if mine.is_empty() {
                    continue;
                }
                seen += 1;
                let slots: u64 = mine.iter().map(|r| 1 + r.s.len().div_ceil(STR_PER_SLOT) as u64).sum();
                assert!(slots <= cap, "{slots} slots kept, the ring has {cap}");
                for w in mine.windows(2) {
                    assert_eq!(w[1].arg, w[0].arg + 1, "a gap or a torn record in the ring");
                    assert!(w[1].ts >= w[0].ts, "timestamps go back");
                }
                for r in &mine {
                    assert_eq!(r.kind, Ev::Log);
                    assert_eq!(r.s, payload(r.g - MARK, r.arg), "torn record");
                }
                if final_ {
                    assert_eq!(mine.last().map(|r| r.arg), Some(PER_THREAD - 1), "the last event is kept");
                    // The ring is full: what is kept is nearly the whole ring.
                    assert!(slots + 2 + MAX_STR_SLOTS as u64 > cap, "only {slots} of {cap} slots kept");
                }
            }
            seen
        };
        let mut snaps = 0;
        while writers.iter().any(|w| !w.is_finished()) {
            check(false);
            snaps += 1;
        }
        for w in writers {
            w.join().expect("writer");
        }
        done.store(true, Relaxed);
        assert_eq!(check(true), THREADS as usize);
        assert!(snaps > 0);
        ON.store(false, SeqCst);
        super::super::tools::set_trace(false);
        ctrl().active = false;
    }

    #[test]
    fn parse_size_units() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64k"), Some(65536));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }
}
