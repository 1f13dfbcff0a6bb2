//! Scratch space on the graph root's filesystem for push, save, load and
//! import: on the same filesystem as the store so blobs can be hardlinked,
//! and removed when the guard is dropped — on success, on error and on
//! unwinding alike.
//!
//! It lives in `<graphroot>/staging/`, not `<graphroot>/tmp/`: that one is
//! storage-helper's, and every storage-helper that starts while no import
//! holds the store empties it — including a staging directory another
//! podman is still filling. Directories are named `<purpose>-<pid>-<random>`;
//! the next command that stages anything removes those whose process is
//! gone (a podman killed with SIGKILL), and any older than a day.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StagingError + 'a {
    move |source| StagingError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// A directory that is removed with everything in it when dropped.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
}

/// Leftovers older than this are removed even if their pid is alive again.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

impl Staging {
    /// Make `<graph_root>/staging/<purpose>-<pid>-<random>`.
    pub fn new(graph_root: &Path, purpose: &str) -> Result<Staging, StagingError> {
        let base = graph_root.join("staging");
        // Often the first thing made in a new store: the graph root is
        // created private here too.
        common::private_dir::create(&base).map_err(|e| io("creating", &base)(e.source))?;
        remove_stale(&base);
        let id =
            crate::container::names::new_id().map_err(io("reading random bytes for", &base))?;
        let dir = base.join(format!("{purpose}-{}-{}", std::process::id(), &id[..12]));
        std::fs::create_dir(&dir).map_err(io("creating", &dir))?;
        tracing::debug!(dir = %dir.display(), "staging directory");
        Ok(Staging { dir })
    }

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

/// Remove directories a killed podman left: its process is gone, or the
/// directory is older than a day (the pid may have been reused).
fn remove_stale(base: &Path) {
    let Ok(rd) = std::fs::read_dir(base) else {
        return;
    };
    let now = SystemTime::now();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.split('-').nth(1).and_then(|p| p.parse::<i32>().ok());
        let dead = pid.is_some_and(|p| {
            p > 0
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None)
                    == Err(nix::errno::Errno::ESRCH)
        });
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if dead || old {
            tracing::debug!(dir = %e.path().display(), dead, old, "removing a staging directory a killed podman left");
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_is_removed_on_drop_and_orphans_by_the_next_one() {
        let root = tempfile::tempdir().unwrap();
        let s = Staging::new(root.path(), "save").unwrap();
        let p = s.copy_in("x", &mut &b"hello"[..]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        let dir = s.path().to_path_buf();
        assert!(dir.starts_with(root.path().join("staging")));
        drop(s);
        assert!(!dir.exists());
        let orphan = root.path().join("staging/save-999999999-abc");
        std::fs::create_dir_all(&orphan).unwrap();
        let live = root
            .path()
            .join(format!("staging/load-{}-abc", std::process::id()));
        std::fs::create_dir_all(&live).unwrap();
        let s = Staging::new(root.path(), "push").unwrap();
        assert!(!orphan.exists());
        assert!(live.exists());
        drop(s);
    }
}
