//! Containers in their own user namespace: their root file system must
//! appear owned by the container's IDs, so the image's root-owned files
//! show as host ID `uid_map[0].host_id` from outside.
//!
//! Two ways, as containers-storage: the lower layers are mounted through
//! idmapped mounts (`open_tree` + `mount_setattr(MOUNT_ATTR_IDMAP)`) and the
//! overlay is stacked on those; where the kernel cannot idmap (old kernel,
//! a file system without idmapping support), each layer is copied once into
//! the container's directory with its owners shifted by chown ("naive"
//! mapping). The upper dir is owned by the mapped IDs either way, so files
//! the container creates land there with host IDs.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// The file in a container's directory that records its mappings.
pub const MAPPING_FILE: &str = "idmap.json";

/// One range: container IDs `container_id..+size` are host IDs `host_id..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub uids: Vec<Range>,
    pub gids: Vec<Range>,
}

fn lookup(map: &[Range], id: u32) -> Option<u32> {
    map.iter().find_map(|m| {
        let off = id.checked_sub(m.container_id)?;
        (off < m.size).then(|| m.host_id + off)
    })
}

/// The kernel's overflow ID (nobody), for IDs the mapping lacks.
const OVERFLOW_ID: u32 = 65534;

impl Mapping {
    /// From the request; `None` when there is none. Empty or overflowing
    /// ranges are refused.
    pub fn from_proto(m: Option<&proto::storage::v1::IdMappings>) -> Result<Option<Mapping>> {
        let Some(m) = m else { return Ok(None) };
        let conv = |v: &[proto::storage::v1::IdMap], what: &str| -> Result<Vec<Range>> {
            if v.is_empty() {
                return Err(StoreError::InvalidArgument(format!(
                    "ID mappings without any {what} range: give both UID and GID mappings"
                )));
            }
            v.iter()
                .map(|r| {
                    if r.size == 0 || r.host_id.checked_add(r.size - 1).is_none() || r.container_id.checked_add(r.size - 1).is_none() {
                        return Err(StoreError::InvalidArgument(format!(
                            "invalid {what} mapping {}:{}:{}: the size must be at least 1 and the range within 32 bits",
                            r.container_id, r.host_id, r.size
                        )));
                    }
                    Ok(Range {
                        container_id: r.container_id,
                        host_id: r.host_id,
                        size: r.size,
                    })
                })
                .collect()
        };
        Ok(Some(Mapping {
            uids: conv(&m.uid_map, "UID")?,
            gids: conv(&m.gid_map, "GID")?,
        }))
    }

    /// Host owner of a file the layers give to (uid, gid).
    pub fn to_host(&self, uid: u32, gid: u32) -> (u32, u32) {
        (
            lookup(&self.uids, uid).unwrap_or(OVERFLOW_ID),
            lookup(&self.gids, gid).unwrap_or(OVERFLOW_ID),
        )
    }

    /// Container owner of a file the host sees owned by (uid, gid): what
    /// a layer committed from the container records.
    pub fn to_container(&self, uid: u32, gid: u32) -> (u32, u32) {
        let back = |map: &[Range], id: u32| {
            map.iter()
                .find_map(|m| {
                    let off = id.checked_sub(m.host_id)?;
                    (off < m.size).then(|| m.container_id + off)
                })
                .unwrap_or(OVERFLOW_ID)
        };
        (back(&self.uids, uid), back(&self.gids, gid))
    }

    fn kernel_text(map: &[Range]) -> String {
        map.iter()
            .map(|r| format!("{} {} {}\n", r.container_id, r.host_id, r.size))
            .collect()
    }

    pub fn load(dir: &Path) -> Result<Option<Mapping>> {
        let p = dir.join(MAPPING_FILE);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| StoreError::path("parsing", &p, std::io::Error::other(e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::path("reading", &p, e)),
        }
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let p = dir.join(MAPPING_FILE);
        let bytes = serde_json::to_vec(self)
            .map_err(|e| StoreError::path("encoding", &p, std::io::Error::other(e)))?;
        std::fs::write(&p, bytes).map_err(|e| StoreError::path("writing", &p, e))
    }
}

