//! gdb sees the goroutines: `tests/gdb/parked.c` (100 goroutines parked in six ways,
//! one in a blocking call) under gdb in batch mode, attached to the live process and
//! on two core files of it, at GS_MAXPROCS 1 and 2, with the release library (line
//! tables, no DWARF types) and the program built with `-O2 -g`:
//! - live, with the extension auto-loaded from the library's `.debug_gdb_scripts`
//!   (the library's directory added to the auto-load safe path);
//! - on the core that `gosched-gcore` writes from that session, and on the core the
//!   kernel writes when the program is killed with SIGABRT, with auto-loading off
//!   and the extension sourced by hand from `gdb/gosched-gdb.py`.
//!
//! Each session must list all 100 parked goroutines with their names, states, wait
//! reasons, times and entry functions, and the one in a blocking call with its M and
//! thread; `goroutine N bt` of one goroutine of each kind, and `goroutine all bt`,
//! must show the function that parked it and end in `gs_gostart`.
//!
//! Without gdb (or gdb without Python) the test prints `SKIPPED:` and the reason;
//! so does the part that cannot run where gdb may not attach, or where the kernel
//! writes core files elsewhere (`core_pattern` a pipe).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a gdb session may take (100 backtraces, a core file written).
const GDB_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the program may take to park its goroutines.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The ways `parked.c` parks its goroutines: name prefix, function, wait reason, count.
const KINDS: &[(&str, &str, &str, usize)] = &[
    ("recv", "park_in_chan_recv", "chan receive", 20),
    ("lock", "park_in_mutex_lock", "sync.Mutex.Lock", 20),
    ("sleep", "park_in_sleep", "sleep", 20),
    ("park", "park_in_gs_park", "gdb test: parked by hand", 20),
    ("wg", "park_in_waitgroup", "sync.WaitGroup.Wait", 10),
    ("select", "park_in_select", "select", 10),
];
const PARKED: usize = 100;

mod common;
use common::{profile_dir, repo};

/// Where this run's goroutine programs, library copy and core files go.
fn work_dir() -> PathBuf {
    let dir = profile_dir()
        .parent()
        .expect("<target>")
        .join("gdb-tests")
        .join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the gdb test directory");
    dir
}

