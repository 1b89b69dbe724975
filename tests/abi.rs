//! The library's ABI against what is checked in, and its version everywhere.
//!
//! - `abi/symbols.txt` lists every function `libgosched.so` exports, as its C
//!   prototype in `include/gosched.h` without the parameter names. A listed function
//!   that is no longer exported or declared, or whose prototype changed, breaks the
//!   binaries built against an older header of the same major version: that needs a
//!   new major version (the SONAME). An exported function that is not listed must be
//!   added (appended: an addition is compatible). `GS_ABI_BLESS=1` rewrites the file
//!   from the build; review the diff: only added lines are compatible.
//! - `abi/layout.txt` holds the size and alignment of each public struct and the
//!   offset and size of each field, as `abi/layout.c` prints them: a field of an
//!   older header that moved or changed size breaks old binaries just as much.
//! - The SONAME is `libgosched.so.<major>` (also the name the Python package looks
//!   for on the system); the header's `GS_VERSION_*` macros, the Python package's version,
//!   `gs_version()` and Cargo.toml's version agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{profile_dir, repo};

/// The directory of the newest `libgosched.so` + `libgosched.a` cargo built for this
/// profile (`cargo test` may leave them in `deps/` only).
fn lib_dir() -> PathBuf {
    let profile = profile_dir();
    let mtime = |d: &Path| {
        let so = std::fs::metadata(d.join("libgosched.so")).and_then(|m| m.modified()).ok();
        so.filter(|_| d.join("libgosched.a").is_file())
    };
    let deps = profile.join("deps");
    match (mtime(&deps), mtime(&profile)) {
        (Some(d), Some(p)) if p > d => profile,
        (Some(_), _) => deps,
        (None, Some(_)) => profile,
        (None, None) => panic!("no libgosched.so and libgosched.a in {} or deps/", profile.display()),
    }
}

fn output(cmd: &mut Command) -> String {
    let what = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Cargo.toml's `version = "..."` of the package, read from the file itself.
fn cargo_toml_version() -> String {
    let text = std::fs::read_to_string(repo().join("Cargo.toml")).expect("read Cargo.toml");
    let mut in_package = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_package = l == "[package]";
        } else if in_package {
            if let Some(v) = l.strip_prefix("version").map(str::trim).and_then(|r| r.strip_prefix('=')) {
                return v.trim().trim_matches('"').to_string();
            }
        }
    }
    panic!("no version in Cargo.toml's [package]");
}

/// Compiles abi/layout.c against include/ and libgosched.a and returns its output
/// (once per process).
fn layout_program_output() -> String {
    static OUT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OUT.get_or_init(build_and_run_layout).clone()
}

fn build_and_run_layout() -> String {
    let dir = profile_dir().parent().expect("<target>").join("abi-tests");
    std::fs::create_dir_all(&dir).expect("create <target>/abi-tests");
    let exe = dir.join(format!("layout-{}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    output(
        Command::new(&cc)
            .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-pthread", "-I"])
            .arg(repo().join("include"))
            .arg(repo().join("abi/layout.c"))
            .arg(lib_dir().join("libgosched.a"))
            .args(["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-ldl", "-lm", "-lc", "-o"])
            .arg(&exe),
    );
    let out = output(&mut Command::new(&exe));
    let _ = std::fs::remove_file(&exe);
    out
}

#[test]
fn header_version_gs_version_and_cargo_toml_agree() {
    let want = cargo_toml_version();
    let out = layout_program_output();
    let line = out.lines().find_map(|l| l.strip_prefix("version ")).expect("a version line");
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f.len(), 6, "{line}");
    assert_eq!(format!("{}.{}.{}", f[0], f[1], f[2]), want, "GS_VERSION_MAJOR/MINOR/PATCH vs Cargo.toml");
    assert_eq!(f[3], want, "GS_VERSION_STRING vs Cargo.toml");
    assert_eq!(f[4], want, "gs_version() vs Cargo.toml");
    let n: Vec<i64> = f[..3].iter().map(|x| x.parse().expect("a number")).collect();
    assert_eq!(f[5].parse::<i64>().ok(), Some(n[0] * 1_000_000 + n[1] * 1000 + n[2]), "GS_VERSION_NUMBER");
    assert_eq!(env!("CARGO_PKG_VERSION"), want);
    println!("version {want}: header, gs_version() and Cargo.toml agree");
}

