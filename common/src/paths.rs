//! Where things live. Our defaults never point into an installed Podman's
//! store (`/var/lib/containers/storage`, `/run/containers/storage`): the two
//! engines keep different databases and must not share one directory.

use std::path::{Path, PathBuf};

/// Directory name under the usual roots that marks our store.
pub const STORE_DIR: &str = "podman-rs";

/// Environment variable naming a directory to find helper binaries in
/// (tests and development builds).
pub const HELPER_DIR_ENV: &str = "PODMAN_HELPER_DIR";

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

fn data_home() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
}

/// Default graph root: `/var/lib/podman-rs/storage` for root,
/// `$XDG_DATA_HOME/podman-rs/storage` otherwise.
pub fn default_graph_root() -> PathBuf {
    if is_root() {
        PathBuf::from("/var/lib").join(STORE_DIR).join("storage")
    } else {
        data_home()
            .unwrap_or_else(|| PathBuf::from("/tmp"))
            .join(STORE_DIR)
            .join("storage")
    }
}

/// Default run root: `/run/podman-rs/storage` for root,
/// `$XDG_RUNTIME_DIR/podman-rs/storage` (or `/tmp/podman-rs-UID`) otherwise.
pub fn default_run_root() -> PathBuf {
    if is_root() {
        PathBuf::from("/run").join(STORE_DIR).join("storage")
    } else {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) => PathBuf::from(d).join(STORE_DIR).join("storage"),
            None => PathBuf::from(format!("/tmp/{STORE_DIR}-{}", nix::unistd::geteuid()))
                .join("storage"),
        }
    }
}

/// Podman's own default store locations, which ours must never equal.
pub fn podman_store_paths() -> [PathBuf; 2] {
    [
        PathBuf::from("/var/lib/containers/storage"),
        PathBuf::from("/run/containers/storage"),
    ]
}

#[derive(Debug, thiserror::Error)]
#[error("helper binary {name} not found in {searched}: install it next to podman, set helper_binaries_dir in containers.conf, or set {HELPER_DIR_ENV}")]
pub struct HelperNotFound {
    pub name: String,
    pub searched: String,
}

/// Find helper `name`: `$PODMAN_HELPER_DIR`, then next to the running
/// binary, then containers.conf's `helper_binaries_dir`, then the libexec
/// directories.
pub fn find_helper(name: &str, conf_dirs: &[String]) -> Result<PathBuf, HelperNotFound> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os(HELPER_DIR_ENV).filter(|d| !d.is_empty()) {
        dirs.extend(std::env::split_paths(&d));
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(d);
    }
    dirs.extend(conf_dirs.iter().map(PathBuf::from));
    dirs.push(PathBuf::from("/usr/libexec").join(STORE_DIR));
    dirs.push(PathBuf::from("/usr/local/libexec").join(STORE_DIR));
    for d in &dirs {
        let p = d.join(name);
        if is_executable(&p) {
            return Ok(p);
        }
    }
    Err(HelperNotFound {
        name: name.to_string(),
        searched: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Search `$PATH` for `name`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_defaults_never_collide_with_podmans_store() {
        let ours = [default_graph_root(), default_run_root()];
        for theirs in podman_store_paths() {
            for o in &ours {
                assert!(
                    !o.starts_with(&theirs) && !theirs.starts_with(o),
                    "{o:?} vs {theirs:?}"
                );
            }
        }
    }

    #[test]
    fn missing_helpers_name_the_places_searched() {
        let e = find_helper("no-such-helper-xyz", &["/opt/x".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no-such-helper-xyz")
                && e.contains("/opt/x")
                && e.contains("helper_binaries_dir"),
            "{e}"
        );
    }
}
