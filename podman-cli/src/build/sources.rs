//! COPY and ADD sources: resolved inside their root (the build context, a
//! named build context, or an earlier stage's file system), globs expanded,
//! ignore patterns applied, and written as one tar stream whose entry
//! names are the destination paths. The stream's digest keys the cache.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ignore::Ignore;

mod archive;
use archive::{extract_into, is_archive};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("forbidden path outside the build context: {src} ({resolved})")]
    Outside { src: String, resolved: String },
    #[error("no such file or directory: {src} in {root}: check the path (and .containerignore)")]
    Missing { src: String, root: String },
    #[error("source can't be a URL for COPY: {0}")]
    CopyUrl(String),
    #[error("ADD {0}: the URL was not downloaded")]
    AddUrl(String),
    #[error("{0}: no heredoc of that name")]
    Heredoc(String),
    #[error("{action} {path}: {err}")]
    Io {
        action: &'static str,
        path: String,
        err: std::io::Error,
    },
    #[error("when using COPY with more than one source file, the destination must be a directory and end with a /")]
    NeedDir,
    #[error("invalid --chmod {0:?}: use an octal mode such as 0755")]
    Chmod(String),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SourceError + 'a {
    move |err| SourceError::Io {
        action,
        path: path.display().to_string(),
        err,
    }
}

/// Where the sources are read from.
pub struct SourceRoot<'a> {
    pub dir: PathBuf,
    /// Only for the build context.
    pub ignore: Option<&'a Ignore>,
    /// Paths are checked against escapes (the context) rather than
    /// resolved as if the root were `/` (a stage's file system).
    pub is_context: bool,
}

/// One COPY/ADD, its words already expanded.
pub struct CopyPlan<'a> {
    pub sources: Vec<String>,
    /// Absolute destination (WORKDIR applied), as written (a trailing '/'
    /// kept).
    pub dest: String,
    pub chmod: Option<u32>,
    pub add: bool,
    /// `<<NAME` sources: (name, content).
    pub heredocs: &'a [(String, String)],
    /// The destination exists in the image as a directory.
    pub dest_is_dir: bool,
    /// ADD's URL sources, already downloaded.
    pub downloads: &'a [Download],
}

/// One URL source of ADD, downloaded to a host file.
pub struct Download {
    pub url: String,
    /// The name it gets in a destination directory.
    pub name: String,
    pub file: PathBuf,
}

pub fn parse_chmod(s: &str) -> Result<u32, SourceError> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| SourceError::Chmod(s.to_string()))
}

