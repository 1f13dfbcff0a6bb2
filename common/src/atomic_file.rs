//! Replacing a file whole: readers see the old content or the new, never a
//! half-written file. The bytes go to a temp file next to the destination
//! (same directory, so the rename is atomic), which is renamed over it.
//!
//! Whether the new content must survive a crash of the machine is the
//! caller's choice, made at every call with [`Durability`]: the graph root
//! and databases outlive a reboot and need the fsyncs; the run root is a
//! tmpfs that does not, and an fsync there only makes the caller wait
//! (a monitor's exit file is on the path of every `podman run`).
//!
//! Temp files are named `.<name>.tmp-<pid>-<n>`, so a sweep can tell which
//! ones a killed writer left behind ([`is_stale_temp`]).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fs_error::FsError;

/// How far a write must have reached before the call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file before the rename and its directory after: the new
    /// content survives a power cut. For the graph root, config and state
    /// directories, databases.
    Fsync,
    /// Temp file and rename only: whole or nothing if the process dies,
    /// not if the machine does. For the run root, which a reboot clears.
    NoSync,
}

/// The mode `File::create` uses (before the umask).
const DEFAULT_MODE: u32 = 0o666;

/// Replace `dest` with `bytes`.
pub fn write_atomic(dest: &Path, bytes: &[u8], durability: Durability) -> Result<(), FsError> {
    write_atomic_mode(dest, bytes, DEFAULT_MODE, durability)
}

/// [`write_atomic`] creating the file with `mode` (before the umask), for
/// files that must never be readable by others, even for a moment.
pub fn write_atomic_mode(
    dest: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> Result<(), FsError> {
    let mut f = AtomicFile::create_mode(dest, mode, durability)?;
    f.write_all(bytes)
        .map_err(FsError::at("writing", f.temp_path()))?;
    f.commit()
}

/// A file being written in place of `dest`; [`AtomicFile::commit`] puts it
/// there, dropping it uncommitted removes it. Writes are unbuffered: wrap
/// it in a `BufWriter` for many small writes.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    temp: PathBuf,
    dest: PathBuf,
    durability: Durability,
    committed: bool,
}

impl AtomicFile {
    pub fn create(dest: &Path, durability: Durability) -> Result<AtomicFile, FsError> {
        AtomicFile::create_mode(dest, DEFAULT_MODE, durability)
    }

    pub fn create_mode(
        dest: &Path,
        mode: u32,
        durability: Durability,
    ) -> Result<AtomicFile, FsError> {
        let temp = temp_path_for(dest);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)
            .map_err(FsError::at("creating", &temp))?;
        Ok(AtomicFile {
            file,
            temp,
            dest: dest.to_path_buf(),
            durability,
            committed: false,
        })
    }

    /// The open temp file (for `sync`, metadata, or a writer that wants a
    /// `File`).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Rename the temp file over the destination (with the fsyncs the
    /// durability asks for).
    pub fn commit(mut self) -> Result<(), FsError> {
        if self.durability == Durability::Fsync {
            self.file
                .sync_all()
                .map_err(FsError::at("syncing", &self.temp))?;
        }
        std::fs::rename(&self.temp, &self.dest)
            .map_err(FsError::at("renaming into place", &self.dest))?;
        self.committed = true;
        if self.durability == Durability::Fsync {
            let dir = parent_dir(&self.dest);
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(FsError::at("syncing directory", dir))?;
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

const TEMP_MARK: &str = ".tmp-";

/// `.<name>.tmp-<pid>-<n>` beside `dest`: unique within this process (the
/// counter) and across processes (the pid), and the pid says whether the
/// writer is still alive.
fn temp_path_for(dest: &Path) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_dir(dest).join(format!(
        ".{name}{TEMP_MARK}{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Whether `file_name` is an [`AtomicFile`] temp whose writer is gone (a
/// process killed between create and rename leaves one behind).
pub fn is_stale_temp(file_name: &str) -> bool {
    temp_owner(file_name).is_some_and(|(_, pid)| !Path::new("/proc").join(pid.to_string()).exists())
}

/// (destination name, writer pid) of a temp file name.
fn temp_owner(file_name: &str) -> Option<(&str, u32)> {
    let (name, tail) = file_name.strip_prefix('.')?.rsplit_once(TEMP_MARK)?;
    let (pid, seq) = tail.split_once('-')?;
    seq.parse::<u64>().ok()?;
    Some((name, pid.parse().ok()?))
}

/// Remove the temps that killed writers left for `dest`.
pub fn remove_stale_temps(dest: &Path) {
    let Some(name) = dest.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let Ok(rd) = std::fs::read_dir(parent_dir(dest)) else {
        return;
    };
    for e in rd.flatten() {
        let f = e.file_name();
        let Some(f) = f.to_str() else { continue };
        if temp_owner(f).is_some_and(|(n, _)| n == name) && is_stale_temp(f) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        for durability in [Durability::Fsync, Durability::NoSync] {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("x");
            write_atomic(&p, b"first, long", durability).unwrap();
            write_atomic(&p, b"2", durability).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), b"2");
            assert_eq!(names(d.path()), ["x"]);
        }
    }

    #[test]
    fn mode_is_applied_from_the_start() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secret");
        write_atomic_mode(&p, b"s", 0o600, Durability::Fsync).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn uncommitted_file_is_removed_and_dest_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        write_atomic(&p, b"old", Durability::NoSync).unwrap();
        let mut f = AtomicFile::create(&p, Durability::NoSync).unwrap();
        f.write_all(b"half").unwrap();
        assert_eq!(names(d.path()).len(), 2);
        drop(f);
        assert_eq!(names(d.path()), ["state.json"]);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_temp() {
        let d = tempfile::tempdir().unwrap();
        let e = write_atomic(&d.path().join("no/such"), b"x", Durability::Fsync).unwrap_err();
        assert_eq!(e.op, "creating");
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn stale_temps_of_dead_writers_are_swept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ipam.json");
        let dead = format!(".ipam.json.tmp-{}-0", u32::MAX);
        let alive = format!(".ipam.json.tmp-{}-7", std::process::id());
        let other = format!(".other.json.tmp-{}-0", u32::MAX);
        for n in [&dead, &alive, &other, &".ipam.json.tmp-x".to_string()] {
            std::fs::write(d.path().join(n), b"").unwrap();
        }
        assert!(is_stale_temp(&dead));
        assert!(!is_stale_temp(&alive));
        assert!(!is_stale_temp("ipam.json"));
        remove_stale_temps(&p);
        let left = names(d.path());
        assert!(!left.contains(&dead), "{left:?}");
        assert!(left.contains(&alive) && left.contains(&other), "{left:?}");
    }

    #[test]
    fn relative_destination_uses_the_current_directory() {
        assert_eq!(parent_dir(Path::new("f")), Path::new("."));
        let t = temp_path_for(Path::new("f"));
        assert!(t.starts_with(".") && t.to_string_lossy().contains(".f.tmp-"));
    }
}
