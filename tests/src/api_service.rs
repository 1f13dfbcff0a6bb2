//! `podman system service` on a private store and socket, for the API
//! tests: the docker CLI and docker-py drive it, raw HTTP probes its edges.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::podman::TestStore;
use crate::registry::Registry;

/// A running service; stopped (SIGTERM) on drop, before its store goes.
pub struct Api {
    pub reg: Registry,
    /// The busybox image's reference in `reg`.
    pub image: String,
    pub sock: PathBuf,
    child: Child,
    docker_config: tempfile::TempDir,
    // Last: the store's drop removes what the test left.
    pub store: TestStore,
}

impl Api {
    /// A store holding the busybox image and a service on its socket; the
    /// registry is marked insecure in the registries.conf the service reads.
    pub fn start() -> Api {
        let (store, reg, image) = crate::podman::with_busybox();
        let regconf = store.dir.path().join("registries.conf");
        std::fs::write(
            &regconf,
            format!(
                "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
                reg.addr
            ),
        )
        .expect("registries.conf");
        let sock = store.dir.path().join("api.sock");
        let child = store
            .cmd()
            .env("CONTAINERS_REGISTRIES_CONF", &regconf)
            .args(["system", "service", "--time", "0"])
            .arg(format!("unix://{}", sock.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start podman system service");
        crate::poll::until(Duration::from_secs(20), "the API socket", || {
            UnixStream::connect(&sock).is_ok()
        });
        Api {
            reg,
            image,
            sock,
            child,
            docker_config: tempfile::tempdir().expect("temp dir"),
            store,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    /// The real docker CLI against this service.
    pub fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", self.docker_host())
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        c
    }

    pub fn docker_run(&self, args: &[&str]) -> Output {
        self.docker().args(args).output().expect("run docker")
    }

    /// Run docker, assert success, return stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let o = self.docker_run(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed ({:?}): {}{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// One HTTP/1.1 request on a new connection; (status, body). The
    /// connection is closed after the answer.
    pub fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
        let mut s = UnixStream::connect(&self.sock).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).ok();
        let body = body.unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("write");
        // A server refusing a large body answers and closes early.
        let _ = s.write_all(body);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        parse_response(&out)
    }
}

/// (status, body) of a whole HTTP/1.1 response, chunked or not.
pub fn parse_response(raw: &[u8]) -> (u16, Vec<u8>) {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, raw.to_vec());
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = raw[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
            let n =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16).unwrap_or(0);
            if n == 0 || rest.len() < nl + 2 + n {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[(nl + 4 + n).min(rest.len())..];
        }
        body = out;
    }
    (status, body)
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}
