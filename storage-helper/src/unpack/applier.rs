//! Writing tar entries beneath a root: every path resolved inside it, the
//! last component never followed, whiteouts recorded or carried out.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::in_root;
use tracing::debug;

use crate::error::{Result, StoreError};
use crate::fsutil;

use super::tar_entry::{clean_path, meta, Meta};
use super::{ApplyOptions, Whiteouts, BUF};

pub(super) struct Applier<'a> {
    root: OwnedFd,
    what: &'a str,
    opts: ApplyOptions,
    /// Directory mtimes, applied last (creating children changes them).
    dir_times: Vec<(PathBuf, i64, i64)>,
    buf: Vec<u8>,
    /// With [`Whiteouts::Apply`]: paths this layer has written, which an
    /// opaque marker keeps.
    written: std::collections::HashSet<PathBuf>,
}

impl<'a> Applier<'a> {
    pub(super) fn new(dest: &Path, what: &'a str, opts: ApplyOptions) -> Result<Self> {
        let root = in_root::open_dir(dest).map_err(|e| StoreError::path("opening", dest, e))?;
        Ok(Applier {
            root,
            what,
            opts,
            dir_times: Vec::new(),
            buf: vec![0u8; BUF],
            written: std::collections::HashSet::new(),
        })
    }

    fn fail(&self, path: &str, doing: &str, e: std::io::Error) -> StoreError {
        StoreError::io(format!("{}: {doing} {path}", self.what), e)
    }

