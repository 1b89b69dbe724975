//! Cancellation contexts in the style of Go's context package: a background root,
//! contexts with cancel, with a deadline, and with a value; each (but the root) has a
//! done channel that is closed when it is canceled, and the reason (`err`).
//!
//! # The tree
//!
//! Every context but the root has a parent and is linked into its parent's list of
//! children, under one global lock (`TREE`: context operations are rare next to the
//! channel operations on their done channels). Canceling a context cancels, under
//! that lock, every descendant not canceled yet, with the same reason, closing their
//! done channels (a close never blocks). A context keeps its children listed after it
//! was canceled, and its parent pointer, so that a value lookup can walk up: `free`
//! refuses a context that still has children (`Busy`), so a parent always outlives
//! its children.
//!
//! # Deadlines
//!
//! A context with a deadline earlier than its parent's arms a runtime timer whose
//! function cancels it with `TimedOut` (Go's DeadlineExceeded). The function takes
//! `TREE`, so the timer is deleted (waiting for a running function) without it held.
//! As for timer channels (timer.rs, *The runtime's life*), the timer is only deleted
//! while its runtime runs.

use super::chan::{self, Chan};
use super::timer::{current_runtime, runtime_live};
use super::waiter::NEVER;
use super::{retire, ObjLock, MAGIC_FREED, MAGIC_OFFSET};
use crate::error::{Error, Result};
use crate::runtime::sched::Runtime;
use crate::runtime::time::nanotime;
use crate::runtime::timer::{addtimer, deltimer, Timer};
use core::alloc::Layout;
use core::cell::{Cell, UnsafeCell};
use core::ffi::c_void;
use core::ptr::{null, null_mut};
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering::*};

/// `magic` of a live context ("ctxt"). See *Handles* in mod.rs.
pub(crate) const MAGIC_CONTEXT: u32 = u32::from_le_bytes(*b"ctxt");

/// The lock of every context's tree links and children lists: held for a few
/// instructions per context touched, never across a block. A spinning lock as
/// `ObjLock` (of core's atomics also under loom, whose models do not use contexts).
struct TreeLock(core::sync::atomic::AtomicBool);

impl TreeLock {
    fn lock(&self) {
        let mut round = 0u32;
        while self.0.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
            if round < 10 {
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            round = round.saturating_add(1);
        }
        crate::runtime::tools::acquire(self as *const TreeLock as usize);
    }

    /// # Safety
    /// Held by the caller.
    unsafe fn unlock(&self) {
        crate::runtime::tools::release(self as *const TreeLock as usize);
        self.0.store(false, Release);
    }
}

static TREE: TreeLock = TreeLock(core::sync::atomic::AtomicBool::new(false));

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CtxKind {
    Background,
    Cancel,
    Value,
}

#[repr(C)]
pub(crate) struct Context {
    _lock: ObjLock,
    magic: AtomicU32,
    kind: CtxKind,
    /// 0 while not canceled, else the code (GS_ECANCELED or GS_ETIMEDOUT).
    err: AtomicI32,
    /// Under TREE.
    parent: *mut Context,
    first_child: Cell<*mut Context>,
    prev_sib: Cell<*mut Context>,
    next_sib: Cell<*mut Context>,
    /// Closed when canceled; null for the root (never ready in a select).
    done: *mut Chan,
    deadline: i64,
    key: *const c_void,
    value: *mut c_void,
    /// The deadline's timer, if armed (`rt` non-null then).
    timer: UnsafeCell<Timer>,
    rt: *const Runtime,
    rt_start: i64,
}

// SAFETY: the cells are under TREE; the rest is atomics or fixed at creation.
unsafe impl Sync for Context {}

// (Under loom the atomics before it are loom's, larger: the models use no handles.)
const _: () = assert!(cfg!(loom) || core::mem::offset_of!(Context, magic) == MAGIC_OFFSET);

struct Root(UnsafeCell<Option<Context>>);
// SAFETY: written once under ROOT_ONCE, then only read.
unsafe impl Sync for Root {}
static ROOT: Root = Root(UnsafeCell::new(None));
static ROOT_ONCE: std::sync::Once = std::sync::Once::new();

impl Context {
    fn blank(kind: CtxKind, parent: *mut Context, done: *mut Chan, deadline: i64) -> Context {
        Context {
            _lock: ObjLock::new(),
            magic: AtomicU32::new(MAGIC_CONTEXT),
            kind,
            err: AtomicI32::new(0),
            parent,
            first_child: Cell::new(null_mut()),
            prev_sib: Cell::new(null_mut()),
            next_sib: Cell::new(null_mut()),
            done,
            deadline,
            key: null(),
            value: null_mut(),
            timer: UnsafeCell::new(Timer::new()),
            rt: null(),
            rt_start: 0,
        }
    }

