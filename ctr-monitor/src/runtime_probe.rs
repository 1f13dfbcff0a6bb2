//! Does a runtime actually work here? `--version` answering proves little
//! (crun 1.8 answers, then fails every container on a hybrid cgroup layout),
//! so we run a trial container: a read-only rootfs made of bind mounts of
//! the host's /usr and friends, running `true` in fresh namespaces and its
//! own cgroup, exactly the parts real containers use.
//!
//! Results are cached in the run root keyed by the binary's path, size and
//! mtime, so the cost is paid once per boot and runtime upgrade.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::debug;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProbeResult {
    pub works: bool,
    /// The runtime's own stderr when it failed, verbatim.
    pub error: String,
    /// Identifies the binary the result is for.
    pub stamp: String,
    /// First line of `RUNTIME --version`.
    #[serde(default)]
    pub version: String,
}

pub fn cache_path(runroot: &Path) -> PathBuf {
    runroot.join("runtime-probe.json")
}

/// Path, size and mtime of the runtime binary.
pub fn stamp(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{}:{}:{}.{}",
            path.display(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        ),
        Err(_) => path.display().to_string(),
    }
}

pub fn read_cache(runroot: &Path) -> BTreeMap<String, ProbeResult> {
    std::fs::read(cache_path(runroot))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Write the cache atomically. Written once per runtime change, so the
/// fsyncs cost nothing that matters.
pub fn write_cache(runroot: &Path, cache: &BTreeMap<String, ProbeResult>) -> std::io::Result<()> {
    use common::atomic_file::{write_atomic, Durability};
    std::fs::create_dir_all(runroot)?;
    let bytes = serde_json::to_vec_pretty(cache).map_err(std::io::Error::other)?;
    Ok(write_atomic(
        &cache_path(runroot),
        &bytes,
        Durability::Fsync,
    )?)
}

/// Run the trial container with `runtime`.
pub async fn probe(runtime: &Path, runroot: &Path) -> ProbeResult {
    let stamp = stamp(runtime);
    let id = format!(
        "podman-rs-probe-{}-{}",
        std::process::id(),
        runtime.file_name().and_then(|n| n.to_str()).unwrap_or("rt")
    );
    let base = runroot.join("probe").join(&id);
    let state_root = runroot.join("probe").join("state");
    let started = std::time::Instant::now();
    let result = async {
        write_bundle(&base, &id)
            .map_err(|e| format!("preparing the trial bundle in {}: {e}", base.display()))?;
        let mut cmd = std::process::Command::new(runtime);
        cmd.arg("--root")
            .arg(&state_root)
            .args(["run", "--bundle"])
            .arg(&base)
            .arg(&id);
        let (status, _, stderr) = crate::reaper::output_within(cmd, Some(Duration::from_secs(20)))
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::TimedOut {
                    "the trial container did not finish within 20s".to_string()
                } else {
                    format!("running {}: {e}", runtime.display())
                }
            })?;
        if status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&stderr).trim().replace('\n', " ");
            Err(if err.is_empty() {
                format!("trial container {status}")
            } else {
                err
            })
        }
    }
    .await;
    // Leave nothing behind whatever happened.
    let mut delete = std::process::Command::new(runtime);
    delete
        .arg("--root")
        .arg(&state_root)
        .args(["delete", "--force", &id]);
    let _ = crate::reaper::output_within(delete, Some(Duration::from_secs(20))).await;
    let _ = std::fs::remove_dir_all(&base);
    debug!(runtime = %runtime.display(), ok = result.is_ok(), elapsed_ms = started.elapsed().as_millis() as u64, "runtime probe");
    match result {
        Ok(()) => ProbeResult {
            works: true,
            error: String::new(),
            stamp,
            version: String::new(),
        },
        Err(error) => ProbeResult {
            works: false,
            error,
            stamp,
            version: String::new(),
        },
    }
}

/// A bundle whose rootfs is an empty directory with the host's system
/// directories bind-mounted read-only (symlinked where the host symlinks).
fn write_bundle(base: &Path, id: &str) -> std::io::Result<()> {
    let rootfs = base.join("rootfs");
    std::fs::create_dir_all(&rootfs)?;
    let mut mounts =
        vec![serde_json::json!({"destination": "/proc", "type": "proc", "source": "proc"})];
    for d in ["usr", "bin", "sbin", "lib", "lib64", "lib32"] {
        let host = Path::new("/").join(d);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&host)?;
                let link = rootfs.join(d);
                if std::fs::symlink_metadata(&link).is_err() {
                    std::os::unix::fs::symlink(target, link)?;
                }
            }
            Ok(m) if m.is_dir() => {
                std::fs::create_dir_all(rootfs.join(d))?;
                mounts.push(serde_json::json!({
                    "destination": format!("/{d}"), "type": "bind", "source": host, "options": ["rbind", "ro", "nosuid", "nodev"]
                }));
            }
            _ => {}
        }
    }
    let true_bin = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/bin/true");
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": [true_bin],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "noNewPrivileges": true,
            "capabilities": {"bounding": [], "effective": [], "permitted": []}
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "probe",
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
            "cgroupsPath": format!("/podman-rs/{id}"),
            "maskedPaths": ["/proc/kcore", "/proc/keys"],
            "readonlyPaths": ["/proc/sys"]
        }
    });
    std::fs::write(
        base.join("config.json"),
        serde_json::to_vec_pretty(&config).map_err(std::io::Error::other)?,
    )
}
