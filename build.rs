//! With the `header` feature, generates the C header into `OUT_DIR/gosched.h` with
//! cbindgen; without it, nothing (the header is checked in as `include/gosched.h`).
//!
//! `scripts/gen-header.sh` builds with the feature and prints where the header went;
//! `.ci/update-header` copies it over the checked-in one, and `tests/header_is_fresh.rs`
//! and `.ci/run` compare the two. Build scripts must not write outside `OUT_DIR`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "header")]
    generate();
}

#[cfg(feature = "header")]
fn generate() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config =
        cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(format!("{out_dir}/gosched.h"));
}
