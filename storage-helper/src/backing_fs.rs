//! Which filesystem a directory lives on, and how full it is.

use std::path::Path;

/// Filesystem magic numbers (statfs f_type) worth naming.
const MAGICS: &[(i64, &str)] = &[
    (0xEF53, "extfs"),
    (0x5846_5342, "xfs"),
    (0x9123_683E, "btrfs"),
    (0x0102_1994, "tmpfs"),
    (0x794C_7630, "overlayfs"),
    (0x2FC1_2FC1, "zfs"),
    (0x6969, "nfs"),
    (0xF2F5_2010, "f2fs"),
    (0x6573_5546, "fuse"),
    (0x0000_4d44, "msdos"),
    (0x5346_544e, "ntfs"),
];

/// The filesystem under `path` (or its nearest existing ancestor).
// The statfs field types differ between architectures.
#[allow(clippy::unnecessary_cast)]
pub fn name(path: &Path) -> String {
    let Some(existing) = path.ancestors().find(|p| p.exists()) else {
        return "unknown".into();
    };
    match nix::sys::statfs::statfs(existing) {
        Ok(st) => {
            let t = st.filesystem_type().0 as i64;
            MAGICS
                .iter()
                .find(|(m, _)| *m == t)
                .map(|(_, n)| n.to_string())
                .unwrap_or_else(|| format!("0x{t:x}"))
        }
        Err(e) => format!("unknown ({e})"),
    }
}

/// (total, used) bytes of the filesystem under `path`.
#[allow(clippy::unnecessary_cast)]
pub fn usage(path: &Path) -> (u64, u64) {
    let Some(existing) = path.ancestors().find(|p| p.exists()) else {
        return (0, 0);
    };
    match nix::sys::statvfs::statvfs(existing) {
        Ok(st) => {
            let frag = st.fragment_size() as u64;
            let total = st.blocks() as u64 * frag;
            let free = st.blocks_free() as u64 * frag;
            (total, total.saturating_sub(free))
        }
        Err(_) => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn proc_is_not_unknown_and_root_has_a_size() {
        assert_ne!(super::name(std::path::Path::new("/")), "unknown");
        let (total, used) = super::usage(std::path::Path::new("/"));
        assert!(total > 0 && used <= total);
    }
}
