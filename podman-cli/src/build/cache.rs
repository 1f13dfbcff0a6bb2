//! The build cache: a content-addressed index from a step's key (the
//! parent image, the instruction, the build arguments in effect, the
//! digest of what COPY/ADD read, the image format) to the image that step
//! committed. Entries are files under `<graphroot>/build-cache/`; an entry
//! whose image was removed is a miss.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub struct Cache {
    dir: PathBuf,
}

/// A step's key, built from its parts in order.
#[derive(Default)]
pub struct Key(Sha256);

impl Key {
    pub fn part(mut self, label: &str, value: &str) -> Key {
        // Length-prefixed, so no two part lists hash alike.
        for s in [label, value] {
            self.0.update((s.len() as u64).to_le_bytes());
            self.0.update(s.as_bytes());
        }
        self
    }

    pub fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Cache {
    pub fn new(graph_root: &Path) -> Cache {
        Cache {
            dir: graph_root.join("build-cache"),
        }
    }

    /// The image recorded for `key`, if any (the caller checks it exists).
    pub fn get(&self, key: &str) -> Option<String> {
        let id = std::fs::read_to_string(self.dir.join(key)).ok()?;
        let id = id.trim();
        (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_string())
    }

    pub fn put(&self, key: &str, image: &str) -> anyhow::Result<()> {
        common::private_dir::create(&self.dir)
            .map_err(|e| anyhow::anyhow!("creating the build cache {}: {e}", self.dir.display()))?;
        common::atomic_file::write_atomic(
            &self.dir.join(key),
            image.as_bytes(),
            common::atomic_file::Durability::Fsync,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_entries() {
        let a = Key::default().part("a", "bc").finish();
        let b = Key::default().part("ab", "c").finish();
        assert_ne!(a, b);
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path());
        assert_eq!(c.get(&a), None);
        let id = "ab".repeat(32);
        c.put(&a, &id).unwrap();
        assert_eq!(c.get(&a), Some(id));
    }
}
