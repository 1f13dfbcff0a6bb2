//! Finding OCI runtimes on this host.

use std::path::PathBuf;

/// Runtime names we look for, in order of preference.
pub const KNOWN: &[&str] = &["crun", "runc", "youki", "krun", "runsc"];

const DIRS: &[&str] = &[
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/bin",
    "/sbin",
];

/// (name, path) of every known runtime found in PATH or the usual places.
pub fn discover() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for name in KNOWN {
        let found = common::paths::which(name).or_else(|| {
            DIRS.iter()
                .map(|d| PathBuf::from(d).join(name))
                .find(|p| common::paths::is_executable(p))
        });
        if let Some(p) = found {
            out.push((name.to_string(), p));
        }
    }
    out
}
