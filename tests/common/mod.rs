//! Helpers shared by the integration tests that build programs against the library.

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `<target>/<profile>`: the test binary lives in its `deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(Path::parent).expect("the test binary is in <target>/<profile>/deps").to_path_buf()
}
