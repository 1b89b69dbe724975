//! Compiles the C programs of `tests/c/` and `examples-c/` against the library and
//! runs them, each as its own test so that `cargo test` names the behaviour.
//!
//! # Conventions for a C test
//!
//! - A C test is a program that exits 0 when every check passed. It prints what it
//!   checked on stdout; a failed check prints `file:line: what` on stderr and exits 1
//!   (see `tests/c/common.h`). The harness shows both streams when a program fails.
//! - A test that needs a crashing process (a stack overflow) forks a child, and checks
//!   the child's signal and stderr itself (`run_child` in `common.h`).
//! - A test that needs several `nprocs` loops over them itself: `gs_init` with
//!   `cfg.nprocs`, work, `gs_wait`, `gs_shutdown`, repeat.
//! - Every `tests/c/*.c` must be listed in `c_tests!` below (the test
//!   `every_c_test_is_registered` fails otherwise), except files named `chan_*`,
//!   `sync_*`, `net_*`, `timer_*` and `host_*`: each of those prefixes is one test
//!   (`group_chan`, ...) that compiles and runs every matching file and reports every
//!   failure.
//! - Every `examples-c/*.c` is compiled; `hello.c` has its own test, and
//!   `examples_run` runs the others with no arguments (they must exit 0; the echo
//!   server and client then run self-tests over loopback).
//!
//! Programs are compiled with `gcc -std=c11 -O2 -g -Wall -Wextra -Werror -pthread` and
//! linked against a private copy (see `lib_dir`) of the `libgosched.so` that cargo
//! built for this test run, with an rpath to it; `static_link` links one program
//! against `libgosched.a` instead. Binaries go to `<target>/c-tests/`. Each run has a
//! time limit; on expiry its whole process group is killed and the test fails. `$CC`
//! picks the compiler (default `gcc`).

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Time limit of a program unless its registration says otherwise.
const DEFAULT_TIMEOUT_S: u64 = 120;
/// Time limit of a hostile-use program (it runs each case 80 times).
const HOSTILE_TIMEOUT_S: u64 = 900;
/// Prefixes of the C tests of channels and sync objects, netpoll, timers and the host
/// thread; each prefix is one test, `group_<prefix>`, so those files need no entry here.
const GROUP_PREFIXES: &[&str] = &["chan_", "sync_", "net_", "timer_", "host_"];
/// Examples that are only compiled. The echo server and client run self-tests when
/// given no arguments, so none is excluded now; the list stays for programs that
/// need arguments.
const COMPILE_ONLY_EXAMPLE_WORDS: &[&str] = &[];
/// The examples with a test of their own.
const REGISTERED_EXAMPLES: &[&str] = &["examples-c/hello.c"];

macro_rules! c_tests {
    ($($name:ident: $path:literal, $timeout_s:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run_c_test($path, $timeout_s);
            }
        )*
        /// Every `tests/c/*.c` with a test of its own.
        const REGISTERED: &[&str] = &[$($path),*];
    };
}

