//! Deterministic image layers: tar archives compressed with gzip.
//!
//! A [`Layer`] is built from a list of [`Entry`] values (regular files,
//! directories, symlinks, hardlinks and the OCI whiteout markers) with a
//! [`LayerBuilder`]. Every header gets a fixed mtime ([`FIXED_MTIME`]), the
//! entries are sorted by path and the gzip stream uses a fixed level and a
//! zero gzip mtime, so the same entries always give the same digests.
//!
//! The busybox root filesystem lives in [`crate::busybox`].

use std::io::{Read, Write};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// Modification time written into every tar header (2023-11-14T22:13:20Z).
pub const FIXED_MTIME: u64 = 1_700_000_000;

/// Gzip compression level used for every layer.
pub const GZIP_LEVEL: u32 = 6;

/// `sha256:<hex>` digest of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The hex part of a `sha256:<64 lowercase hex>` digest, or an error when the
/// digest is malformed (so it is safe to use as a file name).
pub fn digest_hex(digest: &str) -> Result<&str> {
    let hex = digest
        .strip_prefix("sha256:")
        .with_context(|| format!("digest {digest:?} is not a sha256 digest"))?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        bail!("digest {digest:?} does not have 64 lowercase hex digits");
    }
    Ok(hex)
}

/// One compressed layer blob together with its two digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// The gzip-compressed tar archive (the registry blob).
    pub tar_gz: Vec<u8>,
    /// `sha256:` digest of [`Layer::tar_gz`] (the blob digest).
    pub digest: String,
    /// `sha256:` digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
}

impl Layer {
    /// Compress an uncompressed tar archive into a layer.
    pub fn from_tar(tar: &[u8]) -> Result<Layer> {
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
        gz.write_all(tar).context("gzip layer")?;
        let tar_gz = gz.finish().context("finish gzip layer")?;
        Ok(Layer {
            digest: sha256_digest(&tar_gz),
            diff_id: sha256_digest(tar),
            tar_gz,
        })
    }

    /// Size of the compressed blob in bytes.
    pub fn size(&self) -> u64 {
        self.tar_gz.len() as u64
    }

    /// The uncompressed tar archive.
    pub fn tar(&self) -> Result<Vec<u8>> {
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(self.tar_gz.as_slice())
            .read_to_end(&mut tar)
            .context("gunzip layer")?;
        Ok(tar)
    }

    /// Parse the layer back into entries, in archive order. Directory paths
    /// come back without their trailing `/`.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let tar = self.tar()?;
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut out = Vec::new();
        for item in archive.entries().context("read layer tar")? {
            let mut item = item.context("read layer tar entry")?;
            let header = item.header();
            let path = item
                .path()
                .context("entry path")?
                .to_string_lossy()
                .into_owned();
            let path = path.trim_end_matches('/').to_string();
            let (mode, uid, gid) = (header.mode()?, header.uid()?, header.gid()?);
            let entry_type = header.entry_type();
            let link = || -> Result<String> {
                let target = item.link_name()?.context("link without target")?;
                Ok(target.to_string_lossy().into_owned())
            };
            let kind = match entry_type {
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink(link()?),
                tar::EntryType::Link => EntryKind::Hardlink(link()?),
                tar::EntryType::Regular => {
                    let mut data = Vec::new();
                    item.read_to_end(&mut data).context("read entry data")?;
                    EntryKind::File(data)
                }
                other => bail!("unexpected tar entry type {other:?} for {path}"),
            };
            out.push(Entry {
                path,
                kind,
                mode,
                uid,
                gid,
            });
        }
        Ok(out)
    }
}

/// What a layer entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file with its content.
    File(Vec<u8>),
    /// A directory.
    Dir,
    /// A symbolic link to the given target (relative or absolute).
    Symlink(String),
    /// A hard link to another path of the same layer (given without leading `/`).
    Hardlink(String),
}

/// One entry of a layer. Paths are relative to the root of the image
/// (a leading `/` is accepted and stripped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the image, without leading `/`.
    pub path: String,
    /// Kind and payload.
    pub kind: EntryKind,
    /// Permission bits, including setuid/setgid/sticky (e.g. `0o1777`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u64,
    /// Owner gid.
    pub gid: u64,
}

