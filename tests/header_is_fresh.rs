//! The checked-in header must be exactly what cbindgen generates from the sources
//! (`scripts/gen-header.sh` runs cbindgen through the `header` feature).

use std::process::Command;

#[test]
fn checked_in_header_matches_cbindgen() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/gen-header.sh"))
        .output()
        .expect("bash runs scripts/gen-header.sh");
    assert!(out.status.success(), "scripts/gen-header.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let path = String::from_utf8(out.stdout).expect("a path");
    let fresh = std::fs::read_to_string(path.trim()).expect("the generated header is readable");
    let checked_in =
        std::fs::read_to_string(format!("{root}/include/gosched.h")).expect("include/gosched.h exists");
    assert!(fresh == checked_in, "include/gosched.h is stale: run .ci/update-header and commit the result");
}