c_tests! {
    api_before_init: "tests/c/api_before_init.c", DEFAULT_TIMEOUT_S;
    api_errors: "tests/c/api_errors.c", DEFAULT_TIMEOUT_S;
    dlopen_static_tls: "tests/c/dlopen_static_tls.c", DEFAULT_TIMEOUT_S;
    abi_struct_growth: "tests/c/abi_struct_growth.c", DEFAULT_TIMEOUT_S;
    longrun_config: "tests/c/longrun_config.c", DEFAULT_TIMEOUT_S;
    trace_window: "tests/c/trace_window.c", DEFAULT_TIMEOUT_S;
    stats_counters_main: "tests/c/stats_counters_main.c", DEFAULT_TIMEOUT_S;
    init_race: "tests/c/init_race.c", DEFAULT_TIMEOUT_S;
    shutdown_cycles: "tests/c/shutdown_cycles.c", DEFAULT_TIMEOUT_S;
    shutdown_race: "tests/c/shutdown_race.c", DEFAULT_TIMEOUT_S;
    shutdown_abandon: "tests/c/shutdown_abandon.c", DEFAULT_TIMEOUT_S;
    spawn_million: "tests/c/spawn_million.c", 300;
    park_ready_pingpong: "tests/c/park_ready_pingpong.c", DEFAULT_TIMEOUT_S;
    stack_release: "tests/c/stack_release.c", DEFAULT_TIMEOUT_S;
    park_ready_foreign: "tests/c/park_ready_foreign.c", DEFAULT_TIMEOUT_S;
    park_unlockf_false: "tests/c/park_unlockf_false.c", DEFAULT_TIMEOUT_S;
    park_handoff: "tests/c/park_handoff.c", DEFAULT_TIMEOUT_S;
    ready_runtime_parked: "tests/c/ready_runtime_parked.c", DEFAULT_TIMEOUT_S;
    park_100k: "tests/c/park_100k.c", DEFAULT_TIMEOUT_S;
    goroutine_count: "tests/c/goroutine_count.c", DEFAULT_TIMEOUT_S;
    park_million: "tests/c/park_million.c", 600;
    park_million_mprotect: "tests/c/park_million_mprotect.c", 600;
    fpu_registers: "tests/c/fpu_registers.c", DEFAULT_TIMEOUT_S;
    lock_os_thread: "tests/c/lock_os_thread.c", DEFAULT_TIMEOUT_S;
    gosched_fairness: "tests/c/gosched_fairness.c", DEFAULT_TIMEOUT_S;
    go_gil_flag: "tests/c/go_gil_flag.c", DEFAULT_TIMEOUT_S;
    stack_overflow: "tests/c/stack_overflow.c", DEFAULT_TIMEOUT_S;
    idle_cpu: "tests/c/idle_cpu.c", DEFAULT_TIMEOUT_S;
    stats_dump: "tests/c/stats_dump.c", DEFAULT_TIMEOUT_S;
    stats_counters: "tests/c/stats_counters.c", DEFAULT_TIMEOUT_S;
    stack_pages: "tests/c/stack_pages.c", DEFAULT_TIMEOUT_S;
    should_yield: "tests/c/should_yield.c", DEFAULT_TIMEOUT_S;
    goexit: "tests/c/goexit.c", DEFAULT_TIMEOUT_S;
    gls_keys: "tests/c/gls_keys.c", DEFAULT_TIMEOUT_S;
    errno_io: "tests/c/errno_io.c", DEFAULT_TIMEOUT_S;
    go_copy: "tests/c/go_copy.c", DEFAULT_TIMEOUT_S;
    gs_main: "tests/c/gs_main.c", DEFAULT_TIMEOUT_S;
    gs_main_churn: "tests/c/gs_main_churn.c", DEFAULT_TIMEOUT_S;
    gs_wait_timeout: "tests/c/gs_wait_timeout.c", DEFAULT_TIMEOUT_S;
    fork_reinit: "tests/c/fork_reinit.c", DEFAULT_TIMEOUT_S;
    // The hostile-use suite (tests/c/hostile.h): every case in a child of its own,
    // at GS_MAXPROCS 1, 2, 4 and 8, $HOSTILE_RUNS times each (default 20).
    hostile_signals: "tests/c/hostile_signals.c", HOSTILE_TIMEOUT_S;
    hostile_io: "tests/c/hostile_io.c", HOSTILE_TIMEOUT_S;
    hostile_fork: "tests/c/hostile_fork.c", HOSTILE_TIMEOUT_S;
    hostile_sched: "tests/c/hostile_sched.c", HOSTILE_TIMEOUT_S;
    hostile_limits: "tests/c/hostile_limits.c", HOSTILE_TIMEOUT_S;
    hostile_sync: "tests/c/hostile_sync.c", HOSTILE_TIMEOUT_S;
    // 20 s by default; `make soak` runs it for 10 minutes.
    soak: "tests/c/soak.c", DEFAULT_TIMEOUT_S;
}

#[test]
fn example_hello() {
    run_c_test("examples-c/hello.c", DEFAULT_TIMEOUT_S);
}

#[test]
fn group_chan() {
    run_group("chan_");
}

#[test]
fn group_sync() {
    run_group("sync_");
}

#[test]
fn group_net() {
    run_group("net_");
}

