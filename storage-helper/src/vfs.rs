//! The vfs driver's two primitives (containers-storage's `vfs`): a full
//! copy of a directory tree, keeping owners, modes, times, xattrs, hard
//! links, symlinks and device nodes; and the changes between two trees
//! (containers-storage's `ChangesDirs`), for `diff` and `commit`.

use std::collections::HashMap;
use std::fs::Metadata;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::diff::{Change, ChangeKind};
use crate::fsutil;

/// Copy the tree at `src` to `dst` (which must not exist yet).
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(src)?;
    std::fs::create_dir(dst)?;
    let mut c = Copier {
        links: HashMap::new(),
        dir_times: Vec::new(),
    };
    c.dir(src, dst)?;
    set_meta(src, dst, &meta)?;
    c.dir_times.push((dst.to_path_buf(), meta));
    // Directory times last: creating their children changed them.
    for (d, m) in c.dir_times.iter().rev() {
        fsutil::set_times_path(d, (m.atime(), m.atime_nsec()), (m.mtime(), m.mtime_nsec()))?;
    }
    Ok(())
}

struct Copier {
    /// (dev, ino) of a multiply linked file -> its first copy.
    links: HashMap<(u64, u64), PathBuf>,
    dir_times: Vec<(PathBuf, Metadata)>,
}

impl Copier {
    fn dir(&mut self, src: &Path, dst: &Path) -> io::Result<()> {
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            let (s, d) = (entry.path(), dst.join(entry.file_name()));
            let meta = std::fs::symlink_metadata(&s)?;
            let ft = meta.file_type();
            let with = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", s.display()));
            if ft.is_dir() {
                std::fs::create_dir(&d).map_err(with)?;
                self.dir(&s, &d)?;
                set_meta(&s, &d, &meta).map_err(with)?;
                self.dir_times.push((d, meta));
                continue;
            }
            if ft.is_file() && meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    std::fs::hard_link(first, &d).map_err(with)?;
                    continue;
                }
                self.links.insert(key, d.clone());
            }
            if ft.is_file() {
                std::fs::copy(&s, &d).map_err(with)?;
            } else if ft.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&s)?, &d).map_err(with)?;
            } else {
                let kind = if ft.is_char_device() {
                    libc::S_IFCHR
                } else if ft.is_block_device() {
                    libc::S_IFBLK
                } else if ft.is_socket() {
                    libc::S_IFSOCK
                } else {
                    libc::S_IFIFO
                };
                let parent = std::fs::File::open(dst)?;
                fsutil::mknodat(
                    parent.as_fd(),
                    &entry.file_name(),
                    kind | (meta.mode() & 0o7777),
                    meta.rdev() as libc::dev_t,
                )
                .map_err(with)?;
            }
            set_meta(&s, &d, &meta).map_err(with)?;
            fsutil::set_times_path(
                &d,
                (meta.atime(), meta.atime_nsec()),
                (meta.mtime(), meta.mtime_nsec()),
            )
            .map_err(with)?;
        }
        Ok(())
    }
}

/// Owner, then mode (a chown clears set-id bits), then xattrs.
fn set_meta(src: &Path, dst: &Path, meta: &Metadata) -> io::Result<()> {
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    if !meta.file_type().is_symlink() {
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    for (k, v) in fsutil::list_xattrs(src)? {
        match fsutil::lsetxattr(dst, &k, &v) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
            other => other?,
        }
    }
    Ok(())
}

