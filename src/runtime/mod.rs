//! The scheduler core: Go's G/M/P model (seeds 000-004, DESIGN.md).
//!
//! - **G** (`g.rs`): a goroutine: its stack (`stack.rs`), saved context
//!   (`context.rs`), status. *Ownership of a G* is written at the top of g.rs.
//! - **M** (`m.rs`): an OS thread. Each M has a g0: its thread's own stack, on which
//!   the scheduler runs. Goroutine code switches to g0 with `mcall`; functions that
//!   run there carry the suffix `_m` (`park_m`, `gosched_m`, `goexit0`) and end in
//!   `schedule()`, which never returns.
//! - **P** (`p.rs`): the right to run goroutines; `nprocs` of them. Each has a
//!   256-slot lock-free run queue and `runnext` (`runq.rs`), and a free list of dead
//!   Gs. *Ownership of a P* is at the top of p.rs.
//! - **sched** (`sched.rs`): global queue, idle lists, the runtime's life cycle, and
//!   the *Spinning and parking* protocol.
//! - `proc.rs`: schedule / findrunnable / newproc / wakep / startm / handoffp.
//! - `park.rs`: gopark / park_m / ready; *Who may ready a waiting G*.
//! - `sysmon.rs`: the monitor thread; `signal.rs`: stack overflow reports;
//!   `tls.rs`: the current M, and the *Thread-locals move* rule.
//!
//! "sched.lock must be held" in a doc comment means the function takes the guard
//! (`&mut SchedLocked`); "Executed only by the owner P" means by the M holding it.

pub(crate) mod context;
pub(crate) mod debug;
pub(crate) mod g;
pub(crate) mod host;
pub(crate) mod lock;
pub(crate) mod m;
pub(crate) mod netpoll;
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
pub(crate) mod sysmon;
pub(crate) mod syscall;
pub(crate) mod throw;
pub(crate) mod timer;
pub(crate) mod time;
pub(crate) mod tls;
pub(crate) mod valgrind;
