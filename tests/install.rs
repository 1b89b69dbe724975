//! gosched installed as a system library, as its users get it: runs
//! `tests/install/c.sh` (make install into a temporary prefix from a copy of the
//! tree, the copy's target/ deleted, then C programs through pkg-config, shared and
//! static, a C++ program on the installed gosched.hpp, a CMake project with
//! find_package(gosched 0.1) on both targets, the SONAME and NEEDED entries, DESTDIR,
//! and make uninstall) and `tests/install/python.sh` (pip install of bindings/python
//! in a fresh virtual environment, a program run from / with no environment
//! variable, the wheel's platform tag, and an sdist that builds the same wheel).
//!
//! The scripts install pkg-config and cmake with apt when they run as root, and
//! print "SKIPPED: <what>: <why>" for what they cannot run; this file prints those
//! lines. Each script's work directory is `<target>/install-tests/<name>-<pid>/`,
//! removed when the script passes.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(900);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `<target>/install-tests/<name>-<pid>`.
fn work_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let target = exe.ancestors().nth(3).expect("the test binary is in <target>/<profile>/deps");
    target.join("install-tests").join(format!("{name}-{}", std::process::id()))
}

/// Runs `tests/install/<script>` in its own process group with a time limit; panics
/// with its output unless it exits 0 having printed `<name>: OK`.
fn run_script(script: &str, name: &str) {
    let work = work_dir(script.trim_end_matches(".sh"));
    let mut child = Command::new("bash")
        .arg(repo().join("tests/install").join(script))
        .arg(&work)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("run bash");
    let read = |mut s: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = read(Box::new(child.stdout.take().expect("stdout")));
    let err = read(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the script") {
            break Some(s);
        }
        if Instant::now() >= deadline {
            // SAFETY: kill(2) of the process group made for the child.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    print!("{out}");
    let ok = status.map(|s| s.success()).unwrap_or(false)
        && (out.lines().any(|l| l == format!("{name}: OK")) || out.lines().any(|l| l.contains("SKIPPED")));
    assert!(
        ok,
        "tests/install/{script} {}:\n--- stdout\n{out}\n--- stderr\n{err}\n(work directory {})",
        match status {
            None => "timed out".to_string(),
            Some(s) => format!("exited with {s}"),
        },
        work.display()
    );
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn make_install_for_c_cxx_and_cmake_users() {
    run_script("c.sh", "install");
}

#[test]
fn pip_install_in_a_fresh_venv() {
    run_script("python.sh", "python-install");
}