    /// The background root: never canceled, no deadline, no values, no done channel.
    pub(crate) fn background() -> *mut Context {
        ROOT_ONCE.call_once(|| {
            // SAFETY: only here, once, before anyone reads it.
            unsafe {
                *ROOT.0.get() = Some(Context::blank(CtxKind::Background, null_mut(), null_mut(), NEVER))
            };
        });
        // SAFETY: written above, never again.
        unsafe { (*ROOT.0.get()).as_ref().unwrap() as *const Context as *mut Context }
    }

    /// The context behind handle `c`: `Inval` if null or not live.
    /// # Safety
    /// `c` is null or came from `new` / `background`, and its memory is still the
    /// runtime's.
    #[inline(always)]
    pub(crate) unsafe fn check<'a>(c: *const Context) -> Result<&'a Context> {
        if c.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller's contract.
        let r = unsafe { &*c };
        if r.magic.load(Relaxed) != MAGIC_CONTEXT {
            return Err(Error::Inval);
        }
        Ok(r)
    }

    pub(crate) fn kind(&self) -> CtxKind {
        self.kind
    }

    pub(crate) fn done(&self) -> *mut Chan {
        self.done
    }

    /// 0, or the code it was canceled with.
    pub(crate) fn err(&self) -> i32 {
        self.err.load(Acquire)
    }

    /// The deadline (nanotime), or `NEVER`.
    pub(crate) fn deadline(&self) -> i64 {
        self.deadline
    }

    /// The value of the nearest context up the tree whose key is `key`, or null.
    pub(crate) fn value(&self, key: *const c_void) -> *mut c_void {
        let mut c: *const Context = self;
        while !c.is_null() {
            // SAFETY: parents outlive their children (see *The tree*).
            let x = unsafe { &*c };
            if x.kind == CtxKind::Value && x.key == key {
                return x.value;
            }
            c = x.parent;
        }
        null_mut()
    }

    /// A child of `parent`: `Cancel` (with a deadline if `deadline` is not `NEVER`)
    /// or `Value`. Canceled at once if the parent is, or if the deadline passed.
    /// `NotInit` if a timer is needed and no runtime runs; `Shutdown` while it stops;
    /// `NoMem`.
    pub(crate) fn new(
        parent: &Context,
        kind: CtxKind,
        deadline: i64,
        key: *const c_void,
        value: *mut c_void,
    ) -> Result<*mut Context> {
        let deadline = deadline.min(parent.deadline);
        let own_timer = deadline < parent.deadline && deadline > nanotime();
        let rt = if own_timer { Some(current_runtime()?) } else { None };
        let done = Chan::new(0, 0);
        if done.is_null() {
            return Err(Error::NoMem);
        }
        let mut c = Context::blank(kind, parent as *const Context as *mut Context, done, deadline);
        c.key = key;
        c.value = value;
        if let Some((rt, _)) = &rt {
            c.rt = *rt;
            c.rt_start = rt.start_time;
        }
        let p = Box::into_raw(Box::new(c));
        // SAFETY: just made.
        let me = unsafe { &*p };
        TREE.lock();
        // Link under the parent (the root has no list: it is never canceled).
        if parent.kind != CtxKind::Background {
            let first = parent.first_child.get();
            me.next_sib.set(first);
            if !first.is_null() {
                // SAFETY: listed children are alive (they unlink in `free`).
                unsafe { (*first).prev_sib.set(p) };
            }
            parent.first_child.set(p);
        }
        let perr = parent.err.load(Acquire);
        if perr != 0 {
            // SAFETY: TREE held.
            unsafe { cancel_locked(me, perr) };
        } else if deadline != NEVER && deadline <= nanotime() {
            // SAFETY: TREE held.
            unsafe { cancel_locked(me, Error::TimedOut.to_code()) };
        } else if let Some((rt, _pass)) = rt {
            // SAFETY: our own fresh context, which deletes the timer in `free`; the
            // runtime runs (we hold its M or a pass).
            unsafe { addtimer(rt, me.timer.get(), deadline, deadline_fire, p as usize) };
        }
        // SAFETY: locked.
        unsafe { TREE.unlock() };
        Ok(p)
    }