#[test]
fn group_timer() {
    run_group("timer_");
}

#[test]
fn group_host() {
    run_group("host_");
}

/// The same C test linked against `libgosched.a`: static linking works, and the
/// binary does not ask for the shared library.
#[test]
fn static_link() {
    let bin = compile(Path::new("tests/c/api_errors.c"), Link::Static).unwrap_or_else(|e| panic!("{e}"));
    let image = std::fs::read(&bin).expect("read the static binary");
    assert!(
        !image.windows(b"libgosched.so".len()).any(|w| w == b"libgosched.so"),
        "{} links libgosched.so dynamically",
        bin.display()
    );
    if let Err(e) = run(&bin, Duration::from_secs(DEFAULT_TIMEOUT_S)) {
        panic!("tests/c/api_errors.c (static): {e}");
    }
}

/// No C test is forgotten: each `tests/c/*.c` is registered above or belongs to a
/// group, and each registered file exists.
#[test]
fn every_c_test_is_registered() {
    let mut missing = Vec::new();
    for path in c_files("tests/c") {
        let rel = relative(&path);
        let stem = path.file_stem().and_then(OsStr::to_str).unwrap_or_default();
        let grouped = GROUP_PREFIXES.iter().any(|p| stem.starts_with(p));
        if !grouped && !REGISTERED.contains(&rel.as_str()) {
            missing.push(rel);
        }
    }
    assert!(
        missing.is_empty(),
        "C tests not registered in tests/c_programs.rs (add them to c_tests!): {missing:?}"
    );
    for rel in REGISTERED.iter().chain(REGISTERED_EXAMPLES) {
        assert!(repo().join(rel).is_file(), "{rel} is registered but does not exist");
    }
}

/// Every example compiles; those that need no partner run and exit 0.
#[test]
fn examples_run() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in c_files("examples-c") {
        let rel = relative(&path);
        let bin = match compile(Path::new(&rel), Link::Shared) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let stem = path.file_stem().and_then(OsStr::to_str).unwrap_or_default();
        if REGISTERED_EXAMPLES.contains(&rel.as_str())
            || COMPILE_ONLY_EXAMPLE_WORDS.iter().any(|w| stem.contains(w))
        {
            continue;
        }
        ran += 1;
        if let Err(e) = run(&bin, Duration::from_secs(DEFAULT_TIMEOUT_S)) {
            failures.push(format!("{rel}: {e}"));
        }
    }
    println!("examples: {ran} run besides the registered ones");
    assert!(failures.is_empty(), "{} example(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `path` relative to the repository, with `/` separators.
fn relative(path: &Path) -> String {
    path.strip_prefix(repo()).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// The `.c` files of a directory of the repository, sorted.
fn c_files(dir: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(repo().join(dir)) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension() == Some(OsStr::new("c")) && p.is_file())
        .collect();
    v.sort();
    v
}

/// `<target>/<profile>`: this test binary lives in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(Path::parent).expect("the test binary is in <target>/<profile>/deps").to_path_buf()
}

/// Where cargo put the library this test run was built with, built if missing.
///
/// `cargo test` builds the library (all its crate types) into `<profile>/deps/` and
/// does not always copy it up to `<profile>/` (only `cargo build` does), so the newer
/// of the two is the one.
fn built_lib_dir() -> PathBuf {
    let profile = profile_dir();
    let mtime = |d: &Path| {
        let so = std::fs::metadata(d.join("libgosched.so")).and_then(|m| m.modified()).ok();
        so.filter(|_| d.join("libgosched.a").is_file())
    };
    let deps = profile.join("deps");
    match (mtime(&deps), mtime(&profile)) {
        (Some(d), Some(p)) => return if d >= p { deps } else { profile },
        (Some(_), None) => return deps,
        (None, Some(_)) => return profile,
        (None, None) => {}
    }
    let target = profile.parent().expect("<target>");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(repo()).args(["build", "--lib"]).env("CARGO_TARGET_DIR", target);
    if profile.file_name() == Some(OsStr::new("release")) {
        cmd.arg("--release");
    }
    let st = cmd.status().expect("run cargo build");
    assert!(st.success(), "cargo build of the library failed");
    assert!(profile.join("libgosched.so").is_file(), "no libgosched.so in {}", profile.display());
    profile
}

