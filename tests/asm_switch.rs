//! The context-switch assembly on its own (tests/asm/switch.c checks its contract):
//! natively for x86-64, and for AArch64 (not built on this machine) with a cross
//! assembler, and with a cross compiler under qemu. The AArch64 checks are skipped
//! with a message when those tools are not installed.

use std::process::Command;

fn symbols(obj: &str, nm: &str) -> Vec<String> {
    let out = Command::new(nm).arg(obj).output().expect("nm runs");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[1] == "T").then(|| f[2].to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn aarch64_assembly_assembles_and_matches_x86_64_symbols() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let tmp = std::env::temp_dir().join(format!("gosched-asm-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let have = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    if !have("aarch64-linux-gnu-as") {
        println!("SKIPPED: aarch64-linux-gnu-as not installed (apt-get install binutils-aarch64-linux-gnu)");
        return;
    }
    let a64 = tmp.join("a64.o");
    let st = Command::new("aarch64-linux-gnu-as")
        .arg(format!("{dir}/asm/aarch64.S"))
        .arg("-o")
        .arg(&a64)
        .status()
        .unwrap();
    assert!(st.success(), "asm/aarch64.S does not assemble");
    let x64 = tmp.join("x64.o");
    let st = Command::new("as").arg(format!("{dir}/asm/x86_64.S")).arg("-o").arg(&x64).status().unwrap();
    assert!(st.success(), "asm/x86_64.S does not assemble with the system assembler");
    let nm64 = if have("aarch64-linux-gnu-nm") { "aarch64-linux-gnu-nm" } else { "nm" };
    let s_a64 = symbols(a64.to_str().unwrap(), nm64);
    let s_x64 = symbols(x64.to_str().unwrap(), "nm");
    assert!(!s_x64.is_empty(), "no symbols found in x86_64 object");
    assert_eq!(s_a64, s_x64, "both architectures must define the same symbols");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Compiles tests/asm/switch.c with `cc` against `asm_file` and runs it (through
/// `runner` if given); asserts that it exits 0.
fn run_switch_contract(cc: &str, extra: &[&str], asm_file: &str, runner: Option<&str>, name: &str) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let tmp = std::env::temp_dir().join(format!("gosched-asm-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let exe = tmp.join("switch");
    let out = Command::new(cc)
        .args(["-O2", "-Wall", "-Wextra", "-Werror"])
        .args(extra)
        .arg(format!("{dir}/tests/asm/switch.c"))
        .arg(format!("{dir}/{asm_file}"))
        .arg("-lm")
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("the compiler runs");
    assert!(out.status.success(), "{cc} failed: {}", String::from_utf8_lossy(&out.stderr));
    let run = match runner {
        Some(r) => Command::new(r).arg(&exe).output(),
        None => Command::new(&exe).output(),
    }
    .expect("the test program runs");
    println!("{}", String::from_utf8_lossy(&run.stdout));
    assert!(
        run.status.success(),
        "{name} switch contract failed: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x86_64_switch_keeps_registers_and_fp_state() {
    // -mno-red-zone: the test calls the switch from inline assembly in a leaf function.
    run_switch_contract("gcc", &["-mno-red-zone"], "asm/x86_64.S", None, "x86_64");
}

#[test]
fn aarch64_switch_keeps_registers_and_fp_state_under_qemu() {
    let have = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    if !have("aarch64-linux-gnu-gcc") || !have("qemu-aarch64") {
        println!(
            "SKIPPED: needs aarch64-linux-gnu-gcc and qemu-aarch64 \
             (apt-get install gcc-aarch64-linux-gnu qemu-user)"
        );
        return;
    }
    run_switch_contract(
        "aarch64-linux-gnu-gcc",
        &["-static"],
        "asm/aarch64.S",
        Some("qemu-aarch64"),
        "aarch64",
    );
}