impl Entry {
    fn new(path: &str, kind: EntryKind, mode: u32) -> Entry {
        Entry {
            path: path.trim_start_matches('/').to_string(),
            kind,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    /// A regular file owned by root.
    pub fn file(path: &str, data: impl Into<Vec<u8>>, mode: u32) -> Entry {
        Entry::new(path, EntryKind::File(data.into()), mode)
    }

    /// A directory owned by root.
    pub fn dir(path: &str, mode: u32) -> Entry {
        Entry::new(path, EntryKind::Dir, mode)
    }

    /// A symlink `path -> target`.
    pub fn symlink(path: &str, target: &str) -> Entry {
        Entry::new(path, EntryKind::Symlink(target.to_string()), 0o777)
    }

    /// A hardlink `path` to `target`, another path of the same layer. Its
    /// mode is taken from the target when the layer is built.
    pub fn hardlink(path: &str, target: &str) -> Entry {
        let target = target.trim_start_matches('/').to_string();
        Entry::new(path, EntryKind::Hardlink(target), 0o644)
    }

    /// A whiteout deleting `path` from the lower layers: an empty file named
    /// `.wh.<name>` in the same directory.
    pub fn whiteout(path: &str) -> Entry {
        let path = path.trim_start_matches('/').trim_end_matches('/');
        let (parent, name) = match path.rsplit_once('/') {
            Some((parent, name)) => (format!("{parent}/"), name),
            None => (String::new(), path),
        };
        Entry::file(&format!("{parent}.wh.{name}"), Vec::new(), 0o644)
    }

    /// An opaque marker `<dir>/.wh..wh..opq`: hides everything lower layers
    /// had in `dir`.
    pub fn opaque(dir: &str) -> Entry {
        let dir = dir.trim_start_matches('/').trim_end_matches('/');
        Entry::file(&format!("{dir}/.wh..wh..opq"), Vec::new(), 0o644)
    }

    /// The same entry owned by `uid:gid`.
    pub fn owner(mut self, uid: u64, gid: u64) -> Entry {
        self.uid = uid;
        self.gid = gid;
        self
    }
}

/// Collects entries and writes them as a deterministic layer.
///
/// Entries are sorted by path (a parent directory sorts before its
/// children), except hardlinks, which come last so their targets exist when
/// the archive is extracted. Parent directories are not added implicitly.
#[derive(Clone, Debug, Default)]
pub struct LayerBuilder {
    entries: Vec<Entry>,
}

impl LayerBuilder {
    /// An empty layer.
    pub fn new() -> LayerBuilder {
        LayerBuilder::default()
    }

    /// Add one entry.
    pub fn entry(mut self, entry: Entry) -> LayerBuilder {
        self.entries.push(entry);
        self
    }

    /// Add several entries.
    pub fn entries(mut self, entries: impl IntoIterator<Item = Entry>) -> LayerBuilder {
        self.entries.extend(entries);
        self
    }

    /// Add a regular file owned by root.
    pub fn file(self, path: &str, data: impl Into<Vec<u8>>, mode: u32) -> LayerBuilder {
        self.entry(Entry::file(path, data, mode))
    }

    /// Add a directory owned by root.
    pub fn dir(self, path: &str, mode: u32) -> LayerBuilder {
        self.entry(Entry::dir(path, mode))
    }

    /// Add a symlink.
    pub fn symlink(self, path: &str, target: &str) -> LayerBuilder {
        self.entry(Entry::symlink(path, target))
    }

    /// Add a hardlink to another path of this layer.
    pub fn hardlink(self, path: &str, target: &str) -> LayerBuilder {
        self.entry(Entry::hardlink(path, target))
    }

    /// Add a whiteout for `path`.
    pub fn whiteout(self, path: &str) -> LayerBuilder {
        self.entry(Entry::whiteout(path))
    }

    /// Add an opaque-directory marker for `dir`.
    pub fn opaque(self, dir: &str) -> LayerBuilder {
        self.entry(Entry::opaque(dir))
    }

    /// The uncompressed tar archive.
    pub fn tar(&self) -> Result<Vec<u8>> {
        let mut entries = self.entries.clone();
        for entry in &entries {
            check_path(&entry.path)?;
        }
        entries.sort_by(|a, b| {
            let link = |e: &Entry| matches!(e.kind, EntryKind::Hardlink(_));
            (link(a), &a.path).cmp(&(link(b), &b.path))
        });
        if let Some(pair) = entries.windows(2).find(|w| w[0].path == w[1].path) {
            bail!("layer has two entries for {:?}", pair[0].path);
        }
        let mut builder = tar::Builder::new(Vec::new());
        for entry in &entries {
            append(&mut builder, entry, &entries)
                .with_context(|| format!("add {:?} to layer", entry.path))?;
        }
        builder.into_inner().context("finish layer tar")
    }

    /// Build the compressed layer.
    pub fn build(&self) -> Result<Layer> {
        Layer::from_tar(&self.tar()?)
    }
}

/// Reject empty paths and paths with `.`/`..` or empty components.
fn check_path(path: &str) -> Result<()> {
    if path.is_empty()
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        bail!("invalid layer path {path:?}");
    }
    Ok(())
}

fn append(builder: &mut tar::Builder<Vec<u8>>, entry: &Entry, all: &[Entry]) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mtime(FIXED_MTIME);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    header.set_mode(entry.mode);
    header.set_size(0);
    match &entry.kind {
        EntryKind::File(data) => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, &entry.path, data.as_slice())?;
        }
        EntryKind::Dir => {
            header.set_entry_type(tar::EntryType::Directory);
            builder.append_data(&mut header, format!("{}/", entry.path), std::io::empty())?;
        }
        EntryKind::Symlink(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            builder.append_link(&mut header, &entry.path, target)?;
        }
        EntryKind::Hardlink(target) => {
            let Some(original) = all.iter().find(|e| &e.path == target) else {
                bail!("hardlink target {target:?} is not in the layer");
            };
            header.set_entry_type(tar::EntryType::Link);
            header.set_mode(original.mode);
            builder.append_link(&mut header, &entry.path, target)?;
        }
    }
    Ok(())
}
