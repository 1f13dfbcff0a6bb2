//! Unpack one layer blob into an empty directory, streaming: file ->
//! sha256 (compressed) -> gzip/zstd/plain -> sha256 (diff_id) -> tar ->
//! the file system, in one pass.
//!
//! For overlay, OCI whiteouts become what overlay understands: `.wh.NAME` a
//! 0/0 character device NAME, `.wh..wh..opq` the xattr
//! `trusted.overlay.opaque=y` on its directory. For vfs (a layer unpacked
//! over a copy of its parent) they are applied: NAME is deleted, and an
//! opaque directory loses what this layer did not put in it. Hard links, symlinks,
//! device nodes, FIFOs, xattrs (PAX `SCHILY.xattr.*`), ownership, modes and
//! mtimes are kept. Every path is resolved inside the layer (openat2
//! RESOLVE_IN_ROOT), `..` components are refused, and the last component
//! is never followed, so no entry can write outside the directory.
//!
//! [`applier`] writes the entries; [`tar_entry`] reads one entry's path
//! and metadata.

mod applier;
mod tar_entry;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::digest::{Digest, DigestReader};
use crate::error::{Result, StoreError};

use applier::Applier;

/// How whiteout entries are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Whiteouts {
    /// Recorded for an overlay mount (0/0 devices, opaque xattrs).
    #[default]
    Overlay,
    /// Carried out on the files below (deleted).
    Apply,
}

/// What the stream held.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    pub compressed_digest: Digest,
    pub compressed_size: u64,
    pub compression: Compression,
    pub entries: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognise the stream by its magic bytes (media types lie less often
    /// than they are missing, but content never lies).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

const BUF: usize = 256 * 1024;

/// Unpack `blob` into the existing empty directory `dest`. `what` names the
/// layer in errors.
pub fn unpack_blob(blob: &Path, dest: &Path, what: &str, whiteouts: Whiteouts) -> Result<Unpacked> {
    let file = File::open(blob).map_err(|e| StoreError::path("opening", blob, e))?;
    let mut input = BufReader::with_capacity(BUF, DigestReader::new(file));
    let head = input
        .fill_buf()
        .map_err(|e| StoreError::path("reading", blob, e))?;
    let compression = Compression::sniff(head);
    let corrupt = |e: std::io::Error| {
        let kind = match compression {
            Compression::None => "tar",
            Compression::Gzip => "gzip tar",
            Compression::Zstd => "zstd tar",
        };
        StoreError::DataLoss(format!("{what}: the {kind} archive is unreadable ({e}): the blob is corrupt or not a layer, pull the image again"))
    };
    let (diff_id, size, entries, input) = match compression {
        Compression::None => unpack_stream(input, dest, what, whiteouts, &corrupt)?,
        Compression::Gzip => {
            let (d, n, e, dec) = unpack_stream(
                flate2::bufread::MultiGzDecoder::new(input),
                dest,
                what,
                whiteouts,
                &corrupt,
            )?;
            (d, n, e, dec.into_inner())
        }
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(input).map_err(corrupt)?;
            let (d, n, e, dec) = unpack_stream(dec, dest, what, whiteouts, &corrupt)?;
            (d, n, e, dec.finish())
        }
    };
    let (compressed_digest, compressed_size, _) = input
        .into_inner()
        .finish()
        .map_err(|e| StoreError::path("reading", blob, e))?;
    Ok(Unpacked {
        diff_id,
        uncompressed_size: size,
        compressed_digest,
        compressed_size,
        compression,
        entries,
    })
}

/// Apply a tar stream (already decompressed) to `dest`; returns the
/// stream's digest and size, the entry count and the reader.
pub fn unpack_stream<R: Read>(
    reader: R,
    dest: &Path,
    what: &str,
    whiteouts: Whiteouts,
    corrupt: &dyn Fn(std::io::Error) -> StoreError,
) -> Result<(Digest, u64, u64, R)> {
    let mut archive = tar::Archive::new(DigestReader::new(reader));
    let mut applier = Applier::new(dest, what, ApplyOptions::layer(whiteouts))?;
    let mut count = 0u64;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        applier.apply(&mut entry, corrupt)?;
        count += 1;
    }
    applier.finish()?;
    let (digest, size, reader) = archive.into_inner().finish().map_err(corrupt)?;
    Ok((digest, size, count, reader))
}

/// How entries are applied: as an image layer ([`ApplyOptions::layer`]) or
/// as files copied in (`podman cp`, [`apply_archive`]).
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// `.wh.` entries are whiteouts (layers) or plain names (cp).
    pub whiteouts: bool,
    /// How whiteouts are carried out (overlay or vfs).
    pub whiteout_mode: Whiteouts,
    /// Where under the root the entries land ("" for the root itself).
    pub prefix: PathBuf,
    /// Give the first path component the second name when it is the first.
    pub rename: Option<(std::ffi::OsString, std::ffi::OsString)>,
    /// Owner of everything written instead of the archive's.
    pub owner: Option<(u32, u32)>,
    /// Replace a directory by a non-directory or the reverse; otherwise
    /// that is refused ("file exists").
    pub replace_dir_nondir: bool,
    /// Skip character and block devices.
    pub ignore_devices: bool,
}

impl ApplyOptions {
    pub fn layer(whiteout_mode: Whiteouts) -> Self {
        ApplyOptions {
            whiteouts: true,
            whiteout_mode,
            replace_dir_nondir: true,
            ..ApplyOptions::default()
        }
    }
}

/// Apply a tar stream (already decompressed) beneath `root` as `opts`
/// says, without hashing it (`podman cp`); returns the entry count. Every
/// path is resolved inside `root`, as for layers.
pub fn apply_archive<R: Read>(
    reader: R,
    root: &Path,
    what: &str,
    opts: ApplyOptions,
    corrupt: &dyn Fn(std::io::Error) -> StoreError,
) -> Result<u64> {
    let mut archive = tar::Archive::new(reader);
    let mut applier = Applier::new(root, what, opts)?;
    let mut count = 0u64;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        applier.apply(&mut entry, corrupt)?;
        count += 1;
    }
    applier.finish()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_sniffed() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"bin/"), Compression::None);
    }
}

#[cfg(test)]
#[path = "unpack_proptests.rs"]
mod proptests;
