//! What the build tests share: writing a context's files and running a
//! build that must succeed.

use std::path::Path;

use crate::podman::{stderr, stdout, TestStore};

/// Write `content` to `dir/name`, making the directories on the way.
pub fn write(dir: &Path, name: &str, content: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, content).unwrap();
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

/// A fresh build context holding `containerfile` as its Containerfile
/// (removed when dropped).
pub fn context(containerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Containerfile", containerfile);
    dir
}
