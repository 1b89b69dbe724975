//! Gives the shared library its SONAME, `libgosched.so.<major>` (the crate's major
//! version: the ABI version, see *ABI versioning* in docs/internals.md), on ELF targets.
//!
//! With the `header` feature, generates the C header into `OUT_DIR/gosched.h` with
//! cbindgen, with the version macros (`GS_VERSION_*`) taken from the crate's version;
//! without it, nothing more (the header is checked in as `include/gosched.h`).
//!
//! `scripts/gen-header.sh` builds with the feature and prints where the header went;
//! `.ci/update-header` copies it over the checked-in one, and `tests/header_is_fresh.rs`
//! and `.ci/run` compare the two. Build scripts must not write outside `OUT_DIR`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("CARGO_PKG_VERSION_MAJOR");
        // Only the cdylib: a binary linked with -lgosched then records
        // NEEDED libgosched.so.<major>, never the path it was linked from.
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libgosched.so.{major}");
    }
    #[cfg(feature = "header")]
    generate();
}

#[cfg(feature = "header")]
fn generate() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let mut config =
        cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml is readable");
    config.after_includes = Some(version_macros() + config.after_includes.as_deref().unwrap_or(""));
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(format!("{out_dir}/gosched.h"));
}

/// The `GS_VERSION_*` macros of the header, from the crate's version (Cargo.toml):
/// tests/abi.rs checks that they, gs_version() and Cargo.toml agree.
#[cfg(feature = "header")]
fn version_macros() -> String {
    let v = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is set by cargo"));
    let (major, minor, patch) =
        (v("CARGO_PKG_VERSION_MAJOR"), v("CARGO_PKG_VERSION_MINOR"), v("CARGO_PKG_VERSION_PATCH"));
    let lines = [
        String::new(),
        "/*".into(),
        " * The version of this header, which is the library's (gs_version() returns".into(),
        " * GS_VERSION_STRING). The major number is the ABI version: the library's SONAME is".into(),
        " * libgosched.so.GS_VERSION_MAJOR, and a binary built against a header of one major".into(),
        " * version runs with every library of that major version at least as new (see".into(),
        " * \"Growing the public structs\" below).".into(),
        " */".into(),
        format!("#define GS_VERSION_MAJOR {major}"),
        format!("#define GS_VERSION_MINOR {minor}"),
        format!("#define GS_VERSION_PATCH {patch}"),
        format!("#define GS_VERSION_STRING \"{major}.{minor}.{patch}\""),
        "/* For #if: GS_VERSION_NUMBER >= GS_VERSION_AT(0, 2, 0). */".into(),
        "#define GS_VERSION_AT(major, minor, patch) ((major) * 1000000L + (minor) * 1000L + (patch))".into(),
        "#define GS_VERSION_NUMBER GS_VERSION_AT(GS_VERSION_MAJOR, GS_VERSION_MINOR, GS_VERSION_PATCH)"
            .into(),
    ];
    lines.join("\n") + "\n"
}