    /// Cancels `self` and its descendants with GS_ECANCELED, unless canceled already.
    /// Can be executed by anyone; never blocks (beyond TREE).
    pub(crate) fn cancel(&self) {
        TREE.lock();
        // SAFETY: TREE held.
        unsafe {
            cancel_locked(self, Error::Canceled.to_code());
            TREE.unlock();
        }
    }

    /// Cancels and frees `c`. `Busy` (canceled, not freed) while it has children (free
    /// them first) or a
    /// party still waits on its done channel; `Shutdown` while the runtime stops (a
    /// deadline timer can only be deleted while it runs); `Inval` if freed meanwhile.
    /// The root cannot be freed: Ok, nothing done.
    /// # Safety
    /// `c` passed `check`; no operation of the caller's on it is in progress or follows.
    pub(crate) unsafe fn free(c: *mut Context) -> Result<()> {
        // SAFETY: the caller's contract: alive or in quarantine.
        let me = unsafe { &*c };
        if me.kind == CtxKind::Background {
            return Ok(());
        }
        let live = if me.rt.is_null() { None } else { runtime_live(me.rt, me.rt_start)? };
        TREE.lock();
        if me.magic.load(Relaxed) != MAGIC_CONTEXT {
            // SAFETY: locked.
            unsafe { TREE.unlock() };
            return Err(Error::Inval);
        }
        // SAFETY: TREE held.
        unsafe { cancel_locked(me, Error::Canceled.to_code()) };
        if !me.first_child.get().is_null() {
            // SAFETY: locked.
            unsafe { TREE.unlock() };
            return Err(Error::Busy);
        }
        // SAFETY: locked. Without TREE (the timer's function takes it): wait for a
        // running deadline function; it finds the context canceled and does nothing.
        unsafe { TREE.unlock() };
        if live.is_some() {
            // SAFETY: our timer (armed or not); its runtime runs; not its function.
            unsafe { deltimer(me.timer.get()) };
        }
        // SAFETY: our channel, closed; nothing of ours uses it any more. (`Inval`: the
        // user freed it already, against the docs; nothing left to free.)
        if let Err(Error::Busy) = unsafe { Chan::free(me.done) } {
            return Err(Error::Busy);
        }
        TREE.lock();
        // Unlink from the parent's list.
        let (prev, next) = (me.prev_sib.get(), me.next_sib.get());
        // SAFETY: TREE held; siblings and the parent are alive (parents outlive
        // children; listed siblings unlink here before they go).
        unsafe {
            if !me.parent.is_null() && (*me.parent).kind != CtxKind::Background {
                if prev.is_null() {
                    (*me.parent).first_child.set(next);
                } else {
                    (*prev).next_sib.set(next);
                }
                if !next.is_null() {
                    (*next).prev_sib.set(prev);
                }
            }
        }
        me.magic.store(MAGIC_FREED, Relaxed);
        // SAFETY: locked.
        unsafe { TREE.unlock() };
        drop(live);
        // SAFETY: made by Box::into_raw in `new`; nobody touches it as live any more.
        unsafe { retire(c.cast(), Layout::new::<Context>()) };
        Ok(())
    }
}

/// Cancels `c` with `err` unless canceled already, and every descendant not canceled
/// (iteratively: a deep chain must not overflow a goroutine's stack).
/// # Safety
/// TREE is held; `c` is a live context.
unsafe fn cancel_locked(c: &Context, err: i32) {
    let mut todo: Vec<*const Context> = vec![c];
    while let Some(x) = todo.pop() {
        // SAFETY: `c`, and listed children, are alive; TREE is held.
        let x = unsafe { &*x };
        if x.kind == CtxKind::Background || x.err.load(Relaxed) != 0 {
            continue;
        }
        x.err.store(err, Release);
        // SAFETY: our channel, alive until `free` (`check` refuses it if the user
        // freed it against the docs, while in quarantine); closing never blocks.
        if let Ok(d) = unsafe { Chan::check(x.done) } {
            let _ = chan::close(d);
        }
        let mut ch = x.first_child.get();
        while !ch.is_null() {
            todo.push(ch);
            // SAFETY: as above.
            ch = unsafe { (*ch).next_sib.get() };
        }
    }
}

/// The deadline timer's function: cancels the context with GS_ETIMEDOUT.
/// Executed on an M's g0.
/// # Safety
/// `arg` is a context whose `free` deletes this timer (waiting for us) before it goes.
unsafe fn deadline_fire(arg: usize) {
    // SAFETY: the caller's contract.
    let c = unsafe { &*(arg as *const Context) };
    TREE.lock();
    // SAFETY: TREE held.
    unsafe {
        cancel_locked(c, Error::TimedOut.to_code());
        TREE.unlock();
    }
}