/// Copies `from` to `to` whole: retries while a concurrent build rewrites `from`.
fn copy_whole(from: &Path, to: &Path, magic: &[u8]) {
    for _ in 0..50 {
        let before = std::fs::metadata(from).ok().map(|m| (m.len(), m.modified().ok()));
        if let Ok(bytes) = std::fs::read(from) {
            let after = std::fs::metadata(from).ok().map(|m| (m.len(), m.modified().ok()));
            if before == after && bytes.starts_with(magic) && before.map(|b| b.0) == Some(bytes.len() as u64)
            {
                let tmp = to.with_extension("tmp");
                std::fs::write(&tmp, &bytes).expect("write the library copy");
                std::fs::rename(&tmp, to).expect("rename the library copy");
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{} kept changing (or is not a library); is a build running?", from.display());
}

/// A private copy of `libgosched.so` and `libgosched.a` for this test process, in
/// `<target>/c-tests/lib-<pid>/`: builds running at the same time in the same target
/// directory cannot swap the library under a running test. Copies left by processes
/// that are gone are removed, except the newest (its binaries stay runnable by hand).
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = built_lib_dir();
        let base = out_dir();
        let dir = base.join(format!("lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the library copy's directory");
        copy_whole(&src.join("libgosched.so"), &dir.join("libgosched.so"), b"\x7fELF");
        copy_whole(&src.join("libgosched.a"), &dir.join("libgosched.a"), b"!<arch>");
        soname_link(&dir);
        let mut stale: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&base)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let pid: u32 = name.strip_prefix("lib-")?.parse().ok()?;
                let alive = Path::new(&format!("/proc/{pid}")).exists();
                let t = e.metadata().and_then(|m| m.modified()).ok()?;
                (!alive).then(|| (t, e.path()))
            })
            .collect();
        stale.sort();
        stale.pop();
        for (_, p) in stale {
            let _ = std::fs::remove_dir_all(p);
        }
        dir
    })
}

/// `dir/libgosched.so.<major>`, a link to `dir/libgosched.so`: the SONAME, which is
/// what a program linked with -lgosched asks for at run time.
fn soname_link(dir: &Path) {
    let link = dir.join(concat!("libgosched.so.", env!("CARGO_PKG_VERSION_MAJOR")));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("libgosched.so", &link).expect("link the library's SONAME");
}

/// `<target>/c-tests`, where the C binaries go.
fn out_dir() -> PathBuf {
    let dir = profile_dir().parent().expect("<target>").join("c-tests");
    std::fs::create_dir_all(&dir).expect("create <target>/c-tests");
    dir
}

#[derive(Clone, Copy, PartialEq)]
enum Link {
    Shared,
    Static,
}

