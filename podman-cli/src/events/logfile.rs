//! The file backend: one JSON line per event, appended to the log.
//!
//! A writer opens the log with `O_APPEND`, takes a shared `flock` on it,
//! and writes its line in one `write()`: lines of concurrent writers never
//! interleave, and nothing is fsynced (the default log lives in the run
//! root, which does not outlive a reboot). When the line would take the log
//! to `events_logfile_max_size`, the writer rotates it as libpod does: under
//! an exclusive `flock` the newer half of the log (from the first line
//! boundary past the middle) is copied between a `log-rotation` begin and
//! end event into a new file, which is renamed over the log. A writer that
//! got its shared lock on the replaced file sees it unlinked and reopens.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::record::Event;

pub const ROTATE_ATTRIBUTE: &str = "io.podman.event.rotate";

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// Open the log for appending, locked shared, making sure the file is the
/// log's current one (not a copy a rotation replaced).
fn open_current(path: &Path) -> std::io::Result<(File, u64)> {
    for _ in 0..100 {
        let f = match open_append(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    create_dir(dir)?;
                }
                open_append(path)?
            }
            Err(e) => return Err(e),
        };
        common::file_lock::lock_open_file(&f, common::file_lock::LockMode::Shared)?;
        let m = f.metadata()?;
        if m.nlink() > 0 {
            return Ok((f, m.len()));
        }
    }
    Err(std::io::Error::other(format!(
        "{}: replaced over and over while opening it",
        path.display()
    )))
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

use std::os::unix::fs::DirBuilderExt;

/// Append `event` to the log at `path`, rotating first when `max_size`
/// (bytes; 0: no limit) would be reached.
pub fn append(path: &Path, max_size: u64, event: &Event) -> std::io::Result<()> {
    let mut line = event.to_line();
    line.push('\n');
    let (mut f, size) = open_current(path)?;
    // libpod counts the line's runes without its newline.
    let content = line.chars().count() as u64 - 1;
    if max_size > 0 && size + content >= max_size {
        drop(f);
        f = rotate(path, max_size, content)?;
    }
    // One write of the whole line: O_APPEND keeps concurrent lines whole.
    let n = f.write(line.as_bytes())?;
    if n != line.len() {
        // Only a full disk or a signal splits a write of a few hundred
        // bytes; finish the line rather than leave half of it.
        f.write_all(&line.as_bytes()[n..])?;
    }
    Ok(())
}

