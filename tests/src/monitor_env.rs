//! What ctr-monitor tests share: the monitor binary, a scratch directory
//! with a runc state root, busybox bundles, and requests pointing there.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use proto::monitor::v1::CreateContainerRequest;
use serde_json::json;

pub const RUNC: &str = "/usr/sbin/runc";

/// The ctr-monitor built beside the test binary (or in PODMAN_TEST_BIN_DIR).
pub fn monitor_bin() -> PathBuf {
    let dir = match std::env::var_os("PODMAN_TEST_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let exe = std::env::current_exe().expect("test binary path");
            exe.parent()
                .and_then(Path::parent)
                .expect("target profile dir")
                .to_path_buf()
        }
    };
    let p = dir.join("ctr-monitor");
    assert!(
        p.exists(),
        "{} not found: run `cargo build -p ctr-monitor` with the same target dir first",
        p.display()
    );
    p
}

/// A temp dir with a runc state root, exit and socket dirs; deletes the
/// containers it made bundles for with `runc delete -f` on drop.
pub struct Env {
    pub tmp: tempfile::TempDir,
    ids: std::sync::Mutex<Vec<String>>,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            tmp: tempfile::Builder::new()
                .prefix("mon")
                .tempdir_in("/tmp")
                .expect("tempdir"),
            ids: Default::default(),
        }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    pub fn runc_root(&self) -> PathBuf {
        self.path("runc")
    }

    /// A bundle with the busybox rootfs running `args`.
    pub fn bundle(&self, id: &str, args: &[&str], terminal: bool) -> Result<PathBuf> {
        self.ids.lock().unwrap().push(id.to_string());
        let bundle = self.path(&format!("b-{id}"));
        let rootfs = bundle.join("rootfs");
        std::fs::create_dir_all(&rootfs)?;
        static TAR: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let tar = match TAR.get() {
            Some(t) => t,
            None => {
                let t = crate::oci_image::busybox_layer()?.tar()?;
                TAR.get_or_init(|| t)
            }
        };
        let mut archive = tar::Archive::new(tar.as_slice());
        archive.set_preserve_permissions(true);
        archive.unpack(&rootfs).context("unpacking busybox")?;
        let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        let config = json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": terminal,
                "user": {"uid": 0, "gid": 0},
                "args": args,
                "env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": true
            },
            "root": {"path": "rootfs", "readonly": false},
            "hostname": "monitor-test",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
            ],
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}],
                "cgroupsPath": format!("/podman-rs-test/{id}"),
                "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list"],
                "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
            }
        });
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&config)?,
        )?;
        Ok(bundle)
    }

    /// A request for `id` in `bundle` with runc, sockets, exits and the
    /// k8s-file log under this directory.
    pub fn request(&self, id: &str, bundle: &Path) -> CreateContainerRequest {
        CreateContainerRequest {
            id: id.into(),
            bundle: bundle.display().to_string(),
            runtime: RUNC.into(),
            runtime_args: vec!["--root".into(), self.runc_root().display().to_string()],
            socket_dir: self.path("s").display().to_string(),
            exit_dir: self.path("exits").display().to_string(),
            log_path: self.path(&format!("{id}.log")).display().to_string(),
            ..Default::default()
        }
    }

    /// `ctr-monitor run --id ID --bundle BUNDLE` with runc, exits and
    /// sockets under this directory; add flags and run it.
    pub fn monitor_run(&self, id: &str, bundle: &Path) -> std::process::Command {
        let mut c = std::process::Command::new(monitor_bin());
        c.args(["run", "--id", id, "--runtime", RUNC, "--runtime-arg=--root"])
            .arg(format!("--runtime-arg={}", self.runc_root().display()))
            .arg("--bundle")
            .arg(bundle)
            .arg("--exit-dir")
            .arg(self.path("exits"))
            .arg("--socket-dir")
            .arg(self.path("s"));
        c
    }

    pub fn runc(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(RUNC)
            .arg("--root")
            .arg(self.runc_root())
            .args(args)
            .output()
            .expect("running runc")
    }

    pub fn runc_status(&self, id: &str) -> String {
        let out = self.runc(&["state", id]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| v["status"].as_str().map(String::from))
            .unwrap_or_default()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.ids.lock().unwrap().iter() {
            let _ = self.runc(&["delete", "-f", id]);
        }
    }
}

/// Wait (without polling) until process `pid` has exited, up to 30 s.
pub fn wait_gone(pid: i32) -> bool {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return true;
    }
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; fd is ours.
    let n = unsafe { libc::poll(&mut p, 1, 30_000) };
    // SAFETY: `fd` came from pidfd_open above, is owned by nothing else and
    // is not used after this close.
    unsafe { libc::close(fd) };
    n == 1
}
