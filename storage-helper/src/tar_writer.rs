//! Writing a directory tree as a tar stream: a container's whole file
//! system (export) or its upper directory as an OCI layer (commit), where
//! overlay whiteouts turn back into `.wh.NAME` and `.wh..wh..opq` entries.
//! Entries are sorted (parents first) so the same tree gives the same tar.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::diff::{Change, ChangeKind};
use crate::error::{Result, StoreError};
use crate::fsutil;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// A plain root file system (a mounted container).
    Rootfs,
    /// An overlay upper directory, written as an OCI layer diff.
    OverlayUpper,
}

/// What a layer's entries get as their modification time (podman build
/// `--timestamp`, `--source-date-epoch` with `--rewrite-timestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mtime {
    /// As on disk.
    #[default]
    Keep,
    /// Every entry this time.
    Set(u64),
    /// Entries newer than this time get it.
    Clamp(u64),
}

/// How a layer's entries are rewritten on the way out of a container.
#[derive(Debug, Clone, Default)]
pub struct Rewrite {
    pub mtime: Mtime,
    /// The container's user namespace: owners are written as the
    /// container's IDs, not the host's.
    pub unmap: Option<crate::idmap::Mapping>,
    /// Paths (relative to the tree's root) left out with what is below them.
    pub exclude: Vec<PathBuf>,
}

impl Mtime {
    fn apply(self, t: u64) -> u64 {
        match self {
            Mtime::Keep => t,
            Mtime::Set(s) => s,
            Mtime::Clamp(c) => t.min(c),
        }
    }
}

/// Write the tree under `root` as a tar into `out`; returns `out`.
pub fn write_tree<W: Write>(root: &Path, kind: TreeKind, out: W) -> Result<W> {
    write_tree_with(root, kind, Rewrite::default(), out)
}

/// [`write_tree`] with entries rewritten as `rw` says.
pub fn write_tree_with<W: Write>(root: &Path, kind: TreeKind, rw: Rewrite, out: W) -> Result<W> {
    let mut b = builder(out);
    let mut w = Walker::new(kind);
    w.rewrite = rw;
    w.dir(&mut b, root, Path::new(""))?;
    b.into_inner()
        .map_err(|e| StoreError::io("finishing the tar stream", e))
}

/// Write `source` (a file or directory, not followed if a symlink) as a tar
/// into `out` under the name `name`; an empty `name` writes a directory's
/// contents without an entry for the directory itself (`podman cp DIR/.`).
/// Returns the number of entries and `out`.
pub fn write_subtree<W: Write>(source: &Path, name: &Path, out: W) -> Result<(u64, W)> {
    let mut b = builder(out);
    let mut w = Walker::new(TreeKind::Rootfs);
    if name.as_os_str().is_empty() {
        w.dir(&mut b, source, Path::new(""))?;
    } else {
        // `source` may be a /proc/self/fd link: it is followed, once.
        let meta = std::fs::metadata(source).map_err(|e| StoreError::path("reading", source, e))?;
        w.entry_meta(&mut b, source, name, meta, true)?;
    }
    let out = b
        .into_inner()
        .map_err(|e| StoreError::io("finishing the tar stream", e))?;
    Ok((w.entries, out))
}

/// Write an OCI layer of `changes` (sorted, as [`crate::diff`] gives them)
/// to the tree under `root`: each added or changed path as it is now, each
/// deleted one as a `.wh.NAME` whiteout (containers-storage's
/// ExportChanges, for drivers whose container root is a full copy).
pub fn write_changes<W: Write>(root: &Path, changes: &[Change], rw: Rewrite, out: W) -> Result<W> {
    let mut b = builder(out);
    let mut w = Walker::new(TreeKind::Rootfs);
    w.rewrite = rw;
    w.recursive = false;
    for c in changes {
        let rel = Path::new(c.path.trim_start_matches('/'));
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            continue;
        };
        if c.kind == ChangeKind::Deleted {
            let pmeta = std::fs::symlink_metadata(root.join(parent))
                .map_err(|e| StoreError::path("reading", &root.join(parent), e))?;
            let mut wh = std::ffi::OsString::from(".wh.");
            wh.push(name);
            w.empty_file(&mut b, &parent.join(wh), &pmeta)?;
        } else {
            w.entry(&mut b, &root.join(rel), rel)?;
        }
    }
    b.into_inner()
        .map_err(|e| StoreError::io("finishing the tar stream", e))
}

fn builder<W: Write>(out: W) -> tar::Builder<W> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b
}

struct Walker {
    kind: TreeKind,
    /// (dev, ino) -> first path, for hard links.
    links: HashMap<(u64, u64), PathBuf>,
    entries: u64,
    /// Whether a directory entry brings its contents.
    recursive: bool,
    rewrite: Rewrite,
}

impl Walker {
    fn new(kind: TreeKind) -> Self {
        Walker {
            kind,
            links: HashMap::new(),
            entries: 0,
            recursive: true,
            rewrite: Rewrite::default(),
        }
    }

    /// The children of directory `dir`, named `rel/NAME` in the tar.
    ///
    /// The directory is opened once (not following a symlink, unless it is
    /// the tree's root) and its children are reached through that
    /// descriptor: a running container that swaps a directory for a
    /// symlink while it is read cannot send the walk outside the tree.
    fn dir<W: Write>(&mut self, b: &mut tar::Builder<W>, dir: &Path, rel: &Path) -> Result<()> {
        self.dir_at(b, dir, rel, rel.as_os_str().is_empty())
    }