/// Compiles `src` (relative to the repository) into `<target>/c-tests/`.
fn compile(src: &Path, link: Link) -> Result<PathBuf, String> {
    let lib = lib_dir();
    let stem = src.file_stem().and_then(OsStr::to_str).expect("a file name");
    let prefix = if src.starts_with("examples-c") { "example-" } else { "" };
    let suffix = if link == Link::Static { "-static" } else { "" };
    let bin = out_dir().join(format!("{prefix}{stem}{suffix}"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    let mut cmd = Command::new(&cc);
    cmd.current_dir(repo())
        .args(["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-o")
        .arg(&bin)
        .arg(repo().join(src));
    match link {
        Link::Shared => {
            cmd.arg("-L").arg(lib).arg(format!("-Wl,-rpath,{}", lib.display())).arg("-lgosched");
        }
        Link::Static => {
            // What rustc reports as the staticlib's native dependencies on Linux.
            cmd.arg(lib.join("libgosched.a")).args(["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-ldl", "-lc"]);
        }
    }
    cmd.arg("-lm");
    let out = cmd.output().map_err(|e| format!("cannot run {cc}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "compiling {} failed:\n{}{}",
            src.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(bin)
}

/// Keeps the last `max` bytes of a program's output for a report.
fn tail(bytes: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.len() <= max {
        return s.into_owned();
    }
    let mut cut = s.len() - max;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    format!("[... {cut} bytes cut ...]\n{}", &s[cut..])
}

/// Runs `bin` in its own process group with a time limit. Ok(stdout) if it exited 0.
fn run(bin: &Path, timeout: Duration) -> Result<String, String> {
    run_command(Command::new(bin), bin, timeout)
}

/// Runs `cmd` (which runs `bin`, directly or under a tool) as `run` does.
fn run_command(mut cmd: Command, bin: &Path, timeout: Duration) -> Result<String, String> {
    let start = Instant::now();
    let mut child = cmd
        .current_dir(repo())
        // cargo points LD_LIBRARY_PATH at <profile>/, which the dynamic linker searches
        // before the binary's runpath: it could load a stale copy of the library.
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let reader = |mut s: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            v
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout")));
    let err = reader(Box::new(child.stderr.take().expect("stderr")));
    let mut timed_out = false;
    loop {
        // Wait without reaping, so that the group can be killed while its id is
        // still ours (a reaped pid may be reused).
        // SAFETY: waitid on our own child with a zeroed siginfo to fill.
        let exited = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
            );
            r == 0 && info.si_pid() == pid
        };
        if exited {
            break;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Whatever the program left behind (forked children) goes with it.
    // SAFETY: kill(2) of our child's process group; the child is not reaped yet.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let elapsed = start.elapsed();
    if !timed_out && status.success() {
        let s = String::from_utf8_lossy(&stdout).into_owned();
        print!("{s}");
        println!("{}: ok in {:.2} s", bin.display(), elapsed.as_secs_f64());
        return Ok(s);
    }
    let what = if timed_out {
        format!("timed out after {} s and was killed", timeout.as_secs())
    } else {
        format!("failed: {status} after {:.2} s", elapsed.as_secs_f64())
    };
    Err(format!(
        "{} {what}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        bin.display(),
        tail(&stdout, 16 << 10),
        tail(&stderr, 16 << 10)
    ))
}

/// Small programs run under Valgrind's memcheck (goroutine stacks are registered with
/// Valgrind, so switches are not taken for stack overflows): no error may be reported.
#[test]
fn valgrind_memcheck_finds_no_error() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("SKIPPED: valgrind is not installed");
        return;
    }
    let rel = "tests/valgrind/mix.c";
    let bin = compile(Path::new(rel), Link::Shared).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new("valgrind");
    cmd.args(["--error-exitcode=9", "--quiet"]).arg(&bin);
    if let Err(e) = run_command(cmd, &bin, Duration::from_secs(600)) {
        panic!("{rel} under valgrind: {e}");
    }
}

/// memcheck's reports of an error in a goroutine show the whole call chain up to the
/// goroutine's entry, for the bad access and for the allocation (Valgrind takes a
/// stack pointer near the top of its stack for bogus limits and stops at one frame;
/// runtime/tools.rs starts goroutines lower under Valgrind).
#[test]
fn valgrind_memcheck_full_stacks() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("SKIPPED: valgrind is not installed");
        return;
    }
    let rel = "tests/valgrind/stacks.c";
    let bin = compile(Path::new(rel), Link::Shared).unwrap_or_else(|e| panic!("{e}"));
    let log = out_dir().join("valgrind-stacks.log");
    let mut cmd = Command::new("valgrind");
    cmd.arg(format!("--log-file={}", log.display())).arg(&bin);
    if let Err(e) = run_command(cmd, &bin, Duration::from_secs(600)) {
        panic!("{rel} under memcheck: {e}");
    }
    let text = std::fs::read_to_string(&log).expect("valgrind's log");
    // Both goroutines fail alike; memcheck prints a context once and counts it twice.
    assert!(text.contains("ERROR SUMMARY: 2 errors"), "{rel}: two errors expected:\n{text}");
    let report = text.split_once("Invalid read of size 4").map_or("", |r| r.1);
    let (access, alloc) = report.split_once("alloc'd").unwrap_or_else(|| panic!("{rel}: no report:\n{text}"));
    // The allocation's stack ends at the first line with nothing after the pid.
    let alloc: Vec<&str> =
        alloc.lines().skip(1).take_while(|l| l.trim_end().rsplit("== ").next() != Some("")).collect();
    let alloc = alloc.join("\n");
    for f in ["overflow_middle", "overflow_outer", "overflow_goroutine", "gs_gostart"] {
        assert!(access.contains(f), "{rel}: {f} missing from the access's stack:\n{text}");
    }
    for f in ["overflow_goroutine", "gs_gostart"] {
        assert!(alloc.contains(f), "{rel}: {f} missing from the allocation's stack:\n{text}");
    }
}

/// The same program under helgrind at nprocs 1, 2 and 4: the runtime's hand-offs are
/// annotated and its own memory untracked (runtime/tools.rs), so no error may be
/// reported; and Valgrind warns of no system call it does not know.
#[test]
fn valgrind_helgrind_finds_no_race() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("SKIPPED: valgrind is not installed");
        return;
    }
    let rel = "tests/valgrind/mix.c";
    let bin = compile(Path::new(rel), Link::Shared).unwrap_or_else(|e| panic!("{e}"));
    for tool in ["helgrind", "memcheck"] {
        for n in ["1", "2", "4"] {
            let log = out_dir().join(format!("valgrind-{tool}-{n}.log"));
            let mut cmd = Command::new("valgrind");
            cmd.arg(format!("--tool={tool}")).arg(format!("--log-file={}", log.display())).arg(&bin);
            cmd.env("GS_MAXPROCS", n);
            if let Err(e) = run_command(cmd, &bin, Duration::from_secs(600)) {
                panic!("{rel} under {tool}, nprocs {n}: {e}");
            }
            let text = std::fs::read_to_string(&log).expect("valgrind's log");
            assert!(
                text.contains("ERROR SUMMARY: 0 errors") && !text.contains("nhandled"),
                "{rel} under {tool}, nprocs {n}:\n{text}"
            );
        }
    }
}

