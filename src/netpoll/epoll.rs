//! The epoll backend of the poller (see the contract in mod.rs).

use super::{EV_READ, EV_WRITE};
use core::sync::atomic::{AtomicBool, Ordering::*};

/// Token of the eventfd used by `wake`.
const WAKE_TOKEN: u64 = u64::MAX;

pub(crate) struct Poller {
    epfd: i32,
    evfd: i32,
    /// A wake-up is written and not yet consumed (Go's netpollWakeSig).
    wake_pending: AtomicBool,
}

use crate::error::errno;

impl Poller {
    pub(crate) fn new() -> Result<Poller, i32> {
        // SAFETY: plain system calls creating new descriptors.
        unsafe {
            let epfd = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            if epfd < 0 {
                return Err(errno());
            }
            let evfd = libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC);
            if evfd < 0 {
                let e = errno();
                libc::close(epfd);
                return Err(e);
            }
            let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: WAKE_TOKEN };
            if libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, evfd, &mut ev) < 0 {
                let e = errno();
                libc::close(evfd);
                libc::close(epfd);
                return Err(e);
            }
            Ok(Poller { epfd, evfd, wake_pending: AtomicBool::new(false) })
        }
    }

    pub(crate) fn open(&self, fd: i32, token: u64) -> Result<(), i32> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: ev is a valid epoll_event.
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(errno());
        }
        Ok(())
    }

    /// Renews the registration of an armed fd (re-reports present readiness).
    /// `Err(ENOENT)` if the kernel does not know the fd (it was closed and reused).
    pub(crate) fn modify(&self, fd: i32, token: u64) -> Result<(), i32> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: ev is a valid epoll_event.
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_MOD, fd, &mut ev) } < 0 {
            return Err(errno());
        }
        Ok(())
    }

    pub(crate) fn close(&self, fd: i32) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: ev is valid (ignored by DEL on modern kernels).
        unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    pub(crate) fn poll(&self, delay_ns: i64, out: &mut Vec<(u64, u32)>) {
        let ms: i32 = if delay_ns < 0 {
            -1
        } else if delay_ns == 0 {
            0
        } else if delay_ns < 1_000_000 {
            // epoll_wait has millisecond resolution; use epoll_pwait2 for short waits.
            return self.poll_ns(delay_ns, out);
        } else {
            (delay_ns / 1_000_000).min(i32::MAX as i64) as i32
        };
        let mut evs: [libc::epoll_event; 128] = [libc::epoll_event { events: 0, u64: 0 }; 128];
        // SAFETY: evs has room for 128 events.
        let n = unsafe { libc::epoll_wait(self.epfd, evs.as_mut_ptr(), 128, ms) };
        self.collect(&evs, n, out);
    }

    /// Waits with nanosecond resolution (epoll_pwait2, Linux 5.11+), falling back to
    /// a 1 ms epoll_wait where the kernel lacks it, and under Valgrind, which does
    /// not know the call (it would warn at every use).
    fn poll_ns(&self, delay_ns: i64, out: &mut Vec<(u64, u32)>) {
        let mut evs: [libc::epoll_event; 128] = [libc::epoll_event { events: 0, u64: 0 }; 128];
        if !has_pwait2() {
            // SAFETY: evs has room for 128 events.
            let n = unsafe { libc::epoll_wait(self.epfd, evs.as_mut_ptr(), 128, 1) };
            self.collect(&evs, n, out);
            return;
        }
        let ts = libc::timespec { tv_sec: 0, tv_nsec: delay_ns as libc::c_long };
        // SAFETY: evs has room for 128 events; ts is valid.
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.epfd,
                evs.as_mut_ptr(),
                128,
                &ts as *const libc::timespec,
                core::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        } as i32;
        if n < 0 && errno() == libc::ENOSYS {
            PWAIT2.store(PWAIT2_NO, Relaxed);
            // SAFETY: as above.
            let n = unsafe { libc::epoll_wait(self.epfd, evs.as_mut_ptr(), 128, 1) };
            self.collect(&evs, n, out);
            return;
        }
        self.collect(&evs, n, out);
    }

    fn collect(&self, evs: &[libc::epoll_event], n: i32, out: &mut Vec<(u64, u32)>) {
        for ev in evs.iter().take(n.max(0) as usize) {
            let token = ev.u64;
            let e = ev.events;
            if token == WAKE_TOKEN {
                let mut buf = [0u8; 8];
                // SAFETY: reading 8 bytes into a valid buffer from our eventfd.
                unsafe { libc::read(self.evfd, buf.as_mut_ptr().cast(), 8) };
                self.wake_pending.store(false, Release);
                continue;
            }
            let mut mode = 0;
            if e & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                mode |= EV_READ;
            }
            if e & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                mode |= EV_WRITE;
            }
            if mode != 0 {
                out.push((token, mode));
            }
        }
    }

    #[inline]
    pub(crate) fn wake_requested(&self) -> bool {
        self.wake_pending.load(Acquire)
    }

    pub(crate) fn wake(&self) {
        if self.wake_pending.swap(true, AcqRel) {
            return;
        }
        let one: u64 = 1;
        // SAFETY: writing 8 bytes to our eventfd.
        unsafe { libc::write(self.evfd, (&one as *const u64).cast(), 8) };
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // SAFETY: our own descriptors, closed once.
        unsafe {
            libc::close(self.evfd);
            libc::close(self.epfd);
        }
    }
}

/// Whether epoll_pwait2 may be used: `PWAIT2_*`, decided at the first short wait.
static PWAIT2: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(PWAIT2_UNKNOWN);
const PWAIT2_UNKNOWN: u8 = 0;
const PWAIT2_YES: u8 = 1;
const PWAIT2_NO: u8 = 2;

fn has_pwait2() -> bool {
    match PWAIT2.load(Relaxed) {
        PWAIT2_YES => true,
        PWAIT2_NO => false,
        _ => {
            let yes = !crate::runtime::valgrind::running();
            PWAIT2.store(if yes { PWAIT2_YES } else { PWAIT2_NO }, Relaxed);
            yes
        }
    }
}
