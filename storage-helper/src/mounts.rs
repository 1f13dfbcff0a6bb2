//! Overlay mounts of container layers, counted: each Mount needs an
//! Unmount, the last one really unmounts. A vfs container's root is used
//! in place: its mounts are only counted.
//!
//! Mount options must fit in one page (4096 bytes). Lower layers are named
//! by their 26-character links (`l/<LINK>`), and the mount runs in a thread
//! that has its own working directory (unshare(CLONE_FS) + chdir into
//! `overlay-layers`), so the options carry short relative paths:
//! `lowerdir=l/A…:l/B…,upperdir=../overlay-containers/ID/diff,...`. That is
//! 27 bytes per layer, about 140 layers per page. Longer chains use the new
//! mount API (fsopen/fsconfig with one `lowerdir+` per layer, kernel 6.8+),
//! which has no total length limit; overlay itself stops at 500 layers.
//!
//! The count and the unmounting itself are [`crate::mount_table`]'s, which
//! container records and removal use too.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tracing::debug;

use crate::containers::{self, ContainerRecord};
use crate::db;
use crate::error::{Result, StoreError};
use crate::layers;
use crate::layout::Store;
use crate::mount_table::{is_mounted, read_count, umount, write_count};

/// Overlay's limit on lower layers (OVL_MAX_STACK).
pub const MAX_LAYERS: usize = 500;
const PAGE: usize = 4096;

/// Mount container `id` (or count one more mount); returns the mount point
/// and the new count.
pub fn mount(store: &Store, id: &str) -> Result<(PathBuf, u32)> {
    let _lock = containers::lock(store, id)?;
    let (target, mounts) = crate::mount_table::target(store, id);
    if !mounts {
        // vfs or a plain rootfs: the root is used where it is; a mount
        // only counts.
        common::private_dir::create(&store.container_run_dir(id))?;
        let count = read_count(store, id) + 1;
        write_count(store, id, count)?;
        return Ok((target, count));
    }
    let conn = db::open(store)?;
    let rec = containers::load(store, &conn, id)?;
    let mounted = is_mounted(&target);
    let mut count = if mounted { read_count(store, id) } else { 0 };
    if !mounted {
        common::private_dir::create(&target)?;
        if let Some(r) = &rec.rootfs {
            mount_rootfs(store, &rec, &r.path, &target)?;
            count += 1;
            write_count(store, id, count)?;
            return Ok((target, count));
        }
        let links = rec
            .layers
            .iter()
            .rev()
            .map(|c| {
                layers::get(&conn, c)?.map(|l| l.link).ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "container {id}: its layer {c} is missing from the store"
                    ))
                })
            })
            .collect::<Result<Vec<String>>>()?;
        let started = Instant::now();
        if !rec.volatile {
            clear_copy_volatile(store, id)?;
        }
        match &rec.idmap {
            Some(m) => mount_mapped(store, &rec, m, &target)?,
            None => do_mount(store, &rec, &links, &target)?,
        }
        debug!(
            container = id,
            layers = links.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "mounted overlay"
        );
    }
    count += 1;
    write_count(store, id, count)?;
    Ok((target, count))
}

/// Undo one mount (all of them with `force`). Returns whether the overlay
/// was unmounted now, and the remaining count.
pub fn unmount(store: &Store, id: &str, force: bool) -> Result<(bool, u32)> {
    let lock = containers::lock(store, id)?;
    let (target, mounts) = crate::mount_table::target(store, id);
    if !mounts {
        let count = read_count(store, id);
        let left = if force { 0 } else { count.saturating_sub(1) };
        write_count(store, id, left)?;
        return Ok((count > 0 && left == 0, left));
    }
    if !is_mounted(&target) {
        if read_count(store, id) != 0 {
            write_count(store, id, 0)?;
        }
        return Ok((false, 0));
    }
    let count = read_count(store, id).max(1);
    if !force && count > 1 {
        write_count(store, id, count - 1)?;
        return Ok((false, count - 1));
    }
    if force {
        // The caller is done with the container (its stop or cleanup): the
        // overlay's sync need not hold it up (see crate::deferred_umount).
        crate::deferred_umount::detach(&target, id, lock.file())?;
    } else {
        umount(&target, id, force)?;
    }
    write_count(store, id, 0)?;
    Ok((true, 0))
}

