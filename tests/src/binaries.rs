//! Finding the project's binaries from a test: they sit in the target
//! directory the test binary was built into (`target/<profile>/`), or in
//! `$PODMAN_TEST_BIN_DIR` when set.

use std::path::PathBuf;

/// Directory holding `podman` and the helpers.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PODMAN_TEST_BIN_DIR") {
        return PathBuf::from(d);
    }
    // target/<profile>/deps/<test-binary>
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    let profile = if deps.ends_with("deps") {
        deps.parent().expect("profile dir")
    } else {
        deps
    };
    profile.to_path_buf()
}

/// Path of binary `name`, panicking with the build command when it is missing.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not found: build the workspace first (cargo build --workspace) or set PODMAN_TEST_BIN_DIR",
        p.display()
    );
    p
}

/// The helper binaries podman starts.
pub const HELPERS: [&str; 4] = [
    "image-fetcher",
    "storage-helper",
    "net-setup",
    "ctr-monitor",
];
