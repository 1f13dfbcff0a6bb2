//! A run root long enough that the monitor's unix sockets under it do not
//! fit in a socket address: every command still reaches them.

use std::io::{Read, Write};
use std::process::Stdio;

use e2e::podman::{stderr, stdout};
use e2e::registry::Registry;

/// `podman` with a run root whose path is far longer than a unix socket
/// address holds (107 bytes): the monitor's and exec sockets live under it.
struct LongRunRoot {
    dir: tempfile::TempDir,
}

impl LongRunRoot {
    fn runroot(&self) -> std::path::PathBuf {
        self.dir
            .path()
            .join("a-run-root-with-a-rather-long-name-for-sockets")
            .join("and-one-more-level-of-directories")
    }

    fn cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(e2e::binaries::bin("podman"));
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.runroot())
            .arg("--network-config-dir")
            .arg(self.dir.path().join("networks"))
            .env_remove("PODMAN_HELPER_DIR")
            .env_remove("CONTAINERS_CONF")
            .stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "podman {args:?} failed ({:?}): {}",
            o.status.code(),
            stderr(&o)
        );
        stdout(&o)
    }
}

impl Drop for LongRunRoot {
    fn drop(&mut self) {
        let _ = self.cmd().args(["rm", "-af", "-t", "0"]).output();
    }
}

#[test]
fn a_long_run_root_still_reaches_the_monitors_sockets() {
    let reg = Registry::start().expect("registry");
    reg.push("bb", "latest", &e2e::oci_image::busybox_image().unwrap())
        .unwrap();
    let r = reg.reference("bb", "latest");
    let s = LongRunRoot {
        dir: tempfile::Builder::new()
            .prefix("p")
            .tempdir_in("/tmp")
            .unwrap(),
    };
    assert!(s.runroot().as_os_str().len() > 60);
    s.ok(&["pull", "-q", "--tls-verify=false", &r]);
    let id = s
        .ok(&[
            "run",
            "-d",
            "-i",
            "--name",
            "far",
            "--network",
            "none",
            &r,
            "sh",
            "-c",
            "echo started; while read l; do echo got:$l; done",
        ])
        .trim()
        .to_string();
    let sock = s.runroot().join("m").join(&id).join("monitor.sock");
    assert!(sock.as_os_str().len() > 107, "{}", sock.display());
    assert!(sock.exists(), "the monitor listens at {}", sock.display());
    // exec (the monitor's API, then an exec socket), attach, logs, stop, rm.
    assert_eq!(s.ok(&["exec", "far", "echo", "exec-ok"]), "exec-ok\n");
    let mut child = s
        .cmd()
        .args(["attach", "--detach-keys", "ctrl-x", "far"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    let n = out.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"got:hello\n");
    stdin.write_all(&[0x18]).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(s.ok(&["logs", "far"]), "started\ngot:hello\n");
    assert_eq!(s.ok(&["stop", "-t", "0", "far"]), "far\n");
    assert_eq!(s.ok(&["wait", "far"]), "137\n");
    s.ok(&["rm", "far"]);
    // A foreground run with --rm goes through the same sockets.
    assert_eq!(
        s.ok(&["run", "--rm", "--network", "none", &r, "echo", "fg-ok"]),
        "fg-ok\n"
    );
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
}
