//! The checked-in header must be exactly what cbindgen generates from the sources.

#[test]
fn checked_in_header_matches_cbindgen() {
    let fresh = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/gosched.h")).expect("build.rs writes the header into OUT_DIR");
    let checked_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/gosched.h"))
        .expect("include/gosched.h exists");
    assert!(
        fresh == checked_in,
        "include/gosched.h is stale: run .ci/update-header and commit the result"
    );
}
