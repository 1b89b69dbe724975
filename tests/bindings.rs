//! Runs the language bindings' own tests against the library built for this test run.
//!
//! - C++ (`bindings/cpp`): every `bindings/cpp/tests/*.cpp` is compiled with
//!   `-std=c++17 -Wall -Wextra -Werror -pedantic` by g++, and by clang++ when it is
//!   installed (else "clang++ not found: skipped" is printed), then run; each must exit 0.
//!   A test may add flags with a line `// cxxflags: ...`. The example
//!   `bindings/cpp/examples/game_loop.cpp` is built the same way and run for 30 frames;
//!   it must report that host goroutines ran on the main thread only. Every ```cpp
//!   block of `bindings/cpp/README.md` is a whole program: each is extracted from the
//!   README (so that the README cannot drift from what compiles), built the same way
//!   and run; each must exit 0.
//! - Python (`bindings/python`): the package is installed with pip into a private
//!   directory, without the library inside (`GOSCHED_WHEEL_LIBRARY=none`; the wheel
//!   that carries it is tested by `tests/install.rs`), and `python3 -m unittest discover -s
//!   bindings/python/tests -v` runs against it with `$GOSCHED_LIBRARY` naming the
//!   library; the summary must say that tests ran and passed. One more run checks that
//!   the installed package finds the library without `$GOSCHED_LIBRARY`, in a cargo
//!   target directory.
//!
//! A `.cpp` test may start with a line `// requires: gs_a gs_b ...`: when the library
//! does not export all of them (`nm -D`), the test is skipped with a message naming
//! the missing functions. The Python tests skip themselves the same way.
//!
//! Everything runs against a private copy of `libgosched.so` (`<target>/bindings-tests/
//! lib-<pid>/`), so that a build running at the same time cannot replace the library
//! under a running test. The tests of this file run one at a time: several use timing.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const CXXFLAGS: &[&str] =
    &["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g", "-pthread"];
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const PYTHON_TIMEOUT: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------------------------
// The tests

#[test]
fn cpp_tests_gxx() {
    let _one = serial();
    run_cpp_tests("g++");
}

#[test]
fn cpp_tests_clangxx() {
    let _one = serial();
    if !have_program("clang++") {
        println!("clang++ not found: skipped");
        return;
    }
    run_cpp_tests("clang++");
}

#[test]
fn cpp_game_loop() {
    let _one = serial();
    let needed = ["gs_run_for", "gs_go_with", "gs_waitgroup_new", "gs_chan_new"];
    if let Some(missing) = missing_symbols(&needed) {
        println!("game_loop skipped: libgosched.so lacks {missing} (not built yet)");
        return;
    }
    let mut compilers = vec!["g++"];
    if have_program("clang++") {
        compilers.push("clang++");
    } else {
        println!("clang++ not found: skipped");
    }
    for cxx in compilers {
        let src = repo().join("bindings/cpp/examples/game_loop.cpp");
        let exe = compile(cxx, &src).unwrap_or_else(|e| panic!("{e}"));
        let out = run(Command::new(&exe).args(["--frames", "30", "--jobs", "16"]), RUN_TIMEOUT);
        assert!(out.ok(), "game_loop ({cxx}) failed:\n{}", out.text());
        assert!(
            out.stdout.contains("all on the main thread") && out.stdout.contains("none on the main thread"),
            "game_loop ({cxx}) did not confirm host goroutines on the main thread:\n{}",
            out.text()
        );
        assert!(out.stdout.contains("frame time (work): p50"), "no frame times:\n{}", out.text());
        assert!(out.stdout.contains("game_loop: OK"), "{}", out.text());
        println!("{}", out.stdout);
    }
}