/// A `--rootfs DIR:O` container's overlay: the user's directory as the
/// only lower layer, the container's own upper and work dirs.
fn mount_rootfs(store: &Store, rec: &ContainerRecord, lower: &Path, target: &Path) -> Result<()> {
    let mut opts = format!("lowerdir={},upperdir=diff,workdir=work", lower.display());
    if Path::new("/sys/module/overlay/parameters/index").exists() {
        opts.push_str(",index=off");
    }
    if rec.volatile {
        prepare_volatile(store, &rec.id)?;
        opts.push_str(",volatile");
    }
    mount_relative(&store.container_dir(&rec.id), &opts, target).map_err(|e| {
        StoreError::io(
            format!(
                "container {}: mounting an overlay on rootfs {} at {}",
                rec.id,
                lower.display(),
                target.display()
            ),
            e,
        )
    })
}

fn do_mount(store: &Store, rec: &ContainerRecord, links: &[String], target: &Path) -> Result<()> {
    if links.len() > MAX_LAYERS {
        return Err(StoreError::FailedPrecondition(format!(
            "container {}: its image has {} layers; overlay stacks at most {MAX_LAYERS}: squash the image",
            rec.id,
            links.len()
        )));
    }
    let containers_rel = format!(
        "../{}",
        store
            .containers_dir()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let lower = if links.is_empty() {
        "empty".to_string()
    } else {
        links
            .iter()
            .map(|l| format!("l/{l}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let mut extra = String::new();
    if Path::new("/sys/module/overlay/parameters/index").exists() {
        extra.push_str(",index=off");
    }
    if !rec.mount_label.is_empty() {
        extra.push_str(&format!(",context=\"{}\"", rec.mount_label));
    }
    if rec.volatile {
        prepare_volatile(store, &rec.id)?;
        extra.push_str(",volatile");
    }
    let opts = format!("lowerdir={lower},upperdir={containers_rel}/{id}/diff,workdir={containers_rel}/{id}/work{extra}", id = rec.id);
    if opts.len() < PAGE {
        return mount_relative(&store.layers_dir(), &opts, target).map_err(|e| {
            StoreError::io(
                format!(
                    "container {}: mounting overlay ({} layers) at {} (options {opts})",
                    rec.id,
                    links.len(),
                    target.display()
                ),
                e,
            )
        });
    }
    let lowers: Vec<PathBuf> = if links.is_empty() {
        vec![store.empty_layer_dir()]
    } else {
        links.iter().map(|l| store.links_dir().join(l)).collect()
    };
    let dir = store.container_dir(&rec.id);
    mount_fsconfig(&lowers, &dir.join("diff"), &dir.join("work"), &rec.mount_label, rec.volatile, target).map_err(|e| {
        StoreError::FailedPrecondition(format!(
            "container {}: mounting overlay with {} layers needs the kernel's lowerdir+ option (Linux 6.8+): {e}",
            rec.id,
            links.len()
        ))
    })
}

/// Where a mapped container's lower layers appear: `<dir>/mapped/<N>`
/// (idmapped mounts, detached once the overlay holds them) or
/// `<dir>/shifted/<N>` (owner-shifted copies, kept).
const MAPPED_DIR: &str = "mapped";
const SHIFTED_DIR: &str = "shifted";

/// The overlay of a container in its own user namespace: its lower layers
/// idmapped, or shifted copies where the kernel cannot (see
/// [`crate::idmap`]).
fn mount_mapped(
    store: &Store,
    rec: &ContainerRecord,
    m: &crate::idmap::Mapping,
    target: &Path,
) -> Result<()> {
    let dir = store.container_dir(&rec.id);
    let lowers: Vec<PathBuf> = containers::lower_dirs(store, rec);
    if lowers.len() > MAX_LAYERS {
        return Err(StoreError::FailedPrecondition(format!(
            "container {}: its image has {} layers; overlay stacks at most {MAX_LAYERS}: squash the image",
            rec.id,
            lowers.len()
        )));
    }
    let shifted = dir.join(SHIFTED_DIR);
    let layers: Vec<PathBuf> = if shifted.join("complete").exists() {
        (0..lowers.len())
            .map(|i| shifted.join(i.to_string()))
            .collect()
    } else {
        match idmapped_lowers(&dir, &lowers, m) {
            Ok(v) => v,
            Err(e) if crate::idmap::unsupported(&e) => {
                debug!(container = %rec.id, error = %e, "idmapped mounts unavailable: shifting copies of the layers");
                shifted_lowers(&shifted, &lowers, m)?
            }
            Err(e) => {
                return Err(StoreError::io(
                    format!("container {}: idmapping its layers", rec.id),
                    e,
                ))
            }
        }
    };
    let lowers = if layers.is_empty() {
        vec![store.empty_layer_dir()]
    } else {
        layers.clone()
    };
    let result = mount_fsconfig(
        &lowers,
        &dir.join("diff"),
        &dir.join("work"),
        &rec.mount_label,
        rec.volatile,
        target,
    );
    // The overlay holds the idmapped mounts it stacks on; their own
    // mount points are not needed any more.
    let idmapped = dir.join(MAPPED_DIR);
    for l in layers.iter().filter(|l| l.starts_with(&idmapped)) {
        let _ = nix::mount::umount2(l, nix::mount::MntFlags::MNT_DETACH);
    }
    result.map_err(|e| {
        StoreError::FailedPrecondition(format!(
            "container {}: mounting its overlay on idmapped layers: {e}",
            rec.id
        ))
    })
}

/// Each lower layer idmapped at `<dir>/mapped/<N>`; on failure none stays.
fn idmapped_lowers(
    dir: &Path,
    lowers: &[PathBuf],
    m: &crate::idmap::Mapping,
) -> std::io::Result<Vec<PathBuf>> {
    if lowers.is_empty() {
        return Ok(Vec::new());
    }
    let userns = crate::idmap::userns_fd(m)?;
    let base = dir.join(MAPPED_DIR);
    let mut done: Vec<PathBuf> = Vec::new();
    let made = (|| -> std::io::Result<()> {
        for (i, l) in lowers.iter().enumerate() {
            let t = base.join(i.to_string());
            std::fs::create_dir_all(&t)?;
            crate::idmap::mount_idmapped(l, &t, &userns)?;
            done.push(t);
        }
        Ok(())
    })();
    if let Err(e) = made {
        for t in &done {
            let _ = nix::mount::umount2(t, nix::mount::MntFlags::MNT_DETACH);
        }
        return Err(e);
    }
    Ok(done)
}

/// Owner-shifted copies of the lower layers, made once.
fn shifted_lowers(
    shifted: &Path,
    lowers: &[PathBuf],
    m: &crate::idmap::Mapping,
) -> Result<Vec<PathBuf>> {
    let _ = crate::fsutil::remove_tree(shifted);
    common::private_dir::create(shifted)?;
    let mut out = Vec::new();
    for (i, l) in lowers.iter().enumerate() {
        let t = shifted.join(i.to_string());
        crate::idmap::shifted_copy(l, &t, m)
            .map_err(|e| StoreError::path("copying with shifted owners", l, e))?;
        out.push(t);
    }
    let mark = shifted.join("complete");
    std::fs::write(&mark, b"").map_err(|e| StoreError::path("writing", &mark, e))?;
    Ok(out)
}

/// Overlay leaves `$workdir/work/incompat/volatile` behind after a volatile
/// mount and refuses the next mount while it exists (its upper dir may be
/// incomplete after a crash; for a volatile container that is accepted):
/// remove it.
fn prepare_volatile(store: &Store, id: &str) -> Result<()> {
    remove_volatile_marks(store, id)
}

/// Marks, in the run root (gone at reboot), that a copy holds the
/// container's overlay mounted `volatile` (see [`crate::copy_view`]).
pub(crate) const COPY_VOLATILE_MARK: &str = "copy-volatile";

/// Take away what a volatile copy left when it was cut short, so the next
/// mount is not refused: overlay's marker, and ours. Ours still there
/// means the copy was killed in this boot (nothing lost: its writes are in
/// the page cache); overlay's alone means the machine went down during
/// it, and what it was writing may be incomplete, as after a crash during
/// any write that was not synced.
pub(crate) fn clear_copy_volatile(store: &Store, id: &str) -> Result<()> {
    let incompat = store
        .container_dir(id)
        .join("work")
        .join("work")
        .join("incompat");
    let ours = store.container_run_dir(id).join(COPY_VOLATILE_MARK);
    if incompat.exists() {
        if ours.exists() {
            debug!(
                container = id,
                "a killed copy left its volatile overlay marker: removed"
            );
        } else {
            tracing::warn!(
                "container {id}: a copy into it was cut short by a crash; files it was writing may be incomplete"
            );
        }
    }
    remove_volatile_marks(store, id)
}

/// Remove overlay's volatile marker and ours (a volatile copy's overlay
/// is down).
pub(crate) fn remove_volatile_marks(store: &Store, id: &str) -> Result<()> {
    let incompat = store
        .container_dir(id)
        .join("work")
        .join("work")
        .join("incompat");
    crate::fsutil::remove_tree(&incompat)
        .map_err(|e| StoreError::path("removing", &incompat, e))?;
    let ours = store.container_run_dir(id).join(COPY_VOLATILE_MARK);
    match std::fs::remove_file(&ours) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::path("removing", &ours, e)),
    }
}

/// mount(2) from a thread whose working directory is `cwd` (its own: it
/// unshares CLONE_FS first, so other threads are unaffected).
pub(crate) fn mount_relative(cwd: &Path, opts: &str, target: &Path) -> std::io::Result<()> {
    let cwd = cwd.to_path_buf();
    let opts =
        CString::new(opts).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let target = CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    std::thread::spawn(move || -> std::io::Result<()> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS)?;
        std::env::set_current_dir(&cwd)?;
        nix::mount::mount(
            Some(c"overlay"),
            target.as_c_str(),
            Some(c"overlay"),
            nix::mount::MsFlags::empty(),
            Some(opts.as_c_str()),
        )?;
        Ok(())
    })
    .join()
    .map_err(|_| std::io::Error::other("mount thread panicked"))?
}

