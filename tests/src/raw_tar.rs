//! Uncompressed tar archives built header by header, for what
//! [`LayerBuilder`](crate::layer::LayerBuilder) cannot express: device
//! nodes, PAX xattrs, arbitrary owners, and hostile paths (`..`, writes
//! through symlinks) the tar crate would refuse to write.

use anyhow::Result;

use crate::layer::{sha256_digest, Layer};
use crate::oci_image::{Image, ImageBuilder};

/// The mtime of every [`RawTar`] entry.
pub const MTIME: u64 = 1_700_000_000;

/// Builds an uncompressed tar by hand: every entry kind, PAX xattrs, and
/// paths the tar crate would refuse to write. Entries keep their order.
#[derive(Default)]
pub struct RawTar {
    b: Vec<u8>,
}

impl RawTar {
    fn header(
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        uid: u64,
        gid: u64,
        size: u64,
    ) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        let name = path.as_bytes();
        assert!(name.len() < 100, "keep raw tar paths short: {path}");
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_size(size);
        h.set_mtime(MTIME);
        h
    }

    fn push(&mut self, mut h: tar::Header, data: &[u8]) {
        h.set_cksum();
        self.b.extend_from_slice(h.as_bytes());
        self.b.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.b.extend(std::iter::repeat_n(0u8, pad));
    }

    pub fn dir(mut self, path: &str, mode: u32, uid: u64, gid: u64) -> Self {
        self.push(
            Self::header(path, tar::EntryType::Directory, mode, uid, gid, 0),
            b"",
        );
        self
    }

    pub fn file(mut self, path: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> Self {
        let size = data.len() as u64;
        self.push(
            Self::header(path, tar::EntryType::Regular, mode, uid, gid, size),
            data,
        );
        self
    }

    fn link(mut self, path: &str, target: &str, kind: tar::EntryType) -> Self {
        assert!(
            target.len() < 100,
            "keep raw tar link targets short: {target}"
        );
        let mut h = Self::header(path, kind, 0o777, 0, 0, 0);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        self.push(h, b"");
        self
    }

    pub fn symlink(self, path: &str, target: &str) -> Self {
        self.link(path, target, tar::EntryType::Symlink)
    }

    pub fn hardlink(self, path: &str, target: &str) -> Self {
        self.link(path, target, tar::EntryType::Link)
    }

    pub fn char_dev(mut self, path: &str, mode: u32, major: u32, minor: u32) -> Self {
        let mut h = Self::header(path, tar::EntryType::Char, mode, 0, 0, 0);
        h.set_device_major(major).expect("ustar has device fields");
        h.set_device_minor(minor).expect("ustar has device fields");
        self.push(h, b"");
        self
    }

    pub fn fifo(mut self, path: &str, mode: u32) -> Self {
        self.push(Self::header(path, tar::EntryType::Fifo, mode, 0, 0, 0), b"");
        self
    }

    /// A PAX header carrying `SCHILY.xattr.KEY=VALUE` for the next entry.
    pub fn xattr(mut self, key: &str, value: &[u8]) -> Self {
        let body = [format!("SCHILY.xattr.{key}=").as_bytes(), value, b"\n"].concat();
        // "<len> <body>" where len counts itself.
        let mut len = body.len() + 2;
        while format!("{len} ").len() + body.len() != len {
            len = format!("{len} ").len() + body.len();
        }
        let rec = [format!("{len} ").as_bytes(), &body].concat();
        let h = Self::header(
            "PaxHeader",
            tar::EntryType::XHeader,
            0o644,
            0,
            0,
            rec.len() as u64,
        );
        self.push(h, &rec);
        self
    }

    /// The archive, with its two zero blocks of end.
    pub fn finish(mut self) -> Vec<u8> {
        self.b.extend(std::iter::repeat_n(0u8, 1024));
        self.b
    }

    /// A one-layer image (no config beyond the defaults) whose layer blob
    /// is this archive, uncompressed.
    pub fn image(self) -> Result<Image> {
        ImageBuilder::new()
            .layer(plain_layer(self.finish()))
            .build()
    }
}

/// A layer whose blob is the uncompressed tar itself.
pub fn plain_layer(tar: Vec<u8>) -> Layer {
    let d = sha256_digest(&tar);
    Layer {
        digest: d.clone(),
        diff_id: d,
        tar_gz: tar,
    }
}
