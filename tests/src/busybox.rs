//! The busybox root filesystem used by most end-to-end tests, made from
//! Debian's statically linked `/usr/bin/busybox` (package `busybox-static`).
//!
//! [`busybox_layer`] is built once per process (about 1 MiB compressed) and
//! cloned; [`busybox_entries`] gives the entries to build variants.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

use crate::layer::{Entry, Layer, LayerBuilder};

/// Where Debian's `busybox-static` package installs its binary.
pub const BUSYBOX_PATH: &str = "/usr/bin/busybox";

/// Applets that [`busybox_layer`] must provide as `/bin/<applet>` symlinks.
pub const REQUIRED_APPLETS: &[&str] = &[
    "sh", "echo", "cat", "ls", "true", "false", "sleep", "env", "id", "nc", "wget", "httpd",
    "hostname", "ps", "mount", "ip", "top", "yes", "seq", "head", "wc",
];

/// Content of `/etc/passwd` in the busybox layer.
pub const BUSYBOX_PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

/// Content of `/etc/group` in the busybox layer.
pub const BUSYBOX_GROUP: &str = "root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n";

/// Applet names printed by `busybox --list` (without `busybox` itself).
pub fn busybox_applets() -> Result<Vec<String>> {
    if !Path::new(BUSYBOX_PATH).exists() {
        bail!("{BUSYBOX_PATH} is missing: apt-get install busybox-static");
    }
    let out = std::process::Command::new(BUSYBOX_PATH)
        .arg("--list")
        .output()
        .with_context(|| format!("run {BUSYBOX_PATH} --list"))?;
    if !out.status.success() {
        bail!("{BUSYBOX_PATH} --list failed: {}", out.status);
    }
    let text = String::from_utf8(out.stdout).context("busybox --list output is not UTF-8")?;
    let applets: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_string)
        .collect();
    for required in REQUIRED_APPLETS {
        if !applets.iter().any(|a| a == required) {
            bail!("{BUSYBOX_PATH} has no applet {required:?}");
        }
    }
    Ok(applets)
}

/// The entries of the busybox root filesystem: `/bin/busybox` (0755), one
/// `/bin/<applet> -> busybox` symlink per applet, the usual top-level
/// directories (`/tmp` is 1777) and a minimal `/etc/passwd` and `/etc/group`.
/// Useful to build variants of the busybox layer.
pub fn busybox_entries() -> Result<Vec<Entry>> {
    let binary = std::fs::read(BUSYBOX_PATH)
        .with_context(|| format!("read {BUSYBOX_PATH} (apt-get install busybox-static)"))?;
    let mut entries = vec![
        Entry::dir("bin", 0o755),
        Entry::file("bin/busybox", binary, 0o755),
        Entry::dir("dev", 0o755),
        Entry::dir("etc", 0o755),
        Entry::file("etc/passwd", BUSYBOX_PASSWD, 0o644),
        Entry::file("etc/group", BUSYBOX_GROUP, 0o644),
        Entry::dir("proc", 0o555),
        Entry::dir("root", 0o700),
        Entry::dir("sys", 0o555),
        Entry::dir("tmp", 0o1777),
        Entry::dir("var", 0o755),
    ];
    for applet in busybox_applets()? {
        entries.push(Entry::symlink(&format!("bin/{applet}"), "busybox"));
    }
    Ok(entries)
}

/// Build the busybox layer from scratch (see [`busybox_entries`]).
pub fn build_busybox_layer() -> Result<Layer> {
    LayerBuilder::new().entries(busybox_entries()?).build()
}

/// The busybox layer, built once per process and then cloned.
pub fn busybox_layer() -> Result<Layer> {
    static CACHE: OnceLock<Layer> = OnceLock::new();
    if let Some(layer) = CACHE.get() {
        return Ok(layer.clone());
    }
    let layer = build_busybox_layer()?;
    Ok(CACHE.get_or_init(|| layer).clone())
}