/// The new mount API: one fsconfig per lower layer, the overlay attached
/// at `target`.
fn mount_fsconfig(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    label: &str,
    volatile: bool,
    target: &Path,
) -> std::result::Result<(), String> {
    let m = detached_overlay(lowers, Some((upper, work)), label, volatile)?;
    let cs = |s: &str| CString::new(s).map_err(|_| format!("{s:?} contains NUL"));
    let t = cs(&target.display().to_string())?;
    // SAFETY: move_mount(2) of the mount we own (empty path with
    // MOVE_MOUNT_F_EMPTY_PATH) onto `t`, a NUL-terminated string that
    // outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            m.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(format!(
            "move_mount to {}: {}",
            target.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// An overlay that is in no mount table: the descriptor of its root
/// (fsmount), unmounted when the last descriptor of it closes. Without
/// `upper` it is read-only, and taking it down syncs nothing.
pub(crate) fn detached_overlay(
    lowers: &[PathBuf],
    upper: Option<(&Path, &Path)>,
    label: &str,
    volatile: bool,
) -> std::result::Result<OwnedFd, String> {
    let cs = |s: &str| CString::new(s).map_err(|_| format!("{s:?} contains NUL"));
    // SAFETY: raw syscalls with valid C strings; descriptors are owned.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), libc::FSOPEN_CLOEXEC) };
    if fs < 0 {
        return Err(format!("fsopen: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fsopen just returned this descriptor (checked non-negative above);
    // nothing else owns it.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as i32) };
    let set = |key: &str, value: &str| -> std::result::Result<(), String> {
        let (k, v) = (cs(key)?, cs(value)?);
        // SAFETY: fsconfig(2) on the fs context we own, with `k` and `v` NUL-terminated
        // strings that outlive the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                libc::FSCONFIG_SET_STRING,
                k.as_ptr(),
                v.as_ptr(),
                0,
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("fsconfig {key}={value}: {e}{}", fs_log(&fs)));
        }
        Ok(())
    };
    for l in lowers {
        set("lowerdir+", &l.display().to_string())?;
    }
    if let Some((upper, work)) = upper {
        set("upperdir", &upper.display().to_string())?;
        set("workdir", &work.display().to_string())?;
    }
    if Path::new("/sys/module/overlay/parameters/index").exists() {
        set("index", "off")?;
    }
    if !label.is_empty() {
        set("context", label)?;
    }
    if volatile {
        // SAFETY: a flag key with no value, on our own fs context.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                libc::FSCONFIG_SET_FLAG,
                c"volatile".as_ptr(),
                std::ptr::null::<libc::c_char>(),
                0,
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("fsconfig volatile: {e}{}", fs_log(&fs)));
        }
    }
    // SAFETY: fsconfig(2) FSCONFIG_CMD_CREATE on the fs context we own; it takes no
    // key or value (both null).
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            libc::FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if r < 0 {
        return Err(format!(
            "creating the overlay: {}{}",
            std::io::Error::last_os_error(),
            fs_log(&fs)
        ));
    }
    // SAFETY: fsmount(2) on the fs context we own; no pointers are passed.
    let m = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), libc::FSMOUNT_CLOEXEC, 0) };
    if m < 0 {
        return Err(format!("fsmount: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fsmount just returned this descriptor (checked non-negative above);
    // nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(m as i32) })
}

/// Messages the kernel left on an fs context, for errors.
fn fs_log(fs: &OwnedFd) -> String {
    let mut out = String::new();
    let mut buf = [0u8; 512];
    loop {
        let n = match nix::unistd::read(fs.as_raw_fd(), &mut buf) {
            Ok(n) if n > 0 => n,
            _ => break,
        };
        out.push_str(" (");
        out.push_str(String::from_utf8_lossy(&buf[..n]).trim());
        out.push(')');
    }
    out
}
