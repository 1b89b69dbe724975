//! The settings of a runtime: gs_config's fields, their defaults, and the
//! environment (GS_MAXPROCS, GS_STACK_SIZE, GS_DEBUG) and the CPUs the process may
//! use (its affinity mask and cgroup CPU quota), resolved once by gs_init.

use super::stack::{valid_size, DEFAULT_STACK_SIZE};
use crate::error::{Error, Result};

/// Default cap on Ms (Go's sched.maxmcount).
pub(crate) const DEFAULT_MAX_THREADS: u32 = 10_000;

/// Largest nprocs accepted.
pub(crate) const MAX_PROCS: u32 = 1024;

/// `gs_config.flags`: report deadlocks from gs_wait/gs_main.
pub(crate) const CFG_CHECKDEAD: u32 = 0x1;

/// The settings of one runtime, after defaults and environment were applied.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    pub(crate) nprocs: u32,
    pub(crate) stack_size: usize,
    pub(crate) max_threads: u32,
    pub(crate) flags: u32,
    /// The long-running detector's threshold from gs_config (0: off); GS_DEBUG's
    /// `longrun=` wins over it (longrun.rs, `from_env`).
    pub(crate) longrun_ms: u32,
}

/// The number of CPUs this process may use: its affinity mask, capped by a cgroup v2
/// (`cpu.max`) or v1 (`cfs_quota_us`/`cfs_period_us`) quota, rounded up.
pub(crate) fn available_cpus() -> u32 {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    let mut n = unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        if libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set) as u32
        } else {
            0
        }
    };
    if n == 0 {
        n = std::thread::available_parallelism().map(|v| v.get() as u32).unwrap_or(1);
    }
    if let Some(q) = cgroup_quota_cpus() {
        n = n.min(q.max(1));
    }
    n.max(1)
}

fn cgroup_quota_cpus() -> Option<u32> {
    // cgroup v2: the process's own cgroup, then the root's.
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("0::").map(|p| p.trim().to_string())));
    let mut paths = Vec::new();
    if let Some(p) = own {
        paths.push(format!("/sys/fs/cgroup{p}/cpu.max"));
    }
    paths.push("/sys/fs/cgroup/cpu.max".to_string());
    for path in paths {
        if let Ok(s) = std::fs::read_to_string(&path) {
            let mut it = s.split_whitespace();
            let quota = it.next()?;
            let period: u64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(100_000);
            if quota == "max" {
                return None;
            }
            let q: u64 = quota.parse().ok()?;
            return Some(q.div_ceil(period.max(1)) as u32);
        }
    }
    let q: i64 = std::fs::read_to_string("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").ok()?.trim().parse().ok()?;
    let p: i64 = std::fs::read_to_string("/sys/fs/cgroup/cpu/cpu.cfs_period_us").ok()?.trim().parse().ok()?;
    if q <= 0 || p <= 0 {
        return None;
    }
    Some(((q + p - 1) / p) as u32)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Applies defaults and the environment to a user's configuration, checking it.
pub(crate) fn resolve_config(
    nprocs: u32,
    stack_size: usize,
    max_threads: u32,
    flags: u32,
    longrun_ms: u32,
) -> Result<Config> {
    if flags & !CFG_CHECKDEAD != 0 {
        return Err(Error::Inval);
    }
    let nprocs = match nprocs {
        0 => match env_u64("GS_MAXPROCS") {
            Some(n) if n > 0 => n.min(MAX_PROCS as u64) as u32,
            _ => available_cpus().min(MAX_PROCS),
        },
        n if n > MAX_PROCS => return Err(Error::Inval),
        n => n,
    };
    let stack_size = match stack_size {
        0 => match env_u64("GS_STACK_SIZE") {
            Some(n) if valid_size(n) => n as usize,
            _ => DEFAULT_STACK_SIZE,
        },
        n if !valid_size(n as u64) => return Err(Error::Inval),
        n => n,
    };
    let max_threads = if max_threads == 0 { DEFAULT_MAX_THREADS } else { max_threads };
    Ok(Config { nprocs, stack_size, max_threads, flags, longrun_ms })
}

pub(crate) fn parse_schedtrace() -> u64 {
    let Ok(v) = std::env::var("GS_DEBUG") else { return 0 };
    v.split(',')
        .find_map(|kv| kv.trim().strip_prefix("schedtrace="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