    fn dir_at<W: Write>(
        &mut self,
        b: &mut tar::Builder<W>,
        dir: &Path,
        rel: &Path,
        follow: bool,
    ) -> Result<()> {
        let d = open(dir, true, follow).map_err(|e| StoreError::path("opening", dir, e))?;
        let pinned = PathBuf::from(format!("/proc/self/fd/{}", d.as_raw_fd()));
        let rd = std::fs::read_dir(&pinned).map_err(|e| StoreError::path("reading", dir, e))?;
        let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            self.entry(b, &pinned.join(&name), &rel.join(&name))?;
        }
        Ok(())
    }

    /// The file system object `p` (and what is below it), named `r`.
    fn entry<W: Write>(&mut self, b: &mut tar::Builder<W>, p: &Path, r: &Path) -> Result<()> {
        let meta = std::fs::symlink_metadata(p).map_err(|e| StoreError::path("reading", p, e))?;
        self.entry_meta(b, p, r, meta, false)
    }

    fn entry_meta<W: Write>(
        &mut self,
        b: &mut tar::Builder<W>,
        p: &Path,
        r: &Path,
        meta: std::fs::Metadata,
        follow: bool,
    ) -> Result<()> {
        if self.rewrite.exclude.iter().any(|x| x == r) {
            return Ok(());
        }
        let ft = meta.file_type();
        if self.kind == TreeKind::OverlayUpper && ft.is_char_device() && meta.rdev() == 0 {
            let mut wh = std::ffi::OsString::from(".wh.");
            wh.push(r.file_name().unwrap_or_default());
            let parent = r.parent().unwrap_or(Path::new(""));
            return self.empty_file(b, &parent.join(wh), &meta);
        }
        if ft.is_socket() {
            return Ok(());
        }
        self.entries += 1;
        let mut h = header(&meta, &self.rewrite);
        self.xattrs(b, p)?;
        let err =
            |e: std::io::Error| StoreError::io(format!("adding {} to the tar", r.display()), e);
        if ft.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            let mut dname = r.as_os_str().as_bytes().to_vec();
            dname.push(b'/');
            b.append_data(
                &mut h,
                Path::new(std::ffi::OsStr::from_bytes(&dname)),
                std::io::empty(),
            )
            .map_err(err)?;
            if self.kind == TreeKind::OverlayUpper
                && fsutil::get_xattr(p, "trusted.overlay.opaque")
                    .ok()
                    .flatten()
                    .is_some_and(|v| v == b"y")
            {
                self.empty_file(b, &r.join(".wh..wh..opq"), &meta)?;
            }
            if self.recursive {
                self.dir_at(b, p, r, follow)?;
            }
        } else if ft.is_symlink() {
            let target =
                std::fs::read_link(p).map_err(|e| StoreError::path("reading link", p, e))?;
            h.set_entry_type(tar::EntryType::Symlink);
            b.append_link(&mut h, r, &target).map_err(err)?;
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    b.append_link(&mut h, r, first).map_err(err)?;
                    return Ok(());
                }
                self.links.insert(key, r.to_path_buf());
            }
            h.set_entry_type(tar::EntryType::Regular);
            let f = open(p, false, follow).map_err(|e| StoreError::path("opening", p, e))?;
            b.append_data(&mut h, r, f).map_err(err)?;
        } else {
            let t = if ft.is_char_device() {
                tar::EntryType::Char
            } else if ft.is_block_device() {
                tar::EntryType::Block
            } else {
                tar::EntryType::Fifo
            };
            h.set_entry_type(t);
            if t != tar::EntryType::Fifo {
                let rdev = meta.rdev();
                h.set_device_major(libc::major(rdev)).map_err(err)?;
                h.set_device_minor(libc::minor(rdev)).map_err(err)?;
            }
            b.append_data(&mut h, r, std::io::empty()).map_err(err)?;
        }
        Ok(())
    }

    fn empty_file<W: Write>(
        &self,
        b: &mut tar::Builder<W>,
        rel: &Path,
        meta: &std::fs::Metadata,
    ) -> Result<()> {
        let mut h = header(meta, &self.rewrite);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(0);
        b.append_data(&mut h, rel, std::io::empty())
            .map_err(|e| StoreError::io(format!("adding {} to the tar", rel.display()), e))
    }

    fn xattrs<W: Write>(&self, b: &mut tar::Builder<W>, p: &Path) -> Result<()> {
        let xs = fsutil::list_xattrs(p).map_err(|e| StoreError::path("reading xattrs of", p, e))?;
        let keep: Vec<(String, Vec<u8>)> = xs
            .into_iter()
            .filter(|(k, _)| !k.starts_with("trusted.overlay."))
            .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v))
            .collect();
        if !keep.is_empty() {
            b.append_pax_extensions(keep.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .map_err(|e| StoreError::io(format!("adding xattrs of {}", p.display()), e))?;
        }
        Ok(())
    }
}

/// Open for reading; the last component is not followed unless `follow`.
fn open(p: &Path, dir: bool, follow: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = if dir { libc::O_DIRECTORY } else { 0 };
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(p)
}

fn header(meta: &std::fs::Metadata, rw: &Rewrite) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(meta.mode() & 0o7777);
    let (uid, gid) = match &rw.unmap {
        Some(m) => m.to_container(meta.uid(), meta.gid()),
        None => (meta.uid(), meta.gid()),
    };
    h.set_uid(uid as u64);
    h.set_gid(gid as u64);
    h.set_mtime(rw.mtime.apply(meta.mtime().max(0) as u64));
    h.set_size(if meta.is_file() { meta.len() } else { 0 });
    h
}
