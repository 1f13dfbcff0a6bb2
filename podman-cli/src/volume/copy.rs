//! Copy-up: the image's content at a volume's container path is copied
//! into the empty volume the first time it is mounted there (Podman's
//! NeedsCopyUp), keeping modes, owners, timestamps and symlinks (never
//! following one). The source directory is opened inside the container's
//! root (`in_root`), so a symlinked path cannot lead the copy out of it.

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// The ownership and mode of `dest` inside `rootfs`, if it is a directory
/// there.
pub fn dir_in_root(rootfs: &Path, dest: &str) -> io::Result<Option<fs::Metadata>> {
    let root = common::in_root::open_dir(rootfs)?;
    let rel = Path::new(dest.trim_start_matches('/'));
    match common::in_root::open_dir_in_root(std::os::fd::AsFd::as_fd(&root), rel) {
        Ok(fd) => Ok(Some(fs::metadata(format!(
            "/proc/self/fd/{}",
            fd.as_raw_fd()
        ))?)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copy the directory at `dest` inside `rootfs` into `target` when the
/// directory has content and `target` is empty. Returns whether anything
/// was copied.
pub fn copy_up(rootfs: &Path, dest: &str, target: &Path) -> io::Result<bool> {
    let root = common::in_root::open_dir(rootfs)?;
    let rel = Path::new(dest.trim_start_matches('/'));
    let src = match common::in_root::open_dir_in_root(std::os::fd::AsFd::as_fd(&root), rel) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    let src_path = format!("/proc/self/fd/{}", src.as_raw_fd());
    if fs::read_dir(&src_path)?.next().is_none() || fs::read_dir(target)?.next().is_some() {
        return Ok(false);
    }
    copy_dir_contents(Path::new(&src_path), target)?;
    Ok(true)
}

fn copy_dir_contents(src: &Path, dst: &Path) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let md = fs::symlink_metadata(&from)?;
        let ft = md.file_type();
        if ft.is_dir() {
            fs::create_dir(&to)?;
            copy_dir_contents(&from, &to)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if ft.is_file() {
            fs::copy(&from, &to)?;
        } else {
            // FIFOs and device nodes are made again; sockets are not kept.
            use std::os::unix::fs::FileTypeExt;
            if ft.is_socket() {
                continue;
            }
            let kind = if ft.is_fifo() {
                nix::sys::stat::SFlag::S_IFIFO
            } else if ft.is_char_device() {
                nix::sys::stat::SFlag::S_IFCHR
            } else {
                nix::sys::stat::SFlag::S_IFBLK
            };
            nix::sys::stat::mknod(
                &to,
                kind,
                nix::sys::stat::Mode::from_bits_truncate(md.mode()),
                md.rdev(),
            )
            .map_err(io::Error::from)?;
        }
        attributes(&to, &md)?;
    }
    Ok(())
}

/// Owner, mode and times of `md` on `to` (a symlink itself, not its target).
pub fn attributes(to: &Path, md: &fs::Metadata) -> io::Result<()> {
    std::os::unix::fs::lchown(to, Some(md.uid()), Some(md.gid()))?;
    if !md.file_type().is_symlink() {
        fs::set_permissions(to, fs::Permissions::from_mode(md.mode() & 0o7777))?;
    }
    let ts = |s: i64, ns: i64| nix::sys::time::TimeSpec::new(s, ns);
    nix::sys::stat::utimensat(
        None,
        to,
        &ts(md.atime(), md.atime_nsec()),
        &ts(md.mtime(), md.mtime_nsec()),
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}
