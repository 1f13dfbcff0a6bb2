//! ADD's local archives: a tar, possibly gzip, zstd, bzip2 or xz
//! compressed, unpacked into the step's tar stream under the destination.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{clean, io, join, SourceError};
use crate::image::archive::{decoder, sniff};

/// The file at `path` decompressed (`head`: its first bytes): gzip and
/// zstd as images' layers are; bzip2 streamed; xz unpacked first into an
/// unnamed temporary file (lzma-rs writes, it does not read).
fn archive_reader(path: &Path, head: &[u8]) -> std::io::Result<Box<dyn Read>> {
    let f = File::open(path)?;
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        let mut out = anonymous_file()?;
        lzma_rs::xz_decompress(&mut std::io::BufReader::new(f), &mut out)
            .map_err(|e| std::io::Error::other(format!("xz: {e}")))?;
        std::io::Seek::rewind(&mut out)?;
        return Ok(Box::new(out));
    }
    if head.starts_with(b"BZh") {
        return Ok(Box::new(bzip2::read::MultiBzDecoder::new(
            std::io::BufReader::new(f),
        )));
    }
    decoder(f, sniff(head))
}

/// A read-write file with no name in the temporary directory, gone when closed.
fn anonymous_file() -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(std::env::temp_dir())
}

/// ADD's auto-extraction: a tar, possibly gzip, zstd, bzip2 or xz compressed.
pub(super) fn is_archive(path: &Path) -> Result<bool, SourceError> {
    let mut head = Vec::with_capacity(1024);
    File::open(path)
        .map_err(io("opening", path))?
        .take(1024)
        .read_to_end(&mut head)
        .map_err(io("reading", path))?;
    let mut inner = Vec::with_capacity(512);
    let Ok(d) = archive_reader(path, &head) else {
        return Ok(false);
    };
    if d.take(512).read_to_end(&mut inner).is_err() {
        return Ok(false);
    }
    Ok(inner.len() >= 262 && &inner[257..262] == b"ustar")
}

/// Each entry of the archive at `path` appended to `tar` under `dest`,
/// with names cleaned inside it (an entry leaving it is skipped).
pub(super) fn extract_into<W: Write>(
    path: &Path,
    dest: &str,
    tar: &mut tar::Builder<W>,
) -> Result<(), SourceError> {
    let mut head = [0u8; 6];
    let n = File::open(path)
        .map_err(io("opening", path))?
        .read(&mut head)
        .map_err(io("reading", path))?;
    let d = archive_reader(path, &head[..n]).map_err(io("decompressing", path))?;
    let mut archive = tar::Archive::new(d);
    for entry in archive.entries().map_err(io("reading", path))? {
        let mut entry = entry.map_err(io("reading", path))?;
        let name = entry.path().map_err(io("reading", path))?.into_owned();
        let Some(rel) = clean(&name.to_string_lossy()) else {
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        // A fresh header from the entry's fields: old and odd headers
        // (NUL type flags, empty numeric fields) become plain GNU ones.
        let old = entry.header();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(old.entry_type());
        h.set_mode(old.mode().unwrap_or(0o644));
        h.set_uid(old.uid().unwrap_or(0));
        h.set_gid(old.gid().unwrap_or(0));
        h.set_mtime(old.mtime().unwrap_or(0));
        h.set_size(old.entry_size().unwrap_or(0));
        let full = join(dest, &rel);
        match h.entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(io("reading", path))?
                    .unwrap_or_default()
                    .into_owned();
                let target = if h.entry_type() == tar::EntryType::Link {
                    PathBuf::from(join(
                        dest,
                        &clean(&target.to_string_lossy()).unwrap_or_default(),
                    ))
                } else {
                    target
                };
                tar.append_link(&mut h, &full, &target)
                    .map_err(io("writing", path))?;
            }
            _ => {
                tar.append_data(&mut h, &full, &mut entry)
                    .map_err(io("writing", path))?;
            }
        }
    }
    Ok(())
}
