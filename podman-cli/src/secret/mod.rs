//! Secrets: containers/common's secrets manager with its file driver, in
//! the store's `secrets/` directory. The records (`secrets.json`) and the
//! file driver's data (`filedriver/secretsdata.json`, each secret's bytes in
//! base64) are laid out as Podman writes them, in directories only root may
//! enter (0700) and files only root may read (0600). One lock
//! (`secrets.lock`) serialises every change of both files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use common::atomic_file::{write_atomic_mode, Durability};
use common::file_lock::FileLock;
use common::fs_error::FsError;

/// The largest secret (containers/common's `maxSecretSize`, exclusive).
pub const MAX_SIZE: usize = 512_000;
/// Secret IDs are this many hex digits.
const ID_LEN: usize = 25;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no secret with name or id {0:?}: no such secret")]
    NotFound(String),
    #[error("{0}: secret name in use")]
    NameInUse(String),
    #[error("secret name {0:?} can not include '=', '/', ',', or the '\\0' (NULL) and be between 1 and 253 characters: invalid secret name")]
    InvalidName(String),
    #[error("secret data must be larger than 0 and less than 512000 bytes")]
    DataSize,
    #[error("more than one result secret with prefix {0}: secret is ambiguous")]
    Ambiguous(String),
    #[error("cannot use --ignore and --replace flags together")]
    IgnoreAndReplace,
    #[error("secret driver {0:?} is not available in podman-rs: use --driver file")]
    Driver(String),
    #[error(
        "the data of secret {0} is missing from its driver: remove the secret and create it again"
    )]
    DataMissing(String),
    #[error("reading {path}: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// One secret's record, with containers/common's JSON names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// RFC 3339.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "updatedAt", default)]
    pub updated_at: String,
    pub driver: String,
    #[serde(rename = "driverOptions", default)]
    pub driver_options: BTreeMap<String, String>,
}

impl Secret {
    /// When it was last replaced (its creation for an older record).
    pub fn updated(&self) -> &str {
        if self.updated_at.is_empty() || self.updated_at.starts_with("0001-") {
            &self.created_at
        } else {
            &self.updated_at
        }
    }