    pub(super) fn apply<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        corrupt: &dyn Fn(std::io::Error) -> StoreError,
    ) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let Some(rel) = clean_path(&raw).map_err(|m| self.unsafe_entry(&shown, m))? else {
            // The archive's root ("./"): only its metadata matters, and only
            // for a layer (a copy goes into a directory that exists).
            if self.opts.whiteouts && entry.header().entry_type().is_dir() {
                let meta = meta(entry).map_err(corrupt)?;
                let root = self
                    .root
                    .try_clone()
                    .map_err(|e| self.fail(".", "opening", e))?;
                self.set_dir_meta(&root, ".", &meta)?;
                self.dir_times
                    .push((PathBuf::new(), meta.mtime, meta.mtime_ns));
            }
            return Ok(());
        };
        let rel = self.place(rel);
        let shown = if self.opts.whiteouts {
            shown
        } else {
            format!("/{}", rel.display())
        };
        let kind = entry.header().entry_type();
        let mut meta = meta(entry).map_err(corrupt)?;
        if let Some((uid, gid)) = self.opts.owner {
            (meta.uid, meta.gid) = (uid, gid);
        }
        if self.opts.ignore_devices && matches!(kind, tar::EntryType::Char | tar::EntryType::Block)
        {
            return Ok(());
        }
        let name = rel.file_name().map(OsStr::to_owned).unwrap_or_default();
        let parent_rel = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let parent = in_root::mkdir_all_in_root(self.root.as_fd(), &parent_rel)
            .map_err(|e| self.fail(&shown, "creating the parent of", e))?;
        let pfd = parent.as_fd();
        let name_bytes = name.as_bytes();
        if !self.opts.replace_dir_nondir {
            self.check_replace(pfd, &name, &shown, kind.is_dir())?;
        }

        if let Some(hidden) = name_bytes
            .strip_prefix(b".wh.")
            .filter(|_| self.opts.whiteouts)
        {
            if self.opts.whiteout_mode == Whiteouts::Apply {
                return self.apply_whiteout(pfd, &parent_rel, hidden, &shown);
            }
            if hidden == b".wh..opq" {
                return fsutil::fsetxattr(pfd, "trusted.overlay.opaque", b"y")
                    .map_err(|e| self.fail(&shown, "marking opaque", e));
            }
            if hidden.starts_with(b".wh.") {
                debug!(layer = self.what, entry = %shown, "ignoring aufs metadata entry");
                return Ok(());
            }
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(self.unsafe_entry(&shown, "whiteout of nothing"));
            }
            let hidden = OsStr::from_bytes(hidden);
            fsutil::remove_at(pfd, hidden).map_err(|e| self.fail(&shown, "replacing", e))?;
            fsutil::mknodat(pfd, hidden, libc::S_IFCHR, 0)
                .map_err(|e| self.fail(&shown, "creating the whiteout for", e))?;
            return fsutil::chown_at(pfd, hidden, meta.uid, meta.gid)
                .map_err(|e| self.fail(&shown, "chown", e));
        }

        if self.opts.whiteout_mode == Whiteouts::Apply {
            self.written.insert(rel.clone());
        }
        use tar::EntryType as T;
        match kind {
            T::Directory => {
                match in_root::lstat_at(pfd, &name).map_err(|e| self.fail(&shown, "stat", e))? {
                    Some(st) if in_root::is_dir(&st) => {}
                    Some(_) => {
                        fsutil::remove_at(pfd, &name)
                            .map_err(|e| self.fail(&shown, "replacing", e))?;
                        in_root::mkdirat(pfd, &name, 0o700)
                            .map_err(|e| self.fail(&shown, "creating", e))?;
                    }
                    None => in_root::mkdirat(pfd, &name, 0o700)
                        .map_err(|e| self.fail(&shown, "creating", e))?,
                }
                let dir = open_child(&parent, &name, libc::O_RDONLY | libc::O_DIRECTORY)
                    .map_err(|e| self.fail(&shown, "opening", e))?;
                self.set_dir_meta(&dir, &shown, &meta)?;
                self.dir_times.push((rel, meta.mtime, meta.mtime_ns));
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                fsutil::remove_at(pfd, &name).map_err(|e| self.fail(&shown, "replacing", e))?;
                let fd = open_child(
                    &parent,
                    &name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                )
                .map_err(|e| self.fail(&shown, "creating", e))?;
                let mut file = File::from(fd);
                loop {
                    let n = match entry.read(&mut self.buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(corrupt(e)),
                    };
                    file.write_all(&self.buf[..n])
                        .map_err(|e| self.fail(&shown, "writing", e))?;
                }
                let fd = std::os::fd::AsFd::as_fd(&file);
                fsutil::fchown(fd, meta.uid, meta.gid)
                    .map_err(|e| self.fail(&shown, "chown", e))?;
                fsutil::fchmod(fd, meta.mode).map_err(|e| self.fail(&shown, "chmod", e))?;
                for (k, v) in &meta.xattrs {
                    self.xattr_result(&shown, k, fsutil::fsetxattr(fd, k, v))?;
                }
                fsutil::set_times_fd(fd, meta.mtime, meta.mtime_ns)
                    .map_err(|e| self.fail(&shown, "setting times of", e))?;
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                if target.is_empty() {
                    return Err(self.unsafe_entry(&shown, "symlink without a target"));
                }
                fsutil::remove_at(pfd, &name).map_err(|e| self.fail(&shown, "replacing", e))?;
                fsutil::symlinkat(OsStr::from_bytes(&target), pfd, &name)
                    .map_err(|e| self.fail(&shown, "creating symlink", e))?;
                fsutil::chown_at(pfd, &name, meta.uid, meta.gid)
                    .map_err(|e| self.fail(&shown, "chown", e))?;
                for (k, v) in &meta.xattrs {
                    self.xattr_result(&shown, k, fsutil::lsetxattr_at(pfd, &name, k, v))?;
                }
                fsutil::set_times_at(pfd, &name, meta.mtime, meta.mtime_ns)
                    .map_err(|e| self.fail(&shown, "setting times of", e))?;
            }
            T::Link => {
                let target_raw = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let target = clean_path(&target_raw)
                    .map_err(|m| self.unsafe_entry(&shown, m))?
                    .ok_or_else(|| self.unsafe_entry(&shown, "hard link to the root"))?;
                let target = self.place(target);
                if target == rel {
                    return Ok(());
                }
                let tparent = in_root::open_dir_in_root(
                    self.root.as_fd(),
                    target.parent().unwrap_or(Path::new("")),
                )
                .map_err(|e| self.fail(&shown, "finding the hard link target of", e))?;
                let tname = target.file_name().unwrap_or_default();
                fsutil::remove_at(pfd, &name).map_err(|e| self.fail(&shown, "replacing", e))?;
                fsutil::linkat(tparent.as_fd(), tname, pfd, &name).map_err(|e| {
                    self.fail(
                        &shown,
                        &format!(
                            "hard linking (to {}, which must come earlier in the same layer)",
                            target.display()
                        ),
                        e,
                    )
                })?;
            }
            T::Char | T::Block | T::Fifo => {
                let ftype = match kind {
                    T::Char => libc::S_IFCHR,
                    T::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                let major = entry.header().device_major().ok().flatten().unwrap_or(0);
                let minor = entry.header().device_minor().ok().flatten().unwrap_or(0);
                fsutil::remove_at(pfd, &name).map_err(|e| self.fail(&shown, "replacing", e))?;
                fsutil::mknodat(pfd, &name, ftype | meta.mode, libc::makedev(major, minor))
                    .map_err(|e| self.fail(&shown, "mknod", e))?;
                fsutil::chown_at(pfd, &name, meta.uid, meta.gid)
                    .map_err(|e| self.fail(&shown, "chown", e))?;
                fsutil::chmod_at(pfd, &name, meta.mode)
                    .map_err(|e| self.fail(&shown, "chmod", e))?;
                for (k, v) in &meta.xattrs {
                    self.xattr_result(&shown, k, fsutil::lsetxattr_at(pfd, &name, k, v))?;
                }
                fsutil::set_times_at(pfd, &name, meta.mtime, meta.mtime_ns)
                    .map_err(|e| self.fail(&shown, "setting times of", e))?;
            }
            other => {
                debug!(layer = self.what, entry = %shown, kind = ?other, "skipping tar entry of this type")
            }
        }
        Ok(())
    }

    /// Where an entry's path lands: renamed, then under the prefix.
    fn place(&self, rel: PathBuf) -> PathBuf {
        let rel = match &self.opts.rename {
            Some((from, to)) => {
                let mut comps = rel.components();
                match comps.next() {
                    Some(first) if first.as_os_str() == from.as_os_str() => {
                        Path::new(to).join(comps.as_path())
                    }
                    _ => rel,
                }
            }
            None => rel,
        };
        if self.opts.prefix.as_os_str().is_empty() {
            rel
        } else {
            self.opts.prefix.join(rel)
        }
    }

    /// Refuse to replace a directory by a non-directory or the reverse.
    fn check_replace(
        &self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        shown: &str,
        entry_is_dir: bool,
    ) -> Result<()> {
        let existing = in_root::lstat_at(parent, name).map_err(|e| self.fail(shown, "stat", e))?;
        match existing {
            Some(st) if in_root::is_dir(&st) != entry_is_dir => {
                Err(StoreError::FailedPrecondition(format!(
                    "error creating {shown:?}: {} (use --overwrite to replace it): file exists",
                    if entry_is_dir {
                        "a non-directory is in the way of a directory"
                    } else {
                        "a directory is in the way of a non-directory"
                    }
                )))
            }
            _ => Ok(()),
        }
    }

    /// A whiteout carried out: `.wh.NAME` deletes NAME, `.wh..wh..opq`
    /// empties its directory of what this layer did not write.
    fn apply_whiteout(
        &self,
        pfd: BorrowedFd<'_>,
        parent_rel: &Path,
        hidden: &[u8],
        shown: &str,
    ) -> Result<()> {
        if hidden == b".wh..opq" {
            return self
                .clear_unwritten(pfd, parent_rel)
                .map_err(|e| self.fail(shown, "applying the opaque marker", e));
        }
        if hidden.starts_with(b".wh.") {
            debug!(layer = self.what, entry = %shown, "ignoring aufs metadata entry");
            return Ok(());
        }
        if hidden.is_empty() || hidden == b"." || hidden == b".." || hidden.contains(&b'/') {
            return Err(self.unsafe_entry(shown, "whiteout of nothing"));
        }
        fsutil::remove_at(pfd, OsStr::from_bytes(hidden))
            .map_err(|e| self.fail(shown, "deleting what it whites out:", e))
    }

    /// Remove from `dir` (at `rel`) everything this layer has not written,
    /// descending into the directories it has.
    fn clear_unwritten(&self, dir: BorrowedFd<'_>, rel: &Path) -> std::io::Result<()> {
        let listing = format!("/proc/self/fd/{}", dir.as_raw_fd());
        let names: Vec<std::ffi::OsString> = std::fs::read_dir(&listing)?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        for name in names {
            let child = rel.join(&name);
            if !self.written.contains(&child) {
                fsutil::remove_at(dir, &name)?;
            } else if let Some(st) = in_root::lstat_at(dir, &name)? {
                if in_root::is_dir(&st) {
                    let sub = in_root::open_child_dir(dir, &name)?;
                    self.clear_unwritten(sub.as_fd(), &child)?;
                }
            }
        }
        Ok(())
    }

    fn set_dir_meta(&self, dir: &OwnedFd, shown: &str, meta: &Meta) -> Result<()> {
        let fd = dir.as_fd();
        fsutil::fchown(fd, meta.uid, meta.gid).map_err(|e| self.fail(shown, "chown", e))?;
        fsutil::fchmod(fd, meta.mode).map_err(|e| self.fail(shown, "chmod", e))?;
        for (k, v) in &meta.xattrs {
            self.xattr_result(shown, k, fsutil::fsetxattr(fd, k, v))?;
        }
        Ok(())
    }

    fn xattr_result(&self, shown: &str, key: &str, r: std::io::Result<()>) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {
                debug!(
                    layer = self.what,
                    entry = shown,
                    key,
                    "xattr not supported here; skipped"
                );
                Ok(())
            }
            Err(e) => Err(self.fail(shown, &format!("setting xattr {key} on"), e)),
        }
    }

    fn unsafe_entry(&self, shown: &str, why: &str) -> StoreError {
        StoreError::InvalidArgument(format!(
            "{}: tar entry {shown:?} is refused ({why}): the image is malformed or malicious",
            self.what
        ))
    }

    /// Set directory mtimes, deepest first.
    pub(super) fn finish(&mut self) -> Result<()> {
        for (rel, secs, nsec) in self.dir_times.drain(..).rev() {
            let shown = rel.display().to_string();
            let dir = in_root::open_dir_in_root(self.root.as_fd(), &rel)
                .map_err(|e| StoreError::io(format!("{}: opening {shown}", self.what), e))?;
            fsutil::set_times_fd(dir.as_fd(), secs, nsec).map_err(|e| {
                StoreError::io(format!("{}: setting times of {shown}", self.what), e)
            })?;
        }
        Ok(())
    }
}

fn open_child(dir: &OwnedFd, name: &OsStr, flags: libc::c_int) -> std::io::Result<OwnedFd> {
    let c = std::ffi::CString::new(name.as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: openat relative to a directory we hold; O_NOFOLLOW keeps the
    // last component from being a symlink.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openat just returned this descriptor (checked non-negative above);
    // nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