/// A user namespace with `m`'s mappings, held by its descriptor: a child
/// unshares it and waits while we write its maps, then leaves.
pub fn userns_fd(m: &Mapping) -> std::io::Result<OwnedFd> {
    let (ready_r, ready_w) = nix::unistd::pipe()?;
    let (go_r, go_w) = nix::unistd::pipe()?;
    // SAFETY: the child only makes raw syscalls (unshare, write, read,
    // _exit) on descriptors it already has; no allocation, no locks.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: async-signal-safe syscalls only, then _exit.
        unsafe {
            let ok: u8 = if libc::unshare(libc::CLONE_NEWUSER) == 0 {
                1
            } else {
                0
            };
            libc::write(ready_w.as_raw_fd(), (&ok as *const u8).cast(), 1);
            let mut b = 0u8;
            libc::read(go_r.as_raw_fd(), (&mut b as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    drop(ready_w);
    drop(go_r);
    let result = (|| -> std::io::Result<OwnedFd> {
        let mut ok = [0u8; 1];
        std::fs::File::from(ready_r).read_exact(&mut ok)?;
        if ok[0] != 1 {
            return Err(std::io::Error::other(
                "unshare(CLONE_NEWUSER) failed in the helper child",
            ));
        }
        let proc_dir = Path::new("/proc").join(pid.to_string());
        std::fs::write(proc_dir.join("uid_map"), Mapping::kernel_text(&m.uids))?;
        std::fs::write(proc_dir.join("setgroups"), "deny")?;
        std::fs::write(proc_dir.join("gid_map"), Mapping::kernel_text(&m.gids))?;
        Ok(std::fs::File::open(proc_dir.join("ns/user"))?.into())
    })();
    let _ = std::fs::File::from(go_w).write_all(&[1]);
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    result
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached idmapped copy of the mount of `src`, attached at `target`.
pub fn mount_idmapped(src: &Path, target: &Path, userns: &OwnedFd) -> std::io::Result<()> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (src_c, target_c) = (c(src)?, c(target)?);
    // SAFETY: open_tree(2) with a NUL-terminated path; returns a new fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            src_c.as_ptr(),
            libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: open_tree just returned this descriptor; we own it.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = MountAttr {
        attr_set: libc::MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: mount_setattr(2) on our detached tree with an empty path
    // (AT_EMPTY_PATH) and a properly sized attribute struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: move_mount(2) of our detached tree onto a NUL-terminated path.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target_c.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Whether an idmapping failure means "this kernel or file system cannot",
/// so the shifted copy is the way.
pub fn unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::EPERM) | Some(libc::EOPNOTSUPP)
    )
}

/// Copy the tree `src` to `dst` (which must not exist) with every owner
/// shifted through `m`: modes, times, device nodes (overlay whiteouts among
/// them), symlinks and extended attributes (opaque markers) kept.
pub fn shifted_copy(src: &Path, dst: &Path, m: &Mapping) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(src)?;
    let (uid, gid) = m.to_host(meta.uid(), meta.gid());
    let ft = meta.file_type();
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        std::fs::create_dir(dst)?;
        for e in std::fs::read_dir(src)? {
            let e = e?;
            shifted_copy(&e.path(), &dst.join(e.file_name()), m)?;
        }
    } else if ft.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dst)?;
    } else if ft.is_file() {
        std::fs::copy(src, dst)?;
    } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() || ft.is_socket() {
        nix::sys::stat::mknod(
            dst,
            nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT),
            nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777),
            meta.rdev(),
        )?;
    }
    if !ft.is_symlink() {
        let xattrs = crate::fsutil::list_xattrs(src)?;
        if !xattrs.is_empty() {
            let parent = dst.parent().unwrap_or(Path::new("/"));
            let dir = std::fs::File::open(parent)?;
            let name = dst.file_name().unwrap_or_default();
            for (k, v) in xattrs {
                crate::fsutil::lsetxattr_at(std::os::fd::AsFd::as_fd(&dir), name, &k, &v)?;
            }
        }
    }
    nix::unistd::fchownat(
        None,
        dst,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    if !ft.is_symlink() {
        // chown clears setuid/setgid: put the mode back after it.
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    let times = [
        nix::sys::time::TimeSpec::new(meta.atime(), meta.atime_nsec()),
        nix::sys::time::TimeSpec::new(meta.mtime(), meta.mtime_nsec()),
    ];
    nix::sys::stat::utimensat(
        None,
        dst,
        &times[0],
        &times[1],
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_copy_maps_owners_and_keeps_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("f"), b"hello").unwrap();
        std::fs::set_permissions(src.join("f"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::os::unix::fs::symlink("f", src.join("l")).unwrap();
        std::fs::create_dir(src.join("sub")).unwrap();
        nix::unistd::chown(
            &src.join("sub"),
            Some(nix::unistd::Uid::from_raw(5)),
            Some(nix::unistd::Gid::from_raw(7)),
        )
        .unwrap();
        let m = Mapping {
            uids: vec![Range {
                container_id: 0,
                host_id: 100000,
                size: 10,
            }],
            gids: vec![Range {
                container_id: 0,
                host_id: 200000,
                size: 10,
            }],
        };
        let dst = d.path().join("dst");
        shifted_copy(&src, &dst, &m).unwrap();
        let md = |p: &str| std::fs::symlink_metadata(dst.join(p)).unwrap();
        assert_eq!((md("f").uid(), md("f").gid()), (100000, 200000));
        assert_eq!(md("f").mode() & 0o7777, 0o4755);
        assert_eq!(std::fs::read(dst.join("f")).unwrap(), b"hello");
        assert_eq!((md("sub").uid(), md("sub").gid()), (100005, 200007));
        assert_eq!(std::fs::read_link(dst.join("l")).unwrap(), Path::new("f"));
        assert_eq!(md("l").uid(), 100000);
        assert_eq!(m.to_host(11, 0), (OVERFLOW_ID, 200000));
    }
}