#[test]
fn cpp_readme_examples() {
    let _one = serial();
    let readme = std::fs::read_to_string(repo().join("bindings/cpp/README.md")).expect("read the C++ README");
    let blocks = cpp_blocks(&readme);
    assert!(!blocks.is_empty(), "no ```cpp block in bindings/cpp/README.md");
    let dir = work_dir().join(format!("readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the README examples' directory");
    let mut compilers = vec!["g++"];
    if have_program("clang++") {
        compilers.push("clang++");
    } else {
        println!("clang++ not found: skipped");
    }
    for (k, (line, code)) in blocks.iter().enumerate() {
        let src = dir.join(format!("readme_{k}.cpp"));
        std::fs::write(&src, code).expect("write a README example");
        for cxx in &compilers {
            let exe = compile(cxx, &src).unwrap_or_else(|e| {
                panic!("the README's example at line {line} does not build:\n{e}\n{code}")
            });
            let out = run(&mut Command::new(&exe), RUN_TIMEOUT);
            assert!(out.ok(), "the README's example at line {line} ({cxx}) failed:\n{}", out.text());
            println!("README example at line {line} ({cxx}): ok");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ```cpp blocks of a Markdown text, with the line each starts on.
fn cpp_blocks(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (n, l) in md.lines().enumerate() {
        match cur.as_mut() {
            None if l.trim_start().starts_with("```cpp") => cur = Some((n + 2, String::new())),
            None => {}
            Some(_) if l.trim_start().starts_with("```") => out.extend(cur.take()),
            Some((_, text)) => {
                text.push_str(l);
                text.push('\n');
            }
        }
    }
    out
}

#[test]
fn python_unittest_suite() {
    let _one = serial();
    let Some(site) = python_site() else { return };
    let out = run(
        python(site)
            .args(["-m", "unittest", "discover", "-s", "bindings/python/tests", "-v"])
            .env("GOSCHED_LIBRARY", lib_dir().join("libgosched.so")),
        PYTHON_TIMEOUT,
    );
    let summary = out.stderr.lines().rev().find(|l| l.starts_with("Ran ")).unwrap_or("");
    let ran: usize = summary
        .strip_prefix("Ran ")
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(out.ok(), "the Python tests failed:\n{}", out.text());
    assert!(ran > 0, "no Python test ran:\n{}", out.text());
    assert!(
        out.stderr.lines().any(|l| l == "OK" || l.starts_with("OK (")),
        "the unittest summary does not say OK:\n{}",
        out.text()
    );
    let skipped: Vec<&str> = out.stderr.lines().filter(|l| l.contains("... skipped")).collect();
    println!("{summary}; {} skipped", skipped.len());
    for s in skipped {
        println!("  {s}");
    }
}

#[test]
fn python_finds_the_library_without_gosched_library() {
    let _one = serial();
    let Some(site) = python_site() else { return };
    let code = "import gosched\n\
                gosched.init(procs=2)\n\
                out = []\n\
                gosched.go(out.append, 42)\n\
                gosched.wait(30)\n\
                gosched.shutdown()\n\
                assert out == [42], out\n\
                print(gosched.library_path)\n";

    // Through $CARGO_TARGET_DIR: a target directory holding release/libgosched.so.
    let fake_target = work_dir().join(format!("target-{}", std::process::id()));
    let release = fake_target.join("release");
    std::fs::create_dir_all(&release).expect("create a target directory");
    copy_whole(&lib_dir().join("libgosched.so"), &release.join("libgosched.so"), b"\x7fELF");
    let out = run(
        python(site).args(["-c", code]).env_remove("GOSCHED_LIBRARY").env("CARGO_TARGET_DIR", &fake_target),
        RUN_TIMEOUT,
    );
    assert!(out.ok(), "import without $GOSCHED_LIBRARY failed:\n{}", out.text());
    assert_eq!(
        out.stdout.trim(),
        release.join("libgosched.so").to_string_lossy(),
        "the package did not use the library of the cargo target directory"
    );
    let _ = std::fs::remove_dir_all(&fake_target);

    // Through the working directory: the project's own target/release/libgosched.so,
    // when this run was built into it.
    let own = profile_dir().join("libgosched.so");
    if profile_dir().file_name() == Some(OsStr::new("release"))
        && profile_dir().parent() == Some(repo().join("target").as_path())
        && own.is_file()
    {
        let out = run(
            python(site)
                .args(["-c", code])
                .env_remove("GOSCHED_LIBRARY")
                .env_remove("CARGO_TARGET_DIR")
                .current_dir(repo().join("bindings")),
            RUN_TIMEOUT,
        );
        assert!(out.ok(), "import from the project directory failed:\n{}", out.text());
        assert_eq!(out.stdout.trim(), own.to_string_lossy());
    } else {
        println!("{} is not the project's target/release library: cwd discovery not checked", own.display());
    }
    // (With nothing to find, the error names the three places: the Python suite checks
    // that, from a copy of the package outside any cargo project.)
}

// ---------------------------------------------------------------------------------
// C++

fn run_cpp_tests(cxx: &str) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("bindings/cpp/tests"))
        .expect("bindings/cpp/tests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension() == Some(OsStr::new("cpp")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no C++ tests in bindings/cpp/tests");
    let mut runnable = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read a C++ test");
        let required: Vec<&str> = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("// requires:"))
            .map(|r| r.split_whitespace().collect())
            .unwrap_or_default();
        match missing_symbols(&required) {
            Some(missing) => {
                println!("{} skipped: libgosched.so lacks {missing} (not built yet)", name_of(f))
            }
            None => runnable.push(f.clone()),
        }
    }
    // Compile two at a time, then run one at a time (some tests measure time).
    let results: Vec<(PathBuf, Result<PathBuf, String>)> = std::thread::scope(|s| {
        let chunks: Vec<Vec<PathBuf>> =
            (0..2).map(|k| runnable.iter().skip(k).step_by(2).cloned().collect()).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || chunk.into_iter().map(|f| (f.clone(), compile(cxx, &f))).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("compile thread")).collect()
    });
    let mut failures = Vec::new();
    for (src, exe) in results {
        match exe {
            Err(e) => failures.push(e),
            Ok(exe) => {
                let out = run(&mut Command::new(&exe), RUN_TIMEOUT);
                if out.ok() {
                    println!("{} ({cxx}): ok", name_of(&src));
                } else {
                    failures.push(format!("{} ({cxx}) failed:\n{}", name_of(&src), out.text()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} C++ test(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Compiles one C++ file into `<work>/<compiler>/<name>`.
fn compile(cxx: &str, src: &Path) -> Result<PathBuf, String> {
    let dir = work_dir().join(cxx.replace('+', "x"));
    std::fs::create_dir_all(&dir).expect("create the C++ output directory");
    let exe = dir.join(name_of(src));
    let lib = lib_dir();
    let text = std::fs::read_to_string(src).unwrap_or_default();
    let extra: Vec<&str> = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("// cxxflags:"))
        .map(|r| r.split_whitespace().collect())
        .unwrap_or_default();
    let mut cmd = Command::new(cxx);
    cmd.args(CXXFLAGS)
        .args(&extra)
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-I")
        .arg(repo().join("bindings/cpp"))
        .arg(src)
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg("-lgosched")
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    let out = run(&mut cmd, RUN_TIMEOUT);
    if out.ok() {
        Ok(exe)
    } else {
        Err(format!("{cxx} could not compile {}:\n{}", name_of(src), out.text()))
    }
}

fn name_of(p: &Path) -> String {
    p.file_stem().unwrap_or_default().to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------
// Python

/// `python3` with `PYTHONPATH` set to the private install, run from the repository.
fn python(site: &Path) -> Command {
    let mut c = Command::new("python3");
    c.current_dir(repo())
        .env("PYTHONPATH", site)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONDEVMODE")
        .env_remove("GOSCHED_PYTHON_MODE")
        // cargo points LD_LIBRARY_PATH at <profile>/, where the dynamic linker would
        // find libgosched.so.<major> as an installed library (the third place the
        // package looks), before the places these tests check.
        .env_remove("LD_LIBRARY_PATH");
    c
}

/// Installs `bindings/python` with pip into `<work>/py-site-<pid>` (once per process);
/// None, after a message, when there is no python3.
fn python_site() -> Option<&'static Path> {
    static SITE: OnceLock<Option<PathBuf>> = OnceLock::new();
    SITE.get_or_init(|| {
        if !have_program("python3") {
            println!("python3 not found: the Python binding's tests are skipped");
            return None;
        }
        let pid = std::process::id();
        // pip builds in the source directory; build from a copy so the tree stays clean.
        let stage = work_dir().join(format!("py-src-{pid}"));
        let site = work_dir().join(format!("py-site-{pid}"));
        let _ = std::fs::remove_dir_all(&stage);
        let _ = std::fs::remove_dir_all(&site);
        copy_tree(&repo().join("bindings/python"), &stage);
        let base =
            ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target"];
        // A package without the library inside (GOSCHED_WHEEL_LIBRARY=none): these
        // tests give it the library of this run, or check where it finds one. The
        // wheel with the library is tested by tests/install.rs.
        let offline = run(
            Command::new("python3")
                .env("GOSCHED_WHEEL_LIBRARY", "none")
                .args(base)
                .arg(&site)
                .args(["--no-build-isolation", "--no-index"])
                .arg(&stage),
            PYTHON_TIMEOUT,
        );
        if !offline.ok() {
            // No setuptools installed: let pip fetch the build backend.
            let _ = std::fs::remove_dir_all(&site);
            let online = run(
                Command::new("python3")
                    .env("GOSCHED_WHEEL_LIBRARY", "none")
                    .args(base)
                    .arg(&site)
                    .arg(&stage),
                PYTHON_TIMEOUT,
            );
            assert!(
                online.ok(),
                "pip install of bindings/python failed:\n{}\n{}",
                offline.text(),
                online.text()
            );
        }
        let _ = std::fs::remove_dir_all(&stage);
        assert!(site.join("gosched").join("__init__.py").is_file(), "pip installed no gosched package");
        Some(site)
    })
    .as_deref()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for e in std::fs::read_dir(from).expect("read a directory").flatten() {
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n == "__pycache__" || n == "build" || n.ends_with(".egg-info") || n.ends_with(".so") {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy a file");
        }
    }
}

// ---------------------------------------------------------------------------------
// The library, processes, places

fn serial() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `<target>/<profile>`: this test binary lives in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(Path::parent).expect("the test binary is in <target>/<profile>/deps").to_path_buf()
}

/// `<target>/bindings-tests`.
fn work_dir() -> PathBuf {
    let d = profile_dir().parent().expect("<target>").join("bindings-tests");
    std::fs::create_dir_all(&d).expect("create <target>/bindings-tests");
    d
}

/// The newest libgosched.so that cargo built for this profile (`cargo test` may leave
/// it in `deps/` only); built with `cargo build` when there is none.
fn built_library() -> PathBuf {
    let profile = profile_dir();
    let candidates = [profile.join("deps/libgosched.so"), profile.join("libgosched.so")];
    let newest = candidates
        .iter()
        .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p.clone())))
        .max();
    if let Some((_, p)) = newest {
        return p;
    }
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(repo())
        .args(["build", "--lib"])
        .env("CARGO_TARGET_DIR", profile.parent().expect("<target>"));
    if profile.file_name() == Some(OsStr::new("release")) {
        cmd.arg("--release");
    }
    assert!(cmd.status().expect("run cargo build").success(), "cargo build failed");
    profile.join("libgosched.so")
}

/// `<work>/lib-<pid>/libgosched.so`: this process's private copy of the library.
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = work_dir();
        // Remove what processes that are gone left behind.
        for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the library copy's directory");
        copy_whole(&built_library(), &dir.join("libgosched.so"), b"\x7fELF");
        // The SONAME, which the C++ programs linked with -lgosched ask for at run time.
        let link = dir.join(concat!("libgosched.so.", env!("CARGO_PKG_VERSION_MAJOR")));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("libgosched.so", &link).expect("link the library's SONAME");
        dir
    })
}

