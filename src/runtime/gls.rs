//! Goroutine-local storage: `gs_key_create`, `gs_key_delete`, `gs_setspecific`,
//! `gs_getspecific`, the goroutines' `pthread_key_create` (a `__thread` variable
//! belongs to the thread, which many goroutines share one after the other and which a
//! goroutine leaves whenever it migrates: *Thread-locals move* in tls.rs).
//!
//! # Keys
//!
//! Keys are process-wide, like pthread keys: they outlive a gs_shutdown and work
//! without a runtime. `KEYS` has `KEYS_MAX` slots; each slot's `state` word counts its
//! lives, with the low two bits saying where the current one is:
//!
//! ```text
//!  gen<<2 | FREE --create: CAS--> gen<<2 | CLAIMED --dtor stored--> gen<<2 | LIVE
//!  gen<<2 | LIVE --delete: CAS--> (gen+1)<<2 | FREE
//! ```
//!
//! A key is `(gen + 1) << INDEX_BITS | index`: never 0, and a key deleted and created
//! again at the same index is another key, so a stale key gives GS_EINVAL and reads
//! none of the new key's values. No lock is taken, so nothing here can be held at a
//! fork(); a create interrupted by a fork in another thread loses its slot in the
//! child.
//!
//! # Values
//!
//! A goroutine's values sit in its `GExt` (g.rs), allocated on its first
//! gs_setspecific: `keys[index]` holds the key it was set under and the value, which
//! reads as NULL under any other key. `GFLAG_KEYS` says the G has set one in this
//! life; without it every value is NULL, so a goroutine that never sets one costs
//! nothing. Only the goroutine itself reads and writes them.
//!
//! # Destructors
//!
//! When the goroutine ends (its function returns, or gs_goexit), on its own stack and
//! before it is dead (`goexit1`), each non-NULL value of a live key with a destructor
//! is set to NULL and the destructor called with it, in index order, as POSIX does for
//! threads; destructors may set values again, so this repeats up to
//! `DESTRUCTOR_ITERATIONS` rounds, after which values left are dropped. Values of
//! deleted keys are dropped without a call. A destructor runs on the goroutine and may
//! use every call a goroutine may (block, yield, spawn). Goroutines abandoned by
//! gs_shutdown never end: their destructors never run and their values are dropped.

use super::entry::{caller, Caller};
use super::g::{G, GFLAG_KEYS};
use crate::error::{Error, Result};
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};

/// Number of keys that may exist at once (glibc's PTHREAD_KEYS_MAX).
pub(crate) const KEYS_MAX: usize = 1024;
/// Rounds of destructor calls at a goroutine's end (POSIX's
/// PTHREAD_DESTRUCTOR_ITERATIONS minimum, and glibc's value).
pub(crate) const DESTRUCTOR_ITERATIONS: usize = 4;
const INDEX_BITS: u32 = 10;
const _: () = assert!(KEYS_MAX == 1 << INDEX_BITS);

const FREE: u64 = 0;
const CLAIMED: u64 = 1;
const LIVE: u64 = 3;
const PHASE: u64 = 3;

/// A value destructor (`void (*)(void *)`).
pub(crate) type Destructor = unsafe extern "C" fn(*mut c_void);

struct KeySlot {
    /// gen << 2 | FREE/CLAIMED/LIVE: see *Keys*.
    state: AtomicU64,
    /// The destructor (0: none); written while CLAIMED, read while LIVE.
    dtor: AtomicUsize,
}

static KEYS: [KeySlot; KEYS_MAX] =
    [const { KeySlot { state: AtomicU64::new(0), dtor: AtomicUsize::new(0) } }; KEYS_MAX];

/// One goroutine-local value: the key it was set under, and the value.
#[derive(Clone, Copy)]
pub(crate) struct Value {
    key: u64,
    value: *mut c_void,
}

/// The slot index and the `state` a live `key` has, or None for a key that cannot be.
fn decode(key: u64) -> Option<(usize, u64)> {
    let gen = (key >> INDEX_BITS).checked_sub(1)?;
    if gen > u64::MAX >> (INDEX_BITS + 2) {
        return None;
    }
    Some(((key & (KEYS_MAX as u64 - 1)) as usize, gen << 2 | LIVE))
}

/// The slot index of `key` if it is live now.
fn live(key: u64) -> Option<usize> {
    let (i, want) = decode(key)?;
    (KEYS[i].state.load(Acquire) == want).then_some(i) // load-acquire, pairs with create's store
}

/// gs_key_create: a new key, or `Again` when `KEYS_MAX` are live. Can be executed by
/// anyone.
pub(crate) fn key_create(dtor: Option<Destructor>) -> Result<u64> {
    for (i, slot) in KEYS.iter().enumerate() {
        let s = slot.state.load(Relaxed);
        if s & PHASE != FREE {
            continue;
        }
        if slot.state.compare_exchange(s, s | CLAIMED, Acquire, Relaxed).is_err() {
            continue;
        }
        slot.dtor.store(dtor.map_or(0, |f| f as usize), Relaxed);
        slot.state.store(s | LIVE, Release); // store-release, publishes dtor
        let gen = s >> 2;
        return Ok((gen + 1) << INDEX_BITS | i as u64);
    }
    Err(Error::Again)
}