/// What `new` changed from `old` (None: from nothing), sorted by path:
/// containers-storage's rules (a non-directory changed when its type,
/// mode, owner, device, size, mtime or file capabilities differ; a
/// directory when its type, mode or owner do, or anything below it did).
pub fn changes(old: Option<&Path>, new: &Path) -> io::Result<Vec<Change>> {
    let mut out = Vec::new();
    walk(old, new, Path::new(""), &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Compare the directory `rel` of both trees; returns whether anything
/// below it changed.
fn walk(old: Option<&Path>, new: &Path, rel: &Path, out: &mut Vec<Change>) -> io::Result<bool> {
    let before = out.len();
    let new_dir = new.join(rel);
    let mut names: Vec<_> = std::fs::read_dir(&new_dir)?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    for name in &names {
        let r = rel.join(name);
        let shown = format!("/{}", r.display());
        let nm = std::fs::symlink_metadata(new.join(&r))?;
        let om = old.and_then(|o| std::fs::symlink_metadata(o.join(&r)).ok());
        let Some(om) = om else {
            out.push(Change {
                path: shown,
                kind: ChangeKind::Added,
            });
            if nm.is_dir() {
                walk(None, new, &r, out)?;
            }
            continue;
        };
        let differs = differ(old.map(|o| o.join(&r)).as_deref(), &om, &new.join(&r), &nm);
        if differs {
            out.push(Change {
                path: shown.clone(),
                kind: ChangeKind::Modified,
            });
        }
        if nm.is_dir() {
            let below = walk(om.is_dir().then_some(old).flatten(), new, &r, out)?;
            if below && !differs {
                out.push(Change {
                    path: shown,
                    kind: ChangeKind::Modified,
                });
            }
        }
    }
    if let Some(o) = old {
        if let Ok(rd) = std::fs::read_dir(o.join(rel)) {
            for e in rd.filter_map(|e| e.ok()) {
                if !names.contains(&e.file_name()) {
                    out.push(Change {
                        path: format!("/{}", rel.join(e.file_name()).display()),
                        kind: ChangeKind::Deleted,
                    });
                }
            }
        }
    }
    Ok(out.len() > before)
}

fn differ(old_path: Option<&Path>, o: &Metadata, new_path: &Path, n: &Metadata) -> bool {
    if o.mode() != n.mode() || o.uid() != n.uid() || o.gid() != n.gid() || o.rdev() != n.rdev() {
        return true;
    }
    if !n.is_dir() {
        let same_time = o.mtime() == n.mtime()
            && (o.mtime_nsec() == n.mtime_nsec() || o.mtime_nsec() == 0 || n.mtime_nsec() == 0);
        if !same_time || o.len() != n.len() {
            return true;
        }
    }
    let cap = |p: &Path| fsutil::get_xattr(p, "security.capability").ok().flatten();
    old_path.is_some_and(|op| cap(op) != cap(new_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree(root: &Path) {
        std::fs::create_dir_all(root.join("etc/sub")).unwrap();
        std::fs::write(root.join("etc/passwd"), "root:x:0:0").unwrap();
        std::fs::write(root.join("etc/sub/f"), "f").unwrap();
        std::fs::hard_link(root.join("etc/passwd"), root.join("etc/passwd-link")).unwrap();
        symlink("passwd", root.join("etc/pw")).unwrap();
        std::fs::set_permissions(
            root.join("etc/sub/f"),
            std::fs::Permissions::from_mode(0o4751),
        )
        .unwrap();
    }

    #[test]
    fn a_copy_keeps_everything_and_shows_no_changes() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir(&src).unwrap();
        tree(&src);
        let dst = d.path().join("dst");
        copy_tree(&src, &dst).unwrap();
        let (a, b) = (
            std::fs::metadata(dst.join("etc/passwd")).unwrap(),
            std::fs::metadata(dst.join("etc/passwd-link")).unwrap(),
        );
        assert_eq!(a.ino(), b.ino(), "hard links stay linked");
        assert_eq!(
            std::fs::read_link(dst.join("etc/pw")).unwrap(),
            Path::new("passwd")
        );
        assert_eq!(
            std::fs::metadata(dst.join("etc/sub/f")).unwrap().mode() & 0o7777,
            0o4751
        );
        assert_eq!(
            std::fs::metadata(dst.join("etc")).unwrap().mtime_nsec(),
            std::fs::metadata(src.join("etc")).unwrap().mtime_nsec()
        );
        assert_eq!(changes(Some(&src), &dst).unwrap(), Vec::new());
    }

    #[test]
    fn changes_are_added_changed_and_deleted_with_their_parents() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir(&src).unwrap();
        tree(&src);
        let dst = d.path().join("dst");
        copy_tree(&src, &dst).unwrap();
        std::fs::write(dst.join("etc/sub/f"), "longer now").unwrap();
        std::fs::remove_file(dst.join("etc/pw")).unwrap();
        std::fs::create_dir(dst.join("new")).unwrap();
        std::fs::write(dst.join("new/file"), "x").unwrap();
        let got: Vec<(String, char)> = changes(Some(&src), &dst)
            .unwrap()
            .into_iter()
            .map(|c| (c.path, c.kind.letter()))
            .collect();
        let want: Vec<(String, char)> = [
            ("/etc", 'C'),
            ("/etc/pw", 'D'),
            ("/etc/sub", 'C'),
            ("/etc/sub/f", 'C'),
            ("/new", 'A'),
            ("/new/file", 'A'),
        ]
        .into_iter()
        .map(|(p, k)| (p.to_string(), k))
        .collect();
        assert_eq!(got, want);
        // From nothing, everything is added.
        assert!(changes(None, &dst)
            .unwrap()
            .iter()
            .all(|c| c.kind == ChangeKind::Added));
    }
}
