//! Scratch space on the graph root's filesystem (`<graphroot>/tmp`) for
//! push, save, load and import: on the same filesystem as the store so
//! blobs can be hardlinked, and removed when the guard is dropped — on
//! success, on error and on unwinding alike. A process killed with SIGKILL
//! leaves its directory behind; the next command that stages anything
//! removes leftovers older than a day.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    #[error("{what} {}: {source}", path.display())]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StagingError + 'a {
    move |source| StagingError::Io { what, path: path.to_path_buf(), source }
}

/// A directory that is removed with everything in it when dropped.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
}

/// Leftovers of killed commands older than this are removed.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

impl Staging {
    /// Make `<graph_root>/tmp/<purpose>-<random>`.
    pub fn new(graph_root: &Path, purpose: &str) -> Result<Staging, StagingError> {
        let tmp = graph_root.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(io("creating", &tmp))?;
        remove_stale(&tmp);
        let id = crate::container::names::new_id().map_err(io("reading random bytes for", &tmp))?;
        let dir = tmp.join(format!("{purpose}-{}", &id[..16]));
        std::fs::create_dir(&dir).map_err(io("creating", &dir))?;
        tracing::debug!(dir = %dir.display(), "staging directory");
        Ok(Staging { dir })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A path inside the staging directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Copy `src` (stdin, a pipe) into `name` here; returns its path.
    pub fn copy_in(&self, name: &str, src: &mut dyn Read) -> Result<PathBuf, StagingError> {
        let path = self.join(name);
        let mut f = std::fs::File::create(&path).map_err(io("creating", &path))?;
        std::io::copy(src, &mut f).map_err(io("copying standard input to", &path))?;
        f.flush().map_err(io("writing", &path))?;
        Ok(path)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove staging directory");
            }
        }
    }
}

/// Remove `push-`/`save-`/`load-`/`import-` directories a killed podman
/// left, once they are old enough that no running command can own them.
fn remove_stale(tmp: &Path) {
    let Ok(rd) = std::fs::read_dir(tmp) else { return };
    let now = SystemTime::now();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !["push-", "save-", "load-", "import-"].iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let old = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| now.duration_since(t).ok()).is_some_and(|age| age > STALE_AFTER);
        if old {
            tracing::debug!(dir = %e.path().display(), "removing stale staging directory");
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_is_removed_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let s = Staging::new(root.path(), "save").unwrap();
        let p = s.copy_in("x", &mut &b"hello"[..]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        let dir = s.path().to_path_buf();
        assert!(dir.starts_with(root.path().join("tmp")));
        drop(s);
        assert!(!dir.exists());
    }
}
