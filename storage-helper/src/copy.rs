//! `podman cp`: files between a container and the host (or another
//! container, or podman's stdin/stdout as a tar), streamed as a tar from
//! [`crate::tar_writer`] into [`crate::unpack`]'s applier, so one writer and
//! one unpacker serve layers, export, commit and cp.
//!
//! A container's file system is a directory standing for `/`: its overlay
//! mount point, or `/proc/PID/root` of a running container (which shows the
//! container's volumes, bind mounts and tmpfs mounts as it sees them).
//! Every path is resolved inside that root (openat2 RESOLVE_IN_ROOT, see
//! `common::in_root`): a symlink to `/../../etc` names the container's
//! `/etc`, never the host's. A container that is not running has its bind
//! mounts and volumes listed by the caller; a path at or below one of them
//! is resolved inside the mount's source instead.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::in_root;
use tracing::debug;

use crate::error::{Result, StoreError};
use crate::tar_writer::write_subtree;
use crate::unpack::{apply_archive, ApplyOptions, Compression};

const BUF: usize = 256 * 1024;
const PIPE_SIZE: i32 = 1 << 20;

/// A directory standing for `/`, with the bind mounts and volumes that are
/// not visible in it.
#[derive(Debug, Clone, Default)]
pub struct Root {
    pub root: PathBuf,
    /// (destination in the container, source on the host)
    pub mounts: Vec<(String, PathBuf)>,
}

/// What [`stat`] found.
#[derive(Debug, Clone)]
pub struct Stat {
    /// Absolute path inside the root, every symlink resolved.
    pub link_target: String,
    pub is_dir: bool,
    pub is_regular: bool,
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
    /// A symlink to nothing: `link_target` is where it points.
    pub dangling: bool,
}

/// The data descriptor podman handed over at start (`serve --data-fd`):
/// taken by the one Copy that uses it.
pub type DataFd = Arc<Mutex<Option<OwnedFd>>>;