    /// Podman's `SecretInfoReport`; `data` is shown with `--showsecret`.
    pub fn inspect_json(&self, data: Option<&[u8]>) -> serde_json::Value {
        let local = |t: &str| {
            // Go writes a zero offset as "Z".
            common::time::parse_rfc3339(t)
                .map(|ns| {
                    let s = common::time::rfc3339_local(ns);
                    match s.strip_suffix("+00:00") {
                        Some(utc) => format!("{utc}Z"),
                        None => s,
                    }
                })
                .unwrap_or_else(|_| t.to_string())
        };
        let mut doc = serde_json::json!({
            "ID": self.id,
            "CreatedAt": local(&self.created_at),
            "UpdatedAt": local(self.updated()),
            "Spec": {
                "Name": self.name,
                "Driver": {"Name": self.driver, "Options": self.driver_options},
                "Labels": self.labels,
            },
        });
        if let Some(d) = data {
            doc["SecretData"] = serde_json::json!(String::from_utf8_lossy(d));
        }
        doc
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Db {
    #[serde(default)]
    secrets: BTreeMap<String, Secret>,
    #[serde(rename = "nameToID", default)]
    name_to_id: BTreeMap<String, String>,
    #[serde(rename = "idToName", default)]
    id_to_name: BTreeMap<String, String>,
}

impl Db {
    /// containers/common's lookup: an exact ID or name, else a unique ID
    /// prefix.
    fn find(&self, name_or_id: &str) -> Result<&Secret, SecretError> {
        let not_found = || SecretError::NotFound(name_or_id.to_string());
        if let Some(s) = self.secrets.get(name_or_id) {
            return Ok(s);
        }
        if let Some(s) = self
            .name_to_id
            .get(name_or_id)
            .and_then(|id| self.secrets.get(id))
        {
            return Ok(s);
        }
        if name_or_id.is_empty() || name_or_id.len() > ID_LEN {
            return Err(not_found());
        }
        let mut found = self
            .secrets
            .values()
            .filter(|s| s.id.starts_with(name_or_id));
        match (found.next(), found.next()) {
            (Some(s), None) => Ok(s),
            (Some(_), Some(_)) => Err(SecretError::Ambiguous(name_or_id.to_string())),
            _ => Err(not_found()),
        }
    }

    fn insert(&mut self, s: Secret) {
        self.name_to_id.insert(s.name.clone(), s.id.clone());
        self.id_to_name.insert(s.id.clone(), s.name.clone());
        self.secrets.insert(s.id.clone(), s);
    }

    fn remove(&mut self, id: &str) {
        if let Some(s) = self.secrets.remove(id) {
            self.name_to_id.remove(&s.name);
        }
        self.id_to_name.remove(id);
    }
}

/// What `secret create` asks for besides the name and the data.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub driver: String,
    pub driver_options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub replace: bool,
    pub ignore: bool,
}

/// The secrets of one store.
pub struct SecretStore {
    dir: PathBuf,
}

fn read_json<T: Default + serde::de::DeserializeOwned>(path: &Path) -> Result<T, SecretError> {
    match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(T::default()),
        Ok(b) => serde_json::from_slice(&b).map_err(|source| SecretError::Corrupt {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(FsError::new("reading", path, e).into()),
    }
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), SecretError> {
    let bytes = serde_json::to_vec_pretty(v).expect("secrets serialise");
    write_atomic_mode(
        path,
        &bytes,
        common::private_dir::FILE_MODE,
        Durability::Fsync,
    )?;
    Ok(())
}

/// containers/common's name rule.
fn check_name(name: &str) -> Result<(), SecretError> {
    if name.is_empty() || name.len() > 253 || name.contains([',', '/', '=', '\0']) {
        return Err(SecretError::InvalidName(name.to_string()));
    }
    Ok(())
}

impl SecretStore {
    /// The store's secrets: `<graph_root>/secrets`.
    pub fn new(graph_root: &Path) -> SecretStore {
        SecretStore {
            dir: graph_root.join("secrets"),
        }
    }

    fn lock(&self) -> Result<FileLock, SecretError> {
        common::private_dir::ensure(&self.dir)?;
        Ok(FileLock::exclusive(&self.dir.join("secrets.lock"))?)
    }

    fn db_path(&self) -> PathBuf {
        self.dir.join("secrets.json")
    }

    fn load(&self) -> Result<Db, SecretError> {
        common::private_dir::tighten(&self.db_path(), common::private_dir::FILE_MODE)?;
        read_json(&self.db_path())
    }

    /// The file driver's directory for a secret's options.
    fn driver_dir(&self, s: &Secret) -> Result<PathBuf, SecretError> {
        if s.driver != "file" {
            return Err(SecretError::Driver(s.driver.clone()));
        }
        Ok(s.driver_options
            .get("path")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.dir.join("filedriver")))
    }

    fn data_file(dir: &Path) -> PathBuf {
        dir.join("secretsdata.json")
    }

    fn load_data(dir: &Path) -> Result<BTreeMap<String, String>, SecretError> {
        let path = Self::data_file(dir);
        common::private_dir::tighten(&path, common::private_dir::FILE_MODE)?;
        read_json(&path)
    }

    fn save_data(dir: &Path, data: &BTreeMap<String, String>) -> Result<(), SecretError> {
        common::private_dir::ensure(dir)?;
        write_json(&Self::data_file(dir), data)
    }

    /// Store a secret; its ID. An existing name fails unless `replace`
    /// (a new ID, as Podman) or `ignore` (the existing ID).
    pub fn create(
        &self,
        name: &str,
        data: &[u8],
        o: &CreateOptions,
    ) -> Result<String, SecretError> {
        check_name(name)?;
        if data.is_empty() || data.len() >= MAX_SIZE {
            return Err(SecretError::DataSize);
        }
        if o.ignore && o.replace {
            return Err(SecretError::IgnoreAndReplace);
        }
        let _lock = self.lock()?;
        let mut db = self.load()?;
        let now = common::time::now_rfc3339();
        let mut created_at = now.clone();
        if let Some(old) = db.name_to_id.get(name).and_then(|id| db.secrets.get(id)) {
            if o.ignore {
                return Ok(old.id.clone());
            }
            if !o.replace {
                return Err(SecretError::NameInUse(name.to_string()));
            }
            created_at = old.created_at.clone();
        }
        let mut secret = Secret {
            name: name.to_string(),
            id: String::new(),
            labels: o.labels.clone(),
            metadata: BTreeMap::new(),
            created_at,
            updated_at: now,
            driver: o.driver.clone(),
            driver_options: o.driver_options.clone(),
        };
        if secret.driver == "file" && !secret.driver_options.contains_key("path") {
            secret.driver_options.insert(
                "path".into(),
                self.dir.join("filedriver").display().to_string(),
            );
        }
        let dir = self.driver_dir(&secret)?;
        secret.id = loop {
            let id = common::random::hex_id()
                .map_err(|e| FsError::new("reading random bytes for", &self.dir, e))?;
            let id = id[..ID_LEN].to_string();
            if db.find(&id).is_err() {
                break id;
            }
        };
        let old = db.name_to_id.get(name).cloned();
        // The data first: a record never names bytes that are not there.
        let mut stored = Self::load_data(&dir)?;
        if let Some(old) = &old {
            stored.remove(old);
        }
        stored.insert(
            secret.id.clone(),
            base64::engine::general_purpose::STANDARD.encode(data),
        );
        Self::save_data(&dir, &stored)?;
        if let Some(old) = &old {
            db.remove(old);
        }
        let id = secret.id.clone();
        db.insert(secret);
        write_json(&self.db_path(), &db)?;
        Ok(id)
    }

    pub fn lookup(&self, name_or_id: &str) -> Result<Secret, SecretError> {
        if !self.db_path().exists() {
            return Err(SecretError::NotFound(name_or_id.to_string()));
        }
        let _lock = self.lock()?;
        self.load()?.find(name_or_id).cloned()
    }

    /// The record and the bytes.
    pub fn lookup_data(&self, name_or_id: &str) -> Result<(Secret, Vec<u8>), SecretError> {
        let s = self.lookup(name_or_id)?;
        let stored = Self::load_data(&self.driver_dir(&s)?)?;
        let data = stored
            .get(&s.id)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .ok_or_else(|| SecretError::DataMissing(s.id.clone()))?;
        Ok((s, data))
    }

    /// Every secret, oldest first.
    pub fn list(&self) -> Result<Vec<Secret>, SecretError> {
        if !self.db_path().exists() {
            return Ok(vec![]);
        }
        let _lock = self.lock()?;
        let mut all: Vec<Secret> = self.load()?.secrets.into_values().collect();
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
        Ok(all)
    }

    /// Remove a secret and its data; its ID.
    pub fn remove(&self, name_or_id: &str) -> Result<String, SecretError> {
        if !self.db_path().exists() {
            return Err(SecretError::NotFound(name_or_id.to_string()));
        }
        let _lock = self.lock()?;
        let mut db = self.load()?;
        let s = db.find(name_or_id)?.clone();
        if let Ok(dir) = self.driver_dir(&s) {
            let mut stored = Self::load_data(&dir)?;
            if stored.remove(&s.id).is_some() {
                Self::save_data(&dir, &stored)?;
            }
        }
        db.remove(&s.id);
        write_json(&self.db_path(), &db)?;
        Ok(s.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn opts() -> CreateOptions {
        CreateOptions {
            driver: "file".into(),
            ..Default::default()
        }
    }

    #[test]
    fn create_lookup_replace_remove() {
        let t = tempfile::tempdir().unwrap();
        let s = SecretStore::new(t.path());
        let id = s.create("a", b"one", &opts()).unwrap();
        assert_eq!(id.len(), ID_LEN);
        assert!(matches!(
            s.create("a", b"two", &opts()),
            Err(SecretError::NameInUse(_))
        ));
        let ignored = s
            .create(
                "a",
                b"two",
                &CreateOptions {
                    ignore: true,
                    ..opts()
                },
            )
            .unwrap();
        assert_eq!(ignored, id);
        let (rec, data) = s.lookup_data(&id[..6]).unwrap();
        assert_eq!((rec.name.as_str(), data.as_slice()), ("a", &b"one"[..]));
        let new = s
            .create(
                "a",
                b"two",
                &CreateOptions {
                    replace: true,
                    ..opts()
                },
            )
            .unwrap();
        assert_ne!(new, id);
        assert_eq!(s.lookup_data("a").unwrap().1, b"two");
        assert!(matches!(s.lookup(&id), Err(SecretError::NotFound(_))));
        for (p, mode) in [
            ("secrets", 0o700),
            ("secrets/secrets.json", 0o600),
            ("secrets/filedriver", 0o700),
            ("secrets/filedriver/secretsdata.json", 0o600),
        ] {
            let m = std::fs::metadata(t.path().join(p)).unwrap().permissions();
            assert_eq!(m.mode() & 0o777, mode, "{p}");
        }
        assert_eq!(s.remove("a").unwrap(), new);
        assert!(s.list().unwrap().is_empty());
        let data: BTreeMap<String, String> =
            read_json(&t.path().join("secrets/filedriver/secretsdata.json")).unwrap();
        assert!(data.is_empty());
    }

    #[test]
    fn names_and_sizes_are_checked() {
        let t = tempfile::tempdir().unwrap();
        let s = SecretStore::new(t.path());
        for bad in ["", "a/b", "a=b", "a,b"] {
            assert!(matches!(
                s.create(bad, b"x", &opts()),
                Err(SecretError::InvalidName(_))
            ));
        }
        assert!(matches!(
            s.create("e", b"", &opts()),
            Err(SecretError::DataSize)
        ));
        assert!(matches!(
            s.create(
                "p",
                b"x",
                &CreateOptions {
                    driver: "pass".into(),
                    ..Default::default()
                }
            ),
            Err(SecretError::Driver(_))
        ));
    }
}
