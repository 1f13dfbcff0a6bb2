//! Shared pieces of the storage-helper end-to-end tests: a private store,
//! running the real binary (subcommands or gRPC), and raw tar layers for
//! what LayerBuilder cannot express (device nodes, xattrs, hostile paths).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use e2e::binaries::bin;
use e2e::oci_image::{sha256_digest, Image, Layer};
use serde_json::Value;

/// A private graph root and run root; anything still mounted under it is
/// detached when the test ends, pass or fail.
pub struct Store {
    pub dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin("storage-helper"));
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        c.stdin(Stdio::null());
        c
    }

    /// Run a subcommand and return its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Run a subcommand that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "storage-helper {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Run a subcommand that must fail the Podman way (exit 125, one
    /// `Error:` line); its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(
            o.status.code(),
            Some(125),
            "storage-helper {args:?} should fail; stdout {} stderr {err}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert_eq!(err.lines().count(), 1, "want one error line: {err}");
        assert!(err.starts_with("Error: storage-helper: "), "{err}");
        err
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Import `image` from a fresh layout under `name`; returns the image JSON.
    pub fn import(&self, image: &Image, name: &str) -> Value {
        let layout = self.layout(image, name);
        self.json(&["import-oci", layout.to_str().unwrap(), "--ref", name])
    }

    /// Write `image` as an OCI layout (like image-fetcher) in a new dir.
    pub fn layout(&self, image: &Image, name: &str) -> PathBuf {
        let d = self
            .dir
            .path()
            .join(format!("layout-{}", &image.manifest_digest[7..19]));
        image.write_oci_layout(&d, name).unwrap();
        d
    }

    pub fn layers_dir(&self) -> PathBuf {
        self.root().join("overlay-layers")
    }

    /// Unpacked layer directories (chain IDs), not counting temp/trash.
    pub fn layer_dirs(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.layers_dir())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.retain(|n| n.len() == 64);
        v.sort();
        v
    }

    pub fn blob_count(&self) -> usize {
        std::fs::read_dir(self.root().join("blobs/sha256"))
            .map(|rd| rd.count())
            .unwrap_or(0)
    }

    /// Mount points under this store.
    pub fn mounts(&self) -> Vec<String> {
        let base = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|mp| mp.starts_with(&base))
            .collect()
    }

    /// A gRPC client on a helper spawned like podman does (socketpair, fd 3).
    pub fn grpc(&self, rt: &tokio::runtime::Runtime) -> (proto::transport::Helper, Client) {
        let args: Vec<OsString> = vec![
            "--root".into(),
            self.root().into(),
            "--runroot".into(),
            self.runroot().into(),
            "serve".into(),
            "--grpc-fd".into(),
            "3".into(),
        ];
        rt.block_on(async {
            let h = proto::transport::spawn_helper("storage-helper", &bin("storage-helper"), &args)
                .await
                .unwrap();
            let c = Client::new(h.channel().unwrap());
            (h, c)
        })
    }
}

pub type Client = proto::storage::v1::storage_client::StorageClient<tonic::transport::Channel>;

impl Drop for Store {
    fn drop(&mut self) {
        for mp in self.mounts().into_iter().rev() {
            let _ = nix::mount::umount2(mp.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What one path of a file tree is, for whole-tree comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    File {
        mode: u32,
        uid: u32,
        gid: u32,
        data: Vec<u8>,
    },
    Symlink {
        target: String,
    },
    Char {
        mode: u32,
        major: u32,
        minor: u32,
    },
}

/// Every path under `root` (relative, sorted) and what it is.
pub fn tree(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    walk(root, Path::new(""), &mut out);
    out
}

fn walk(root: &Path, rel: &Path, out: &mut BTreeMap<String, Node>) {
    for e in std::fs::read_dir(root.join(rel)).unwrap() {
        let e = e.unwrap();
        let r = rel.join(e.file_name());
        let p = root.join(&r);
        let m = std::fs::symlink_metadata(&p).unwrap();
        let (mode, uid, gid) = (m.mode() & 0o7777, m.uid(), m.gid());
        let key = r.to_string_lossy().into_owned();
        let ft = m.file_type();
        let node = if ft.is_dir() {
            walk(root, &r, out);
            Node::Dir { mode, uid, gid }
        } else if ft.is_symlink() {
            Node::Symlink {
                target: std::fs::read_link(&p)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            }
        } else if ft.is_char_device() {
            Node::Char {
                mode,
                major: libc::major(m.rdev()),
                minor: libc::minor(m.rdev()),
            }
        } else {
            Node::File {
                mode,
                uid,
                gid,
                data: std::fs::read(&p).unwrap(),
            }
        };
        out.insert(key, node);
    }
}

/// Builds an uncompressed tar by hand: every entry kind, PAX xattrs, and
/// paths the tar crate would refuse to write.
#[derive(Default)]
pub struct RawTar {
    b: Vec<u8>,
}

pub const MTIME: u64 = 1_700_000_000;

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
        assert!(name.len() < 100, "keep raw tar paths short");
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
        self.push(
            Self::header(
                path,
                tar::EntryType::Regular,
                mode,
                uid,
                gid,
                data.len() as u64,
            ),
            data,
        );
        self
    }

    fn link(mut self, path: &str, target: &str, kind: tar::EntryType) -> Self {
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
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(h, b"");
        self
    }

    /// A PAX header carrying `SCHILY.xattr.KEY=VALUE` for the next entry.
    pub fn xattr(mut self, key: &str, value: &[u8]) -> Self {
        let mut rec = Vec::new();
        let body = [format!("SCHILY.xattr.{key}=").as_bytes(), value, b"\n"].concat();
        // "<len> <body>" where len counts itself.
        let mut len = body.len() + 2;
        while format!("{len} ").len() + body.len() != len {
            len = format!("{len} ").len() + body.len();
        }
        rec.extend_from_slice(format!("{len} ").as_bytes());
        rec.extend_from_slice(&body);
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

    pub fn finish(mut self) -> Vec<u8> {
        self.b.extend(std::iter::repeat_n(0u8, 1024));
        self.b
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

/// Bytes nobody can compress (xorshift), so sizes mean what they say.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// One xattr of `path` (not following symlinks), None when absent.
pub fn xattr(path: &Path, key: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let k = std::ffi::CString::new(key).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: valid C strings and a buffer of the length passed.
    let n = unsafe { libc::lgetxattr(p.as_ptr(), k.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}