/// A private copy of the `libgosched.so` that cargo built for this run (the newer of
/// `<profile>/deps` and `<profile>`), so that a build running meanwhile cannot swap it.
fn copy_library(dir: &Path) -> PathBuf {
    let profile = profile_dir();
    let newest = [profile.join("deps"), profile.clone()]
        .into_iter()
        .filter_map(|d| {
            let t = std::fs::metadata(d.join("libgosched.so")).and_then(|m| m.modified()).ok()?;
            Some((t, d))
        })
        .max();
    let src = match newest {
        Some((_, d)) => d,
        None => {
            let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(repo())
                .args(["build", "--lib", "--release"])
                .env("CARGO_TARGET_DIR", profile.parent().expect("<target>"))
                .status()
                .expect("run cargo build");
            assert!(st.success(), "cargo build of the library failed");
            profile.clone()
        }
    };
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).expect("create the library directory");
    for _ in 0..50 {
        if let Ok(bytes) = std::fs::read(src.join("libgosched.so")) {
            if bytes.starts_with(b"\x7fELF") && std::fs::write(lib.join("libgosched.so"), &bytes).is_ok() {
                // The name the program asks for at run time: the library's SONAME.
                let soname = lib.join(concat!("libgosched.so.", env!("CARGO_PKG_VERSION_MAJOR")));
                let _ = std::fs::remove_file(&soname);
                std::os::unix::fs::symlink("libgosched.so", &soname).expect("link the SONAME");
                return lib;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("cannot copy {}/libgosched.so", src.display());
}

fn compile(dir: &Path, lib: &Path) -> PathBuf {
    let bin = dir.join("parked");
    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    let out = Command::new(&cc)
        .current_dir(repo())
        .args(["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-I")
        .arg(repo().join("tests/c"))
        .arg("-o")
        .arg(&bin)
        .arg(repo().join("tests/gdb/parked.c"))
        .arg("-L")
        .arg(lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lgosched", "-lm"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(
        out.status.success(),
        "compiling tests/gdb/parked.c failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Why gdb cannot be used, if it cannot.
fn gdb_missing() -> Option<String> {
    match Command::new("gdb").args(["-nx", "-batch", "-ex", "python print(12345 * 2)"]).output() {
        Err(e) => Some(format!("gdb is not installed ({e})")),
        Ok(o) if !String::from_utf8_lossy(&o.stdout).contains("24690") => {
            Some(format!("gdb has no Python support: {}", String::from_utf8_lossy(&o.stderr).trim()))
        }
        Ok(_) => None,
    }
}

/// One goroutine as the program printed it.
#[derive(Clone, Debug)]
struct Expected {
    name: String,
    func: String,
}

/// The program, waiting with its goroutines parked.
struct Program {
    child: Child,
    /// Its stdin: closing it ends the program.
    stdin: Option<std::process::ChildStdin>,
    goroutines: BTreeMap<u64, Expected>,
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, dir: &Path, nprocs: u32) -> Program {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .env("GS_MAXPROCS", nprocs.to_string())
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // SAFETY: setrlimit is async-signal-safe, and all the closure does between fork
    // and exec: it lets the kernel write a core file when the test kills the program.
    unsafe {
        cmd.pre_exec(|| {
            let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
            libc::setrlimit(libc::RLIMIT_CORE, &unlimited);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("stdout");
    let stdin = child.stdin.take();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut goroutines = BTreeMap::new();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line == "READY" => break,
            Ok(line) => {
                let w: Vec<&str> = line.split_whitespace().collect();
                if let ["goroutine", id, name, func] = w[..] {
                    let e = Expected { name: name.to_string(), func: func.to_string() };
                    goroutines.insert(id.parse().expect("a goroutine id"), e);
                }
            }
            Err(_) => panic!("{} did not print READY within {READY_TIMEOUT:?}", bin.display()),
        }
    }
    assert_eq!(goroutines.len(), PARKED + 1, "the program announced {} goroutines", goroutines.len());
    Program { child, stdin, goroutines }
}

/// Runs gdb with `args`; its output (stdout and stderr) whatever its exit status.
fn gdb(args: &[String]) -> String {
    let mut child = Command::new("gdb")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start gdb");
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = read(Box::new(child.stdout.take().expect("stdout")));
    let err = read(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    while child.try_wait().expect("wait for gdb").is_none() {
        if start.elapsed() > GDB_TIMEOUT {
            // SAFETY: kill(2) of the process group of our child gdb, not yet reaped.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            panic!("gdb {args:?} took more than {GDB_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut s = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    s.push_str(&String::from_utf8_lossy(&err.join().unwrap_or_default()));
    s
}

/// The gdb arguments that run `cmds`, each after a line `@@@ <cmd>` that
/// `sections` splits the output on.
fn commands(cmds: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    for c in cmds {
        v.push("-ex".into());
        v.push(format!("echo \\n@@@ {c}\\n"));
        v.push("-ex".into());
        v.push(c.clone());
    }
    v
}

/// The output of each command run by `commands`.
fn sections(out: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut cur: Option<(String, String)> = None;
    for line in out.lines() {
        if let Some(cmd) = line.strip_prefix("@@@ ") {
            if let Some((c, t)) = cur.take() {
                map.insert(c, t);
            }
            cur = Some((cmd.to_string(), String::new()));
        } else if let Some((_, t)) = cur.as_mut() {
            t.push_str(line);
            t.push('\n');
        }
    }
    if let Some((c, t)) = cur {
        map.insert(c, t);
    }
    map
}

fn kind_of(name: &str) -> Option<&'static (&'static str, &'static str, &'static str, usize)> {
    KINDS.iter().find(|k| name.strip_prefix(k.0).is_some_and(|r| r.starts_with('-')))
}

/// Checks the table of `info goroutines` against what the program started.
fn check_table(what: &str, table: &str, prog: &BTreeMap<u64, Expected>, live: bool) {
    let header_at = table.lines().position(|l| l.contains("Id") && l.contains("Wait reason"));
    let lines: Vec<&str> = table.lines().collect();
    let Some(h) = header_at else { panic!("{what}: no goroutine table in:\n{table}") };
    let header = lines[h];
    let col =
        |title: &str| header.find(title).unwrap_or_else(|| panic!("{what}: no column {title}: {header}"));
    let cols =
        [col("Name"), col("State"), col("Wait reason"), col("Waiting"), col(" M ") + 1, col(" P ") + 1];
    let (lwp, entry) = (col("LWP"), col("Entry"));
    let cell = |l: &str, a: usize, b: usize| l.get(a..b.min(l.len())).unwrap_or("").trim().to_string();
    let mut seen = BTreeMap::new();
    let mut waiting = 0;
    for l in &lines[h + 1..] {
        if l.trim().is_empty() {
            break;
        }
        let id: u64 =
            cell(l, 1, cols[0]).parse().unwrap_or_else(|_| panic!("{what}: a row without an id: {l:?}"));
        let name = cell(l, cols[0], cols[1]);
        let state = cell(l, cols[1], cols[2]);
        let reason = cell(l, cols[2], cols[3]);
        let waited = cell(l, cols[3], cols[4]);
        let m = cell(l, cols[4], cols[5]);
        let thread = cell(l, lwp, entry);
        let func = cell(l, entry, l.len());
        let e = prog.get(&id).unwrap_or_else(|| panic!("{what}: goroutine {id} was never started: {l:?}"));
        assert_eq!(name, e.name, "{what}: name of goroutine {id}");
        assert_eq!(func, e.func, "{what}: entry of goroutine {id}");
        if let Some(k) = kind_of(&name) {
            assert_eq!(state, "waiting", "{what}: state of goroutine {id}: {l:?}");
            assert_eq!(reason, k.2, "{what}: wait reason of goroutine {id}: {l:?}");
            let ms = waited.strip_prefix(">=").filter(|_| !live).unwrap_or(&waited);
            let ok = ms
                .strip_suffix(" ms")
                .or_else(|| ms.strip_suffix(" min"))
                .is_some_and(|n| n.parse::<u64>().is_ok());
            assert!(ok, "{what}: how long goroutine {id} waited: {waited:?} ({l:?})");
            assert_eq!(m, "-", "{what}: a parked goroutine has no M: {l:?}");
            waiting += 1;
        } else {
            assert_eq!(name, "syscall-0", "{what}: an unexpected goroutine: {l:?}");
            assert_eq!(state, "syscall", "{what}: {l:?}");
            assert!(l.starts_with('*'), "{what}: a goroutine in a blocking call runs on a thread: {l:?}");
            assert!(m.starts_with('M') && m[1..].parse::<u64>().is_ok(), "{what}: its M: {l:?}");
            assert!(thread.parse::<u32>().is_ok(), "{what}: its thread: {l:?}");
        }
        assert!(seen.insert(id, ()).is_none(), "{what}: goroutine {id} listed twice");
    }
    assert_eq!(waiting, PARKED, "{what}: parked goroutines listed:\n{table}");
    assert_eq!(seen.len(), prog.len(), "{what}: goroutines listed:\n{table}");
}

/// Checks one goroutine's backtrace: the function that parked it, then gs_gostart
/// last, and nothing of the thread that hosted the unwinding.
fn check_bt(what: &str, id: u64, e: &Expected, bt: &str) {
    let frames: Vec<&str> = bt.lines().filter(|l| l.starts_with('#')).collect();
    let has = |f: &str| frames.iter().filter(|l| l.contains(&format!(" {f} ("))).count();
    assert!(has(&e.func) == 1, "{what}: goroutine {id}'s backtrace does not show {} once:\n{bt}", e.func);
    if e.func == "park_in_gs_park" {
        assert_eq!(has("nested_park"), 4, "{what}: goroutine {id}: four frames of nested_park:\n{bt}");
    }
    let last = frames.last().unwrap_or_else(|| panic!("{what}: goroutine {id} has no frames:\n{bt}"));
    assert!(
        last.contains(" gs_gostart "),
        "{what}: goroutine {id}'s backtrace does not end in gs_gostart:\n{bt}"
    );
    for bad in ["main (", "Backtrace stopped", "corrupt stack", "0x0000000000000000 in"] {
        assert!(!bt.contains(bad), "{what}: goroutine {id}'s backtrace has {bad:?}:\n{bt}");
    }
}

/// Checks `goroutine all bt`: one block per goroutine, each a correct backtrace.
fn check_all_bt(what: &str, out: &str, prog: &BTreeMap<u64, Expected>) {
    let mut blocks: BTreeMap<u64, String> = BTreeMap::new();
    let mut cur: Option<u64> = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("goroutine ") {
            if line.ends_with(':') {
                let id = rest.split_whitespace().next().and_then(|s| s.parse().ok());
                cur = id;
                if let Some(id) = id {
                    assert!(blocks.insert(id, String::new()).is_none(), "{what}: goroutine {id} shown twice");
                }
                continue;
            }
        }
        if let Some(b) = cur.and_then(|id| blocks.get_mut(&id)) {
            b.push_str(line);
            b.push('\n');
        }
    }
    assert_eq!(blocks.len(), prog.len(), "{what}: goroutine all bt showed {} goroutines", blocks.len());
    for (id, e) in prog {
        check_bt(what, *id, e, &blocks[id]);
    }
}

/// The commands of a session and their checks, on a live process or a core file.
fn session(
    what: &str,
    mut args: Vec<String>,
    prog: &BTreeMap<u64, Expected>,
    live: bool,
    extra: &[String],
) -> String {
    let mut cmds = vec!["info goroutines".to_string()];
    let firsts: Vec<(u64, Expected)> = KINDS
        .iter()
        .map(|k| {
            prog.iter()
                .find(|(_, e)| e.func == k.1)
                .map(|(id, e)| (*id, e.clone()))
                .expect("one of each kind")
        })
        .chain(prog.iter().filter(|(_, e)| e.name == "syscall-0").map(|(id, e)| (*id, e.clone())))
        .collect();
    for (id, _) in &firsts {
        cmds.push(format!("goroutine {id} bt"));
    }
    cmds.push("goroutine all bt".into());
    cmds.extend(extra.iter().cloned());
    args.extend(commands(&cmds));
    let out = gdb(&args);
    let s = sections(&out);
    let get = |c: &str| s.get(c).unwrap_or_else(|| panic!("{what}: gdb did not run {c:?}:\n{out}"));
    check_table(what, get("info goroutines"), prog, live);
    for (id, e) in &firsts {
        let text = get(&format!("goroutine {id} bt"));
        assert!(
            text.starts_with(&format!("goroutine {id} \"{}\" [", e.name)),
            "{what}: goroutine {id}'s line:\n{text}"
        );
        check_bt(what, *id, e, text);
    }
    check_all_bt(what, get("goroutine all bt"), prog);
    println!("{what}: {} goroutines listed and unwound", prog.len());
    out
}

/// The extension sourced by hand, auto-loading off: for core files.
fn by_hand(bin: &Path, core: &Path) -> Vec<String> {
    let script = repo().join("gdb/gosched-gdb.py");
    vec![
        "-nx".into(),
        "-batch".into(),
        "-iex".into(),
        "set auto-load python-scripts off".into(),
        bin.display().to_string(),
        core.display().to_string(),
        "-ex".into(),
        format!("source {}", script.display()),
    ]
}

/// Where the kernel put the core of `pid` in `dir` (core_pattern "core", maybe with
/// the pid), or why there is none.
fn kernel_core(dir: &Path, pid: u32) -> Result<PathBuf, String> {
    for name in [format!("core.{pid}"), "core".to_string()] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    Err(format!("the kernel wrote no core file in {} (core_pattern is {:?})", dir.display(), pattern.trim()))
}

fn run(nprocs: u32) {
    if let Some(why) = gdb_missing() {
        println!("SKIPPED: {why}");
        return;
    }
    let dir = work_dir().join(format!("procs-{nprocs}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the run directory");
    let lib = copy_library(&dir);
    let bin = compile(&dir, &lib);
    let mut prog = start(&bin, &dir, nprocs);
    let pid = prog.child.id();
    let gcore = dir.join("gcore.core");
    let mut tested = 0;

    // Live, auto-loaded from the library's .debug_gdb_scripts.
    let args: Vec<String> = vec![
        "-nx".into(),
        "-batch".into(),
        "-iex".into(),
        format!("add-auto-load-safe-path {}", lib.display()),
        "-p".into(),
        pid.to_string(),
    ];
    let probe = gdb(&[args.clone(), commands(&["info auto-load python-scripts".into()])].concat());
    if probe.contains("ptrace: Operation not permitted") {
        let scope =
            std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").unwrap_or_else(|_| "absent".into());
        println!("SKIPPED: gdb may not attach to the program (ptrace_scope {}): {probe}", scope.trim());
    } else {
        let scripts = sections(&probe).remove("info auto-load python-scripts").unwrap_or_default();
        assert!(
            scripts.lines().any(|l| l.starts_with("Yes") && l.contains("gosched-gdb.py")),
            "the extension was not auto-loaded from .debug_gdb_scripts:\n{probe}"
        );
        let what = format!("live, GS_MAXPROCS={nprocs}");
        let out =
            session(&what, args, &prog.goroutines, true, &[format!("gosched-gcore {}", gcore.display())]);
        assert!(out.contains("gosched-gcore: copied"), "{what}: gosched-gcore did not run:\n{out}");
        tested += 1;
        let what = format!("gosched-gcore core file, GS_MAXPROCS={nprocs}");
        session(&what, by_hand(&bin, &gcore), &prog.goroutines, false, &[]);
        tested += 1;
        let _ = std::fs::remove_file(&gcore);
    }

    // The core the kernel writes.
    // SAFETY: kill(2) of our own child, not yet reaped.
    unsafe { libc::kill(pid as i32, libc::SIGABRT) };
    let status = prog.child.wait().expect("wait for the program");
    drop(prog.stdin.take());
    match kernel_core(&dir, pid) {
        Ok(core) => {
            let what = format!("kernel core file, GS_MAXPROCS={nprocs}");
            session(&what, by_hand(&bin, &core), &prog.goroutines, false, &[]);
            tested += 1;
            let _ = std::fs::remove_file(&core);
        }
        Err(why) => println!("SKIPPED: kernel core file ({status}): {why}"),
    }
    if tested == 0 {
        println!("SKIPPED: no gdb session could run at GS_MAXPROCS={nprocs} (see above)");
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::io::stdout().flush().ok();
}

#[test]
fn gdb_lists_and_unwinds_goroutines_at_1_proc() {
    run(1);
}

#[test]
fn gdb_lists_and_unwinds_goroutines_at_2_procs() {
    run(2);
}
