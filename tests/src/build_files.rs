//! What the build tests share: writing a context's files and running a
//! build that must succeed.

use std::path::Path;

use crate::podman::{stderr, stdout, TestStore};

/// Write `content` to `dir/name`.
pub fn write(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

/// `podman build ARGS`, which must succeed; its stdout.
pub fn build(s: &TestStore, args: &[&str]) -> String {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let o = s.run(&all);
    assert!(
        o.status.success(),
        "build {args:?}: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}
