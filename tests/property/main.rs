//! The property test of the C API: random sequences of calls made at once by
//! goroutines, host goroutines (GS_GO_HOST, run by the test thread's gs_run_for),
//! unlockf callbacks and foreign threads, on shared channels, mutexes and wait groups,
//! sometimes while other threads call gs_shutdown. For every seed it checks:
//!
//! - every code a call returns is one that the function's comment in
//!   include/gosched.h lists (the table that `codes.rs` parses from the header), and
//!   one that fits where it was called (GS_EPERM for gs_park on a foreign thread,
//!   never GS_ESHUTDOWN unless a gs_shutdown races, ...);
//! - every value sent on a channel is received exactly once, or is still buffered, or
//!   its send failed: none is received twice, none whose send failed is received, an
//!   element arrives intact, one sender's values reach one receiver in the order they
//!   were sent, and a receive that gives GS_ECLOSED zeroes its buffer;
//! - a mutex is held by one party at a time; gs_ready succeeds exactly as often on
//!   a goroutine as its parks that unlockf kept parked return 0 (a park whose time
//!   ran out gives GS_ETIMEDOUT, and a gs_ready that lost to it GS_EINVAL);
//! - without a racing gs_shutdown every actor finishes, gs_wait then returns 0 and
//!   gs_shutdown abandons nothing; with one, gs_shutdown's counts cover the goroutines
//!   it stopped, and what those were doing is allowed for (a value in flight may be
//!   delivered once or lost, a mutex may stay locked);
//! - afterwards every object frees with 0 (one known exception, counted and
//!   reported: see KNOWN ISSUE in `verify`), and the process's threads
//!   (/proc/self/task) and file descriptors (/proc/self/fd) are back to their count
//!   before gs_init.
//!
//! A seed fixes the configuration and every actor's sequence of calls; the order in
//! which they meet is the scheduler's. A failing seed prints its number and every
//! actor's trace; `PROPERTY_SEED=n` runs that seed alone and `PROPERTY_TRACE=1`
//! prints the traces of seeds that pass too. `PROPERTY_SEEDS` sets how many seeds
//! run (64 by default; `make property-long` runs 5000).
//!
//! The randomness is a SplitMix64 stream per actor rather than the proptest crate: a
//! case is a concurrent run whose outcome depends on the interleaving, so proptest's
//! shrinking would chase a different schedule at every rerun, and what is left (a
//! seeded generator) is a dozen lines.
//!
//! Rust code here runs on goroutine stacks and moves between threads at every call
//! that can switch: it keeps no lock across such a call and uses no thread-local.

mod codes;

use codes::Table;
use gosched::ffi::chan::*;
use gosched::ffi::codes::*;
use gosched::ffi::debug::{gs_dump, gs_stats, gs_stats_get};
use gosched::ffi::go::*;
use gosched::ffi::lifecycle::*;
use gosched::ffi::netpoll::{gs_wait_fd, GS_POLLIN};
use gosched::ffi::park::*;
use gosched::ffi::sync::*;
use gosched::ffi::time::*;
use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{null, null_mut};
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::*,
};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Randomness

/// SplitMix64: one stream per (seed, actor).
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03)
            ^ 0x5851_F42D_4C95_7F2D)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------
// The world of one seed

/// Most actors one seed may have (top-level ones and the children they spawn).
const MAX_ACTORS: usize = 40;
/// A mutex's owner when nobody holds it.
const NOBODY: usize = usize::MAX;
/// The receiver of what the test thread drains from the channels at the end.
const MAIN: usize = usize::MAX - 1;

/// Actor::state.
const FREE: u8 = 0;
const STARTED: u8 = 1;
const RUNNING: u8 = 2;
const FINISHED: u8 = 3;
const NOT_STARTED: u8 = 4;

/// Actor::kind.
const GOROUTINE: u8 = 0;
const HOST: u8 = 1;
const FOREIGN: u8 = 2;

/// Channel elements: a value, its complement and the seed, so that a torn or stale
/// copy shows.
type Elem = [u64; 3];
const ESZ: usize = core::mem::size_of::<Elem>();
/// What receive buffers hold before the call.
const POISON: u64 = 0xAAAA_AAAA_AAAA_AAAA;

/// Where a call is made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    Goroutine,
    /// Inside an unlockf, on the scheduler's stack.
    G0,
    Foreign,
}

/// What an actor was doing when it stopped, if it never came back (abandoned by
/// gs_shutdown): the values it was sending and the channels it was receiving from.
#[derive(Clone, Default, Debug)]
struct Inflight {
    call: &'static str,
    sends: Vec<(usize, u64)>,
    recv_chans: Vec<usize>,
}

/// An actor's record, read by the test thread once the actor finished or its runtime
/// stopped. Locked only between calls into the runtime.
#[derive(Default)]
struct Log {
    trace: Vec<String>,
    /// (channel, value, delivered): every send that returned.
    sends: Vec<(usize, u64, bool)>,
    /// (channel, value), in the order received.
    recvs: Vec<(usize, u64)>,
    inflight: Option<Inflight>,
    /// The mutex it is locking, holds or is unlocking.
    holding: Option<usize>,
    /// Parks that returned 0: all of them, and those whose unlockf kept it parked.
    parks_zero: u64,
    parks_zero_kept: u64,
}

struct Actor {
    state: AtomicU8,
    kind: AtomicU8,
    budget: AtomicU32,
    log: Mutex<Log>,
    /// The park lock, what a gs_park caller's unlockf releases: the actor takes it
    /// before it parks, its unlockf drops it as its last step, and whoever readies
    /// the actor holds it around gs_ready. A handle outlives the park it was
    /// published for (it names the goroutine), so without the lock a gs_ready with
    /// an old handle could take the goroutine while its unlockf still runs on the
    /// goroutine's frame, or before it even started.
    park_lock: AtomicBool,
    /// Under park_lock: parked by gs_park with an unlockf that keeps it parked, and
    /// not readied yet.
    park_open: AtomicBool,
}

