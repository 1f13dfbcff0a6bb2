//! Reading the k8s-file log the monitor writes: one record per line,
//! `TIMESTAMP STREAM P|F text`, where `P` marks a partial line continued by
//! the next record. Records are read in chunks straight from the file and
//! handed out borrowed; only partial lines are copied (to be joined).

use std::borrow::Cow;
use std::os::unix::fs::FileExt;

/// One log record: a line, or partial lines joined.
pub struct Record<'a> {
    pub time: Cow<'a, [u8]>,
    pub stderr: bool,
    /// Without the newline.
    pub text: Cow<'a, [u8]>,
    /// `text` and its newline, when they lie together in the file (a
    /// record that was not joined): one write instead of two.
    pub line: Option<&'a [u8]>,
}

impl Record<'_> {
    /// Nanoseconds since the epoch, 0 if the timestamp does not parse.
    pub fn unix_nanos(&self) -> i64 {
        std::str::from_utf8(&self.time)
            .ok()
            .and_then(|t| common::time::parse_rfc3339(t).ok())
            .unwrap_or(0)
    }
}

/// A partial line waiting for the rest of its record.
#[derive(Default)]
pub struct Partial(Option<(Vec<u8>, bool, Vec<u8>)>);

/// Hand `f` every complete record in `data`; returns the bytes consumed
/// (up to the last newline).
pub fn parse(data: &[u8], partial: &mut Partial, f: &mut impl FnMut(&Record<'_>)) -> usize {
    let mut pos = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        let start = pos;
        let line = &data[start..nl];
        pos = nl + 1;
        let Some((ts, rest)) = split_space(line) else {
            continue;
        };
        let (stderr, tag, text) = match fields(rest) {
            Some(f) => f,
            None => continue,
        };
        if tag == b"P" {
            match &mut partial.0 {
                Some((_, _, t)) => t.extend_from_slice(text),
                None => partial.0 = Some((ts.to_vec(), stderr, text.to_vec())),
            }
            continue;
        }
        let rec = match partial.0.take() {
            Some((time, stderr, mut t)) => {
                t.extend_from_slice(text);
                Record {
                    time: Cow::Owned(time),
                    stderr,
                    text: Cow::Owned(t),
                    line: None,
                }
            }
            None => Record {
                time: Cow::Borrowed(ts),
                stderr,
                text: Cow::Borrowed(text),
                line: Some(&data[nl - text.len()..=nl]),
            },
        };
        f(&rec);
    }
    pos
}

fn split_space(b: &[u8]) -> Option<(&[u8], &[u8])> {
    memchr::memchr(b' ', b).map(|i| (&b[..i], &b[i + 1..]))
}

/// `STREAM TAG text` after the timestamp: (stderr?, tag, text). The monitor
/// writes `stdout `/`stderr ` and a one-letter tag, checked at fixed
/// offsets; anything else is split on spaces.
fn fields(rest: &[u8]) -> Option<(bool, &[u8], &[u8])> {
    if rest.len() >= 8 && rest[6] == b' ' && (rest.len() == 8 || rest[8] == b' ') {
        let stream = &rest[..6];
        if stream == b"stdout" || stream == b"stderr" {
            let text = if rest.len() > 9 { &rest[9..] } else { b"" };
            return Some((stream == b"stderr", &rest[7..8], text));
        }
    }
    let (stream, rest) = split_space(rest)?;
    let (tag, text) = split_space(rest).unwrap_or((rest, b""));
    Some((stream == b"stderr", tag, text))
}

/// Bytes read from the file at a time: small enough to stay in the cache
/// and not to fault in fresh pages for every read (1 MiB cost ~250 page
/// faults per `podman logs`).
const CHUNK: usize = 128 << 10;

/// Hand `f` every complete record of `file` from byte `offset` on; returns
/// the offset just after the last complete line (where to go on from when
/// the file grows).
pub fn read_records(
    file: &std::fs::File,
    mut offset: u64,
    partial: &mut Partial,
    mut f: impl FnMut(&Record<'_>),
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0;
    loop {
        let n = match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(offset);
        }
        filled += n;
        let used = parse(&buf[..filled], partial, &mut f);
        offset += used as u64;
        buf.copy_within(used..filled, 0);
        filled -= used;
        if filled == buf.len() {
            // One line longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_records_are_joined() {
        let data = b"2026-11-27T20:24:22.1+00:00 stdout P hel\n2026-11-27T20:24:22.2+00:00 stdout F lo\n2026-11-27T20:24:23.0+00:00 stderr F oops\nincomplete";
        let mut out = Vec::new();
        let n = parse(data, &mut Partial::default(), &mut |r| {
            out.push((r.time.to_vec(), r.stderr, r.text.to_vec()))
        });
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, b"2026-11-27T20:24:22.1+00:00");
        assert_eq!(out[0].2, b"hello");
        assert!(out[1].1);
        assert_eq!(n, data.len() - b"incomplete".len());
    }

    #[test]
    fn stream_and_tag_parse_at_fixed_offsets_and_by_spaces() {
        assert_eq!(
            fields(b"stdout F hi there"),
            Some((false, &b"F"[..], &b"hi there"[..]))
        );
        assert_eq!(fields(b"stderr P "), Some((true, &b"P"[..], &b""[..])));
        assert_eq!(fields(b"stdout F"), Some((false, &b"F"[..], &b""[..])));
        // Not the monitor's layout: split on spaces.
        assert_eq!(fields(b"other F x"), Some((false, &b"F"[..], &b"x"[..])));
        assert_eq!(fields(b"stdout"), None);
    }

    #[test]
    fn records_span_chunks_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        let line = |i: usize| format!("2026-11-27T20:24:22Z stdout F line {i}\n");
        let mut all: String = (0..100_000).map(line).collect();
        all.push_str("2026-11-27T20:24:22Z stdout P cut\n2026-11-27T20:24:22Z stdout F");
        std::fs::write(&path, &all).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut partial = Partial::default();
        let mut n = 0;
        let end = read_records(&file, 0, &mut partial, |r| {
            assert_eq!(&*r.text, format!("line {n}").as_bytes());
            n += 1;
        })
        .unwrap();
        assert_eq!(n, 100_000);
        // Up to the last newline; the partial line waits for its rest.
        assert_eq!(
            end as usize,
            all.len() - "2026-11-27T20:24:22Z stdout F".len()
        );
        std::fs::write(
            &path,
            format!("{all} off\n2026-11-27T20:24:23Z stdout F x\n"),
        )
        .unwrap();
        let mut got = Vec::new();
        read_records(&file, end, &mut partial, |r| got.push(r.text.to_vec())).unwrap();
        assert_eq!(got, vec![b"cutoff".to_vec(), b"x".to_vec()]);
    }
}
