//! containers-storage.conf(5): driver and options.
//!
//! Read from `/usr/share/containers/storage.conf` and
//! `/etc/containers/storage.conf`, or only `$CONTAINERS_STORAGE_CONF` when
//! set. `graphroot` and `runroot` are taken only from an explicit
//! `CONTAINERS_STORAGE_CONF`: the system-wide file describes Podman's own
//! store, which we must not share.

use std::path::PathBuf;

use serde::Deserialize;

use crate::toml_files::{decode, read_stack};
use crate::ConfigError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageConf {
    pub storage: StorageSection,
    #[serde(skip)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageSection {
    pub driver: Option<String>,
    pub graphroot: Option<String>,
    pub runroot: Option<String>,
    pub options: StorageOptions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageOptions {
    pub overlay: OverlayOptions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OverlayOptions {
    pub mountopt: Option<String>,
    pub mount_program: Option<String>,
}

pub const DRIVERS: &[&str] = &["overlay", "vfs"];

impl StorageConf {
    pub fn load() -> Result<Self, ConfigError> {
        match std::env::var_os("CONTAINERS_STORAGE_CONF").filter(|v| !v.is_empty()) {
            Some(p) => {
                let p = PathBuf::from(p);
                if !p.exists() {
                    return Err(ConfigError::Read {
                        path: p,
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    });
                }
                Self::load_files(&[p], true)
            }
            None => Self::load_files(
                &[
                    PathBuf::from("/usr/share/containers/storage.conf"),
                    PathBuf::from("/etc/containers/storage.conf"),
                ],
                false,
            ),
        }
    }

    /// `trust_roots`: whether graphroot/runroot in these files may be used.
    pub fn load_files(files: &[PathBuf], trust_roots: bool) -> Result<Self, ConfigError> {
        let (table, found) = read_stack(files)?;
        let mut conf: StorageConf = decode(table, &found)?;
        conf.files = found;
        if !trust_roots {
            conf.storage.graphroot = None;
            conf.storage.runroot = None;
        }
        if let Some(d) = &conf.storage.driver {
            if !d.is_empty() && !DRIVERS.contains(&d.as_str()) {
                return Err(ConfigError::Invalid {
                    path: conf.files.last().cloned().unwrap_or_default(),
                    message: format!(
                        "storage.driver {d:?} is not supported: use one of {}",
                        DRIVERS.join(", ")
                    ),
                });
            }
        }
        Ok(conf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_files_do_not_choose_our_roots() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("storage.conf");
        std::fs::write(&p, "[storage]\ndriver = \"overlay\"\ngraphroot = \"/var/lib/containers/storage\"\n[storage.options.overlay]\nmountopt = \"nodev\"\n").unwrap();
        let c = StorageConf::load_files(std::slice::from_ref(&p), false).unwrap();
        assert_eq!(c.storage.graphroot, None);
        assert_eq!(c.storage.options.overlay.mountopt.as_deref(), Some("nodev"));
        let c = StorageConf::load_files(&[p], true).unwrap();
        assert_eq!(
            c.storage.graphroot.as_deref(),
            Some("/var/lib/containers/storage")
        );
    }

    #[test]
    fn unknown_drivers_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("storage.conf");
        std::fs::write(&p, "[storage]\ndriver = \"zfs\"\n").unwrap();
        assert!(StorageConf::load_files(&[p], false)
            .unwrap_err()
            .to_string()
            .contains("zfs"));
    }
}
