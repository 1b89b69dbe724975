//! Generates the C header into `OUT_DIR/gosched.h` with cbindgen. Nothing else.
//!
//! The checked-in `include/gosched.h` is compared with this output by
//! `tests/header_is_fresh.rs`; build scripts must not write outside `OUT_DIR`.

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=asm");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(format!("{out_dir}/gosched.h"));
}
