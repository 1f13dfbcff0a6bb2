//! Reading this process's /proc/self/mountinfo.

/// The filesystem's own options (mountinfo's super options, e.g. overlay's
/// lowerdir=...,volatile) of the mount at `mountpoint`; None when nothing
/// is mounted there.
pub fn mount_options(mountpoint: &str) -> Option<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()?
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(mountpoint))
        .and_then(|l| l.split(" - ").nth(1))
        .map(str::to_string)
}