/// Compiles and runs one registered program; panics with its output on failure.
fn run_c_test(rel: &str, timeout_s: u64) {
    let bin = compile(Path::new(rel), Link::Shared).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = run(&bin, Duration::from_secs(timeout_s)) {
        panic!("{rel}: {e}");
    }
}

/// Compiles and runs every `tests/c/<prefix>*.c`; reports every failure at the end.
fn run_group(prefix: &str) {
    let files: Vec<PathBuf> = c_files("tests/c")
        .into_iter()
        .filter(|p| p.file_stem().and_then(OsStr::to_str).is_some_and(|s| s.starts_with(prefix)))
        .collect();
    if files.is_empty() {
        println!("no tests/c/{prefix}*.c yet");
        return;
    }
    let mut failures = Vec::new();
    for path in &files {
        let rel = relative(path);
        let result = compile(Path::new(&rel), Link::Shared)
            .and_then(|bin| run(&bin, Duration::from_secs(DEFAULT_TIMEOUT_S)));
        if let Err(e) = result {
            failures.push(format!("{rel}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} tests/c/{prefix}*.c failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------
// Sanitizers (see runtime/tools.rs): the same library under AddressSanitizer and
// ThreadSanitizer, which it finds at run time.

/// Programs run under each sanitizer at GS_MAXPROCS 1, 2 and 4, with their
/// arguments: correct programs, so any report is a false one (or a runtime bug).
const SANITIZED: &[(&str, &str)] = &[
    ("tests/c/chan_close.c", ""),
    ("tests/c/chan_mpmc.c", ""),
    ("tests/c/chan_select.c", ""),
    ("tests/c/chan_timeout.c", ""),
    ("tests/c/chan_foreign.c", ""),
    ("tests/c/chan_errors.c", ""),
    ("tests/c/sync_mutex.c", ""),
    ("tests/c/sync_waitgroup.c", ""),
    ("tests/c/sync_rwmutex.c", ""),
    ("tests/c/sync_once.c", ""),
    ("tests/c/sync_cond.c", ""),
    ("tests/c/sync_semaphore.c", ""),
    ("tests/c/sync_context.c", ""),
    ("tests/c/timer_chan.c", ""),
    ("tests/c/goexit.c", ""),
    ("tests/c/go_copy.c", ""),
    ("tests/c/park_handoff.c", ""),
    ("tests/c/park_ready_foreign.c", ""),
    ("tests/c/park_unlockf_false.c", ""),
    ("tests/c/timer_sleep.c", ""),
    ("tests/c/net_echo.c", ""),
    ("tests/c/host_run_for.c", ""),
    ("tests/c/lock_os_thread.c", ""),
    ("tests/sanitize/stack_reuse.c", ""),
    ("tests/sanitize/planted_race.c", "channel"),
    ("tests/sanitize/planted_asan.c", "none"),
    ("tests/sanitize/cxx_throw.cpp", ""),
];

/// Programs that take minutes under gcc's ThreadSanitizer (hundreds of thousands of
/// goroutines or hand-offs), or keep more goroutines alive than its 8128 fibers and
/// threads: run under clang's only.
const GCC_TSAN_TOO_SLOW: &[&str] = &[
    "tests/c/go_copy.c",
    "tests/c/sync_mutex.c",
    "tests/c/chan_mpmc.c",
    "tests/c/park_ready_foreign.c",
    "tests/c/net_echo.c",
    "tests/c/timer_sleep.c", // 10,000 sleepers: alive together when the machine is slow
    "tests/c/sync_cond.c",
    "tests/c/timer_chan.c", // 10,000 goroutines in select on their timers
];

/// `cc` if it can build a program with `-fsanitize=<san>` (the sanitizer's runtime
/// is installed), else why not.
fn sanitizer_works(cc: &str, san: &str) -> Result<(), String> {
    let dir = out_dir().join("san-probe");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let src = dir.join("probe.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").map_err(|e| e.to_string())?;
    let bin = dir.join(format!("probe-{cc}-{san}"));
    let out = Command::new(cc)
        .arg(format!("-fsanitize={san}"))
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .map_err(|e| format!("{cc} is not installed ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "{cc} cannot build with -fsanitize={san}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    match Command::new(&bin).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "a -fsanitize={san} program does not run here: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("a -fsanitize={san} program does not run here: {e}")),
    }
}

/// Compiles `src` (C, or C++ for `.cpp`) with `cc`/its C++ driver and
/// `-fsanitize=<san>`, linked against the test run's libgosched.so.
fn compile_sanitized(src: &str, cc: &str, san: &str) -> Result<PathBuf, String> {
    let lib = lib_dir();
    let path = Path::new(src);
    let stem = path.file_stem().and_then(OsStr::to_str).expect("a file name");
    let cxx = src.ends_with(".cpp");
    let driver = match (cc, cxx) {
        ("clang", true) => "clang++",
        ("gcc", true) => "g++",
        (c, _) => c,
    };
    let bin = out_dir().join(format!("san-{stem}-{cc}-{san}"));
    let mut cmd = Command::new(driver);
    cmd.current_dir(repo())
        .arg(if cxx { "-std=c++17" } else { "-std=c11" })
        .args(["-O1", "-g", "-fno-omit-frame-pointer", "-pthread"])
        .arg(format!("-fsanitize={san}"))
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-o")
        .arg(&bin)
        .arg(repo().join(path))
        .arg("-L")
        .arg(lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lgosched", "-lm"]);
    let out = cmd.output().map_err(|e| format!("cannot run {driver}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{driver} -fsanitize={san} {src} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(bin)
}

/// Runs `bin args` with `env`; Ok(stdout + stderr) if it exited 0 within `timeout`.
fn run_sanitized(bin: &Path, args: &str, env: &[(&str, &str)], timeout: Duration) -> Result<String, String> {
    let mut cmd = Command::new(bin);
    cmd.args(args.split_whitespace());
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_command(cmd, bin, timeout)
}

/// Every program of `SANITIZED` under `cc -fsanitize=<san>` at GS_MAXPROCS 1, 2, 4:
/// exit 0 and not one report.
fn sanitized_programs_are_clean(cc: &str, san: &str) {
    if let Err(why) = sanitizer_works(cc, san) {
        println!("SKIPPED: -fsanitize={san} with {cc}: {why}");
        return;
    }
    let mut failures = Vec::new();
    for &(src, args) in SANITIZED {
        if cc == "gcc" && san == "thread" && GCC_TSAN_TOO_SLOW.contains(&src) {
            println!("{src}: not run under gcc's TSan (minutes per run); clang's covers it");
            continue;
        }
        let bin = match compile_sanitized(src, cc, san) {
            Ok(b) => b,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        for n in ["1", "2", "4"] {
            // ASan's default options (go_copy.c compares a local's address with the
            // stack's, which a fake stack frame would fail).
            let env = [("GS_MAXPROCS", n)];
            match run_sanitized(&bin, args, &env, Duration::from_secs(300)) {
                Ok(out) if out.contains("Sanitizer") => {
                    failures.push(format!("{src} ({cc}, {san}, nprocs {n}): a report:\n{out}"))
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("{src} ({cc}, {san}, nprocs {n}): {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{} failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn sanitize_address_gcc() {
    sanitized_programs_are_clean("gcc", "address");
}

#[test]
fn sanitize_address_clang() {
    sanitized_programs_are_clean("clang", "address");
}

#[test]
fn sanitize_thread_clang() {
    sanitized_programs_are_clean("clang", "thread");
}

#[test]
fn sanitize_thread_gcc() {
    sanitized_programs_are_clean("gcc", "thread");
}

/// A runs with the error it must end with, and the lines its report must hold.
fn expect_report(bin: &Path, args: &str, env: &[(&str, &str)], want: &[&str]) -> Result<(), String> {
    match run_sanitized(bin, args, env, Duration::from_secs(120)) {
        Ok(out) => Err(format!("{} {args}: exited 0, no report:\n{out}", bin.display())),
        Err(out) => match want.iter().find(|w| !out.contains(*w)) {
            None => Ok(()),
            Some(w) => Err(format!("{} {args}: the report lacks {w:?}:\n{out}", bin.display())),
        },
    }
}

/// Bugs planted in goroutines are caught by ASan, heap ones with the goroutine's
/// whole allocation stack (the function that called malloc and its caller).
#[test]
fn sanitize_address_catches_planted_bugs() {
    let mut ran = false;
    for cc in ["gcc", "clang"] {
        if let Err(why) = sanitizer_works(cc, "address") {
            println!("SKIPPED: -fsanitize=address with {cc}: {why}");
            continue;
        }
        ran = true;
        let bin = compile_sanitized("tests/sanitize/planted_asan.c", cc, "address")
            .unwrap_or_else(|e| panic!("{e}"));
        for n in ["1", "2"] {
            let env = [("GS_MAXPROCS", n), ("ASAN_OPTIONS", "detect_stack_use_after_return=1")];
            let cases: [(&str, &[&str]); 3] = [
                ("heap-overflow", &["heap-buffer-overflow", "planted_alloc", "in bug "]),
                ("use-after-free", &["heap-use-after-free", "planted_alloc", "in bug "]),
                ("stack-use-after-return", &["stack-use-after-return", "in bug "]),
            ];
            for (case, want) in cases {
                expect_report(&bin, case, &env, want).unwrap_or_else(|e| panic!("{cc}, nprocs {n}: {e}"));
            }
        }
    }
    if !ran {
        println!("SKIPPED: no compiler here builds with -fsanitize=address");
    }
}

/// A real race between two goroutines on different Ms: TSan reports it in every one
/// of 10 runs, with both goroutines' stacks.
#[test]
fn sanitize_thread_catches_planted_race() {
    let mut ran = false;
    for cc in ["clang", "gcc"] {
        if let Err(why) = sanitizer_works(cc, "thread") {
            println!("SKIPPED: -fsanitize=thread with {cc}: {why}");
            continue;
        }
        ran = true;
        let bin = compile_sanitized("tests/sanitize/planted_race.c", cc, "thread")
            .unwrap_or_else(|e| panic!("{e}"));
        for run in 0..10 {
            expect_report(&bin, "race", &[], &["ThreadSanitizer: data race", "racer_a", "racer_b"])
                .unwrap_or_else(|e| panic!("{cc}, run {run}: {e}"));
        }
    }
    if !ran {
        println!("SKIPPED: no compiler here builds with -fsanitize=thread");
    }
}
