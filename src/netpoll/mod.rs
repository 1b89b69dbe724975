//! The network poller backend (platform-dependent part).
//!
//! # The backend contract
//!
//! A backend knows nothing of goroutines: it registers file descriptors and reports
//! which are ready. The runtime's poll descriptors (`runtime/netpoll.rs`) decide whom
//! to wake. A backend provides `Poller` with:
//! - `Poller::new()` — create the poller and its wake-up channel; called once per runtime.
//! - `open(fd, token)` — arm `fd` once, edge-triggered, for reading and writing;
//!   events for it carry `token`. `Err(errno)` if the fd cannot be polled (EPERM:
//!   a regular file, always ready).
//! - `modify(fd, token)` — renew an armed fd's registration (reporting readiness
//!   already there); `Err(ENOENT)` if the kernel forgot it (closed with close(2)).
//! - `close(fd)` — disarm `fd` (before the fd is closed).
//! - `poll(delay_ns, out)` — wait for events: `< 0` blocks, `0` does not, `> 0` waits
//!   at most `delay_ns`; appends `(token, EV_READ | EV_WRITE)` pairs to `out`.
//!   Returns early (possibly with no events) after `wake()`.
//! - `wake()` — interrupt a `poll` blocked now or about to block; cheap when repeated.
//! - `wake_requested()` — true from a `wake()` until a `poll` has consumed it: lets
//!   a poller that waits awake (without calling `poll`) see the interruption.
//!
//! Linux uses epoll (`epoll.rs`); an io_uring or kqueue backend implements the same.

#[cfg(target_os = "linux")]
mod epoll;
#[cfg(target_os = "linux")]
pub(crate) use epoll::Poller;

/// Readable (or hung up / in error: a read will not block).
pub(crate) const EV_READ: u32 = 0x1;
/// Writable (or in error).
pub(crate) const EV_WRITE: u32 = 0x2;