impl Actor {
    fn park_lock(&self) {
        let mut spins = 0u32;
        while self.park_lock.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
            spins += 1;
            if spins < 100 {
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    fn park_trylock(&self) -> bool {
        self.park_lock.compare_exchange(false, true, Acquire, Relaxed).is_ok()
    }

    fn park_unlock(&self) {
        self.park_lock.store(false, Release);
    }
}

struct World {
    seed: u64,
    /// A gs_shutdown races with the actors in this seed.
    race: bool,
    nprocs: u32,
    devnull: c_int,
    table: &'static Table,
    /// Weights of the operations (OPS), per seed.
    weights: Vec<u64>,
    total_weight: u64,
    chans: Vec<(*mut gs_chan, usize)>,
    /// A mutex and who holds it (NOBODY).
    mutexes: Vec<(*mut gs_mutex, AtomicUsize)>,
    wgs: Vec<*mut gs_waitgroup>,
    actors: Vec<Actor>,
    nactors: AtomicUsize,
    /// (actor, handle) of goroutines parked by gs_park, published by their unlockf.
    parked: Mutex<Vec<(usize, usize)>>,
    /// gs_ready calls that returned 0, per target actor.
    readied: Vec<AtomicU64>,
    /// gs_shutdown calls that returned, and the sum of their counts.
    shutdowns_done: AtomicU32,
    abandoned_sum: AtomicI64,
    /// gs_main callers whose function ran.
    main_fn_ran: AtomicU64,
    calls: AtomicU64,
    failures: Mutex<Vec<String>>,
}

// SAFETY: the raw pointers are gosched handles, which the C API lets any thread use;
// everything else is atomics or behind mutexes.
unsafe impl Sync for World {}
// SAFETY: as above.
unsafe impl Send for World {}

/// The world of the seed that runs now (one at a time). Goroutines and threads reach
/// it through `world()`.
static WORLD: AtomicPtr<World> = AtomicPtr::new(null_mut());

fn world() -> &'static World {
    let p = WORLD.load(Acquire);
    assert!(!p.is_null(), "an actor ran with no seed running");
    // SAFETY: the test thread publishes the world before it starts any actor and
    // withdraws it only after every actor finished or its runtime was shut down (an
    // abandoned goroutine never runs again).
    unsafe { &*p }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl World {
    fn fail(&self, msg: String) {
        lock(&self.failures).push(msg);
    }

    /// Checks a code: the header must list it for `func`, and it must be one of `ok`
    /// (the failures that may happen where it was called; success is checked by the
    /// caller).
    fn check(&self, who: &str, func: &str, rc: i64, ok: &[i64]) {
        self.calls.fetch_add(1, Relaxed);
        if !self.table.allows(func, rc) {
            self.fail(format!(
                "{who}: {func} returned {} ({}), which its comment in gosched.h does not list (it lists {:?})",
                rc,
                self.table.name(rc),
                self.table.doc(func).names
            ));
        } else if rc < 0 && !ok.contains(&rc) {
            let want: Vec<String> = ok.iter().map(|&c| self.table.name(c)).collect();
            self.fail(format!(
                "{who}: {func} returned {} here, where only {want:?} may happen",
                self.table.name(rc)
            ));
        }
    }

    fn elem(&self, v: u64) -> Elem {
        [v, !v, self.seed]
    }
}

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------
// Operations

/// The operations an actor draws from, with their base weights (each seed scales
/// them by 0 to 3, so that seeds differ in what they stress).
const OPS: &[(&str, u64)] = &[
    ("send", 6),
    ("recv", 6),
    ("try_send", 3),
    ("try_recv", 3),
    ("send_timeout", 3),
    ("recv_timeout", 3),
    ("select", 5),
    ("close", 1),
    ("len_cap", 1),
    ("private_chan", 1),
    ("lock", 3),
    ("trylock", 2),
    ("private_mutex", 1),
    ("wg_child", 2),
    ("wg_wait", 2),
    ("private_wg", 1),
    ("gosched", 3),
    ("sleep", 2),
    ("spawn", 2),
    ("park", 4),
    ("ready", 4),
    ("lock_os_thread", 1),
    ("stats", 1),
    ("dump", 1),
    ("wait", 1),
    ("wrong_context", 1),
    ("init", 1),
    ("main", 1),
    ("bad_args", 2),
    ("identity", 1),
    ("wait_fd", 1),
];

/// How a channel operation waits.
#[derive(Clone, Copy)]
enum How {
    Block,
    Try,
    Timeout(i64),
}

/// A running actor (on its goroutine's stack or its thread's): its identity, where it
/// runs now, and its random stream.
struct Me {
    w: &'static World,
    id: usize,
    kind: u8,
    ctx: Ctx,
    rng: Rng,
    seq: u64,
    goid: i64,
    last_ns: i64,
}

/// Arguments of the unlockf of a park, in the parking goroutine's frame.
struct ParkCtx {
    me: *mut Me,
    keep: bool,
    g0op: u64,
}

/// The start arguments of a wait group's child goroutine (copied by gs_go_copy).
#[repr(C)]
#[derive(Clone, Copy)]
struct WgArg {
    wg: u32,
    sleep_ns: u32,
    parent: u64,
}

impl Me {
    fn who(&self) -> String {
        let k = match (self.kind, self.ctx) {
            (_, Ctx::G0) => "unlockf",
            (GOROUTINE, _) => "goroutine",
            (HOST, _) => "host goroutine",
            _ => "thread",
        };
        format!("actor {} ({k})", self.id)
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        lock(&self.w.actors[self.id].log)
    }

    fn note(&self, s: String) {
        let pre = if self.ctx == Ctx::G0 { "  [unlockf] " } else { "" };
        self.log().trace.push(format!("{pre}{s}"));
    }

    /// Records and checks a call's code.
    fn call(&self, func: &'static str, args: String, rc: i64, ok: &[i64]) -> i64 {
        let shown = if rc < 0 { self.w.table.name(rc) } else { rc.to_string() };
        self.note(format!("{func}({args}) = {shown}"));
        self.w.check(&self.who(), func, rc, ok);
        rc
    }

    /// A call whose answer is fixed: exactly `want`.
    fn call_exact(&self, func: &'static str, args: String, rc: i64, want: i64) {
        self.call(func, args.clone(), rc, &[want]);
        if rc != want {
            let n = |c: i64| {
                if c < 0 {
                    self.w.table.name(c)
                } else {
                    c.to_string()
                }
            };
            self.w.fail(format!("{}: {func}({args}) returned {}, want {}", self.who(), n(rc), n(want)));
        }
    }

    fn fail(&self, msg: String) {
        self.note(format!("FAILED: {msg}"));
        self.w.fail(format!("{}: {msg}", self.who()));
    }

    fn fresh(&mut self) -> u64 {
        self.seq += 1;
        ((self.id as u64 + 1) << 40) | self.seq
    }

    fn foreign(&self) -> bool {
        self.ctx == Ctx::Foreign
    }

    /// The extra codes of a call that needs the runtime: on a foreign thread while a
    /// gs_shutdown races, GS_ESHUTDOWN and (after it) GS_ENOTINIT.
    fn needs_rt(&self) -> Vec<i64> {
        if self.w.race && self.foreign() {
            vec![GS_ESHUTDOWN as i64, GS_ENOTINIT as i64]
        } else {
            vec![]
        }
    }

    /// The extra codes of a call that starts or wakes something (gs_go, gs_ready):
    /// GS_ESHUTDOWN on an M too.
    fn starts(&self) -> Vec<i64> {
        let mut v = self.needs_rt();
        if self.w.race && !self.foreign() {
            v.push(GS_ESHUTDOWN as i64);
        }
        v
    }

    /// The extra codes of a call that may block: GS_EPERM inside an unlockf,
    /// GS_ESHUTDOWN on a foreign thread while a gs_shutdown races.
    fn blocking(&self) -> Vec<i64> {
        match self.ctx {
            Ctx::G0 => vec![GS_EPERM as i64],
            Ctx::Foreign if self.w.race => vec![GS_ESHUTDOWN as i64],
            _ => vec![],
        }
    }

    fn set_inflight(&self, call: &'static str, sends: Vec<(usize, u64)>, recv_chans: Vec<usize>) {
        self.log().inflight = Some(Inflight { call, sends, recv_chans });
    }

    fn pick_chan(&mut self) -> usize {
        self.rng.below(self.w.chans.len() as u64) as usize
    }

    fn timeout(&mut self) -> i64 {
        match self.rng.below(10) {
            0 => -1,
            1..=3 => 0,
            _ => self.rng.range(1_000, 2_000_000) as i64,
        }
    }

    // --- channels ---

    fn send(&mut self, c: usize, how: How) {
        let v = self.fresh();
        let e = self.w.elem(v);
        let h = self.w.chans[c].0;
        self.set_inflight("send", vec![(c, v)], vec![]);
        let p = e.as_ptr().cast::<c_void>();
        let (func, rc, mut ok) = match how {
            How::Block => ("gs_chan_send", gs_chan_send(h, p), self.blocking()),
            How::Try => ("gs_chan_try_send", gs_chan_try_send(h, p), vec![GS_EAGAIN as i64]),
            How::Timeout(t) => {
                let mut ok = if t == 0 { vec![] } else { self.blocking() };
                if t >= 0 {
                    ok.push(GS_ETIMEDOUT as i64);
                }
                ("gs_chan_send_timeout", gs_chan_send_timeout(h, p, t), ok)
            }
        };
        ok.push(GS_ECLOSED as i64);
        {
            let mut l = self.log();
            l.inflight = None;
            l.sends.push((c, v, rc == 0));
        }
        let t = if let How::Timeout(t) = how { format!(", {t}") } else { String::new() };
        self.call(func, format!("c{c}, {v:#x}{t}"), rc as i64, &ok);
    }

    /// Checks a received element and records it.
    fn received(&self, c: usize, out: &Elem) {
        if out[1] != !out[0] || out[2] != self.w.seed {
            self.fail(format!("received a corrupted element on c{c}: {out:x?}"));
            return;
        }
        self.log().recvs.push((c, out[0]));
    }

    fn recv(&mut self, c: usize, how: How) {
        let h = self.w.chans[c].0;
        let mut out: Elem = [POISON; 3];
        self.set_inflight("recv", vec![], vec![c]);
        let p = out.as_mut_ptr().cast::<c_void>();
        let (func, rc, mut ok) = match how {
            How::Block => ("gs_chan_recv", gs_chan_recv(h, p), self.blocking()),
            How::Try => ("gs_chan_try_recv", gs_chan_try_recv(h, p), vec![GS_EAGAIN as i64]),
            How::Timeout(t) => {
                let mut ok = if t == 0 { vec![] } else { self.blocking() };
                if t >= 0 {
                    ok.push(GS_ETIMEDOUT as i64);
                }
                ("gs_chan_recv_timeout", gs_chan_recv_timeout(h, p, t), ok)
            }
        };
        ok.push(GS_ECLOSED as i64);
        self.log().inflight = None;
        if rc == 0 {
            self.received(c, &out);
        } else if rc == GS_ECLOSED && out != [0; 3] {
            self.fail(format!("{func} on c{c} gave GS_ECLOSED without zeroing the buffer: {out:x?}"));
        }
        let t = if let How::Timeout(t) = how { format!(", {t}") } else { String::new() };
        let got = if rc == 0 { format!(" -> {:#x}", out[0]) } else { String::new() };
        self.call(func, format!("c{c}{t}{got}"), rc as i64, &ok);
    }

    fn select(&mut self) {
        let k = self.rng.range(1, 4) as usize;
        let mut bufs: Vec<Elem> = vec![[POISON; 3]; k];
        // (channel or None, is a send, value sent)
        let mut meta: Vec<(Option<usize>, bool, u64)> = Vec::with_capacity(k);
        for b in bufs.iter_mut() {
            let c = if self.rng.chance(12) { None } else { Some(self.pick_chan()) };
            let send = self.rng.chance(50);
            let v = if send && c.is_some() { self.fresh() } else { 0 };
            if send && c.is_some() {
                *b = self.w.elem(v);
            }
            meta.push((c, send, v));
        }
        let mut cases: Vec<gs_select_case> = bufs
            .iter_mut()
            .zip(meta.iter())
            .map(|(b, &(c, send, _))| gs_select_case {
                chan: c.map_or(null_mut(), |c| self.w.chans[c].0),
                op: if send { GS_SEND } else { GS_RECV },
                elem: b.as_mut_ptr().cast(),
                result: 12345,
            })
            .collect();
        let any = meta.iter().any(|m| m.0.is_some());
        let t = if any { self.timeout() } else { self.rng.pick(&[0, 1_000, 300_000]) };
        let sends: Vec<(usize, u64)> =
            meta.iter().filter(|m| m.1).filter_map(|m| m.0.map(|c| (c, m.2))).collect();
        let recvs: Vec<usize> = meta.iter().filter(|m| !m.1).filter_map(|m| m.0).collect();
        self.set_inflight("select", sends, recvs);
        let rc = gs_select(cases.as_mut_ptr(), k, t);
        let mut ok = if t == 0 { vec![GS_EAGAIN as i64] } else { self.blocking() };
        if t > 0 {
            ok.push(GS_ETIMEDOUT as i64);
        }
        let fired = if rc >= 0 { Some(rc as usize) } else { None };
        let mut result = 0;
        if let Some(i) = fired {
            if i >= k || meta[i].0.is_none() {
                self.fail(format!("gs_select returned {i} of {k} cases, {meta:?}"));
            } else {
                result = cases[i].result;
                if result != 0 && result != GS_ECLOSED {
                    self.fail(format!(
                        "gs_select's chosen case {i} has result {result}, not 0 or GS_ECLOSED"
                    ));
                }
            }
        }
        {
            let mut l = self.log();
            l.inflight = None;
            for (j, m) in meta.iter().enumerate() {
                if let (Some(c), true) = (m.0, m.1) {
                    l.sends.push((c, m.2, fired == Some(j) && result == 0));
                }
            }
        }
        if let Some(i) = fired.filter(|&i| i < k && meta[i].0.is_some() && !meta[i].1) {
            let c = meta[i].0.unwrap_or(0);
            if result == 0 {
                self.received(c, &bufs[i]);
            } else if result == GS_ECLOSED && bufs[i] != [0; 3] {
                self.fail(format!("gs_select's receive on closed c{c} left its buffer {:x?}", bufs[i]));
            }
        }
        let shown: Vec<String> = meta
            .iter()
            .map(|m| match m {
                (None, _, _) => "nil".to_string(),
                (Some(c), true, v) => format!("c{c}<-{v:#x}"),
                (Some(c), false, _) => format!("<-c{c}"),
            })
            .collect();
        let res = if rc >= 0 { format!(" result {result}") } else { String::new() };
        self.call("gs_select", format!("[{}], {t}{res}", shown.join(" ")), rc as i64, &ok);
    }

    fn private_chan(&mut self) {
        let esz = self.rng.pick(&[0usize, 1, 8, 24, 100]);
        let cap = self.rng.range(0, 3) as usize;
        let c = gs_chan_new(esz, cap);
        if c.is_null() {
            self.fail(format!("gs_chan_new({esz}, {cap}) returned NULL"));
            return;
        }
        let buf = [7u8; 100];
        let mut out = [0u8; 100];
        let e = buf.as_ptr().cast::<c_void>();
        let o = out.as_mut_ptr().cast::<c_void>();
        if cap > 0 {
            self.call_exact(
                "gs_chan_try_send",
                format!("private({esz},{cap})"),
                gs_chan_try_send(c, e) as i64,
                0,
            );
            if gs_chan_len(c) != 1 {
                self.fail(format!("gs_chan_len is {} after one send", gs_chan_len(c)));
            }
        } else {
            self.call_exact(
                "gs_chan_try_send",
                format!("private({esz},0)"),
                gs_chan_try_send(c, e) as i64,
                GS_EAGAIN as i64,
            );
        }
        if gs_chan_cap(c) != cap {
            self.fail(format!("gs_chan_cap is {}, made with {cap}", gs_chan_cap(c)));
        }
        self.call_exact("gs_chan_close", "private".into(), gs_chan_close(c) as i64, 0);
        self.call_exact("gs_chan_close", "private".into(), gs_chan_close(c) as i64, GS_EALREADY as i64);
        self.call_exact(
            "gs_chan_try_send",
            "private, closed".into(),
            gs_chan_try_send(c, e) as i64,
            GS_ECLOSED as i64,
        );
        if cap > 0 {
            self.call_exact("gs_chan_try_recv", "private, closed".into(), gs_chan_try_recv(c, o) as i64, 0);
            if out[..esz].iter().any(|&b| b != 7) {
                self.fail("a private channel's element came back changed".into());
            }
        }
        self.call_exact(
            "gs_chan_recv",
            "private, closed".into(),
            gs_chan_recv(c, o) as i64,
            GS_ECLOSED as i64,
        );
        self.call_exact("gs_chan_free", "private".into(), gs_chan_free(c) as i64, 0);
        for (esz, cap) in [(65537usize, 1usize), (8, usize::MAX), (1 << 16, 1 << 30)] {
            if !gs_chan_new(esz, cap).is_null() {
                self.fail(format!("gs_chan_new({esz}, {cap}) made a channel"));
            }
        }
    }

    // --- mutexes ---

    /// Inside a mutex's critical section: nobody else may be.
    fn critical(&mut self, m: usize) {
        let owner = &self.w.mutexes[m].1;
        let prev = owner.swap(self.id, AcqRel);
        if prev != NOBODY {
            self.fail(format!("locked m{m} while actor {prev} held it"));
        }
        match self.rng.below(4) {
            1 if self.ctx == Ctx::Goroutine => {
                self.call_exact("gs_gosched", "in m".into(), gs_gosched() as i64, 0);
            }
            2 if self.ctx != Ctx::G0 => {
                let ns = self.rng.range(0, 50_000) as i64;
                self.call_exact("gs_sleep", format!("{ns}, in m"), gs_sleep(ns) as i64, 0);
            }
            3 => {
                let c = self.pick_chan();
                self.send(c, How::Try);
            }
            _ => {}
        }
        let prev = owner.swap(NOBODY, AcqRel);
        if prev != self.id {
            self.fail(format!("m{m} was taken over by actor {prev} while this actor held it"));
        }
    }

    fn lock(&mut self, try_only: bool) {
        let m = self.rng.below(self.w.mutexes.len() as u64) as usize;
        let h = self.w.mutexes[m].0;
        // A foreign thread does not wait on a mutex where a goroutine may be abandoned
        // holding it: that wait would never end.
        let try_only = try_only || (self.w.race && self.foreign());
        self.log().holding = Some(m);
        let rc = if try_only {
            let rc = gs_mutex_trylock(h) as i64;
            self.call("gs_mutex_trylock", format!("m{m}"), rc, &[GS_EAGAIN as i64])
        } else {
            let rc = gs_mutex_lock(h) as i64;
            let ok = self.blocking();
            self.call("gs_mutex_lock", format!("m{m}"), rc, &ok)
        };
        if rc == 0 {
            self.critical(m);
            self.call_exact("gs_mutex_unlock", format!("m{m}"), gs_mutex_unlock(h) as i64, 0);
        }
        self.log().holding = None;
    }

    fn private_mutex(&mut self) {
        let m = gs_mutex_new();
        if m.is_null() {
            self.fail("gs_mutex_new returned NULL".into());
            return;
        }
        self.call_exact("gs_mutex_unlock", "private".into(), gs_mutex_unlock(m) as i64, GS_EPERM as i64);
        self.call_exact("gs_mutex_trylock", "private".into(), gs_mutex_trylock(m) as i64, 0);
        self.call_exact("gs_mutex_trylock", "private".into(), gs_mutex_trylock(m) as i64, GS_EAGAIN as i64);
        self.call_exact("gs_mutex_free", "private, locked".into(), gs_mutex_free(m) as i64, GS_EBUSY as i64);
        self.call_exact("gs_mutex_unlock", "private".into(), gs_mutex_unlock(m) as i64, 0);
        if self.ctx != Ctx::G0 {
            self.call_exact("gs_mutex_lock", "private".into(), gs_mutex_lock(m) as i64, 0);
            self.call_exact("gs_mutex_unlock", "private".into(), gs_mutex_unlock(m) as i64, 0);
        }
        self.call_exact("gs_mutex_free", "private".into(), gs_mutex_free(m) as i64, 0);
    }

    // --- wait groups ---

    fn wg_child(&mut self) {
        let g = self.rng.below(self.w.wgs.len() as u64) as usize;
        let h = self.w.wgs[g];
        self.call_exact("gs_waitgroup_add", format!("w{g}, 1"), gs_waitgroup_add(h, 1) as i64, 0);
        let arg = WgArg { wg: g as u32, sleep_ns: self.rng.range(0, 300_000) as u32, parent: self.id as u64 };
        let rc =
            gs_go_copy(Some(wg_child), (&arg as *const WgArg).cast(), core::mem::size_of::<WgArg>()) as i64;
        let ok = self.starts();
        self.call("gs_go_copy", format!("wg child of w{g}"), rc, &ok);
        if rc <= 0 {
            // The main thread may have released the group meanwhile (racing shutdown).
            let ok: &[i64] = if self.w.race { &[GS_EINVAL as i64] } else { &[] };
            self.call("gs_waitgroup_done", format!("w{g}"), gs_waitgroup_done(h) as i64, ok);
        }
    }

    fn wg_wait(&mut self) {
        let g = self.rng.below(self.w.wgs.len() as u64) as usize;
        let rc = gs_waitgroup_wait(self.w.wgs[g]) as i64;
        let ok = self.blocking();
        self.call("gs_waitgroup_wait", format!("w{g}"), rc, &ok);
    }

    fn private_wg(&mut self) {
        let w = gs_waitgroup_new();
        if w.is_null() {
            self.fail("gs_waitgroup_new returned NULL".into());
            return;
        }
        let n = |s: &str| format!("private{s}");
        self.call_exact("gs_waitgroup_wait", n(""), gs_waitgroup_wait(w) as i64, 0);
        self.call_exact("gs_waitgroup_add", n(", 2"), gs_waitgroup_add(w, 2) as i64, 0);
        self.call_exact("gs_waitgroup_add", n(", -3"), gs_waitgroup_add(w, -3) as i64, GS_EINVAL as i64);
        self.call_exact(
            "gs_waitgroup_add",
            n(", MAX"),
            gs_waitgroup_add(w, i64::MAX) as i64,
            GS_EINVAL as i64,
        );
        self.call_exact("gs_waitgroup_done", n(""), gs_waitgroup_done(w) as i64, 0);
        self.call_exact("gs_waitgroup_done", n(""), gs_waitgroup_done(w) as i64, 0);
        self.call_exact("gs_waitgroup_done", n(""), gs_waitgroup_done(w) as i64, GS_EINVAL as i64);
        self.call_exact("gs_waitgroup_wait", n(""), gs_waitgroup_wait(w) as i64, 0);
        self.call_exact("gs_waitgroup_free", n(""), gs_waitgroup_free(w) as i64, 0);
    }

    // --- goroutines ---

    fn spawn(&mut self) {
        let host = self.rng.chance(20);
        let slot = self.w.nactors.fetch_update(AcqRel, Acquire, |n| (n < MAX_ACTORS).then_some(n + 1));
        match slot {
            Ok(id) if self.rng.chance(60) => {
                let a = &self.w.actors[id];
                a.kind.store(if host { HOST } else { GOROUTINE }, Relaxed);
                a.budget.store(self.rng.range(3, 15) as u32, Relaxed);
                a.state.store(STARTED, Release);
                let (func, rc) = spawn_actor(id, host, &mut self.rng);
                if rc <= 0 {
                    a.state.store(NOT_STARTED, Release);
                }
                let ok = self.starts();
                self.call(func, format!("actor {id}{}", if host { ", host" } else { "" }), rc, &ok);
            }
            r => {
                if let Ok(id) = r {
                    self.w.actors[id].state.store(NOT_STARTED, Release);
                }
                let opts = gs_go_opts {
                    stack_size: self.rng.pick(&[0, 16 << 10]),
                    name: if self.rng.chance(50) { c"noop".as_ptr() } else { null() },
                    flags: if host { GS_GO_HOST } else { 0 },
                };
                let rc = gs_go_with(Some(noop), null_mut(), &opts);
                let ok = self.starts();
                self.call("gs_go_with", format!("noop{}", if host { ", host" } else { "" }), rc, &ok);
            }
        }
    }

    fn park(&mut self) {
        let reason = c"property park".as_ptr();
        if self.ctx != Ctx::Goroutine {
            self.call_exact(
                "gs_park",
                String::new(),
                gs_park(Some(park_unlockf), null_mut(), reason) as i64,
                GS_EPERM as i64,
            );
            let rc = gs_park_timeout(None, null_mut(), reason, 1000) as i64;
            self.call_exact("gs_park_timeout", "NULL, 1000".into(), rc, GS_EPERM as i64);
            return;
        }
        let t: i64 = match self.rng.below(10) {
            0..=3 => -1,
            4 => 0,
            _ => self.rng.range(1_000, 3_000_000) as i64,
        };
        let nullf = t > 0 && self.rng.chance(10);
        let keep = nullf || self.rng.chance(90);
        let g0op = self.rng.next();
        let plain = t < 0 && self.rng.chance(50);
        self.set_inflight("park", vec![], vec![]);
        let a = &self.w.actors[self.id];
        let rc = if nullf {
            // Nobody can ready it (park_open is false): only its time ends it.
            gs_park_timeout(None, null_mut(), reason, t)
        } else {
            a.park_lock();
            a.park_open.store(keep, Relaxed);
            let mut pc = ParkCtx { me: self as *mut Me, keep, g0op };
            let arg = (&mut pc as *mut ParkCtx).cast::<c_void>();
            // From here until the call returns, `self` is reached only through pc.me
            // (by the unlockf, while this goroutine is parked), which drops the lock.
            let f: gs_unlockf = Some(park_unlockf);
            let rc = if plain { gs_park(f, arg, reason) } else { gs_park_timeout(f, arg, reason, t) };
            a.park_lock();
            a.park_open.store(false, Relaxed);
            a.park_unlock();
            rc
        } as i64;
        {
            let mut l = self.log();
            l.inflight = None;
            if rc == 0 {
                l.parks_zero += 1;
                if keep {
                    l.parks_zero_kept += 1;
                }
            }
        }
        lock(&self.w.parked).retain(|e| e.0 != self.id);
        let shown = format!(
            "{}, {t}{}",
            if nullf { "NULL" } else { "unlockf" },
            if keep { "" } else { ", unlockf says no" }
        );
        if plain {
            self.call_exact("gs_park", shown, rc, 0);
        } else if nullf {
            self.call_exact("gs_park_timeout", shown, rc, GS_ETIMEDOUT as i64);
        } else {
            self.call("gs_park_timeout", shown, rc, &[GS_ETIMEDOUT as i64]);
            if !keep && rc != 0 {
                self.fail("gs_park_timeout whose unlockf said no did not return 0".into());
            }
        }
    }

    fn ready(&mut self) {
        let entry = {
            let mut l = lock(&self.w.parked);
            if l.is_empty() {
                None
            } else {
                let i = self.rng.below(l.len() as u64) as usize;
                Some(l.swap_remove(i))
            }
        };
        let mut ok = self.starts();
        match entry {
            Some((target, h)) => {
                // Inside an unlockf, our own park lock is held: never wait for one.
                match ready_locked(self.w, target, h, self.ctx != Ctx::G0) {
                    Some(rc) => {
                        ok.push(GS_EINVAL as i64);
                        self.call("gs_ready", format!("actor {target}"), rc, &ok);
                    }
                    None => lock(&self.w.parked).push((target, h)),
                }
            }
            None => {
                self.call_exact("gs_ready", "NULL".into(), gs_ready(null_mut()) as i64, GS_EINVAL as i64);
                ok.push(GS_EINVAL as i64);
                let rc = gs_ready(0xdead_beef as *mut gs_g) as i64;
                self.call("gs_ready", "0xdeadbeef".into(), rc, &ok);
                if rc == 0 {
                    self.fail("gs_ready of a made-up handle returned 0".into());
                }
                if self.ctx == Ctx::Goroutine {
                    let rc = gs_ready(gs_self()) as i64;
                    self.call("gs_ready", "self (running)".into(), rc, &ok);
                    if rc == 0 {
                        self.fail("gs_ready of the running goroutine returned 0".into());
                    }
                }
            }
        }
    }

    fn lock_os_thread(&mut self) {
        if self.ctx != Ctx::Goroutine {
            self.call_exact("gs_lock_os_thread", String::new(), gs_lock_os_thread() as i64, GS_EPERM as i64);
            self.call_exact(
                "gs_unlock_os_thread",
                String::new(),
                gs_unlock_os_thread() as i64,
                GS_EPERM as i64,
            );
            return;
        }
        self.call_exact("gs_unlock_os_thread", "not locked".into(), gs_unlock_os_thread() as i64, 0);
        let rc = gs_lock_os_thread() as i64;
        self.call("gs_lock_os_thread", String::new(), rc, &[GS_EAGAIN as i64]);
        if rc == 0 {
            for _ in 0..self.rng.range(1, 3) {
                match self.rng.below(3) {
                    0 => self.call_exact("gs_gosched", "locked".into(), gs_gosched() as i64, 0),
                    1 => {
                        let ns = self.rng.range(0, 100_000) as i64;
                        self.call_exact("gs_sleep", format!("{ns}, locked"), gs_sleep(ns) as i64, 0);
                    }
                    _ => {
                        let (c, t) = (self.pick_chan(), self.rng.range(0, 200_000) as i64);
                        self.recv(c, How::Timeout(t));
                    }
                }
            }
            self.call_exact("gs_unlock_os_thread", String::new(), gs_unlock_os_thread() as i64, 0);
        }
    }

    // --- introspection and the calls of other contexts ---

    fn stats(&mut self) {
        let mut s = gs_stats::default();
        let rc = gs_stats_get(&mut s) as i64;
        let ok = self.needs_rt();
        self.call("gs_stats_get", String::new(), rc, &ok);
        if rc == 0 && !self.w.race {
            if s.procs != self.w.nprocs || s.idle_procs > s.procs {
                self.fail(format!(
                    "gs_stats: procs {} idle {} in a runtime of {} Ps",
                    s.procs, s.idle_procs, self.w.nprocs
                ));
            }
            if self.ctx == Ctx::Goroutine && s.goroutines == 0 {
                self.fail("gs_stats counts no goroutine while one asks".into());
            }
        }
        self.call_exact("gs_stats_get", "NULL".into(), gs_stats_get(null_mut()) as i64, GS_EINVAL as i64);
    }

    fn dump(&mut self) {
        let rc = gs_dump(self.w.devnull) as i64;
        let ok = self.needs_rt();
        self.call("gs_dump", "/dev/null".into(), rc, &ok);
        self.call_exact("gs_dump", "-1".into(), gs_dump(-1) as i64, GS_EINVAL as i64);
    }

    fn wait(&mut self) {
        if self.foreign() {
            let t = self.rng.pick(&[0i64, 1_000_000]);
            let mut ok = self.needs_rt();
            ok.push(GS_ETIMEDOUT as i64);
            self.call("gs_wait", format!("{t}"), gs_wait(t) as i64, &ok);
        } else {
            let t = self.rng.pick(&[-1i64, 0]);
            self.call_exact("gs_wait", format!("{t}"), gs_wait(t) as i64, GS_EPERM as i64);
        }
    }

    /// The calls that only another context may make.
    fn wrong_context(&mut self) {
        if self.foreign() {
            self.call_exact("gs_gosched", String::new(), gs_gosched() as i64, GS_EPERM as i64);
            let mut ok = self.needs_rt();
            ok.push(GS_EPERM as i64);
            let rc = gs_run_for(0) as i64;
            self.call("gs_run_for", "0 (not the host thread)".into(), rc, &ok);
            // With a race, a gs_init or gs_main of this thread may have started the
            // runtime that runs now: then this is its host thread.
            if rc >= 0 && !self.w.race {
                self.fail("gs_run_for ran on a thread that is not the host thread".into());
            }
            gs_goexit(); // returns off-goroutine
            return;
        }
        self.call_exact("gs_shutdown", String::new(), gs_shutdown() as i64, GS_EPERM as i64);
        let rc = gs_main(Some(main_fn), self.id as *mut c_void) as i64;
        self.call_exact("gs_main", String::new(), rc, GS_EPERM as i64);
        self.call_exact("gs_run_for", "0".into(), gs_run_for(0) as i64, GS_EPERM as i64);
        let t = self.rng.pick(&[-1i64, 0]);
        self.call_exact("gs_wait", format!("{t}"), gs_wait(t) as i64, GS_EPERM as i64);
        if self.ctx == Ctx::G0 {
            let f = || gs_park(None, null_mut(), null());
            self.call_exact("gs_park", String::new(), f() as i64, GS_EPERM as i64);
            let rc = gs_park_timeout(None, null_mut(), null(), 0) as i64;
            self.call_exact("gs_park_timeout", "0".into(), rc, GS_EPERM as i64);
            self.call_exact("gs_gosched", String::new(), gs_gosched() as i64, GS_EPERM as i64);
            self.call_exact("gs_lock_os_thread", String::new(), gs_lock_os_thread() as i64, GS_EPERM as i64);
            self.call_exact(
                "gs_unlock_os_thread",
                String::new(),
                gs_unlock_os_thread() as i64,
                GS_EPERM as i64,
            );
            if !gs_self().is_null() || gs_goid() != 0 || gs_should_yield() {
                self.fail("an unlockf sees itself as a goroutine".into());
            }
        }
    }

    fn init(&mut self) {
        // From a goroutine while gs_shutdown runs, gs_init would wait for the
        // shutdown, which waits for this goroutine's thread: not a call to make.
        if self.rng.chance(50) && (self.foreign() || !self.w.race) {
            let rc = gs_init(null()) as i64;
            if self.w.race {
                // The runtime may be gone: then this starts a new one (shut down at the end).
                self.call("gs_init", "NULL".into(), rc, &[GS_EALREADY as i64]);
            } else {
                self.call_exact("gs_init", "NULL".into(), rc, GS_EALREADY as i64);
            }
            return;
        }
        let mut cfg = gs_config { nprocs: 0, stack_size: 0, max_threads: 0, flags: 0, longrun_ms: 0 };
        match self.rng.below(3) {
            0 => cfg.nprocs = 1025,
            1 => cfg.stack_size = 4096,
            _ => cfg.flags = 0x8000_0000,
        }
        let args = format!("nprocs {} stack {} flags {:#x}", cfg.nprocs, cfg.stack_size, cfg.flags);
        self.call_exact("gs_init", args, gs_init(&cfg) as i64, GS_EINVAL as i64);
    }

    fn main(&mut self) {
        if !self.foreign() {
            self.wrong_context();
            return;
        }
        self.call_exact("gs_main", "NULL".into(), gs_main(None, null_mut()) as i64, GS_EINVAL as i64);
        let before = self.w.main_fn_ran.load(Acquire);
        let rc = gs_main(Some(main_fn), self.id as *mut c_void) as i64;
        let ok: &[i64] = if self.w.race { &[GS_ESHUTDOWN as i64] } else { &[] };
        self.call("gs_main", "main_fn".into(), rc, ok);
        if rc == 0 && self.w.main_fn_ran.load(Acquire) == before {
            self.fail("gs_main returned 0 before its function ran".into());
        }
    }

    fn bad_args(&mut self) {
        let c = self.w.chans[self.pick_chan()].0;
        let x: Elem = [0; 3];
        let px = x.as_ptr().cast::<c_void>();
        let e = GS_EINVAL as i64;
        let mut case = gs_select_case { chan: c, op: 7, elem: null_mut(), result: 0 };
        let bad_opts = gs_go_opts { stack_size: 1, name: null(), flags: 0 };
        let bad_flags = gs_go_opts { stack_size: 0, name: null(), flags: 0x80 };
        let (func, args, rc): (&'static str, &str, c_int) = match self.rng.below(24) {
            0 => ("gs_chan_send", "NULL", gs_chan_send(null_mut(), px)),
            1 => ("gs_chan_recv", "c, NULL", gs_chan_recv(c, null_mut())),
            2 => ("gs_chan_try_send", "c, NULL", gs_chan_try_send(c, null())),
            3 => ("gs_chan_try_recv", "NULL", gs_chan_try_recv(null_mut(), null_mut())),
            4 => ("gs_chan_send_timeout", "NULL", gs_chan_send_timeout(null_mut(), px, 0)),
            5 => ("gs_chan_recv_timeout", "c, NULL", gs_chan_recv_timeout(c, null_mut(), 1000)),
            6 => ("gs_chan_close", "NULL", gs_chan_close(null_mut())),
            7 => ("gs_chan_free", "NULL", gs_chan_free(null_mut())),
            8 => ("gs_select", "NULL, 1", gs_select(null_mut(), 1, 0)),
            9 => ("gs_select", "op 7", gs_select(&mut case, 1, -1)),
            10 => {
                case.op = GS_RECV;
                ("gs_select", "NULL elem", gs_select(&mut case, 1, -1))
            }
            11 => ("gs_select", "n 65537", gs_select(&mut case, 65537, 0)),
            12 => ("gs_mutex_lock", "NULL", gs_mutex_lock(null_mut())),
            13 => ("gs_mutex_trylock", "NULL", gs_mutex_trylock(null_mut())),
            14 => ("gs_mutex_unlock", "NULL", gs_mutex_unlock(null_mut())),
            15 => ("gs_mutex_free", "NULL", gs_mutex_free(null_mut())),
            16 => ("gs_waitgroup_add", "NULL", gs_waitgroup_add(null_mut(), 1)),
            17 => ("gs_waitgroup_done", "NULL", gs_waitgroup_done(null_mut())),
            18 => ("gs_waitgroup_wait", "NULL", gs_waitgroup_wait(null_mut())),
            19 => ("gs_waitgroup_free", "NULL", gs_waitgroup_free(null_mut())),
            20 => {
                let (func, args, rc) = match self.rng.below(5) {
                    0 => ("gs_go", "NULL", gs_go(None, null_mut())),
                    1 => ("gs_go_with", "stack 1", gs_go_with(Some(noop), null_mut(), &bad_opts)),
                    2 => ("gs_go_with", "flags 0x80", gs_go_with(Some(noop), null_mut(), &bad_flags)),
                    3 => ("gs_go_copy", "NULL, 8", gs_go_copy(Some(noop), null(), 8)),
                    _ => (
                        "gs_go_copy_with",
                        "size 4097",
                        gs_go_copy_with(Some(noop), px, GS_GO_COPY_MAX + 1, null()),
                    ),
                };
                self.call_exact(func, args.into(), rc, e);
                return;
            }
            21 => ("gs_wait_fd", "-1", gs_wait_fd(-1, GS_POLLIN, 0)),
            22 => ("gs_wait_fd", "events 0x100", gs_wait_fd(self.w.devnull, 0x100, 0)),
            _ => ("gs_ready", "NULL", gs_ready(null_mut())),
        };
        self.call_exact(func, args.into(), rc as i64, e);
        if gs_chan_len(null()) != 0 || gs_chan_cap(null()) != 0 {
            self.fail("gs_chan_len/gs_chan_cap of NULL is not 0".into());
        }
    }

    fn identity(&mut self) {
        let now = gs_nanotime();
        if now < self.last_ns {
            self.fail(format!("gs_nanotime went back from {} to {now}", self.last_ns));
        }
        self.last_ns = now;
        let (g, id, y) = (gs_self(), gs_goid(), gs_should_yield());
        match self.ctx {
            Ctx::Goroutine => {
                if g.is_null() || id <= 0 {
                    self.fail(format!("a goroutine sees gs_self {g:?}, gs_goid {id}"));
                } else if self.goid != 0 && id != self.goid {
                    self.fail(format!("gs_goid changed from {} to {id}", self.goid));
                }
            }
            _ => {
                if !g.is_null() || id != 0 || y {
                    self.fail(format!("off-goroutine: gs_self {g:?}, gs_goid {id}, gs_should_yield {y}"));
                }
            }
        }
        for code in [GS_EINVAL, GS_ESHUTDOWN, GS_ENOTINIT, -libc::ENOENT, 0] {
            if gs_strerror(code).is_null() {
                self.fail(format!("gs_strerror({code}) is NULL"));
            }
        }
        if gs_version().is_null() {
            self.fail("gs_version is NULL".into());
        }
    }

    fn wait_fd(&mut self) {
        let t = self.rng.pick(&[0i64, 1_000_000]);
        let rc = gs_wait_fd(self.w.devnull, GS_POLLIN, t) as i64;
        self.call_exact("gs_wait_fd", format!("/dev/null, POLLIN, {t}"), rc, GS_POLLIN as i64);
    }

    /// One random operation.
    fn step(&mut self) {
        let mut r = self.rng.below(self.w.total_weight);
        let mut op = 0;
        for (i, &wt) in self.w.weights.iter().enumerate() {
            if r < wt {
                op = i;
                break;
            }
            r -= wt;
        }
        match OPS[op].0 {
            "send" => {
                let c = self.pick_chan();
                self.send(c, How::Block)
            }
            "recv" => {
                let c = self.pick_chan();
                self.recv(c, How::Block)
            }
            "try_send" => {
                let c = self.pick_chan();
                self.send(c, How::Try)
            }
            "try_recv" => {
                let c = self.pick_chan();
                self.recv(c, How::Try)
            }
            "send_timeout" => {
                let (c, t) = (self.pick_chan(), self.timeout());
                self.send(c, How::Timeout(t))
            }
            "recv_timeout" => {
                let (c, t) = (self.pick_chan(), self.timeout());
                self.recv(c, How::Timeout(t))
            }
            "select" => self.select(),
            // Rarely for real: a closed channel answers GS_ECLOSED to everyone after.
            "close" if self.rng.chance(15) => {
                let c = self.pick_chan();
                let rc = gs_chan_close(self.w.chans[c].0) as i64;
                self.call("gs_chan_close", format!("c{c}"), rc, &[GS_EALREADY as i64]);
            }
            "close" | "len_cap" => {
                let c = self.pick_chan();
                let (h, cap) = self.w.chans[c];
                let (l, k) = (gs_chan_len(h), gs_chan_cap(h));
                if k != cap || l > cap {
                    self.fail(format!("c{c}: gs_chan_len {l}, gs_chan_cap {k}, made with capacity {cap}"));
                }
            }
            "private_chan" => self.private_chan(),
            "lock" => self.lock(false),
            "trylock" => self.lock(true),
            "private_mutex" => self.private_mutex(),
            "wg_child" => self.wg_child(),
            "wg_wait" => self.wg_wait(),
            "private_wg" => self.private_wg(),
            "gosched" => {
                let want = if self.ctx == Ctx::Goroutine { 0 } else { GS_EPERM as i64 };
                self.call_exact("gs_gosched", String::new(), gs_gosched() as i64, want);
            }
            "sleep" => {
                let ns = self.rng.pick(&[0i64, 1, 1_000, 50_000, 200_000]);
                self.call_exact("gs_sleep", format!("{ns}"), gs_sleep(ns) as i64, 0);
            }
            "spawn" => self.spawn(),
            "park" => self.park(),
            "ready" => self.ready(),
            "lock_os_thread" => self.lock_os_thread(),
            "stats" => self.stats(),
            "dump" => self.dump(),
            "wait" => self.wait(),
            "wrong_context" => self.wrong_context(),
            "init" => self.init(),
            "main" => self.main(),
            "bad_args" => self.bad_args(),
            "identity" => self.identity(),
            "wait_fd" => self.wait_fd(),
            other => unreachable!("operation {other}"),
        }
    }

    /// One operation inside an unlockf, on the scheduler's stack: nothing may block
    /// or switch there.
    fn g0_step(&mut self, k: u64) {
        match k % 16 {
            0 => {
                let c = self.pick_chan();
                self.send(c, How::Try)
            }
            1 => {
                let c = self.pick_chan();
                self.recv(c, How::Try)
            }
            2 => {
                let c = self.pick_chan();
                self.send(c, How::Block)
            }
            3 => {
                let c = self.pick_chan();
                self.recv(c, How::Block)
            }
            4 => {
                let (c, t) = (self.pick_chan(), self.rng.pick(&[0i64, 1_000_000]));
                self.send(c, How::Timeout(t))
            }
            5 => self.select(),
            6 => self.wrong_context(),
            7 => {
                let mut s = gs_stats::default();
                self.call_exact("gs_stats_get", String::new(), gs_stats_get(&mut s) as i64, 0);
                self.call_exact("gs_dump", "/dev/null".into(), gs_dump(self.w.devnull) as i64, 0);
            }
            8 => {
                let rc = gs_go(Some(noop), null_mut());
                let ok = self.starts();
                self.call("gs_go", "noop".into(), rc, &ok);
            }
            9 => self.ready(),
            10 => self.lock(true),
            11 => self.lock(false),
            12 => self.wg_wait(),
            13 => self.call_exact("gs_sleep", "1000".into(), gs_sleep(1000) as i64, 0),
            14 => self.init(),
            _ => self.identity(),
        }
    }
}

// ---------------------------------------------------------------------------------
// Entry points of goroutines and threads

/// Starts actor `id` as a goroutine, by one of the four spawning calls.
fn spawn_actor(id: usize, host: bool, rng: &mut Rng) -> (&'static str, i64) {
    let opts = gs_go_opts {
        stack_size: rng.pick(&[0, 128 << 10, 512 << 10]),
        name: rng.pick(&[null(), c"actor".as_ptr()]),
        flags: if host { GS_GO_HOST } else { 0 },
    };
    let copied = (&id as *const usize).cast::<c_void>();
    let n = core::mem::size_of::<usize>();
    match rng.below(4) {
        0 if !host => ("gs_go", gs_go(Some(actor_entry), id as *mut c_void)),
        1 => ("gs_go_with", gs_go_with(Some(actor_entry), id as *mut c_void, &opts)),
        2 if !host => ("gs_go_copy", gs_go_copy(Some(actor_entry_copied), copied, n)),
        _ => ("gs_go_copy_with", gs_go_copy_with(Some(actor_entry_copied), copied, n, &opts)),
    }
}

/// The body of every actor: its budget of random operations.
fn run_actor(id: usize, ctx: Ctx) {
    let w = world();
    let a = &w.actors[id];
    a.state.store(RUNNING, Release);
    let mut me = Me {
        w,
        id,
        kind: a.kind.load(Relaxed),
        ctx,
        rng: Rng::new(w.seed, id as u64 + 1),
        seq: 0,
        goid: 0,
        last_ns: 0,
    };
    let r = catch_unwind(AssertUnwindSafe(|| {
        if ctx == Ctx::Goroutine {
            me.goid = gs_goid();
        }
        me.identity();
        for _ in 0..a.budget.load(Relaxed) {
            me.step();
        }
    }));
    if let Err(p) = r {
        let msg =
            p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        w.fail(format!("actor {id} panicked: {}", msg.unwrap_or_default()));
    }
    a.state.store(FINISHED, Release);
}

unsafe extern "C" fn actor_entry(arg: *mut c_void) {
    run_actor(arg as usize, Ctx::Goroutine);
}

unsafe extern "C" fn actor_entry_copied(arg: *mut c_void) {
    // SAFETY: gs_go_copy passes the goroutine's copy of the usize it was given.
    let id = unsafe { *arg.cast::<usize>() };
    run_actor(id, Ctx::Goroutine);
}

unsafe extern "C" fn noop(_arg: *mut c_void) {}

/// gs_main's function: a goroutine on the calling thread.
unsafe extern "C" fn main_fn(arg: *mut c_void) {
    let w = world();
    let who = format!("gs_main function of actor {}", arg as usize);
    if gs_self().is_null() || gs_goid() <= 0 {
        w.fail(format!("{who}: not a goroutine"));
    }
    let rc = gs_gosched() as i64;
    w.check(&who, "gs_gosched", rc, &[]);
    w.main_fn_ran.fetch_add(1, AcqRel);
}

/// A wait group's child: sleeps, then marks itself done.
unsafe extern "C" fn wg_child(arg: *mut c_void) {
    // SAFETY: gs_go_copy passes the goroutine's copy of a WgArg.
    let a = unsafe { *arg.cast::<WgArg>() };
    let w = world();
    let who = format!("wait group child of actor {}", a.parent);
    w.check(&who, "gs_sleep", gs_sleep(a.sleep_ns as i64) as i64, &[]);
    let rc = gs_waitgroup_done(w.wgs[a.wg as usize]) as i64;
    // A racing shutdown's clean-up may have released the group already.
    let ok: &[i64] = if w.race { &[GS_EINVAL as i64] } else { &[] };
    w.check(&who, "gs_waitgroup_done", rc, ok);
}

/// Readies `target` through handle `h` if it is parked by gs_park and not readied
/// yet, holding its park lock (waiting for it if `wait`, else giving up: None).
/// Returns gs_ready's code, or None if the lock was busy or nothing is to be readied.
fn ready_locked(w: &World, target: usize, h: usize, wait: bool) -> Option<i64> {
    let a = &w.actors[target];
    if wait {
        a.park_lock();
    } else if !a.park_trylock() {
        return None;
    }
    let rc = if a.park_open.load(Relaxed) {
        let rc = gs_ready(h as *mut gs_g) as i64;
        if rc == 0 {
            a.park_open.store(false, Relaxed);
            w.readied[target].fetch_add(1, AcqRel);
        }
        Some(rc)
    } else {
        None
    };
    a.park_unlock();
    rc
}

/// The unlockf of the actors' parks: makes one call from the scheduler's stack, then
/// publishes the handle (when it keeps the goroutine parked) and drops the actor's
/// park lock, after which it touches nothing of the goroutine's.
unsafe extern "C" fn park_unlockf(g: *mut gs_g, arg: *mut c_void) -> bool {
    // SAFETY: arg is the ParkCtx in the parking goroutine's frame; the goroutine is
    // parked and holds its park lock, so nobody readies it before the unlock below,
    // and it touches neither the ParkCtx nor its Me until it resumes.
    let pc = unsafe { &mut *arg.cast::<ParkCtx>() };
    // SAFETY: as above.
    let me = unsafe { &mut *pc.me };
    let (keep, id, w) = (pc.keep, me.id, me.w);
    let r = catch_unwind(AssertUnwindSafe(|| {
        if g.is_null() {
            me.fail("an unlockf was given a NULL goroutine".into());
        }
        let saved = me.ctx;
        me.ctx = Ctx::G0;
        me.g0_step(pc.g0op);
        me.ctx = saved;
    }));
    if r.is_err() {
        w.fail(format!("actor {id}: panic inside an unlockf"));
    }
    if keep {
        lock(&w.parked).push((id, g as usize));
    }
    w.actors[id].park_unlock();
    keep
}

// ---------------------------------------------------------------------------------
// One seed

fn run_seed(seed: u64, table: &'static Table, devnull: c_int) -> Result<String, String> {
    let mut rng = Rng::new(seed, 0);
    let race = rng.chance(30);
    let nprocs = rng.range(1, 8) as u32;
    let cfg = gs_config {
        nprocs,
        stack_size: rng.pick(&[0, 128 << 10, 1 << 20]),
        max_threads: if rng.chance(20) { nprocs + rng.range(1, 4) as u32 } else { 0 },
        flags: 0,
        longrun_ms: 0,
    };
    let mut weights: Vec<u64> = OPS.iter().map(|&(_, w)| w * rng.below(4)).collect();
    if weights.iter().sum::<u64>() == 0 {
        weights[0] = 1;
    }
    let nch = rng.range(1, 4) as usize;
    let nmu = rng.range(1, 2) as usize;
    let nwg = rng.range(1, 2) as usize;
    let ng = rng.range(1, 5) as usize;
    let nf = rng.range(1, 3) as usize;

    let base_threads = count_dir("/proc/self/task");
    let base_fds = count_dir("/proc/self/fd");
    let rc = gs_init(&cfg);
    if rc != 0 {
        return Err(format!("seed {seed}: gs_init returned {} ({})", rc, table.name(rc as i64)));
    }

    let mut chans = Vec::new();
    for _ in 0..nch {
        let cap = rng.range(0, 3) as usize;
        chans.push((gs_chan_new(ESZ, cap), cap));
    }
    let w = Box::new(World {
        seed,
        race,
        nprocs,
        devnull,
        table,
        total_weight: weights.iter().sum(),
        weights,
        chans,
        mutexes: (0..nmu).map(|_| (gs_mutex_new(), AtomicUsize::new(NOBODY))).collect(),
        wgs: (0..nwg).map(|_| gs_waitgroup_new()).collect(),
        actors: (0..MAX_ACTORS)
            .map(|_| Actor {
                state: AtomicU8::new(FREE),
                kind: AtomicU8::new(GOROUTINE),
                budget: AtomicU32::new(0),
                log: Mutex::new(Log::default()),
                park_lock: AtomicBool::new(false),
                park_open: AtomicBool::new(false),
            })
            .collect(),
        nactors: AtomicUsize::new(ng + nf),
        parked: Mutex::new(Vec::new()),
        readied: (0..MAX_ACTORS).map(|_| AtomicU64::new(0)).collect(),
        shutdowns_done: AtomicU32::new(0),
        abandoned_sum: AtomicI64::new(0),
        main_fn_ran: AtomicU64::new(0),
        calls: AtomicU64::new(0),
        failures: Mutex::new(Vec::new()),
    });
    let config = format!(
        "nprocs {nprocs}, stack {}, max_threads {}, racing shutdown {race}; channel capacities {:?}, {nmu} mutexes, {nwg} wait groups, {ng} goroutines, {nf} threads",
        cfg.stack_size,
        cfg.max_threads,
        w.chans.iter().map(|c| c.1).collect::<Vec<_>>()
    );
    if w.chans.iter().any(|c| c.0.is_null())
        || w.mutexes.iter().any(|m| m.0.is_null())
        || w.wgs.iter().any(|g| g.is_null())
    {
        return Err(format!("seed {seed}: an object could not be made"));
    }
    let w: &'static World = Box::leak(w);
    WORLD.store(w as *const World as *mut World, Release);

    // The actors: goroutines (some host goroutines) from this thread, then threads.
    for id in 0..ng {
        let host = rng.chance(25);
        let a = &w.actors[id];
        a.kind.store(if host { HOST } else { GOROUTINE }, Relaxed);
        a.budget.store(rng.range(20, 120) as u32, Relaxed);
        a.state.store(STARTED, Release);
        let (func, rc) = spawn_actor(id, host, &mut rng);
        w.check("the test thread", func, rc, &[]);
        if rc <= 0 {
            a.state.store(NOT_STARTED, Release);
        }
    }
    let mut threads = Vec::new();
    for id in ng..ng + nf {
        let a = &w.actors[id];
        a.kind.store(FOREIGN, Relaxed);
        a.budget.store(rng.range(20, 120) as u32, Relaxed);
        a.state.store(STARTED, Release);
        let t = std::thread::Builder::new()
            .name(format!("actor-{id}"))
            .spawn(move || run_actor(id, Ctx::Foreign));
        threads.push(t.expect("spawning an actor thread"));
    }
    let nshut = if race { rng.range(1, 2) } else { 0 };
    for i in 0..nshut {
        let delay =
            Duration::from_micros(if rng.chance(70) { rng.range(0, 5_000) } else { rng.range(0, 40_000) });
        let t = std::thread::Builder::new().name(format!("shutdown-{i}")).spawn(move || {
            let w = world();
            std::thread::sleep(delay);
            let rc = gs_shutdown() as i64;
            w.check("a racing gs_shutdown", "gs_shutdown", rc, &[GS_ENOTINIT as i64]);
            if rc >= 0 {
                w.abandoned_sum.fetch_add(rc, AcqRel);
            }
            w.shutdowns_done.fetch_add(1, AcqRel);
        });
        threads.push(t.expect("spawning a shutdown thread"));
    }

    // Run host goroutines until every actor is done. Past a soft deadline, help the
    // stragglers: close the channels, ready the parked goroutines, and once the
    // runtime was shut down release the wait groups its goroutines will never mark.
    let start = Instant::now();
    let soft = Duration::from_millis(rng.range(5, 120));
    let hard =
        Duration::from_secs(std::env::var("PROPERTY_HANG_S").ok().and_then(|v| v.parse().ok()).unwrap_or(60));
    let mut closed = false;
    let who = "the test thread (host)";
    let host_ok: Vec<i64> =
        if race { vec![GS_ESHUTDOWN as i64, GS_ENOTINIT as i64, GS_EPERM as i64] } else { vec![] };
    loop {
        let rc = gs_run_for(rng.range(0, 2_000_000) as i64) as i64;
        w.check(who, "gs_run_for", rc, &host_ok);
        let n = w.nactors.load(Acquire).min(MAX_ACTORS);
        let done = (0..n).all(|i| {
            let a = &w.actors[i];
            let s = a.state.load(Acquire);
            s == FINISHED || s == NOT_STARTED || (race && a.kind.load(Relaxed) != FOREIGN)
        }) && w.shutdowns_done.load(Acquire) as u64 == nshut;
        if done {
            break;
        }
        if start.elapsed() > soft {
            if !closed {
                for c in w.chans.iter() {
                    let rc = gs_chan_close(c.0) as i64;
                    w.check(who, "gs_chan_close", rc, &[GS_EALREADY as i64]);
                }
                closed = true;
            }
            let entries: Vec<(usize, usize)> = core::mem::take(&mut *lock(&w.parked));
            for (target, h) in entries {
                if let Some(rc) = ready_locked(w, target, h, true) {
                    let ok: Vec<i64> = if race {
                        vec![GS_EINVAL as i64, GS_ESHUTDOWN as i64, GS_ENOTINIT as i64]
                    } else {
                        vec![GS_EINVAL as i64]
                    };
                    w.check(who, "gs_ready", rc, &ok);
                }
            }
            if race && w.shutdowns_done.load(Acquire) > 0 {
                for &g in w.wgs.iter() {
                    let rc = loop {
                        let rc = gs_waitgroup_add(g, -1) as i64;
                        if rc != 0 {
                            break rc;
                        }
                    };
                    w.check(who, "gs_waitgroup_add", rc, &[GS_EINVAL as i64]);
                }
            }
        }
        if start.elapsed() > hard {
            let _ = gs_dump(2);
            let mut st = gs_stats::default();
            if gs_stats_get(&mut st) == 0 {
                eprintln!(
                    "gs_stats: goroutines {} runnable {} waiting {} global_runq {} procs {} idle {} threads {} idle {} spinning {}",
                    st.goroutines,
                    st.runnable,
                    st.waiting,
                    st.global_runq,
                    st.procs,
                    st.idle_procs,
                    st.threads,
                    st.idle_threads,
                    st.spinning_threads
                );
            }
            w.fail(format!("seed {seed}: the actors did not finish in {hard:?}"));
            return Err(report(w, &config, true));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    for t in threads {
        if t.join().is_err() {
            w.fail("an actor thread panicked".into());
        }
    }

    // The end: without a race every goroutine ends and nothing is abandoned; with one,
    // shut down whatever runtime is left (a gs_init or gs_main may have started one).
    if !race {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rc = gs_run_for(1_000_000) as i64;
            w.check(who, "gs_run_for", rc, &[]);
            let rc = gs_wait(1_000_000) as i64;
            w.check(who, "gs_wait", rc, &[GS_ETIMEDOUT as i64]);
            if rc == 0 {
                break;
            }
            if Instant::now() > deadline {
                let _ = gs_dump(2);
                w.fail("gs_wait: goroutines still alive 30 s after every actor finished".into());
                return Err(report(w, &config, true));
            }
        }
        let rc = gs_shutdown() as i64;
        w.check(who, "gs_shutdown", rc, &[]);
        if rc != 0 {
            w.fail(format!("gs_shutdown abandoned {rc} goroutines after gs_wait returned 0"));
        }
    } else {
        loop {
            let rc = gs_shutdown() as i64;
            w.check(who, "gs_shutdown", rc, &[GS_ENOTINIT as i64]);
            if rc < 0 {
                break;
            }
            w.abandoned_sum.fetch_add(rc, AcqRel);
        }
    }

    verify(w);

    // Threads and descriptors: back to what they were (a joined thread may linger in
    // /proc for a moment).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut threads_now;
    let mut fds_now;
    loop {
        threads_now = count_dir("/proc/self/task");
        fds_now = count_dir("/proc/self/fd");
        if (threads_now <= base_threads && fds_now <= base_fds) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if threads_now > base_threads {
        w.fail(format!("{threads_now} threads after gs_shutdown, {base_threads} before gs_init"));
    }
    if fds_now > base_fds {
        w.fail(format!("{fds_now} file descriptors after gs_shutdown, {base_fds} before gs_init"));
    }

    let failed = !lock(&w.failures).is_empty();
    let trace = std::env::var_os("PROPERTY_TRACE").is_some();
    let out = if failed || trace { report(w, &config, failed) } else { String::new() };
    WORLD.store(null_mut(), Release);
    // The world is leaked on purpose when a seed failed (a stuck thread may still
    // read it); otherwise nothing can reach it any more.
    if failed {
        return Err(out);
    }
    // SAFETY: every actor finished or was abandoned by a shutdown that returned, every
    // thread was joined, and WORLD no longer points here.
    drop(unsafe { Box::from_raw(w as *const World as *mut World) });
    Ok(out)
}

/// The invariants that need everything stopped; then frees the objects.
fn verify(w: &World) {
    let n = w.nactors.load(Acquire).min(MAX_ACTORS);
    let who = "the test thread (end)";
    let abandoned = |i: usize| {
        let s = w.actors[i].state.load(Acquire);
        s == STARTED || s == RUNNING
    };
    for i in 0..n {
        if abandoned(i) && (!w.race || w.actors[i].kind.load(Relaxed) == FOREIGN) {
            w.fail(format!("actor {i} never finished"));
        }
    }
    let unfinished = (0..n).filter(|&i| abandoned(i)).count() as i64;
    if w.race && w.abandoned_sum.load(Acquire) < unfinished {
        w.fail(format!(
            "gs_shutdown reported {} goroutines abandoned in all, but {unfinished} actors never finished",
            w.abandoned_sum.load(Acquire)
        ));
    }

    // Drain what the channels still buffer (the test thread is one more receiver).
    let mut drained: Vec<(usize, u64)> = Vec::new();
    for (c, &(h, _)) in w.chans.iter().enumerate() {
        loop {
            let mut out: Elem = [POISON; 3];
            let rc = gs_chan_try_recv(h, out.as_mut_ptr().cast()) as i64;
            w.check(who, "gs_chan_try_recv", rc, &[GS_EAGAIN as i64, GS_ECLOSED as i64]);
            if rc != 0 {
                break;
            }
            if out[1] != !out[0] || out[2] != w.seed {
                w.fail(format!("a corrupted element was buffered in c{c}: {out:x?}"));
            } else {
                drained.push((c, out[0]));
            }
        }
    }

    // Every value: sent once, received at most once, and only if its send may have
    // delivered it.
    #[derive(PartialEq)]
    enum Fate {
        Sent,
        Failed,
        Unknown,
    }
    let mut fate: BTreeMap<u64, (usize, Fate)> = BTreeMap::new();
    let mut allowance = vec![0usize; w.chans.len()];
    let mut receipts: Vec<(usize, Vec<(usize, u64)>)> = Vec::new();
    for i in 0..n {
        let l = lock(&w.actors[i].log);
        for &(c, v, ok) in &l.sends {
            if fate.insert(v, (c, if ok { Fate::Sent } else { Fate::Failed })).is_some() {
                w.fail(format!("value {v:#x} was sent twice"));
            }
        }
        if abandoned(i) {
            if let Some(f) = &l.inflight {
                for &(c, v) in &f.sends {
                    fate.insert(v, (c, Fate::Unknown));
                }
                for &c in &f.recv_chans {
                    allowance[c] += 1;
                }
            }
        }
        receipts.push((i, l.recvs.clone()));
    }
    receipts.push((MAIN, drained));
    let mut got: BTreeMap<u64, usize> = BTreeMap::new();
    for (r, recvs) in &receipts {
        // One sender's values reach one receiver in the order they were sent.
        let mut last: BTreeMap<(usize, u64), u64> = BTreeMap::new();
        for &(c, v) in recvs {
            if let Some(prev) = got.insert(v, *r) {
                w.fail(format!("value {v:#x} was received twice (by {} and {})", name_of(prev), name_of(*r)));
            }
            match fate.get(&v) {
                None => w.fail(format!("{} received {v:#x} on c{c}, which nobody sent", name_of(*r))),
                Some((c2, _)) if *c2 != c => w.fail(format!("{v:#x} was sent on c{c2} and received on c{c}")),
                Some((_, Fate::Failed)) => {
                    w.fail(format!("{} received {v:#x} on c{c}, whose send did not return 0", name_of(*r)))
                }
                _ => {}
            }
            let key = (c, v >> 40);
            let seq = v & ((1 << 40) - 1);
            if let Some(&p) = last.get(&key) {
                if seq <= p {
                    w.fail(format!(
                        "{} received {v:#x} on c{c} after a later value of the same sender (seq {p})",
                        name_of(*r)
                    ));
                }
            }
            last.insert(key, seq);
        }
    }
    let mut missing = vec![Vec::new(); w.chans.len()];
    for (v, (c, f)) in &fate {
        if *f == Fate::Sent && !got.contains_key(v) {
            missing[*c].push(*v);
        }
    }
    for (c, m) in missing.iter().enumerate() {
        if m.len() > allowance[c] {
            let shown: Vec<String> = m.iter().take(8).map(|v| format!("{v:#x}")).collect();
            w.fail(format!(
                "c{c}: {} values were sent (the send returned 0) and never received, {} receivers were abandoned mid-call: {}",
                m.len(),
                allowance[c],
                shown.join(" ")
            ));
        }
    }

    // Parks and readies, for every actor that finished.
    for i in 0..n {
        if w.actors[i].state.load(Acquire) != FINISHED {
            continue;
        }
        let l = lock(&w.actors[i].log);
        let r = w.readied[i].load(Acquire);
        if r != l.parks_zero_kept {
            w.fail(format!(
                "actor {i}: gs_ready succeeded {r} times on it, but its parks that unlockf kept parked returned 0 {} times ({} parks returned 0 in all)",
                l.parks_zero_kept, l.parks_zero
            ));
        }
    }

    // The objects: unlocked, waited on by nobody, and free with 0.
    for (m, (h, owner)) in w.mutexes.iter().enumerate() {
        let rc = gs_mutex_trylock(*h) as i64;
        w.check(who, "gs_mutex_trylock", rc, &[GS_EAGAIN as i64]);
        if rc == 0 {
            let rc = gs_mutex_unlock(*h) as i64;
            w.check(who, "gs_mutex_unlock", rc, &[]);
        } else {
            let holder = (0..n).find(|&i| abandoned(i) && lock(&w.actors[i].log).holding == Some(m));
            match holder {
                Some(_) => {
                    let rc = gs_mutex_unlock(*h) as i64;
                    w.check(who, "gs_mutex_unlock", rc, &[]);
                }
                None => {
                    w.fail(format!("m{m} is still locked, by nobody (owner field {})", owner.load(Acquire)))
                }
            }
        }
        let rc = gs_mutex_free(*h) as i64;
        let woken_abandoned =
            w.race && (0..n).any(|i| abandoned(i) && lock(&w.actors[i].log).holding == Some(m));
        if rc == GS_EBUSY as i64 && woken_abandoned {
            // KNOWN ISSUE, src/sync/mutex.rs (reported, not fixed here): a goroutine
            // that gs_mutex_unlock woke in normal mode (setting WOKEN for it) and
            // that gs_shutdown abandoned before it ran leaves the mutex waiting for
            // it for good: gs_mutex_free gives GS_EBUSY forever, and a later
            // gs_mutex_lock that must wait (as a newcomer behind a waiter that waited
            // over 1 ms) never returns. Counted, the mutex is leaked; set
            // PROPERTY_STRICT=1 to fail on it.
            KNOWN_WOKEN.fetch_add(1, Relaxed);
            if std::env::var_os("PROPERTY_STRICT").is_some() {
                w.fail(format!(
                    "gs_mutex_free(m{m}) returned GS_EBUSY: WOKEN left set by an abandoned waiter"
                ));
            }
            continue;
        }
        w.check(who, "gs_mutex_free", rc, &[]);
        if rc != 0 {
            w.fail(format!(
                "gs_mutex_free(m{m}) returned {} after every party let go of it",
                w.table.name(rc)
            ));
        }
    }
    for (g, &h) in w.wgs.iter().enumerate() {
        if w.race {
            while gs_waitgroup_add(h, -1) == 0 {}
        } else {
            let rc = gs_waitgroup_add(h, -1) as i64;
            if rc != GS_EINVAL as i64 {
                w.fail(format!(
                    "w{g}'s counter is not 0 after every child ended (gs_waitgroup_add -1 gave {rc})"
                ));
            }
        }
        let rc = gs_waitgroup_free(h) as i64;
        w.check(who, "gs_waitgroup_free", rc, &[]);
        if rc != 0 {
            w.fail(format!("gs_waitgroup_free(w{g}) returned {}", w.table.name(rc)));
        }
    }
    for (c, &(h, _)) in w.chans.iter().enumerate() {
        let rc = gs_chan_free(h) as i64;
        w.check(who, "gs_chan_free", rc, &[]);
        if rc != 0 {
            w.fail(format!("gs_chan_free(c{c}) returned {}", w.table.name(rc)));
        }
    }
}

fn name_of(r: usize) -> String {
    if r == MAIN {
        "the test thread".into()
    } else {
        format!("actor {r}")
    }
}

/// The seed, its configuration, its failures and every actor's trace.
fn report(w: &World, config: &str, failed: bool) -> String {
    let mut s = String::new();
    let seed = w.seed;
    if failed {
        s += &format!("property: seed {seed} FAILED (replay: PROPERTY_SEED={seed} cargo test --release --test property)\n");
    } else {
        s += &format!("property: seed {seed} passed\n");
    }
    s += &format!("  {config}\n");
    for f in lock(&w.failures).iter().take(50) {
        s += &format!("  failure: {f}\n");
    }
    let n = w.nactors.load(Acquire).min(MAX_ACTORS);
    for i in 0..n {
        let a = &w.actors[i];
        let kind = ["goroutine", "host goroutine", "thread"][a.kind.load(Relaxed) as usize];
        let state = ["free", "started, never ran", "running (abandoned)", "finished", "not started"]
            [a.state.load(Acquire) as usize];
        let l = lock(&a.log);
        s += &format!("  actor {i} ({kind}, {state}), {} calls:\n", l.trace.len());
        for t in &l.trace {
            s += &format!("    {t}\n");
        }
        if let Some(f) = &l.inflight {
            s += &format!(
                "    (in flight: {}, sends {:x?}, receiving from {:?})\n",
                f.call, f.sends, f.recv_chans
            );
        }
        if let Some(m) = l.holding {
            s += &format!("    (locking, holding or unlocking m{m})\n");
        }
    }
    s
}

/// The seed running now, for `on_crash`.
static CURRENT_SEED: AtomicU64 = AtomicU64::new(0);

/// A fault or an abort (a broken invariant) kills the process before a report: say
/// which seed it was, from the signal handler, then die of the signal. Installed
/// before the first gs_init, so the runtime's SIGSEGV handler (stack overflows)
/// passes other faults on to it.
extern "C" fn on_crash(sig: c_int) {
    let mut buf = [0u8; 160];
    let mut n = 0;
    let mut put = |b: &[u8]| {
        for &c in b {
            if n < buf.len() {
                buf[n] = c;
                n += 1;
            }
        }
    };
    put(b"\nproperty: signal ");
    let mut digits = [0u8; 20];
    let mut emit = |mut v: u64, put: &mut dyn FnMut(&[u8])| {
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        put(&digits[k..]);
    };
    emit(sig as u64, &mut put);
    put(b" in seed ");
    let seed = CURRENT_SEED.load(Relaxed);
    emit(seed, &mut put);
    put(b" (replay: PROPERTY_SEED=");
    emit(seed, &mut put);
    put(b" cargo test --release --test property)\n");
    // SAFETY: write(2), signal(2) and raise(3) are async-signal-safe; buf is ours.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

fn install_crash_report() {
    for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGABRT, libc::SIGILL, libc::SIGFPE] {
        // SAFETY: a zeroed sigaction with a handler of the right type; the handler
        // only makes async-signal-safe calls.
        unsafe {
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = on_crash as extern "C" fn(c_int) as usize;
            sa.sa_flags = libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, null_mut());
        }
    }
}

#[test]
fn random_api_sequences() {
    install_crash_report();
    let table: &'static Table = Box::leak(Box::new(codes::load()));
    // SAFETY: open(2) of a constant path.
    let devnull = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    assert!(devnull >= 0, "open /dev/null");
    let seeds: Vec<u64> = match std::env::var("PROPERTY_SEED") {
        Ok(s) => vec![s.trim().parse().expect("PROPERTY_SEED is a number")],
        Err(_) => {
            let n: u64 =
                std::env::var("PROPERTY_SEEDS").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(64);
            (1..=n).collect()
        }
    };
    let start = Instant::now();
    let mut calls = 0u64;
    for (k, &seed) in seeds.iter().enumerate() {
        CURRENT_SEED.store(seed, Relaxed);
        match run_seed(seed, table, devnull) {
            Ok(out) => {
                if !out.is_empty() {
                    eprint!("{out}");
                }
            }
            Err(report) => panic!("{report}"),
        }
        calls += CALLS.swap(0, Relaxed);
        if (k + 1) % 500 == 0 {
            eprintln!("property: {} seeds passed ({:.1} s)", k + 1, start.elapsed().as_secs_f64());
        }
    }
    eprintln!(
        "property: {} seeds passed, {calls} calls checked, in {:.1} s",
        seeds.len(),
        start.elapsed().as_secs_f64()
    );
    let known = KNOWN_WOKEN.load(Relaxed);
    if known > 0 {
        eprintln!("property: known issue: {known} mutexes left WOKEN by a waiter gs_shutdown abandoned (see verify)");
    }
}

/// Calls checked, summed over seeds (each world counts its own).
static CALLS: AtomicU64 = AtomicU64::new(0);
/// Seeds that met the known mutex issue (see KNOWN ISSUE in `verify`).
static KNOWN_WOKEN: AtomicU64 = AtomicU64::new(0);

impl Drop for World {
    fn drop(&mut self) {
        CALLS.fetch_add(self.calls.load(Relaxed), Relaxed);
    }
}
