//! The runtime's own OS threads (Go's newosproc): the Ms and sysmon.
//!
//! They are made with `pthread_create` directly, not with `std::thread`. A
//! `std::thread` takes a process-wide lock of the standard library when it ends (its
//! stack-overflow bookkeeping), and a `fork()` by another thread at that moment
//! leaves the lock held forever in the child: every `std::thread` the child makes
//! would then hang when it ends, and so would `gs_shutdown`, which joins them. A
//! bare pthread holds no lock of ours or of std's when it starts or ends, so fork
//! is safe at any point of a thread's life (see *Fork* in fork.rs).
//!
//! The entry function must not unwind: a panic that reaches it is fatal.

use core::ffi::c_void;

/// A joinable runtime thread.
pub(crate) struct OsThread(libc::pthread_t);

// SAFETY: a pthread_t is a handle that any thread may join, once.
unsafe impl Send for OsThread {}

struct Start {
    f: fn(usize),
    arg: usize,
    /// The thread's name, nul-terminated, at most 15 bytes before the nul.
    name: [u8; 16],
}

/// Starts a thread named `name` (the kernel keeps its first 15 bytes) with a stack
/// of `stack_size` bytes, running `f(arg)`. Err(errno) if it cannot be created
/// (EAGAIN: a limit on threads or memory).
pub(crate) fn newosproc(name: &str, stack_size: usize, f: fn(usize), arg: usize) -> Result<OsThread, i32> {
    let mut cname = [0u8; 16];
    for (d, b) in cname.iter_mut().zip(name.bytes().filter(|&b| b != 0).take(15)) {
        *d = b;
    }
    let start = Box::into_raw(Box::new(Start { f, arg, name: cname }));
    // SAFETY: attr is initialized before use and destroyed after; `start` is handed
    // to the new thread, or taken back when there is none.
    unsafe {
        let mut attr: libc::pthread_attr_t = core::mem::zeroed();
        let mut rc = libc::pthread_attr_init(&mut attr);
        if rc == 0 {
            rc = libc::pthread_attr_setstacksize(&mut attr, stack_size.max(libc::PTHREAD_STACK_MIN));
        }
        let mut th: libc::pthread_t = 0;
        if rc == 0 {
            rc = libc::pthread_create(&mut th, &attr, thread_start, start.cast());
        }
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            drop(Box::from_raw(start));
            return Err(rc);
        }
        Ok(OsThread(th))
    }
}

impl OsThread {
    /// Waits for the thread to end.
    pub(crate) fn join(self) {
        // SAFETY: the handle is joined once (self is consumed).
        unsafe { libc::pthread_join(self.0, core::ptr::null_mut()) };
    }
}

extern "C" fn thread_start(p: *mut c_void) -> *mut c_void {
    // SAFETY: `p` is the Start that newosproc leaked for this thread.
    let start = unsafe { Box::from_raw(p.cast::<Start>()) };
    let Start { f, arg, name } = *start;
    super::tools::runtime_thread();
    // Named by itself (prctl): naming another thread goes through /proc, which costs
    // the kernel work at every thread's end.
    // SAFETY: `name` is nul-terminated.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
    if std::panic::catch_unwind(move || f(arg)).is_err() {
        super::throw::fatal("a runtime thread panicked");
    }
    super::tools::runtime_thread_end();
    core::ptr::null_mut()
}
