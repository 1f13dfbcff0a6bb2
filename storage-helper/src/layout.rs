//! Where the store keeps what, under the graph root.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Store {
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    pub driver: String,
}

impl Store {
    /// One directory per image record.
    pub fn images_dir(&self) -> PathBuf {
        self.graph_root.join(format!("{}-images", self.driver))
    }

    /// One directory per unpacked layer, keyed by chain ID.
    pub fn layers_dir(&self) -> PathBuf {
        self.graph_root.join(format!("{}-layers", self.driver))
    }

    /// Scratch space on the same filesystem as the layers (for probes and
    /// partial downloads), so renames into place are atomic.
    pub fn tmp_dir(&self) -> PathBuf {
        self.graph_root.join("tmp")
    }
}

/// Entries in `dir`, or 0 when it does not exist yet.
pub fn count_entries(dir: &Path) -> u32 {
    std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok()).count() as u32).unwrap_or(0)
}