/// gs_key_delete: `Inval` unless `key` is live. Values set under it are dropped
/// without their destructor. Can be executed by anyone.
pub(crate) fn key_delete(key: u64) -> Result<()> {
    let (i, want) = decode(key).ok_or(Error::Inval)?;
    let next = ((want >> 2) + 1) << 2 | FREE;
    KEYS[i].state.compare_exchange(want, next, AcqRel, Relaxed).map(|_| ()).map_err(|_| Error::Inval)
}

/// gs_setspecific: `Inval` for a key that is not live, `Perm` off-goroutine.
pub(crate) fn set(key: u64, value: *mut c_void) -> Result<()> {
    let i = live(key).ok_or(Error::Inval)?;
    let Caller::Goroutine(mp, gp) = caller() else { return Err(Error::Perm) };
    // SAFETY: gp is the calling goroutine, and mp its M: we own the G.
    let (g, rt) = unsafe { (&mut *gp, (*mp).rt()) };
    let ext = rt.allgs.ext(g);
    // SAFETY: the G's GExt is its owner's, and we are the G.
    let keys = unsafe { &mut (*ext).keys };
    if g.flags & GFLAG_KEYS == 0 {
        keys.clear(); // a previous life's (see `GExt`)
        g.flags |= GFLAG_KEYS;
    }
    if keys.len() <= i {
        keys.resize(i + 1, Value { key: 0, value: null_mut() });
    }
    keys[i] = Value { key, value };
    Ok(())
}

/// gs_getspecific: the calling goroutine's value for `key`; NULL if it set none, for a
/// key that is not live, and off-goroutine.
pub(crate) fn get(key: u64) -> *mut c_void {
    let Some(i) = live(key) else { return null_mut() };
    let Caller::Goroutine(mp, gp) = caller() else { return null_mut() };
    // SAFETY: gp is the calling goroutine, and mp its M: we own the G.
    let (g, rt) = unsafe { (&*gp, (*mp).rt()) };
    if g.flags & GFLAG_KEYS == 0 {
        return null_mut();
    }
    // SAFETY: as in `set`.
    let keys = unsafe { &(*rt.allgs.ext(g)).keys };
    match keys.get(i) {
        Some(v) if v.key == key => v.value,
        _ => null_mut(),
    }
}

/// Runs the destructors of the calling goroutine's values (see *Destructors*), if it
/// set any; true if it did (then the goroutine may have switched). Executed on the
/// ending goroutine's stack, by `goexit1`.
#[inline(always)]
pub(crate) fn goexit(gp: *mut G) -> bool {
    // SAFETY: gp is the calling goroutine.
    if unsafe { (*gp).flags } & GFLAG_KEYS == 0 {
        return false;
    }
    run_destructors();
    true
}

#[cold]
#[inline(never)]
fn run_destructors() {
    for _ in 0..DESTRUCTOR_ITERATIONS {
        let mut called = false;
        let mut i = 0;
        // A destructor may switch, so the G, its M and its values are found again
        // after every call.
        while let Some((key, value)) = take_value(i) {
            i += 1;
            if value.is_null() {
                continue;
            }
            let Some(k) = live(key) else { continue };
            let d = KEYS[k].dtor.load(Relaxed);
            // The key may have been deleted (and made again) since `live` looked: a
            // destructor is called only for a key still live after it was read.
            if d == 0 || live(key).is_none() {
                continue;
            }
            // SAFETY: d was stored from a `Destructor` by key_create.
            let f = unsafe { core::mem::transmute::<usize, Destructor>(d) };
            // SAFETY: the destructor's contract (gs_key_create in gosched.h).
            unsafe { f(value) };
            called = true;
        }
        if !called {
            break;
        }
    }
    if let Caller::Goroutine(mp, gp) = caller() {
        // SAFETY: we are gp, on mp.
        let (g, rt) = unsafe { (&mut *gp, (*mp).rt()) };
        // SAFETY: as in `set`.
        unsafe { (*rt.allgs.ext(g)).keys.clear() };
        g.flags &= !GFLAG_KEYS;
    }
}

/// Takes the calling goroutine's value at index `i` (leaving NULL), with its key;
/// None past the last index.
fn take_value(i: usize) -> Option<(u64, *mut c_void)> {
    let Caller::Goroutine(mp, gp) = caller() else { return None };
    // SAFETY: we are gp, on mp.
    let (g, rt) = unsafe { (&*gp, (*mp).rt()) };
    // SAFETY: as in `set`.
    let keys = unsafe { &mut (*rt.allgs.ext(g)).keys };
    let v = keys.get_mut(i)?;
    Some((v.key, core::mem::replace(&mut v.value, null_mut())))
}
