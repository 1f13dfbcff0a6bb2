//! A trial overlay mount: the only reliable answer to "does overlay work
//! here" (overlay on overlay, on some FUSE or NFS backings, or without
//! CAP_SYS_ADMIN fails even though the kernel lists it).

use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// Whether the kernel lists overlay in /proc/filesystems.
pub fn kernel_supports_overlay() -> bool {
    std::fs::read_to_string("/proc/filesystems").is_ok_and(|s| {
        s.lines()
            .any(|l| l.split_whitespace().last() == Some("overlay"))
    })
}

/// Mount two lower layers, an upper and a work dir under `scratch`, write
/// through the mount, check the write landed in upper, and clean up.
pub fn try_mount(scratch: &Path) -> Result<(), String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("creating {}: {e}", scratch.display()))?;
    let dir = tempfile_dir(scratch)?;
    let result = mount_and_check(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir(parent: &Path) -> Result<std::path::PathBuf, String> {
    let d = parent.join(format!("overlay-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for sub in ["l1", "l2", "upper", "work", "merged"] {
        std::fs::create_dir_all(d.join(sub))
            .map_err(|e| format!("creating {}: {e}", d.join(sub).display()))?;
    }
    std::fs::write(d.join("l1/a"), b"lower").map_err(|e| format!("writing probe file: {e}"))?;
    Ok(d)
}

fn mount_and_check(d: &Path) -> Result<(), String> {
    let merged = d.join("merged");
    let opts = format!(
        "lowerdir={}:{},upperdir={},workdir={}",
        d.join("l1").display(),
        d.join("l2").display(),
        d.join("upper").display(),
        d.join("work").display()
    );
    mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        MsFlags::MS_NODEV,
        Some(opts.as_str()),
    )
    .map_err(|e| format!("mount -t overlay on {}: {e}", backing_name(d)))?;
    let check = (|| {
        let read =
            std::fs::read(merged.join("a")).map_err(|e| format!("reading through overlay: {e}"))?;
        if read != b"lower" {
            return Err("a lower file read back wrong through overlay".to_string());
        }
        std::fs::write(merged.join("b"), b"upper")
            .map_err(|e| format!("writing through overlay: {e}"))?;
        Ok(())
    })();
    let unmounted =
        umount2(&merged, MntFlags::MNT_DETACH).map_err(|e| format!("unmounting probe: {e}"));
    check?;
    unmounted?;
    if !d.join("upper/b").exists() {
        return Err("a write through overlay did not reach the upper directory".into());
    }
    Ok(())
}

fn backing_name(d: &Path) -> String {
    format!("{} ({})", d.display(), crate::backing_fs::name(d))
}

#[cfg(test)]
mod tests {
    #[test]
    fn probe_reports_a_clear_answer() {
        let d = tempfile::tempdir().unwrap();
        match super::try_mount(d.path()) {
            Ok(()) => assert!(super::kernel_supports_overlay()),
            Err(e) => assert!(!e.is_empty()),
        }
        // Nothing is left behind either way.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
