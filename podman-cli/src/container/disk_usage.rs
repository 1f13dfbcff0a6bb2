//! Bytes a container's writable layer holds: containers-storage's
//! `directory.Size` over the upper directory (every entry but directories,
//! links not followed), what Podman reports as `SizeRw` (`ps --size`,
//! `inspect --size`, `container prune`'s reclaimed space).

use std::path::Path;

/// Bytes of the entries under `dir`, directories aside; 0 when unreadable.
pub fn tree_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => tree_bytes(&e.path()),
            Ok(m) => m.len(),
            _ => 0,
        })
        .sum()
}