#[test]
fn soname_is_the_major_version() {
    let major = cargo_toml_version().split('.').next().expect("a major").to_string();
    let out = output(Command::new("readelf").arg("-d").arg(lib_dir().join("libgosched.so")));
    let soname = out
        .lines()
        .find(|l| l.contains("(SONAME)"))
        .and_then(|l| l.split('[').nth(1))
        .and_then(|r| r.split(']').next())
        .unwrap_or_else(|| panic!("libgosched.so has no SONAME:\n{out}"));
    assert_eq!(soname, format!("libgosched.so.{major}"));
}

/// The functions `include/gosched.h` declares: name -> prototype without parameter
/// names, whitespace normalized (`int gs_chan_send(struct gs_chan *, const void *);`).
fn header_prototypes() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo().join("include/gosched.h")).expect("read include/gosched.h");
    // Drop comments and preprocessor lines.
    let mut code = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("/*") {
        code.push_str(&rest[..i]);
        rest = rest[i + 2..].split_once("*/").map(|(_, r)| r).unwrap_or("");
    }
    code.push_str(rest);
    // (and the C++ guard's `extern "C" {` ... `}`, which wraps every declaration).
    let code: String = code
        .lines()
        .filter(|l| {
            let l = l.trim();
            !l.starts_with('#') && l != "extern \"C\" {" && !l.starts_with("}  // extern \"C\"")
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Top-level statements (outside braces), split at ';'.
    let mut out = BTreeMap::new();
    let (mut depth, mut stmt) = (0usize, String::new());
    for ch in code.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                let s = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
                stmt.clear();
                if s.starts_with("typedef") || !s.contains('(') {
                    continue;
                }
                let (head, params) = s.split_once('(').expect("a parameter list");
                let name = head.rsplit([' ', '*']).next().expect("a name").to_string();
                if !name.starts_with("gs_") {
                    continue;
                }
                let params = params.trim_end().strip_suffix(')').expect("a closing parenthesis");
                out.insert(name, format!("{}({});", head.trim(), unnamed(params)));
                continue;
            }
            _ => {}
        }
        if depth == 0 && ch != '}' {
            stmt.push(ch);
        } else if ch == '}' {
            stmt.clear();
        }
    }
    out
}

