//! The scheduler core: Go's G/M/P model (see `docs/internals.md`).
//!
//! The three objects, each with the rules of who owns it at the top of its file:
//! - **G** (`g.rs`): a goroutine: its stack (`stack.rs`), saved context
//!   (`context.rs`, the assembly in `asm/`), status. *Ownership of a G*.
//! - **M** (`m.rs`): an OS thread (`osthread.rs`), and its life cycle (`newm`,
//!   `mstart`, `startm`, `stopm`, `mexit`). Each M has a g0: its thread's own stack,
//!   on which the scheduler runs. Goroutine code switches to g0 with `mcall`;
//!   functions that run there carry the suffix `_m` (`park_m`, `gosched_m`,
//!   `goexit0`) and end in `schedule()`, which never returns.
//! - **P** (`p.rs`): the right to run goroutines; `nprocs` of them, taken and given
//!   back with `acquirep`/`releasep`. Each has a 256-slot lock-free run queue and
//!   `runnext` (`runq.rs`) and caches of dead Gs and stacks. *Ownership of a P*.
//!
//! What they do:
//! - `proc.rs`: the scheduling loop: `schedule`, `findrunnable`, `execute`,
//!   `stealwork`, `wakep`, `handoffp`, the g0 halves of yield and exit.
//! - `newproc.rs`: creating goroutines; `freelist.rs`: the free lists of dead Gs
//!   and of stacks (a cache per P over a global list).
//! - `park.rs`: `gopark`, `park_m`, `ready`; *Who may ready a waiting G*.
//! - `entry.rs`: what the C API calls on the caller's behalf (`caller`, `go`,
//!   `gosched`, `goexit`, `lock_os_thread`, `main`); `host.rs`: goroutines run by
//!   the caller's own thread (`gs_run_for`).
//! - `sched.rs`: the runtime object, the global queue and idle lists, the life cycle
//!   (`init`, `shutdown`, the foreign pass), *Spinning and parking*, *Locks*.
//! - `timer.rs`: per-P timer heaps, sleeping and timed parks; `time.rs`: clocks.
//! - `netpoll.rs`: poll descriptors and the poller's place in the scheduler (the
//!   epoll backend is `crate::netpoll`); `fdwait.rs`: waiting for an fd; `io.rs`:
//!   the blocking I/O calls on top (`read`, `write`, `accept`, `connect`, `close`);
//!   `syscall.rs`: blocking calls the runtime cannot see (`entersyscall`).
//! - `config.rs`: gs_config, its defaults, the environment and the CPU count.
//! - `sysmon.rs`: the monitor thread (preemption requests, retaking Ps, netpoll).
//! - `signal.rs`: signal stacks and stack-overflow reports; `throw.rs`: fatal errors.
//! - `lock.rs`: the runtime's mutex; `note.rs`: one-shot sleep/wakeup of an M.
//! - `tls.rs`: the current M, and the *Thread-locals move* rule; `cxxabi.rs`: each
//!   goroutine's C++ exception state (*Exception state*); `gls.rs`: goroutine-local
//!   storage (gs_key_create).
//! - `tools.rs`: what the sanitizers and Valgrind's thread checkers are told
//!   (fiber switches, happens-before edges).
//! - `debug.rs`: goroutine dumps; `debugger.rs`: what debuggers read
//!   (`gs_debug_layout`) and the embedded gdb extension; `prefetch.rs`, `valgrind.rs`: hints to the CPU and
//!   to Valgrind.
//!
//! "sched.lock must be held" in a doc comment means the function takes the guard
//! (`&mut SchedLocked`); "Executed only by the owner P" means by the M holding it.

pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod cxxabi;
pub(crate) mod debug;
pub(crate) mod debugger;
pub(crate) mod entry;
pub(crate) mod fdwait;
pub(crate) mod freelist;
pub(crate) mod g;
pub(crate) mod gil;
pub(crate) mod gls;
pub(crate) mod gstats;
pub(crate) mod host;
pub(crate) mod io;
pub(crate) mod lock;
pub(crate) mod longrun;
pub(crate) mod longrun_bt;
pub(crate) mod m;
pub(crate) mod netpoll;
pub(crate) mod newproc;
pub(crate) mod note;
pub(crate) mod osthread;
pub(crate) mod p;
pub(crate) mod park;
pub(crate) mod prefetch;
pub(crate) mod proc;
pub(crate) mod runq;
pub(crate) mod sched;
pub(crate) mod signal;
pub(crate) mod stack;
pub(crate) mod stackuse;
pub(crate) mod syscall;
pub(crate) mod sysmon;
pub(crate) mod throw;
pub(crate) mod time;
pub(crate) mod timer;
pub(crate) mod tls;
pub(crate) mod tools;
pub(crate) mod trace;
pub(crate) mod trace_json;
pub(crate) mod valgrind;