/// `path` without `.` and `..` (lexically, `..` stops at `/`), absolute.
fn clean(path: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in Path::new(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// Where `path` lives: the directory to resolve it in, the path relative
/// to that directory, and that directory's own path in the container.
fn locate(root: &Root, path: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let best = root
        .mounts
        .iter()
        .filter(|(dest, _)| path.starts_with(clean(dest)))
        .max_by_key(|(dest, _)| clean(dest).components().count());
    let (base, inside) = match best {
        Some((dest, source)) => (source.clone(), clean(dest)),
        None => (root.root.clone(), PathBuf::from("/")),
    };
    let rel = path
        .strip_prefix(&inside)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    (base, rel, inside)
}

/// An O_PATH descriptor for `path` inside `root` (symlinks followed inside
/// it), and where it was found: (descriptor, container path).
fn resolve(root: &Root, path: &str) -> std::io::Result<(OwnedFd, String)> {
    let (base, rel, inside) = locate(root, &clean(path));
    let base_fd = in_root::open_dir(&base)?;
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    let fd = in_root::Resolver::Auto.open_path(base_fd.as_fd(), &rel)?;
    // The kernel names both descriptors the same way (from the root of
    // their mount namespace), so the one's path below the other is the
    // resolved path inside the root.
    let base_real = std::fs::read_link(fd_path(&base_fd))?;
    let real = std::fs::read_link(fd_path(&fd))?;
    let resolved = match real.strip_prefix(&base_real) {
        Ok(r) => inside.join(r),
        // A mount crossed on the way (a volume inside a volume): the
        // lexical path is the best name there is.
        Err(_) => clean(&inside.join(&rel).display().to_string()),
    };
    Ok((fd, resolved.display().to_string()))
}

fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// CopyStat: what `path` is inside `root`. A missing path is NotFound
/// ("no such file or directory"); a trailing `/` on a non-directory is
/// "not a directory".
pub fn stat(root: &Root, path: &str) -> Result<Stat> {
    if !path.starts_with('/') {
        return Err(StoreError::InvalidArgument(format!(
            "{path:?}: the path in the container must be absolute"
        )));
    }
    let (fd, link_target) = match resolve(root, path) {
        Ok(r) => r,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !path.ends_with('/') => {
            return match dangling(root, path) {
                Some(link_target) => Ok(Stat {
                    link_target,
                    is_dir: false,
                    is_regular: false,
                    mode: 0,
                    size: 0,
                    mtime: 0,
                    dangling: true,
                }),
                None => Err(classify(path, e)),
            }
        }
        Err(e) => return Err(classify(path, e)),
    };
    let meta = std::fs::metadata(fd_path(&fd)).map_err(|e| classify(path, e))?;
    if path.ends_with('/') && !meta.is_dir() {
        return Err(StoreError::NotFound("not a directory".into()));
    }
    Ok(Stat {
        link_target,
        is_dir: meta.is_dir(),
        is_regular: meta.is_file(),
        mode: meta.permissions().mode(),
        size: meta.len(),
        mtime: meta.mtime(),
        dangling: false,
    })
}

/// Where `path` points when its last component is a symlink to nothing
/// (absolute inside the root, lexically cleaned; resolved again, inside
/// the root, by whatever uses it).
fn dangling(root: &Root, path: &str) -> Option<String> {
    let clean_path = clean(path);
    let (parent, name) = (clean_path.parent()?, clean_path.file_name()?);
    let (dir_fd, dir_ctr) = resolve(root, &parent.display().to_string()).ok()?;
    let dir = std::fs::File::open(fd_path(&dir_fd)).ok()?;
    let st = in_root::lstat_at(dir.as_fd(), name).ok()??;
    if !in_root::is_symlink(&st) {
        return None;
    }
    let target = in_root::readlinkat(dir.as_fd(), name).ok()?;
    let joined = if target.is_absolute() {
        target
    } else {
        Path::new(&dir_ctr).join(target)
    };
    Some(clean(&joined.display().to_string()).display().to_string())
}

/// Podman's wording for a path that is not there.
fn classify(path: &str, e: std::io::Error) -> StoreError {
    match e.raw_os_error() {
        Some(libc::ENOENT) => StoreError::NotFound("no such file or directory".into()),
        Some(libc::ENOTDIR) => StoreError::NotFound("not a directory".into()),
        Some(libc::ELOOP) => StoreError::NotFound("too many levels of symbolic links".into()),
        _ => StoreError::io(format!("resolving {path}"), e),
    }
}

/// One end of a copy.
#[derive(Debug, Clone)]
pub enum End {
    Path { root: Root, path: String },
    DataFd,
}

/// What a copy does besides moving bytes.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Name of the top entry in the archive (empty: the source's name).
    pub rename: String,
    pub owner: Option<(u32, u32)>,
    pub overwrite: bool,
    pub ignore_devices: bool,
}

/// Copy: source to destination through a tar stream; returns the entries.
pub fn copy(source: &End, dest: &End, opts: &CopyOptions, data: &DataFd) -> Result<u64> {
    let take_fd = || {
        data.lock()
            .ok()
            .and_then(|mut d| d.take())
            .map(File::from)
            .ok_or_else(|| {
                StoreError::InvalidArgument(
                    "no data descriptor: start the helper with serve --data-fd N, once per copy"
                        .into(),
                )
            })
    };
    match (source, dest) {
        (End::DataFd, End::DataFd) => Err(StoreError::InvalidArgument(
            "a copy from the data descriptor to itself copies nothing: name a path on one side"
                .into(),
        )),
        (End::DataFd, End::Path { root, path }) => {
            let input = BufReader::with_capacity(BUF, take_fd()?);
            unpack_stdin(input, root, path, opts)
        }
        (End::Path { root, path }, End::DataFd) => {
            let (src, name) = open_source(root, path, opts)?;
            let out = BufWriter::with_capacity(BUF, take_fd()?);
            let (n, out) = write_subtree(&fd_path(&src), &name, out)?;
            out.into_inner()
                .map_err(|e| StoreError::io("writing the tar to stdout", e.into_error()))?;
            Ok(n)
        }
        (
            End::Path { root, path },
            End::Path {
                root: droot,
                path: dpath,
            },
        ) => {
            let (src, name) = open_source(root, path, opts)?;
            let (reader, writer) =
                std::io::pipe().map_err(|e| StoreError::io("creating a pipe", e))?;
            // A larger pipe lets the archiver run ahead of the unpacker
            // (fewer switches between them); the default 64 KiB is kept
            // where the limit (pipe-max-size) forbids more.
            let _ = nix::fcntl::fcntl(
                writer.as_raw_fd(),
                nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE),
            );
            let src_path = fd_path(&src);
            let producer = std::thread::spawn(move || {
                let out = BufWriter::with_capacity(BUF, writer);
                let r = write_subtree(&src_path, &name, out).and_then(|(n, out)| {
                    out.into_inner()
                        .map_err(|e| StoreError::io("writing the tar", e.into_error()))?;
                    Ok(n)
                });
                drop(src);
                r
            });
            let applied = apply(
                BufReader::with_capacity(BUF, reader),
                droot,
                dpath,
                opts,
                None,
            );
            let produced = producer.join().map_err(|_| {
                StoreError::io("archiving", std::io::Error::other("thread panicked"))
            })?;
            // The reader's failure explains the writer's broken pipe.
            let n = applied?;
            produced?;
            Ok(n)
        }
    }
}

/// The source descriptor and the name its top entry gets.
fn open_source(root: &Root, path: &str, opts: &CopyOptions) -> Result<(OwnedFd, PathBuf)> {
    let (fd, resolved) = resolve(root, path).map_err(|e| {
        StoreError::NotFound(format!(
            "{path:?}: {}",
            classify(path, e).to_string().trim()
        ))
    })?;
    let contents_only = path.ends_with("/.") || path == ".";
    let name = if contents_only && std::fs::metadata(fd_path(&fd)).is_ok_and(|m| m.is_dir()) {
        PathBuf::new()
    } else if !opts.rename.is_empty() {
        PathBuf::from(&opts.rename)
    } else {
        match Path::new(&resolved).file_name() {
            Some(n) => PathBuf::from(n),
            // The root itself: its contents.
            None => PathBuf::new(),
        }
    };
    Ok((fd, name))
}