/// A writer that hashes what passes through.
pub struct Hashing<W> {
    inner: W,
    hash: Sha256,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Write the tar of `plan` from `root` to `out`; returns its sha256 (hex).
pub fn write_tar<W: Write>(
    root: &SourceRoot<'_>,
    plan: &CopyPlan<'_>,
    out: W,
) -> Result<String, SourceError> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut docs: Vec<(String, &str)> = Vec::new();
    let mut fetched: Vec<&Download> = Vec::new();
    for src in &plan.sources {
        if src.contains("://") {
            if !plan.add {
                return Err(SourceError::CopyUrl(src.clone()));
            }
            let d = plan
                .downloads
                .iter()
                .find(|d| d.url == *src)
                .ok_or_else(|| SourceError::AddUrl(src.clone()))?;
            fetched.push(d);
            continue;
        }
        if let Some(name) = src.strip_prefix("<<") {
            let name = name.trim_start_matches('-').trim_matches(['"', '\'']);
            let (_, content) = plan
                .heredocs
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| SourceError::Heredoc(src.clone()))?;
            docs.push((name.to_string(), content));
            continue;
        }
        for rel in expand_glob(root, src)? {
            let host = resolve(root, &rel, src)?;
            files.push((host, rel));
        }
    }
    let many = files.len() + docs.len() + fetched.len() > 1;
    let dest_dir = plan.dest.ends_with('/') || plan.dest_is_dir || many;
    if many && !(plan.dest.ends_with('/') || plan.dest_is_dir) {
        return Err(SourceError::NeedDir);
    }
    let dest = plan
        .dest
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string();
    let mut tar = tar::Builder::new(Hashing {
        inner: out,
        hash: Sha256::new(),
        written: 0,
    });
    tar.follow_symlinks(false);
    let name_in = |base: &str| {
        if dest_dir {
            join(&dest, base)
        } else {
            dest.clone()
        }
    };
    for (name, content) in docs {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(plan.chmod.unwrap_or(0o644));
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mtime(0);
        tar.append_data(&mut h, name_in(&name), content.as_bytes())
            .map_err(io("writing", Path::new(&name)))?;
    }
    // Downloads are files as they came, never extracted.
    for d in fetched {
        let meta = std::fs::metadata(&d.file).map_err(io("stat", &d.file))?;
        append_file(&d.file, &meta, &name_in(&d.name), plan.chmod, &mut tar)?;
    }
    for (host, rel) in files {
        let meta = std::fs::metadata(&host).map_err(io("stat", &host))?;
        let base = Path::new(&rel)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if meta.is_dir() {
            // A directory's contents go to the destination, not its name.
            let mut links = HashMap::new();
            let before = tar.get_ref().written;
            walk_dir(root, &host, &rel, &dest, plan.chmod, &mut links, &mut tar)?;
            // Everything in it ignored: the destination directory is still
            // made, as Buildah makes it from the source directory itself.
            if tar.get_ref().written == before && !dest.is_empty() {
                let mut h = header(&meta, plan.chmod);
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                tar.append_data(&mut h, format!("{dest}/"), std::io::empty())
                    .map_err(io("writing", &host))?;
            }
        } else if plan.add && is_archive(&host)? {
            extract_into(&host, &dest, &mut tar)?;
        } else {
            append_file(&host, &meta, &name_in(&base), plan.chmod, &mut tar)?;
        }
    }
    let h = tar
        .into_inner()
        .map_err(io("finishing", Path::new(&dest)))?;
    Ok(common::random::hex(&h.hash.finalize()))
}

pub(super) fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

/// Lexically clean a relative source path; None when it leaves the root.
pub fn clean(src: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in src.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// Whether anything below the directory `rel` escapes the ignore rules.
fn any_included(
    root: &SourceRoot<'_>,
    ig: &Ignore,
    rel: &str,
    src: &str,
) -> Result<bool, SourceError> {
    let dir = resolve(root, rel, src)?;
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(false);
    };
    for e in rd.flatten() {
        let child = join(rel, &e.file_name().to_string_lossy());
        if !ig.excluded(&child) {
            return Ok(true);
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) && any_included(root, ig, &child, src)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Source paths matching `src` (relative to the root, cleaned).
fn expand_glob(root: &SourceRoot<'_>, src: &str) -> Result<Vec<String>, SourceError> {
    let cleaned = match clean(src) {
        Some(c) => c,
        None if root.is_context => {
            return Err(SourceError::Outside {
                src: src.to_string(),
                resolved: root.dir.join(src).display().to_string(),
            })
        }
        None => String::new(),
    };
    if !cleaned.contains(['*', '?', '[']) {
        if let Some(ig) = root.ignore {
            // An excluded source is missing, unless an exception brings
            // back something below it.
            if ig.excluded(&cleaned)
                && (!ig.has_exceptions() || !any_included(root, ig, &cleaned, src)?)
            {
                return Err(missing(root, src));
            }
        }
        return Ok(vec![cleaned]);
    }
    let mut found = vec![String::new()];
    for part in cleaned.split('/') {
        let mut next = Vec::new();
        let re = super::ignore::component_regex(part);
        for base in &found {
            let dir = resolve(root, base, src)?;
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| re.as_ref().map_or(n == part, |r| r.is_match(n)))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| join(base, &n)));
        }
        found = next;
    }
    if let Some(ig) = root.ignore {
        found.retain(|f| !ig.excluded(f));
    }
    if found.is_empty() {
        return Err(missing(root, src));
    }
    Ok(found)
}