/// Copies a file whole, retrying while a concurrent build rewrites it.
fn copy_whole(from: &Path, to: &Path, magic: &[u8]) {
    for _ in 0..100 {
        let stamp = || std::fs::metadata(from).ok().map(|m| (m.len(), m.modified().ok()));
        let before = stamp();
        if let Ok(bytes) = std::fs::read(from) {
            if before == stamp()
                && bytes.starts_with(magic)
                && before.map(|b| b.0) == Some(bytes.len() as u64)
            {
                let tmp = to.with_extension("tmp");
                std::fs::write(&tmp, &bytes).expect("write a copy of the library");
                std::fs::rename(&tmp, to).expect("rename the copy of the library");
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{} kept changing; is a build running?", from.display());
}

/// The `gs_*` functions the library exports.
fn exported() -> &'static Vec<String> {
    static SYMS: OnceLock<Vec<String>> = OnceLock::new();
    SYMS.get_or_init(|| {
        let out = run(
            Command::new("nm").args(["-D", "--defined-only"]).arg(lib_dir().join("libgosched.so")),
            RUN_TIMEOUT,
        );
        assert!(out.ok(), "nm -D failed:\n{}", out.text());
        out.stdout
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .filter(|s| s.starts_with("gs_"))
            .map(str::to_owned)
            .collect()
    })
}

/// None if the library exports every symbol, else the missing ones, space-separated.
fn missing_symbols(symbols: &[&str]) -> Option<String> {
    let have = exported();
    let missing: Vec<&str> = symbols.iter().copied().filter(|s| !have.iter().any(|h| h == s)).collect();
    (!missing.is_empty()).then(|| missing.join(" "))
}

fn have_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

struct Output {
    status: Option<std::process::ExitStatus>,
    timed_out: bool,
    stdout: String,
    stderr: String,
    what: String,
}

impl Output {
    fn ok(&self) -> bool {
        !self.timed_out && self.status.map(|s| s.success()).unwrap_or(false)
    }
    fn text(&self) -> String {
        let status =
            if self.timed_out { "timed out (killed)".to_string() } else { format!("{:?}", self.status) };
        format!("$ {}\nstatus: {status}\n--- stdout\n{}\n--- stderr\n{}", self.what, self.stdout, self.stderr)
    }
}

/// Runs `cmd` in its own process group, killing the group after `timeout`.
fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child =
        match cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return Output {
                    status: None,
                    timed_out: false,
                    stdout: String::new(),
                    stderr: format!("cannot start: {e}"),
                    what,
                }
            }
        };
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let ro = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let re = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                // SAFETY: kill(2) of the process group we created for the child.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    let stdout = String::from_utf8_lossy(&ro.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&re.join().unwrap_or_default()).into_owned();
    Output { status, timed_out, stdout, stderr, what }
}
