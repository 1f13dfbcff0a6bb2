//! The destination: an OCI image layout directory (`oci-layout`,
//! `blobs/sha256/<hex>`, `index.json`). Blobs arrive through temp files in
//! the directory and are renamed into place only once verified; index.json
//! is rewritten atomically under a lock on the directory, so concurrent
//! pulls into one layout do not lose each other's entries.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use common::atomic_file::{write_atomic, Durability};
use common::file_lock::{FileLock, LockMode};
use serde_json::{json, Value};
use tracing::debug;

use crate::digest::{hash_file, sha256_hex, sha256_of};
use crate::error::FetchError;
use crate::manifest::{Descriptor, OCI_INDEX, REF_NAME_ANNOTATION};

/// Temp blob files start with this; the rest names the digest and owner.
const TEMP_PREFIX: &str = ".partial-";
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    blobs: PathBuf,
}

/// A blob being written: removed on drop unless committed. It holds an
/// exclusive flock so a cleanup by another pull leaves it alone while this
/// process lives.
pub struct TempBlob {
    path: PathBuf,
    lock: Option<FileLock>,
}

impl Layout {
    /// Open `root`, creating the directory, `blobs/sha256`, `oci-layout`
    /// and an empty `index.json` as needed.
    pub fn create(root: &Path) -> Result<Layout, FetchError> {
        let io = |what: &str, p: &Path, e| {
            FetchError::io(
                format!("preparing OCI layout {}: {what}", root.display()),
                p,
                e,
            )
        };
        let blobs = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| io("creating directories", &blobs, e))?;
        let layout = Layout {
            root: root.to_path_buf(),
            blobs,
        };
        let marker = root.join("oci-layout");
        match std::fs::read(&marker) {
            Ok(b) => {
                let v: Value = serde_json::from_slice(&b).map_err(|e| {
                    FetchError::Config(format!(
                        "{} is not valid JSON ({e}); is {} an OCI layout?",
                        marker.display(),
                        root.display()
                    ))
                })?;
                if v["imageLayoutVersion"] != "1.0.0" {
                    return Err(FetchError::Config(format!(
                        "{}: unsupported imageLayoutVersion {}",
                        marker.display(),
                        v["imageLayoutVersion"]
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_layout_file(&marker, OCI_LAYOUT)?
            }
            Err(e) => return Err(io("reading", &marker, e)),
        }
        let index = root.join("index.json");
        if !index.exists() {
            // Under the lock: a concurrent pull may be adding its entry right now.
            let _lock = layout.lock()?;
            if !index.exists() {
                let empty = serde_json::to_vec_pretty(
                    &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}),
                )
                .unwrap_or_default();
                write_layout_file(&index, &empty)?;
            }
        }
        Ok(layout)
    }

    /// Exclusive lock on the layout directory, held while index.json changes.
    fn lock(&self) -> Result<FileLock, FetchError> {
        File::open(&self.root)
            .and_then(|dir| FileLock::on_file(dir, LockMode::Exclusive))
            .map_err(|e| FetchError::io("locking the OCI layout", &self.root, e))
    }

    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, FetchError> {
        let hex = sha256_hex(digest).ok_or_else(|| {
            FetchError::InvalidArgument(format!("digest {digest:?} is not a sha256 digest"))
        })?;
        Ok(self.blobs.join(hex))
    }

    /// Whether `desc` is already present with the right size and digest. A
    /// present blob that fails the check is removed (it is never used).
    pub async fn has_verified(&self, desc: &Descriptor) -> Result<bool, FetchError> {
        let path = self.blob_path(&desc.digest)?;
        match std::fs::metadata(&path) {
            Ok(m) if m.len() == desc.size => {}
            Ok(_) => {
                debug!(digest = %desc.digest, "present blob has the wrong size; replacing it");
                let _ = std::fs::remove_file(&path);
                return Ok(false);
            }
            Err(_) => return Ok(false),
        }
        let p = path.clone();
        let started = std::time::Instant::now();
        let hashed = tokio::task::spawn_blocking(move || hash_file(&p))
            .await
            .map_err(|e| {
                FetchError::io("verifying a present blob", &path, std::io::Error::other(e))
            })?;
        match hashed {
            Ok((d, _)) if d == desc.digest => {
                debug!(digest = %desc.digest, elapsed_ms = started.elapsed().as_millis() as u64, "present blob verified");
                Ok(true)
            }
            Ok((d, _)) => {
                debug!(digest = %desc.digest, actual = %d, "present blob is corrupt; replacing it");
                let _ = std::fs::remove_file(&path);
                Ok(false)
            }
            Err(e) => Err(FetchError::io("verifying a present blob", &path, e)),
        }
    }

    /// A new locked temp file for `digest` and a second handle to write through.
    pub fn temp_blob(&self, digest: &str) -> Result<(TempBlob, File), FetchError> {
        let hex = sha256_hex(digest).unwrap_or("blob");
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = self.root.join(format!(
            "{TEMP_PREFIX}{}-{}-{n}",
            &hex[..hex.len().min(16)],
            std::process::id()
        ));
        let ctx = "creating a temp blob";
        let f = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| FetchError::io(ctx, &path, e))?;
        let writer = f.try_clone().map_err(|e| FetchError::io(ctx, &path, e))?;
        // Nobody else can know this new name yet: the lock is free.
        let lock =
            FileLock::on_file(f, LockMode::Exclusive).map_err(|e| FetchError::io(ctx, &path, e))?;
        Ok((
            TempBlob {
                path,
                lock: Some(lock),
            },
            writer,
        ))
    }

