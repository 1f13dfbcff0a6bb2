//! Rebuilding a layer's tar stream byte for byte from containers/storage's
//! tar-split file (`overlay-layers/<id>.tar-split.gz`, vbatts/tar-split's
//! format: one JSON entry a line) and the layer's unpacked files.
//!
//! A segment entry holds raw tar bytes (headers, padding, the end blocks);
//! a file entry names a file whose `size` bytes follow in the stream,
//! read from the layer's `diff` directory. The stream is what the layer
//! was made from, so its digest is the layer's recorded uncompressed
//! digest, and the caller checks it. Every name is resolved inside the
//! layer's directory (a symlink in it never leads out) and must be a
//! regular file of exactly the recorded size.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

use crate::error::{Result, StoreError};

const SEGMENT: u8 = 2;
const FILE: u8 = 1;

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    name_raw: Option<String>,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    payload: Option<String>,
}

fn b64(s: &str, what: &str, from: &Path) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| bad(from, &format!("{what} is not base64: {e}")))
}

fn bad(from: &Path, why: &str) -> StoreError {
    StoreError::DataLoss(format!(
        "{}: not a usable tar-split file: {why}",
        from.display()
    ))
}

/// Write the layer's tar stream to `out`: `split` is the tar-split file,
/// `diff` the directory holding the layer's files.
pub fn assemble(split: &Path, diff: &Path, out: &mut dyn Write) -> Result<()> {
    let f = File::open(split).map_err(|e| StoreError::path("opening", split, e))?;
    let lines = BufReader::new(flate2::read::GzDecoder::new(BufReader::new(f)));
    let root = common::in_root::open_dir(diff).map_err(|e| StoreError::path("opening", diff, e))?;
    let write_err = |e: std::io::Error| StoreError::io("writing the layer's tar stream", e);
    for line in lines.split(b'\n') {
        let line = line.map_err(|e| StoreError::path("reading", split, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let e: Entry = serde_json::from_slice(&line)
            .map_err(|e| bad(split, &format!("an entry is not JSON: {e}")))?;
        match e.kind {
            SEGMENT => {
                if let Some(p) = &e.payload {
                    out.write_all(&b64(p, "a segment", split)?)
                        .map_err(write_err)?;
                }
            }
            FILE if e.size > 0 => {
                let name: Vec<u8> = match (&e.name_raw, &e.name) {
                    (Some(raw), _) => b64(raw, "a raw name", split)?,
                    (None, Some(n)) => n.as_bytes().to_vec(),
                    (None, None) => return Err(bad(split, "a file entry has no name")),
                };
                let rel = PathBuf::from(std::ffi::OsStr::from_bytes(&name));
                let rel = rel.strip_prefix("/").unwrap_or(&rel).to_path_buf();
                copy_file(root.as_fd(), &rel, e.size as u64, diff, out)?;
            }
            FILE => {}
            other => return Err(bad(split, &format!("unknown entry type {other}"))),
        }
    }
    Ok(())
}

/// Copy exactly `size` bytes of the regular file `rel` under `root`.
fn copy_file(
    root: std::os::fd::BorrowedFd<'_>,
    rel: &Path,
    size: u64,
    diff: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let at = diff.join(rel);
    let fd = common::in_root::Resolver::Auto
        .open_path(root, rel)
        .map_err(|e| StoreError::path("opening the layer file", &at, e))?;
    // An O_PATH descriptor cannot be read: reopen the same inode through
    // its /proc link (no path is resolved again).
    let file = File::open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| StoreError::path("opening the layer file", &at, e))?;
    let meta = file
        .metadata()
        .map_err(|e| StoreError::path("reading", &at, e))?;
    if !meta.is_file() || meta.len() != size {
        return Err(StoreError::DataLoss(format!(
            "{}: the layer's file is not the regular file of {size} bytes the layer recorded: the layer was changed",
            at.display()
        )));
    }
    let copied = std::io::copy(&mut file.take(size), out)
        .map_err(|e| StoreError::path("copying", &at, e))?;
    if copied != size {
        return Err(StoreError::DataLoss(format!(
            "{}: shorter than the {size} bytes the layer recorded",
            at.display()
        )));
    }
    Ok(())
}