/// Rotate under the exclusive lock (unless another writer just did) and
/// return the new log opened for appending, locked shared.
fn rotate(path: &Path, max_size: u64, content: u64) -> std::io::Result<File> {
    let f = open_append(path)?;
    common::file_lock::lock_open_file(&f, common::file_lock::LockMode::Exclusive)?;
    let m = f.metadata()?;
    if m.nlink() == 0 || m.len() + content < max_size {
        // Someone else rotated while we waited.
        drop(f);
        return open_current(path).map(|(f, _)| f);
    }
    let mut orig = File::open(path)?;
    let threshold = m.len() / 2;
    orig.seek(SeekFrom::Start(threshold))?;
    let mut reader = BufReader::new(orig);
    let mut dropped = Vec::new();
    reader.read_until(b'\n', &mut dropped)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp_path = dir.join(format!(
        ".{}.rotate-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("events"),
        std::process::id()
    ));
    let result = (|| {
        let mut tmp = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp_path)?;
        tmp.write_all(rotate_event(path, "begin").as_bytes())?;
        std::io::copy(&mut reader, &mut tmp)?;
        tmp.write_all(rotate_event(path, "end").as_bytes())?;
        std::fs::rename(&tmp_path, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(e);
    }
    // Writers waiting on the old file find it unlinked and reopen.
    drop(f);
    open_current(path).map(|(f, _)| f)
}

fn rotate_event(path: &Path, which: &str) -> String {
    let mut e = Event::new("system", "log-rotation");
    e.name = path.display().to_string();
    e.attributes = Some([(ROTATE_ATTRIBUTE.to_string(), which.to_string())].into());
    let mut l = e.to_line();
    l.push('\n');
    l
}

/// What a line of the log says.
pub enum Line {
    Event(Box<Event>),
    /// A line that is not an event of a known type.
    Invalid(String),
}

/// Reads the log from a position, line by line, across rotations.
pub struct Reader {
    path: PathBuf,
    file: Option<File>,
    ino: u64,
    pending: Vec<u8>,
    /// Events of a rotation that happened after we started reading repeat
    /// lines we have already read: skip from its begin to its end marker.
    started_ns: i64,
    skipping: bool,
}

impl Reader {
    /// Open the log; `from_end` starts at its current end.
    pub fn open(path: &Path, from_end: bool, started_ns: i64) -> std::io::Result<Reader> {
        let mut r = Reader {
            path: path.to_path_buf(),
            file: None,
            ino: 0,
            pending: Vec::new(),
            started_ns,
            skipping: false,
        };
        r.reopen(from_end)?;
        Ok(r)
    }

    fn reopen(&mut self, from_end: bool) -> std::io::Result<()> {
        match File::open(&self.path) {
            Ok(mut f) => {
                self.ino = f.metadata()?.ino();
                if from_end {
                    f.seek(SeekFrom::End(0))?;
                }
                self.file = Some(f);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.file = None;
                self.ino = 0;
            }
            Err(e) => return Err(e),
        }
        self.pending.clear();
        Ok(())
    }

    /// Every complete line written since the last call. With `follow`, a
    /// log replaced by a rotation is reopened from its start once the old
    /// file is drained.
    pub fn read_new(&mut self, follow: bool) -> std::io::Result<Vec<Line>> {
        let mut out = Vec::new();
        self.drain(&mut out)?;
        if follow {
            let current = std::fs::metadata(&self.path).map(|m| m.ino()).ok();
            if current.is_some() && current != Some(self.ino) {
                self.reopen(false)?;
                self.drain(&mut out)?;
            }
        } else if !self.pending.is_empty() {
            // A last line without its newline (a writer mid-write).
            let rest = std::mem::take(&mut self.pending);
            self.push_line(&rest, &mut out);
        }
        Ok(out)
    }

    fn drain(&mut self, out: &mut Vec<Line>) -> std::io::Result<()> {
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
        let mut start = 0;
        let pending = std::mem::take(&mut self.pending);
        while let Some(i) = memchr::memchr(b'\n', &pending[start..]) {
            self.push_line(&pending[start..start + i], out);
            start += i + 1;
        }
        self.pending = pending[start..].to_vec();
        Ok(())
    }

    fn push_line(&mut self, raw: &[u8], out: &mut Vec<Line>) {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let e = match Event::from_line(text) {
            Ok(e) if super::record::TYPES.contains(&e.kind.as_str()) => e,
            Ok(e) if e.kind.is_empty() => {
                out.push(Line::Invalid(format!(
                    "event type is not valid in {}",
                    self.path.display()
                )));
                return;
            }
            Ok(e) => {
                out.push(Line::Invalid(format!(
                    "event type {} is not valid in {}",
                    e.kind,
                    self.path.display()
                )));
                return;
            }
            Err(_) => {
                out.push(Line::Invalid(format!(
                    "event type is not valid in {}",
                    self.path.display()
                )));
                return;
            }
        };
        if e.kind == "system" && e.status == "log-rotation" {
            match e
                .attributes
                .as_ref()
                .and_then(|a| a.get(ROTATE_ATTRIBUTE))
                .map(String::as_str)
            {
                Some("begin") if e.time.unix_ns > self.started_ns => self.skipping = true,
                // The end marker itself is shown, as libpod does.
                Some("end") => self.skipping = false,
                Some("begin") | None => {}
                Some(other) => {
                    out.push(Line::Invalid(format!(
                        "unknown rotate-event attribute {other:?}"
                    )));
                    return;
                }
            }
        }
        if !self.skipping {
            out.push(Line::Event(Box::new(e)));
        }
    }

    /// The directory to watch for changes of the log.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    pub fn file_name(&self) -> Option<&std::ffi::OsStr> {
        self.path.file_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn populate(path: &Path) {
        let mut s = String::new();
        for i in 0..100 {
            s += &format!("{{\"Name\":\"busybox\",\"Status\":\"pull\",\"Time\":\"2022-04-06T11:26:42.7236679{i:02}+02:00\",\"Type\":\"image\",\"Attributes\":null}}\n");
        }
        std::fs::write(path, s).unwrap();
    }

    fn events(lines: Vec<Line>) -> Vec<Event> {
        lines
            .into_iter()
            .map(|l| match l {
                Line::Event(e) => *e,
                Line::Invalid(m) => panic!("{m}"),
            })
            .collect()
    }

    #[test]
    fn appends_lines_and_reads_them_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/events.log");
        let mut e = Event::new("container", "start");
        e.id = "abc".into();
        append(&p, 0, &e).unwrap();
        append(&p, 0, &e).unwrap();
        let got = events(Reader::open(&p, false, 0).unwrap().read_new(false).unwrap());
        assert_eq!(got, vec![e.clone(), e]);
    }

    #[test]
    fn rotation_keeps_the_newer_half_between_markers() {
        // The bats test "events log-file rotation": 100 lines of 113
        // bytes, a limit below the size: the lines after the one crossing
        // the middle (49) survive.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("events.txt");
        populate(&p);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 11300);
        let before = std::fs::read_to_string(&p).unwrap();
        // No limit: no rotation.
        append(&p, 0, &Event::new("container", "remove")).unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().starts_with(&before));
        populate(&p);
        let mut e = Event::new("container", "remove");
        e.id = "cid".into();
        append(&p, 4750, &e).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 52);
        assert!(lines[0].contains("\"Status\":\"log-rotation\""));
        assert!(lines[0].contains("{\"io.podman.event.rotate\":\"begin\"}"));
        assert!(lines[1].contains("2022-04-06T11:26:42.723667951+02:00"));
        assert!(lines[49].contains("2022-04-06T11:26:42.723667999+02:00"));
        assert!(lines[50].contains("{\"io.podman.event.rotate\":\"end\"}"));
        assert!(lines[51].contains("\"ID\":\"cid\""));
        let now = common::time::now_nanos();
        let got = events(
            Reader::open(&p, false, now)
                .unwrap()
                .read_new(false)
                .unwrap(),
        );
        assert_eq!(got.len(), 52);
    }

    #[test]
    fn a_follower_sees_each_event_once_across_a_rotation() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("events.txt");
        populate(&p);
        let started = common::time::now_nanos();
        let mut r = Reader::open(&p, false, started).unwrap();
        assert_eq!(events(r.read_new(true).unwrap()).len(), 100);
        let mut e = Event::new("container", "create");
        e.id = "c1".into();
        append(&p, 11400, &e).unwrap();
        let got = events(r.read_new(true).unwrap());
        // The old file had no new line; the new one repeats old lines
        // between markers: only the end marker and the event are new.
        let statuses: Vec<&str> = got.iter().map(|e| e.status.as_str()).collect();
        assert_eq!(statuses, vec!["log-rotation", "create"]);
        e.status = "remove".into();
        append(&p, 11400, &e).unwrap();
        let got = events(r.read_new(true).unwrap());
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn concurrent_writers_never_interleave() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("events.log");
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let mut e = Event::new("container", "start");
                        e.id = format!("{t}-{i}-{}", "x".repeat(300));
                        append(&p, 20_000, &e).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for l in text.lines() {
            Event::from_line(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        }
        assert!(text.len() < 20_000 + 8 * 400);
    }

    #[test]
    fn bad_lines_are_reported_not_fatal() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("events.log");
        std::fs::write(
            &p,
            "garbage\n{\"Status\":\"x\",\"Type\":\"weird\",\"Time\":\"2022-04-06T11:26:42Z\"}\n",
        )
        .unwrap();
        let lines = Reader::open(&p, false, 0).unwrap().read_new(false).unwrap();
        let msgs: Vec<String> = lines
            .into_iter()
            .map(|l| match l {
                Line::Invalid(m) => m,
                Line::Event(_) => "event".into(),
            })
            .collect();
        assert_eq!(
            msgs[0],
            format!("event type is not valid in {}", p.display())
        );
        assert_eq!(
            msgs[1],
            format!("event type weird is not valid in {}", p.display())
        );
    }
}