    /// Move a verified temp blob into `blobs/sha256/`.
    pub fn commit(&self, mut temp: TempBlob, digest: &str) -> Result<(), FetchError> {
        let dest = self.blob_path(digest)?;
        std::fs::rename(&temp.path, &dest)
            .map_err(|e| FetchError::io("moving a verified blob into place", &dest, e))?;
        temp.lock.take();
        temp.path = PathBuf::new();
        Ok(())
    }

    /// Write a small blob held in memory (a manifest), verifying it first.
    pub fn write_blob_bytes(&self, digest: &str, bytes: &[u8]) -> Result<(), FetchError> {
        let actual = sha256_of(bytes);
        if actual != digest {
            return Err(FetchError::DigestMismatch {
                digest: digest.to_string(),
                source_name: "memory".into(),
                actual,
            });
        }
        let dest = self.blob_path(digest)?;
        if std::fs::read(&dest).is_ok_and(|b| b == bytes) {
            return Ok(());
        }
        let (temp, mut f) = self.temp_blob(digest)?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| FetchError::io("writing a blob", &temp.path, e))?;
        self.commit(temp, digest)
    }

    /// fsync `blobs/sha256` so the renames survive a crash before index.json names them.
    pub fn sync_blobs(&self) -> Result<(), FetchError> {
        File::open(&self.blobs)
            .and_then(|d| d.sync_all())
            .map_err(|e| FetchError::io("syncing the blob directory", &self.blobs, e))
    }

    /// Point `ref_name` at `desc` in index.json (replacing an entry with the
    /// same ref name), atomically and under a lock on the layout directory.
    pub fn set_ref(&self, desc: &Descriptor, ref_name: &str) -> Result<(), FetchError> {
        let _lock = self.lock()?;
        let path = self.root.join("index.json");
        let mut index: Value = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                FetchError::Config(format!(
                    "{} is not valid JSON: {e}; remove it or use another --dest",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
            }
            Err(e) => return Err(FetchError::io("reading index.json", &path, e)),
        };
        let Some(obj) = index.as_object_mut() else {
            return Err(FetchError::Config(format!(
                "{} is not a JSON object",
                path.display()
            )));
        };
        let manifests = obj.entry("manifests").or_insert_with(|| json!([]));
        let Some(list) = manifests.as_array_mut() else {
            return Err(FetchError::Config(format!(
                "{}: \"manifests\" is not an array",
                path.display()
            )));
        };
        list.retain(|m| m["annotations"][REF_NAME_ANNOTATION].as_str() != Some(ref_name));
        let mut d = desc.clone();
        d.platform = None;
        d.annotations
            .insert(REF_NAME_ANNOTATION.to_string(), ref_name.to_string());
        list.push(serde_json::to_value(&d).unwrap_or_default());
        let bytes = serde_json::to_vec_pretty(&index)
            .map_err(|e| FetchError::Config(format!("serializing index.json: {e}")))?;
        write_layout_file(&path, &bytes)
    }

    /// Remove temp blobs left by pulls that died (their flock is free).
    pub fn remove_stale_temps(&self) {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if common::atomic_file::is_stale_temp(&name) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            if !name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let Ok(f) = File::options().write(true).open(&path) else {
                continue;
            };
            if let Ok(Some(_lock)) = FileLock::try_on_file(f, LockMode::Exclusive) {
                debug!(file = %path.display(), "removing a temp blob left by an interrupted pull");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// The layout is a destination that must outlive a crash: fsynced.
fn write_layout_file(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    write_atomic(path, bytes, Durability::Fsync)
        .map_err(|e| FetchError::io(format!("writing {}", path.display()), e.path, e.source))
}

impl TempBlob {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: "x".into(),
            digest: sha256_of(bytes),
            size: bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
        }
    }

    #[tokio::test]
    async fn blobs_refs_and_stale_temps() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("new/layout");
        let l = Layout::create(&root).unwrap();
        assert_eq!(std::fs::read(root.join("oci-layout")).unwrap(), OCI_LAYOUT);
        let a = desc(b"hello");
        assert!(!l.has_verified(&a).await.unwrap());
        l.write_blob_bytes(&a.digest, b"hello").unwrap();
        assert!(l.has_verified(&a).await.unwrap());
        assert!(l.write_blob_bytes(&a.digest, b"other").is_err());

        // A corrupt present blob is not used, and is removed.
        std::fs::write(l.blob_path(&a.digest).unwrap(), b"hellO").unwrap();
        assert!(!l.has_verified(&a).await.unwrap());
        assert!(!l.blob_path(&a.digest).unwrap().exists());

        l.set_ref(&a, "r1").unwrap();
        let b = desc(b"b");
        l.set_ref(&b, "r2").unwrap();
        l.set_ref(&b, "r1").unwrap();
        let index: Value =
            serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
        let m = index["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1]["annotations"][REF_NAME_ANNOTATION], "r1");
        assert_eq!(m[1]["digest"], b.digest.as_str());

        // A live temp survives cleanup; a dropped one is gone; an orphan is cleaned.
        let (live, _w) = l.temp_blob(&a.digest).unwrap();
        let orphan = root.join(format!("{TEMP_PREFIX}dead-1-1"));
        std::fs::write(&orphan, b"x").unwrap();
        let dead_index_tmp = root.join(format!(".index.json.tmp-{}-0", u32::MAX));
        std::fs::write(&dead_index_tmp, b"{").unwrap();
        l.remove_stale_temps();
        assert!(live.path().exists());
        assert!(!orphan.exists());
        assert!(!dead_index_tmp.exists());
        let p = live.path().to_path_buf();
        drop(live);
        assert!(!p.exists());
        let leftovers: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 3, "{leftovers:?}");
    }
}
