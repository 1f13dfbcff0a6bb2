//! What the storage-helper tests share: a private store driven through the
//! real binary (its subcommands, or gRPC on a helper spawned the way podman
//! spawns it), and whole-tree snapshots to compare unpacked layers with.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use proto::storage::v1 as pb;
use proto::transport::{Helper, TransportError};
use serde_json::Value;

use crate::binaries::bin;
use crate::oci_image::Image;

/// A gRPC client of the storage service.
pub type Client = pb::storage_client::StorageClient<tonic::transport::Channel>;

/// A private graph root and run root; anything still mounted under it is
/// detached when the test ends, pass or fail.
pub struct Store {
    pub dir: tempfile::TempDir,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store {
            dir: tempfile::tempdir().expect("temp dir for a store"),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// `storage-helper --root R --runroot RR`; add a subcommand.
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
        self.cmd()
            .args(args)
            .output()
            .expect("running storage-helper")
    }

    /// Run a subcommand that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "storage-helper {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
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

    /// Run a subcommand with `--json` that must succeed; its output parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.ok(&a);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("storage-helper {a:?} printed no JSON ({e}): {out}"))
    }

    /// Import `image` from a fresh layout under `name`; returns the image JSON.
    pub fn import(&self, image: &Image, name: &str) -> Value {
        self.import_layout(&self.layout(image, name), name)
    }

    /// `import-oci LAYOUT --ref NAME --json`, which must succeed.
    pub fn import_layout(&self, layout: &Path, name: &str) -> Value {
        self.json(&["import-oci", path_str(layout), "--ref", name])
    }

    /// `import-oci LAYOUT --ref NAME`, which must fail; its error line.
    pub fn import_layout_fails(&self, layout: &Path, name: &str) -> String {
        self.fails(&["import-oci", path_str(layout), "--ref", name])
    }

    /// Write `image` as an OCI layout (like image-fetcher) in a new dir.
    pub fn layout(&self, image: &Image, name: &str) -> PathBuf {
        let d = self
            .dir
            .path()
            .join(format!("layout-{}", &image.manifest_digest[7..19]));
        image
            .write_oci_layout(&d, name)
            .expect("writing an OCI layout");
        d
    }

    /// `create-container ID --image IMAGE`.
    pub fn create_container(&self, id: &str, image: &str) {
        self.ok(&["create-container", id, "--image", image]);
    }

    /// `mount ID`: the mount point it prints.
    pub fn mount(&self, id: &str) -> PathBuf {
        PathBuf::from(self.ok(&["mount", id]).trim())
    }

    pub fn layers_dir(&self) -> PathBuf {
        self.root().join("overlay-layers")
    }

    /// The stored blob file of `digest` (`sha256:HEX`).
    pub fn blob(&self, digest: &str) -> PathBuf {
        self.root()
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
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
            .expect("reading /proc/self/mountinfo")
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|mp| mp.starts_with(&base))
            .collect()
    }

    /// A storage-helper on this store spawned like podman does (socketpair,
    /// gRPC on fd 3), with a client and the runtime that drives both.
    pub fn grpc(&self) -> Grpc {
        let args: Vec<OsString> = vec![
            "--root".into(),
            self.root().into(),
            "--runroot".into(),
            self.runroot().into(),
            "serve".into(),
            "--grpc-fd".into(),
            "3".into(),
        ];
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (helper, client) = rt.block_on(async {
            let h = proto::transport::spawn_helper("storage-helper", &bin("storage-helper"), &args)
                .await
                .expect("spawning storage-helper serve");
            let c = Client::new(h.channel().expect("the helper's channel"));
            (h, c)
        });
        Grpc { rt, helper, client }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for mp in self.mounts().into_iter().rev() {
            let _ = nix::mount::umount2(mp.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", p.display()))
}

/// The outcome of one RPC: the helper's answer, or why there was none.
pub type Rpc<T> = Result<T, TransportError>;

/// A storage-helper serving gRPC, called synchronously; each method is
/// one RPC through [`Helper::call`], so a dead helper is reported as such.
pub struct Grpc {
    rt: tokio::runtime::Runtime,
    helper: Helper,
    client: Client,
}

impl Grpc {
    /// ImportOci of the manifest named `ref_name` in `layout`.
    pub fn import_oci(&mut self, layout: &Path, ref_name: &str) -> Rpc<pb::Image> {
        let req = pb::ImportOciRequest {
            layout_dir: layout.display().to_string(),
            ref_name: ref_name.into(),
            ..Default::default()
        };
        self.rt
            .block_on(self.helper.call("ImportOci", self.client.import_oci(req)))
    }

    pub fn create_container(&mut self, id: &str, image: &str) -> Rpc<pb::Container> {
        let req = pb::CreateContainerRequest {
            id: id.into(),
            image: image.into(),
            ..Default::default()
        };
        self.rt.block_on(
            self.helper
                .call("CreateContainer", self.client.create_container(req)),
        )
    }

    pub fn mount(&mut self, id: &str) -> Rpc<pb::MountResponse> {
        let req = pb::MountRequest { id: id.into() };
        self.rt
            .block_on(self.helper.call("Mount", self.client.mount(req)))
    }

    /// Unmount without force.
    pub fn unmount(&mut self, id: &str) -> Rpc<pb::UnmountResponse> {
        let req = pb::UnmountRequest {
            id: id.into(),
            force: false,
        };
        self.rt
            .block_on(self.helper.call("Unmount", self.client.unmount(req)))
    }

    pub fn remove_container(&mut self, id: &str) -> Rpc<pb::RemoveContainerResponse> {
        let req = pb::RemoveContainerRequest { id: id.into() };
        self.rt.block_on(
            self.helper
                .call("RemoveContainer", self.client.remove_container(req)),
        )
    }

    pub fn list_containers(&mut self) -> Rpc<pb::ListContainersResponse> {
        let req = pb::ListContainersRequest {};
        self.rt.block_on(
            self.helper
                .call("ListContainers", self.client.list_containers(req)),
        )
    }

    pub fn info(&mut self) -> Rpc<pb::InfoResponse> {
        let req = proto::common::v1::InfoRequest::default();
        self.rt
            .block_on(self.helper.call("Info", self.client.info(req)))
    }

    /// Close the connection and reap the helper (5 s grace).
    pub fn finish(self) -> Rpc<ExitStatus> {
        let Grpc {
            rt,
            mut helper,
            client,
        } = self;
        drop(client);
        rt.block_on(helper.finish(Duration::from_secs(5)))
    }
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
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for e in entries {
        let e = e.unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        let r = rel.join(e.file_name());
        let p = root.join(&r);
        let m =
            std::fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
        let (mode, uid, gid) = (m.mode() & 0o7777, m.uid(), m.gid());
        let key = r.to_string_lossy().into_owned();
        let ft = m.file_type();
        let node = if ft.is_dir() {
            walk(root, &r, out);
            Node::Dir { mode, uid, gid }
        } else if ft.is_symlink() {
            let target =
                std::fs::read_link(&p).unwrap_or_else(|e| panic!("readlink {}: {e}", p.display()));
            Node::Symlink {
                target: target.to_string_lossy().into_owned(),
            }
        } else if ft.is_char_device() {
            Node::Char {
                mode,
                major: libc::major(m.rdev()),
                minor: libc::minor(m.rdev()),
            }
        } else {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            Node::File {
                mode,
                uid,
                gid,
                data,
            }
        };
        out.insert(key, node);
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
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let k = std::ffi::CString::new(key).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: valid C strings and a buffer of the length passed.
    let n = unsafe { libc::lgetxattr(p.as_ptr(), k.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}