/// Unpack a tar (plain, gzip or zstd) from podman's stdin into `path`,
/// refusing anything that is not a tar.
fn unpack_stdin<R: BufRead>(
    mut input: R,
    root: &Root,
    path: &str,
    opts: &CopyOptions,
) -> Result<u64> {
    let not_tar = || {
        StoreError::InvalidArgument(
            "source must be a (compressed) tar archive when copying from stdin".into(),
        )
    };
    let head = input
        .fill_buf()
        .map_err(|e| StoreError::io("reading stdin", e))?;
    match Compression::sniff(head) {
        Compression::None => checked_apply(input, root, path, opts, &not_tar),
        Compression::Gzip => checked_apply(
            BufReader::with_capacity(BUF, flate2::bufread::MultiGzDecoder::new(input)),
            root,
            path,
            opts,
            &not_tar,
        ),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(input).map_err(|_| not_tar())?;
            checked_apply(
                BufReader::with_capacity(BUF, dec),
                root,
                path,
                opts,
                &not_tar,
            )
        }
    }
}

fn checked_apply<R: BufRead>(
    mut input: R,
    root: &Root,
    path: &str,
    opts: &CopyOptions,
    not_tar: &dyn Fn() -> StoreError,
) -> Result<u64> {
    let head = fill_at_least(&mut input, 512).map_err(|_| not_tar())?;
    if !looks_like_tar(&head) {
        return Err(not_tar());
    }
    apply(
        std::io::Cursor::new(head).chain(input),
        root,
        path,
        opts,
        Some(not_tar),
    )
}

/// The first `n` bytes (fewer at the end of the stream).
fn fill_at_least<R: Read>(input: &mut R, n: usize) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match input.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok(head)
}

/// A tar header: ustar magic, or an old-style header whose checksum holds.
fn looks_like_tar(h: &[u8]) -> bool {
    if h.len() < 512 || h.iter().all(|b| *b == 0) {
        return false;
    }
    if &h[257..262] == b"ustar" {
        return true;
    }
    let stored = std::str::from_utf8(&h[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = h[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as u32
            }
        })
        .sum();
    stored == Some(sum)
}

/// Unpack `input` into the directory `path` inside `root`.
fn apply<R: Read>(
    input: R,
    root: &Root,
    path: &str,
    opts: &CopyOptions,
    not_tar: Option<&dyn Fn() -> StoreError>,
) -> Result<u64> {
    let (base, rel, _) = locate(root, &clean(path));
    let what = format!("copying into {path}");
    let corrupt = |e: std::io::Error| match not_tar {
        Some(f) => {
            debug!(error = %e, "stdin archive unreadable");
            f()
        }
        None => StoreError::io("reading the archive", e),
    };
    let apply_opts = ApplyOptions {
        whiteouts: false,
        prefix: rel,
        rename: None,
        owner: opts.owner,
        replace_dir_nondir: opts.overwrite,
        ignore_devices: opts.ignore_devices,
        whiteout_mode: Default::default(),
    };
    let n = apply_archive(input, &base, &what, apply_opts, &corrupt)?;
    debug!(entries = n, dest = path, "copied");
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_lexically_and_never_above_the_root() {
        assert_eq!(clean("/a/./b/../c/"), PathBuf::from("/a/c"));
        assert_eq!(clean("/../../etc"), PathBuf::from("/etc"));
    }

    #[test]
    fn the_deepest_mount_holds_a_path() {
        let root = Root {
            root: "/r".into(),
            mounts: vec![
                ("/v".into(), "/src1".into()),
                ("/v/sub".into(), "/src2".into()),
            ],
        };
        let (b, rel, inside) = locate(&root, Path::new("/v/sub/x"));
        assert_eq!(
            (b, rel, inside),
            ("/src2".into(), "x".into(), "/v/sub".into())
        );
        let (b, rel, _) = locate(&root, Path::new("/vx/y"));
        assert_eq!((b, rel), ("/r".into(), "vx/y".into()));
    }

    #[test]
    fn tar_headers_are_recognised() {
        let mut h = tar::Header::new_gnu();
        h.set_path("a").unwrap();
        h.set_size(0);
        h.set_cksum();
        assert!(looks_like_tar(h.as_bytes()));
        let mut old = tar::Header::new_old();
        old.set_path("a").unwrap();
        old.set_cksum();
        assert!(looks_like_tar(old.as_bytes()));
        assert!(!looks_like_tar(&[b'x'; 512]));
        assert!(!looks_like_tar(&[0; 512]));
    }
}