fn missing(root: &SourceRoot<'_>, src: &str) -> SourceError {
    SourceError::Missing {
        src: src.to_string(),
        root: root.dir.display().to_string(),
    }
}

/// The host path of `rel` inside the root: symlinks on the way are
/// followed as if the root were `/`; in the build context a symlink that
/// leads out of it is refused.
pub fn resolve(root: &SourceRoot<'_>, rel: &str, src: &str) -> Result<PathBuf, SourceError> {
    let mut cur = rel.to_string();
    for _ in 0..40 {
        let p = Path::new(&cur);
        let parent = p.parent().unwrap_or(Path::new(""));
        let rootfd = common::in_root::open_dir(&root.dir).map_err(io("opening", &root.dir))?;
        let dirfd = common::in_root::open_dir_in_root(std::os::fd::AsFd::as_fd(&rootfd), parent)
            .map_err(|_| missing(root, src))?;
        let dir_path = std::fs::read_link(format!("/proc/self/fd/{}", dirfd.as_raw_fd()))
            .map_err(io("resolving", Path::new(&cur)))?;
        let Some(name) = p.file_name() else {
            return Ok(dir_path);
        };
        let host = dir_path.join(name);
        let meta = std::fs::symlink_metadata(&host).map_err(|_| missing(root, src))?;
        if !meta.file_type().is_symlink() {
            return Ok(host);
        }
        let target = std::fs::read_link(&host).map_err(io("reading", &host))?;
        let rel_dir = dir_path.strip_prefix(&root.dir).unwrap_or(Path::new(""));
        let joined = if target.is_absolute() {
            if root.is_context {
                return Err(SourceError::Outside {
                    src: src.to_string(),
                    resolved: target.display().to_string(),
                });
            }
            target.to_string_lossy().into_owned()
        } else {
            rel_dir.join(&target).to_string_lossy().into_owned()
        };
        cur = match clean(&joined) {
            Some(c) => c,
            None if root.is_context => {
                return Err(SourceError::Outside {
                    src: src.to_string(),
                    resolved: root.dir.join(rel_dir).join(&target).display().to_string(),
                })
            }
            None => String::new(),
        };
    }
    Err(missing(root, src))
}

/// Files with several links seen so far: (dev, inode) -> name written.
type Links = HashMap<(u64, u64), String>;

fn walk_dir<W: Write>(
    root: &SourceRoot<'_>,
    dir: &Path,
    rel: &str,
    prefix: &str,
    chmod: Option<u32>,
    links: &mut Links,
    tar: &mut tar::Builder<W>,
) -> Result<(), SourceError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io("listing", dir))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let child_rel = join(rel, &name);
        let excluded = root.ignore.is_some_and(|ig| ig.excluded(&child_rel));
        if excluded {
            let keep_walking = e.file_type().is_ok_and(|t| t.is_dir())
                && root
                    .ignore
                    .is_some_and(|ig| ig.walk_excluded_dir(&child_rel));
            if !keep_walking {
                continue;
            }
        }
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path).map_err(io("stat", &path))?;
        let target = join(prefix, &name);
        if meta.is_dir() {
            if !excluded {
                let mut h = header(&meta, chmod);
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                tar.append_data(&mut h, format!("{target}/"), std::io::empty())
                    .map_err(io("writing", &path))?;
            }
            walk_dir(root, &path, &child_rel, &target, chmod, links, tar)?;
        } else if meta.is_file() && meta.nlink() > 1 {
            // Hard links inside the tree stay links, as Buildah copies them.
            match links.get(&(meta.dev(), meta.ino())) {
                Some(first) => {
                    let mut h = header(&meta, chmod);
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    tar.append_link(&mut h, &target, first)
                        .map_err(io("writing", &path))?;
                }
                None => {
                    links.insert((meta.dev(), meta.ino()), target.clone());
                    append_file(&path, &meta, &target, chmod, tar)?;
                }
            }
        } else {
            append_file(&path, &meta, &target, chmod, tar)?;
        }
    }
    Ok(())
}

