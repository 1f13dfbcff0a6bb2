//! The remote client's named connections, in Podman 5's file:
//! `podman-connections.json` under `$XDG_CONFIG_HOME/containers` (else
//! `~/.config/containers`), or the file `PODMAN_CONNECTIONS_CONF` names.
//! Podman and this client read each other's file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One destination, as c/common's `Destination` writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    #[serde(rename = "URI", default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
    #[serde(rename = "Identity", default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
    #[serde(
        rename = "TLSCertFile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub tls_cert: String,
    #[serde(
        rename = "TLSKeyFile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub tls_key: String,
    #[serde(
        rename = "TLSCAFile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub tls_ca: String,
    #[serde(
        rename = "IsMachine",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub is_machine: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ConnectionSection {
    #[serde(rename = "Default", default, skip_serializing_if = "String::is_empty")]
    default: String,
    #[serde(rename = "Connections", default)]
    connections: BTreeMap<String, Destination>,
}

/// The whole file; `Farm` is kept as it was (farms are not ours to edit).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Connections {
    #[serde(rename = "Connection", default)]
    section: ConnectionSection,
    #[serde(
        rename = "Farm",
        default,
        skip_serializing_if = "serde_json::Value::is_null"
    )]
    farm: serde_json::Value,
    #[serde(skip)]
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid connections file ({source}): fix or remove it")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {0}")]
    Write(#[from] common::fs_error::FsError),
    #[error("cannot find system connection {0:?}")]
    NotFound(String),
    #[error("system connection {0:?} already exists")]
    Exists(String),
}

/// Where the file is for this user.
pub fn file_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PODMAN_CONNECTIONS_CONF").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".config")
        });
    config.join("containers/podman-connections.json")
}

impl Connections {
    pub fn load() -> Result<Connections, ConnectionError> {
        Self::load_from(&file_path())
    }

    pub fn load_from(path: &Path) -> Result<Connections, ConnectionError> {
        let mut c = match std::fs::read(path) {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Connections::default(),
            Ok(b) => serde_json::from_slice(&b).map_err(|source| ConnectionError::Parse {
                path: path.to_path_buf(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Connections::default(),
            Err(source) => {
                return Err(ConnectionError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        c.path = path.to_path_buf();
        Ok(c)
    }

    pub fn save(&self) -> Result<(), ConnectionError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| ConnectionError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut data = serde_json::to_vec(self).expect("connections serialize");
        data.push(b'\n');
        common::atomic_file::write_atomic_mode(
            &self.path,
            &data,
            0o600,
            common::atomic_file::Durability::Fsync,
        )?;
        Ok(())
    }

    pub fn default_name(&self) -> Option<&str> {
        Some(self.section.default.as_str()).filter(|d| !d.is_empty())
    }

    pub fn get(&self, name: &str) -> Result<&Destination, ConnectionError> {
        self.section
            .connections
            .get(name)
            .ok_or_else(|| ConnectionError::NotFound(name.to_string()))
    }

    pub fn list(&self) -> impl Iterator<Item = (&String, &Destination)> {
        self.section.connections.iter()
    }

    /// Add (or replace) `name`; the first connection, or one added with
    /// `make_default`, becomes the default.
    pub fn add(&mut self, name: &str, dest: Destination, make_default: bool) {
        self.section.connections.insert(name.to_string(), dest);
        if make_default || self.section.default.is_empty() {
            self.section.default = name.to_string();
        }
    }

    /// Remove `name`; removing the default leaves no default, as Podman.
    pub fn remove(&mut self, name: &str) -> bool {
        let had = self.section.connections.remove(name).is_some();
        if self.section.default == name {
            self.section.default.clear();
        }
        had
    }

    pub fn remove_all(&mut self) {
        self.section.connections.clear();
        self.section.default.clear();
    }

    pub fn set_default(&mut self, name: &str) -> Result<(), ConnectionError> {
        self.get(name)?;
        self.section.default = name.to_string();
        Ok(())
    }

    pub fn rename(&mut self, old: &str, new: &str) -> Result<(), ConnectionError> {
        if self.section.connections.contains_key(new) {
            return Err(ConnectionError::Exists(new.to_string()));
        }
        let d = self
            .section
            .connections
            .remove(old)
            .ok_or_else(|| ConnectionError::NotFound(old.to_string()))?;
        self.section.connections.insert(new.to_string(), d);
        if self.section.default == old {
            self.section.default = new.to_string();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podmans_file_round_trips_and_defaults_follow_its_rules() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c/podman-connections.json");
        let mut c = Connections::load_from(&p).unwrap();
        c.add(
            "a",
            Destination {
                uri: "tcp://localhost:1".into(),
                ..Default::default()
            },
            false,
        );
        c.add(
            "b",
            Destination {
                uri: "unix:///x.sock".into(),
                ..Default::default()
            },
            false,
        );
        assert_eq!(c.default_name(), Some("a"), "the first one added");
        c.save().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with(
                r#"{"Connection":{"Default":"a","Connections":{"a":{"URI":"tcp://localhost:1"}"#
            ),
            "{text}"
        );
        let mut c = Connections::load_from(&p).unwrap();
        c.set_default("b").unwrap();
        assert!(c.remove("b"));
        assert_eq!(c.default_name(), None, "removing the default leaves none");
        c.rename("a", "z").unwrap();
        assert!(matches!(c.get("a"), Err(ConnectionError::NotFound(_))));
        use std::os::unix::fs::PermissionsExt;
        c.save().unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
