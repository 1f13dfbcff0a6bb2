//! Content-addressed blobs under `<graphroot>/blobs/sha256/<hex>`:
//! compressed layers, configs and manifests exactly as pulled, so save and
//! push re-send the same bytes.
//!
//! Blobs come in by hardlink when the source is on the same filesystem
//! (the fetcher verified them; a layer's digest is checked again as it is
//! unpacked, any other blob is hashed before use) or by a copy that is
//! hashed on the way and refused on mismatch.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use common::atomic_file::{AtomicFile, Durability};

use crate::digest::{Digest, DigestReader, DigestWriter};
use crate::error::{Result, StoreError};
use crate::layout::{unique_suffix, Store};

/// How a blob got into the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// It was already there (verified when it came in).
    Present,
    /// Hardlinked from the source: not hashed yet.
    Linked,
    /// Copied and hashed on the way.
    Copied,
}

pub fn path(store: &Store, digest: &Digest) -> PathBuf {
    store.blobs_dir().join(digest.hex())
}

/// Bring `src` into the store as `digest`.
pub fn import_file(
    store: &Store,
    src: &Path,
    digest: &Digest,
    expected_size: Option<u64>,
) -> Result<Imported> {
    let dest = path(store, digest);
    if dest.exists() {
        return Ok(Imported::Present);
    }
    let meta = std::fs::metadata(src).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound(format!(
            "blob {digest} is missing from the layout ({}): pull the image again",
            src.display()
        )),
        _ => StoreError::path("reading", src, e),
    })?;
    if let Some(want) = expected_size {
        if meta.len() != want {
            return Err(StoreError::DataLoss(format!(
                "blob {digest} ({}) has {} bytes, its descriptor says {want}: the layout is corrupt, pull the image again",
                src.display(),
                meta.len()
            )));
        }
    }
    match std::fs::hard_link(src, &dest) {
        Ok(()) => return Ok(Imported::Linked),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Imported::Present),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EXDEV) | Some(libc::EPERM) | Some(libc::EMLINK)
            ) => {}
        Err(e) => return Err(StoreError::path("linking blob into the store from", src, e)),
    }
    let mut input = File::open(src).map_err(|e| StoreError::path("opening", src, e))?;
    copy_verified(store, &mut input, digest, &dest, &src.display().to_string())?;
    Ok(Imported::Copied)
}

/// Copy `input` into the store as `digest`, hashing on the way.
fn copy_verified(
    store: &Store,
    input: &mut dyn Read,
    digest: &Digest,
    dest: &Path,
    from: &str,
) -> Result<()> {
    let tmp = store
        .tmp_dir()
        .join(format!("blob-{}-{}", digest.short(), unique_suffix()));
    let result = (|| {
        let f = File::create(&tmp).map_err(|e| StoreError::path("creating", &tmp, e))?;
        let mut w = DigestWriter::new(f);
        std::io::copy(input, &mut w)
            .map_err(|e| StoreError::io(format!("copying blob {digest} from {from}"), e))?;
        let (actual, _, f) = w.finish();
        if &actual != digest {
            return Err(StoreError::DataLoss(format!(
                "blob {from} has digest {actual}, expected {digest}: the source is corrupt, pull the image again"
            )));
        }
        f.sync_all()
            .map_err(|e| StoreError::path("syncing", &tmp, e))?;
        std::fs::rename(&tmp, dest).map_err(|e| StoreError::path("renaming into place", dest, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Store `bytes` (a config or manifest made here) and return its digest.
pub fn write_bytes(store: &Store, bytes: &[u8]) -> Result<Digest> {
    let digest = Digest::of(bytes);
    let dest = path(store, &digest);
    if !dest.exists() {
        let mut r = bytes;
        copy_verified(store, &mut r, &digest, &dest, "memory")?;
    }
    Ok(digest)
}

/// Hash the file at `p` and refuse it unless it is `digest`.
pub fn verify_file(p: &Path, digest: &Digest) -> Result<()> {
    let f = File::open(p).map_err(|e| StoreError::path("opening", p, e))?;
    let (actual, _, _) = DigestReader::new(f)
        .finish()
        .map_err(|e| StoreError::path("reading", p, e))?;
    if &actual != digest {
        return Err(StoreError::DataLoss(format!(
            "blob {} has digest {actual}, expected {digest}: it is corrupt, pull the image again",
            p.display()
        )));
    }
    Ok(())
}

/// Read a small blob (manifest, config, index) whole and verify it.
pub fn read_verified(p: &Path, digest: &Digest, what: &str) -> Result<Vec<u8>> {
    const MAX: u64 = 16 << 20;
    let f = File::open(p).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound(format!(
            "{what} {digest} is missing ({}): pull the image again",
            p.display()
        )),
        _ => StoreError::path("opening", p, e),
    })?;
    let mut bytes = Vec::new();
    f.take(MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::path("reading", p, e))?;
    if bytes.len() as u64 > MAX {
        return Err(StoreError::InvalidArgument(format!(
            "{what} {digest} is larger than {MAX} bytes: refusing it"
        )));
    }
    let actual = Digest::of(&bytes);
    if &actual != digest {
        return Err(StoreError::DataLoss(format!(
            "{what} {} has digest {actual}, expected {digest}: it is corrupt, pull the image again",
            p.display()
        )));
    }
    Ok(bytes)
}

/// Every blob digest on disk.
pub fn list(store: &Store) -> Result<Vec<Digest>> {
    let dir = store.blobs_dir();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::path("listing", &dir, e)),
    };
    Ok(rd
        .filter_map(|e| e.ok())
        .filter_map(|e| Digest::from_hex(&e.file_name().to_string_lossy()).ok())
        .collect())
}

pub fn remove(store: &Store, digest: &Digest) -> Result<()> {
    let p = path(store, digest);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::path("removing", &p, e)),
    }
}

/// Put a store blob at `dest`: hardlink when asked and possible, else copy
/// (temp + rename). An existing `dest` of the right size is kept.
pub fn export_to(store: &Store, digest: &Digest, dest: &Path, link: bool) -> Result<()> {
    let src = path(store, digest);
    let src_meta = std::fs::metadata(&src).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound(format!(
            "blob {digest} is not in the store: the image is incomplete, pull it again"
        )),
        _ => StoreError::path("reading", &src, e),
    })?;
    if std::fs::metadata(dest).is_ok_and(|m| m.len() == src_meta.len()) {
        return Ok(());
    }
    if link {
        match std::fs::hard_link(&src, dest) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(dest);
                if std::fs::hard_link(&src, dest).is_ok() {
                    return Ok(());
                }
            }
            Err(_) => {}
        }
    }
    let mut out = AtomicFile::create(dest, Durability::Fsync)?;
    let mut input = File::open(&src).map_err(|e| StoreError::path("reading", &src, e))?;
    std::io::copy(&mut input, out.file()).map_err(|e| StoreError::path("writing", dest, e))?;
    Ok(out.commit()?)
}
