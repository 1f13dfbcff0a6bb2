//! Writing state files so a crash never leaves a half-written one.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `tmp`, fsync, and rename over `dest`.
pub fn write_atomic(tmp: &Path, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, dest)?;
    if let Some(dir) = dest.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Write `bytes` to `tmp` and rename over `dest`, without fsync: for files
/// under the run root, which do not outlive a reboot anyway.
pub fn write_replace(tmp: &Path, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(tmp, bytes)?;
    std::fs::rename(tmp, dest)
}