fn header(meta: &std::fs::Metadata, chmod: Option<u32>) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(chmod.unwrap_or(meta.permissions().mode() & 0o7777));
    h.set_mtime(meta.mtime().max(0) as u64);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn append_file<W: Write>(
    path: &Path,
    meta: &std::fs::Metadata,
    name: &str,
    chmod: Option<u32>,
    tar: &mut tar::Builder<W>,
) -> Result<(), SourceError> {
    let ft = std::fs::symlink_metadata(path)
        .map_err(io("stat", path))?
        .file_type();
    let mut h = header(meta, chmod);
    if ft.is_symlink() {
        let target = std::fs::read_link(path).map_err(io("reading", path))?;
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        tar.append_link(&mut h, name, &target)
            .map_err(io("writing", path))?;
    } else if meta.is_file() {
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(meta.len());
        let f = File::open(path).map_err(io("opening", path))?;
        tar.append_data(&mut h, name, f)
            .map_err(io("writing", path))?;
    }
    // Sockets, fifos and devices in a context are not copied, as Docker.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan<'a>(sources: &[&str], dest: &str) -> CopyPlan<'a> {
        CopyPlan {
            sources: sources.iter().map(|s| s.to_string()).collect(),
            dest: dest.into(),
            chmod: None,
            add: false,
            heredocs: &[],
            dest_is_dir: false,
            downloads: &[],
        }
    }

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        tar::Archive::new(tar_bytes)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn context_files_globs_and_escapes() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.txt"), "a").unwrap();
        std::fs::write(d.path().join("b.txt"), "b").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/c"), "c").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("out")).unwrap();
        std::os::unix::fs::symlink("../../x", d.path().join("up")).unwrap();
        let root = SourceRoot {
            dir: d.path().to_path_buf(),
            ignore: None,
            is_context: true,
        };
        let mut out = Vec::new();
        let digest = write_tar(&root, &plan(&["*.txt"], "/dst/"), &mut out).unwrap();
        assert_eq!(names(&out), ["dst/a.txt", "dst/b.txt"]);
        let mut again = Vec::new();
        assert_eq!(
            write_tar(&root, &plan(&["*.txt"], "/dst/"), &mut again).unwrap(),
            digest
        );
        let mut out = Vec::new();
        write_tar(&root, &plan(&["sub"], "/d"), &mut out).unwrap();
        assert_eq!(names(&out), ["d/c"]);
        let mut out = Vec::new();
        write_tar(&root, &plan(&["a.txt"], "/f"), &mut out).unwrap();
        assert_eq!(names(&out), ["f"]);
        for bad in ["../x", "out", "up"] {
            let e = write_tar(&root, &plan(&[bad], "/d/"), Vec::new()).unwrap_err();
            assert!(matches!(e, SourceError::Outside { .. }), "{bad}: {e}");
        }
        let e = write_tar(&root, &plan(&["nope"], "/d/"), Vec::new()).unwrap_err();
        assert!(matches!(e, SourceError::Missing { .. }));
        let e = write_tar(&root, &plan(&["a.txt", "b.txt"], "/d"), Vec::new()).unwrap_err();
        assert!(matches!(e, SourceError::NeedDir));
        // ADD unpacks a local (compressed) tar under the destination.
        let tgz = std::fs::File::create(d.path().join("a.tgz")).unwrap();
        let mut tb = tar::Builder::new(flate2::write::GzEncoder::new(
            tgz,
            flate2::Compression::default(),
        ));
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        tb.append_data(&mut h, "in/x", &b"x\n"[..]).unwrap();
        tb.into_inner().unwrap().finish().unwrap();
        let mut add = plan(&["a.tgz"], "/u/");
        add.add = true;
        let mut out = Vec::new();
        write_tar(&root, &add, &mut out).unwrap();
        assert_eq!(names(&out), ["u/in/x"]);
        let e = write_tar(&root, &plan(&["http://x/y"], "/d"), Vec::new()).unwrap_err();
        assert!(matches!(e, SourceError::CopyUrl(_)));
    }
}