/// A parameter list without the parameter names: `struct gs_chan *c, void *out` ->
/// `struct gs_chan *, void *`. (gosched.h passes function pointers as typedefs.)
fn unnamed(params: &str) -> String {
    if params.trim() == "void" || params.trim().is_empty() {
        return "void".into();
    }
    params
        .split(',')
        .map(|p| {
            let p = p.trim();
            let cut = p.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map(|i| i + 1).unwrap_or(0);
            let ty = p[..cut].trim_end();
            if ty.is_empty() {
                p.to_string() // a type alone
            } else {
                ty.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Data the library exports for debuggers, not for programs (not in gosched.h): the
/// layout description the gdb extension reads (docs/debugging.md). Part of the ABI
/// too: it must stay exported.
const DEBUGGER_DATA: &[&str] = &["gs_debug_layout"];

/// The functions `libgosched.so` exports (`nm -D --defined-only`, code symbols).
fn exported() -> Vec<String> {
    let out = output(Command::new("nm").args(["-D", "--defined-only"]).arg(lib_dir().join("libgosched.so")));
    let all: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3).then(|| (f[1].to_string(), f[2].to_string()))
        })
        .collect();
    for d in DEBUGGER_DATA {
        assert!(
            all.iter().any(|(kind, name)| name == d && (kind == "R" || kind == "D")),
            "libgosched.so does not export the debugger data {d}"
        );
    }
    let mut v: Vec<String> = all
        .into_iter()
        .filter(|(_, name)| !DEBUGGER_DATA.contains(&name.as_str()))
        .inspect(|(kind, name)| {
            assert!(kind == "T" && name.starts_with("gs_"), "libgosched.so exports {name} ({kind}): not API")
        })
        .map(|(_, n)| n)
        .collect();
    v.sort();
    v
}

#[test]
fn exported_functions_match_abi_symbols_txt() {
    let path = repo().join("abi/symbols.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let listed: Vec<&str> = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    let header = header_prototypes();
    let exports = exported();
    let build: BTreeMap<&str, String> = exports
        .iter()
        .map(|n| {
            let proto = header.get(n).cloned().unwrap_or_else(|| format!("(not declared in gosched.h) {n}"));
            (n.as_str(), proto)
        })
        .collect();

    if std::env::var_os("GS_ABI_BLESS").is_some() {
        let head: String =
            text.lines().take_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect();
        let mut lines: Vec<&str> = listed.clone();
        for p in build.values() {
            if !lines.contains(&p.as_str()) {
                lines.push(p);
            }
        }
        lines.retain(|l| build.values().any(|p| p == l));
        std::fs::write(&path, head + &lines.join("\n") + "\n").expect("write abi/symbols.txt");
        println!("abi/symbols.txt rewritten: review the diff (only additions are compatible)");
        return;
    }

    let mut problems = Vec::new();
    for line in &listed {
        let name = line.split('(').next().and_then(|h| h.rsplit([' ', '*']).next()).unwrap_or("");
        match build.get(name) {
            None if header.contains_key(name) => {
                problems.push(format!("{name} is no longer exported: {line}"))
            }
            None => problems.push(format!("{name} disappeared (neither exported nor declared): {line}")),
            Some(p) if p != line => {
                problems.push(format!("{name} changed:\n  listed: {line}\n  now:    {p}"))
            }
            Some(_) => {}
        }
    }
    for (name, proto) in &build {
        if !listed.iter().any(|l| l == proto) && !problems.iter().any(|p| p.starts_with(&format!("{name} ")))
        {
            problems.push(format!("{name} is exported but not in abi/symbols.txt (append it): {proto}"));
        }
    }
    for name in header.keys() {
        if !build.contains_key(name.as_str()) {
            problems.push(format!("{name} is declared in gosched.h but not exported"));
        }
    }
    assert!(
        problems.is_empty(),
        "the library's ABI differs from abi/symbols.txt:\n{}\n\nA function that disappeared or changed breaks \
         old binaries (that needs a new major version, the SONAME); a new one is appended (GS_ABI_BLESS=1 \
         rewrites the file).",
        problems.join("\n")
    );
    println!("{} exported functions, as abi/symbols.txt lists them", build.len());
}

#[test]
fn struct_layouts_match_abi_layout_txt() {
    let want = std::fs::read_to_string(repo().join("abi/layout.txt")).expect("read abi/layout.txt");
    let want: Vec<&str> = want.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    let out = layout_program_output();
    let got: Vec<&str> = out.lines().filter(|l| !l.starts_with("version ")).collect();
    let missing: Vec<&&str> = want.iter().filter(|l| !got.contains(l)).collect();
    let added: Vec<&&str> = got.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        missing.is_empty() && added.is_empty(),
        "the public structs' layout differs from abi/layout.txt:\n  listed, now different or gone: \
         {missing:?}\n  new: {added:?}\nA field of an older header must keep its offset and size; new \
         fields go past the old sizeof (\"Growing the public structs\" in gosched.h)."
    );
    println!("{} layout lines, as abi/layout.txt lists them", got.len());
}

#[test]
fn python_package_version_and_soname_follow_the_crate() {
    let version = cargo_toml_version();
    let major = version.split('.').next().expect("a major");
    let py = repo().join("bindings/python");
    let pyproject = std::fs::read_to_string(py.join("pyproject.toml")).expect("read pyproject.toml");
    assert!(
        pyproject.lines().any(|l| l.trim() == format!("version = \"{version}\"")),
        "bindings/python/pyproject.toml's version is not Cargo.toml's {version}"
    );
    let init = std::fs::read_to_string(py.join("gosched/__init__.py")).expect("read gosched/__init__.py");
    assert!(
        init.lines().any(|l| l.trim() == format!("__version__ = \"{version}\"")),
        "gosched.__version__ is not Cargo.toml's {version}"
    );
    let lib = std::fs::read_to_string(py.join("gosched/_lib.py")).expect("read gosched/_lib.py");
    assert!(
        lib.contains(&format!("else \"libgosched.so.{major}\"")),
        "gosched/_lib.py's LIBRARY_SONAME is not libgosched.so.{major}"
    );
}
