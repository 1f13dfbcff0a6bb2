//! Running the real `podman` against a private store in a temp dir.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::binaries::bin;

/// A private graph root and run root, removed (after `rm -af`) on drop.
pub struct TestStore {
    pub dir: tempfile::TempDir,
}

impl Default for TestStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TestStore {
    pub fn new() -> TestStore {
        // Short paths: the monitor's unix sockets live under the run root.
        let dir = tempfile::Builder::new()
            .prefix("p")
            .tempdir_in("/tmp")
            .expect("temp dir");
        TestStore { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// `podman --root R --runroot RR` with a clean environment.
    /// The nftables table net-setup keeps this store's rules in: named
    /// after the store's network state dir (FNV-1a of the path).
    pub fn nft_table(&self) -> String {
        let state = self.runroot().join("networks");
        let mut h: u64 = 0xcbf29ce484222325;
        for b in state.as_os_str().as_encoded_bytes() {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("podman_rs_{:08x}", h as u32)
    }

    /// The leases this store holds on the bridge `bridge`: net-setup keeps
    /// a bridge's leases host-wide (every store on the host shares the
    /// link), each naming the store's network state dir as its owner.
    pub fn bridge_leases(&self, bridge: &str) -> serde_json::Map<String, serde_json::Value> {
        let path = format!("/run/podman-rs/host/ipam/bridge-{bridge}.json");
        let owner = self.runroot().join("networks").display().to_string();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return serde_json::Map::new();
        };
        let v: serde_json::Value = serde_json::from_str(&text).expect("lease file is JSON");
        v["leases"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, l)| l["owner"].as_str() == Some(owner.as_str()))
            .map(|(k, l)| (k.clone(), l.clone()))
            .collect()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin("podman"));
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        // Network definitions are host-wide by default: keep each test's own.
        c.arg("--network-config-dir")
            .arg(self.dir.path().join("networks"));
        c.env_remove("PODMAN_HELPER_DIR")
            .env_remove("CONTAINERS_CONF")
            .stdin(Stdio::null());
        c
    }

    /// buildah on this store's graph root (containers/storage's overlay
    /// driver), as another containers/storage user beside us.
    pub fn buildah(&self, args: &[&str]) -> Output {
        Command::new("buildah")
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(["--storage-driver", "overlay"])
            .args(args)
            .env_remove("CONTAINERS_STORAGE_CONF")
            .output()
            .expect("run buildah")
    }

    /// [`TestStore::buildah`], which must succeed; its stdout.
    pub fn buildah_ok(&self, args: &[&str]) -> String {
        let o = self.buildah(args);
        assert!(
            o.status.success(),
            "buildah {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Run podman with `args` and return its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run podman")
    }

    /// Run podman, assert success, return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "podman {args:?} failed ({:?}): {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // Stop and remove what the test left, so no mount, monitor,
        // bridge or firewall table leaks: a reset also takes the default
        // network's chains, which stay for its next container otherwise.
        let _ = self.cmd().args(["pod", "rm", "-af", "-t", "0"]).output();
        let _ = self.cmd().args(["system", "reset", "-f"]).output();
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A private store with the busybox test image pulled from a fresh
/// registry (kept alive by the returned handle): (store, registry, reference).
pub fn with_busybox() -> (TestStore, crate::registry::Registry, String) {
    let reg = crate::registry::Registry::start().expect("registry");
    reg.push(
        "bb",
        "latest",
        &crate::oci_image::busybox_image().expect("image"),
    )
    .expect("push");
    let r = reg.reference("bb", "latest");
    let s = TestStore::new();
    s.ok(&["pull", "-q", "--tls-verify=false", &r]);
    (s, reg, r)
}

/// `run --rm --network none FLAGS IMAGE sh -c SCRIPT`; stdout.
pub fn run_sh(s: &TestStore, image: &str, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[image, "sh", "-c", script]);
    s.ok(&args)
}

/// The command fails with 125 and one error line naming `needle` (a usage
/// error's cobra hint, "See 'podman run --help'", is not a second error).
/// Returns stderr.
pub fn refused(s: &TestStore, args: &[&str], needle: &str) -> String {
    let o = s.run(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: want {needle:?} in {err}");
    let lines = err
        .trim_end()
        .lines()
        .filter(|l| !l.starts_with("See '"))
        .count();
    assert_eq!(lines, 1, "{args:?}: {err}");
    err
}

/// [`refused`], in a store without containers, and it still has none: the
/// refused command left nothing behind.
pub fn refused_leaving_nothing(s: &TestStore, args: &[&str], needle: &str) {
    refused(s, args, needle);
    assert_eq!(s.ok(&["ps", "-aq"]), "", "{args:?} left a container");
}
