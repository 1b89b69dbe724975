//! asm/aarch64.S is not built on this x86-64 machine, so it is checked here: it must
//! assemble with a cross assembler and define every symbol that asm/x86_64.S defines.
//! Skipped with a message when no AArch64 assembler is installed.

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
