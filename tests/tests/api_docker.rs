//! The REST API driven by the real docker CLI (`DOCKER_HOST=unix://...`)
//! against `podman system service` on a private store, and the bad-input
//! edges probed with raw HTTP.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

use e2e::api_service::Api;
use e2e::poll;
use serde_json::Value;

fn have_docker() -> bool {
    std::process::Command::new("docker")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn docker_version_info_pull_images() {
    assert!(
        have_docker(),
        "the docker CLI is needed (scripts/install-deps.sh)"
    );
    let api = Api::start();
    let v = api.docker_ok(&[
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}} {{.Client.APIVersion}}",
    ]);
    assert_eq!(
        v.trim(),
        "5.4.0 1.41 1.41",
        "negotiated down to the server's version"
    );
    let info = api.docker_ok(&[
        "info",
        "--format",
        "{{.ServerVersion}} {{.Images}} {{.Driver}}",
    ]);
    assert_eq!(info.trim(), "5.4.0 1 overlay");
    // A second tag in the registry, pulled through the API.
    api.reg
        .push("other", "v1", &e2e::oci_image::busybox_image().unwrap())
        .unwrap();
    let r = api.reg.reference("other", "v1");
    let out = api.docker_ok(&["pull", &r]);
    assert!(out.contains("Downloaded newer image"), "{out}");
    let images = api.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.lines().any(|l| l == r), "{images}");
    assert!(images.lines().any(|l| l == api.image), "{images}");
    // A registry that is not there: docker reports the engine's error.
    let o = api.docker_run(&["pull", "127.0.0.1:9/nothing:here"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("127.0.0.1:9"));
    // Image inspect and removal.
    let id = api.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &r]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let out = api.docker_ok(&["rmi", &r]);
    assert!(out.contains("Untagged") || out.contains("Deleted"), "{out}");
}

#[test]
fn docker_run_rm_gives_the_exit_code_and_output() {
    let api = Api::start();
    let o = api.docker_run(&[
        "run",
        "--rm",
        "--name",
        "once",
        &api.image,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert!(String::from_utf8_lossy(&o.stderr).contains("err"));
    // --rm: gone once docker returns.
    let ps = api.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!ps.lines().any(|l| l == "once"), "{ps}");
    // Input through the hijacked connection.
    let mut child = api
        .docker()
        .args(["run", "-i", "--rm", &api.image, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through stdin\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "through stdin\n");
}

#[test]
fn docker_run_d_logs_ps_inspect_stop_rm() {
    let api = Api::start();
    let id = api.docker_ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-l",
        "role=test",
        &api.image,
        "sh",
        "-c",
        "echo first; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let ps = api.docker_ok(&[
        "ps",
        "--filter",
        "label=role=test",
        "--format",
        "{{.ID}} {{.Names}} {{.State}}",
    ]);
    assert_eq!(ps.trim(), format!("{} web running", &id[..12]));
    let insp: Value = serde_json::from_str(&api.docker_ok(&["inspect", "web"])).unwrap();
    assert_eq!(insp[0]["Id"], id.as_str());
    assert_eq!(insp[0]["Name"], "/web");
    assert_eq!(insp[0]["State"]["Running"], true);
    assert_eq!(insp[0]["Config"]["Labels"]["role"], "test");
    poll::until(Duration::from_secs(20), "the first log line", || {
        api.docker_ok(&["logs", "web"]).contains("first")
    });
    // logs -f follows until the container ends (stopped below).
    let follow = api
        .docker()
        .args(["logs", "-f", "web"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    api.docker_ok(&["stop", "-t", "5", "web"]);
    let o = follow.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "first\nbye\n");
    let state = api.docker_ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "web",
    ]);
    assert_eq!(state.trim(), "exited 0");
    // Stopping a stopped container is not an error (Docker's 304).
    api.docker_ok(&["stop", "web"]);
    api.docker_ok(&["rm", "web"]);
    let o = api.docker_run(&["inspect", "web"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("No such object")
            || String::from_utf8_lossy(&o.stderr).contains("no such"),
        "{o:?}"
    );
}

#[test]
fn docker_exec_it_under_a_pty() {
    let api = Api::start();
    api.docker_ok(&["run", "-d", "--name", "box", &api.image, "sleep", "1000"]);
    // Without a terminal: output and the exit code.
    let o = api.docker_run(&["exec", "box", "sh", "-c", "echo in-exec; exit 4"]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "in-exec\n");
    // -it under a real pty (script(1)): the process sees a terminal.
    let cmd = format!(
        "DOCKER_HOST={} docker exec -it box sh -c 'tty; exit 5'",
        api.docker_host()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("DOCKER_CONFIG", api.store.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("/dev/pts/"), "{out}");
    assert_eq!(o.status.code(), Some(5), "{out}");
    api.docker_ok(&["rm", "-f", "box"]);
}

#[test]
fn docker_network_create_and_cp() {
    let api = Api::start();
    let id = api.docker_ok(&["network", "create", "apinet"]);
    assert_eq!(id.trim().len(), 64);
    let ls = api.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(ls.lines().any(|l| l == "apinet"), "{ls}");
    api.docker_ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "apinet",
        &api.image,
        "sleep",
        "1000",
    ]);
    let insp: Value =
        serde_json::from_str(&api.docker_ok(&["network", "inspect", "apinet"])).unwrap();
    assert_eq!(insp[0]["Name"], "apinet");
    assert!(
        insp[0]["Containers"]
            .as_object()
            .unwrap()
            .values()
            .any(|c| c["Name"] == "c1"),
        "{insp}"
    );
    // cp both ways.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.txt");
    std::fs::write(&src, "copied in\n").unwrap();
    api.docker_ok(&["cp", src.to_str().unwrap(), "c1:/tmp/"]);
    assert_eq!(
        api.docker_ok(&["exec", "c1", "cat", "/tmp/in.txt"]),
        "copied in\n"
    );
    let back = dir.path().join("back.txt");
    api.docker_ok(&["cp", "c1:/tmp/in.txt", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "copied in\n");
    let o = api.docker_run(&["cp", "c1:/no/such", back.to_str().unwrap()]);
    assert!(!o.status.success());
    // disconnect, and Docker's Force: a container not connected is no error.
    api.docker_ok(&["network", "disconnect", "apinet", "c1"]);
    let o = api.docker_run(&["network", "disconnect", "apinet", "c1"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not connected"),
        "{o:?}"
    );
    api.docker_ok(&["network", "disconnect", "-f", "apinet", "c1"]);
    api.docker_ok(&["rm", "-f", "c1"]);
    api.docker_ok(&["network", "rm", "apinet"]);
}

#[test]
fn bad_input_is_refused_with_docker_status_codes() {
    let api = Api::start();
    let (code, body) = api.request("POST", "/v1.41/containers/create", Some(b"{not json"));
    assert_eq!(code, 400);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["message"].as_str().unwrap().contains("Decode"), "{v}");
    let (code, body) = api.request("GET", "/v9.99/version", None);
    assert_eq!(code, 400);
    assert!(String::from_utf8_lossy(&body).contains("too new"));
    let (code, _) = api.request("GET", "/v1.10/version", None);
    assert_eq!(code, 400);
    let (code, _) = api.request("GET", "/v1.41/containers/nothing/json", None);
    assert_eq!(code, 404);
    let (code, _) = api.request("GET", "/v1.41/nothing/here", None);
    assert_eq!(code, 404);
    // A body over the limit: 413, and the service still answers after.
    let big = vec![b' '; 5 << 20];
    let (code, _) = api.request("POST", "/v1.41/containers/create", Some(&big));
    assert_eq!(code, 413);
    let (code, body) = api.request("GET", "/_ping", None);
    assert_eq!((code, body.as_slice()), (200, &b"OK"[..]));
    // A create naming an image not in the store: Docker's 404.
    let (code, body) = api.request(
        "POST",
        "/v1.41/containers/create",
        Some(br#"{"Image":"localhost/not-here:1"}"#),
    );
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("No such image"));
}

#[test]
fn a_non_root_client_is_refused_by_the_socket() {
    let api = Api::start();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&api.sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is private");
    let o = api
        .docker()
        .args(["version"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("permission denied"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Start a hijacked request on a new connection; the stream after the
/// `101` answer.
fn hijack(api: &Api, path: &str, body: &str) -> UnixStream {
    let mut s = UnixStream::connect(&api.sock).unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "connection closed in the head");
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// Read Docker's multiplexed frames until `want` shows in stdout.
fn read_until(s: &mut UnixStream, want: &str) -> String {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut out = String::new();
    while !out.contains(want) {
        let mut h = [0u8; 8];
        s.read_exact(&mut h).expect("a frame");
        let n = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let mut p = vec![0u8; n];
        s.read_exact(&mut p).unwrap();
        if h[0] == 1 {
            out.push_str(&String::from_utf8_lossy(&p));
        }
    }
    out
}

#[test]
fn two_clients_attach_to_one_container() {
    let api = Api::start();
    let id = api.docker_ok(&[
        "run",
        "-d",
        &api.image,
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done",
    ]);
    let id = id.trim();
    let path = format!("/v1.41/containers/{id}/attach?stream=1&stdout=1&stderr=1");
    let mut a = hijack(&api, &path, "");
    let mut b = hijack(&api, &path, "");
    assert!(read_until(&mut a, "tick").contains("tick"));
    assert!(read_until(&mut b, "tick").contains("tick"));
    // One leaving does not end the other's stream.
    drop(a);
    let more = read_until(&mut b, "tick");
    assert!(more.contains("tick"));
    drop(b);
    api.docker_ok(&["rm", "-f", id]);
}

#[test]
fn a_client_leaving_an_exec_ends_its_process() {
    let api = Api::start();
    let id = api.docker_ok(&["run", "-d", &api.image, "sleep", "1000"]);
    let id = id.trim();
    let (code, body) = api.request(
        "POST",
        &format!("/v1.41/containers/{id}/exec"),
        Some(br#"{"AttachStdout":true,"AttachStderr":true,"Cmd":["sh","-c","echo started; exec sleep 999"]}"#),
    );
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let exec: Value = serde_json::from_slice(&body).unwrap();
    let exec_id = exec["Id"].as_str().unwrap().to_string();
    let mut s = hijack(
        &api,
        &format!("/v1.41/exec/{exec_id}/start"),
        r#"{"Detach":false,"Tty":false}"#,
    );
    read_until(&mut s, "started");
    let inspect = || -> Value {
        let (_, b) = api.request("GET", &format!("/v1.41/exec/{exec_id}/json"), None);
        serde_json::from_slice(&b).unwrap()
    };
    // The monitor reports the pid once the runtime started the process.
    let pid = poll::until_some(Duration::from_secs(20), "the exec's pid", || {
        let v = inspect();
        assert_eq!(v["Running"], true);
        v["Pid"].as_i64().filter(|p| *p > 0).map(|p| p as i32)
    });
    assert!(poll::running(pid));
    drop(s);
    poll::until(Duration::from_secs(20), "the exec process to end", || {
        !poll::running(pid)
    });
    poll::until(Duration::from_secs(20), "the session to end", || {
        inspect()["Running"] == false
    });
    // The container itself runs on.
    let st = api.docker_ok(&["inspect", "--format", "{{.State.Running}}", id]);
    assert_eq!(st.trim(), "true");
    api.docker_ok(&["rm", "-f", id]);
}

#[test]
fn ping_and_idle_exit() {
    let api = Api::start();
    let (code, _) = api.request("HEAD", "/_ping", None);
    assert_eq!(code, 200);
    // A second service with --time 1 ends by itself once idle.
    let sock = api.store.dir.path().join("short.sock");
    let mut child = api
        .store
        .cmd()
        .args(["system", "service", "--time", "1"])
        .arg(format!("unix://{}", sock.display()))
        .spawn()
        .unwrap();
    poll::until(Duration::from_secs(20), "the second socket", || {
        UnixStream::connect(&sock).is_ok()
    });
    let status = poll::until_some(Duration::from_secs(20), "the idle service to exit", || {
        child.try_wait().unwrap()
    });
    assert!(status.success());
    assert!(!sock.exists(), "the socket is removed at exit");
}

/// The venv scripts/install-deps.sh fills with docker-py.
fn docker_py() -> std::path::PathBuf {
    std::env::var_os("PODMAN_RS_API_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/var/cache/podman-rs/venv".into())
        .join("bin/python")
}

#[test]
fn docker_py_drives_the_service() {
    let py = docker_py();
    assert!(
        py.exists(),
        "{} is missing: run scripts/install-deps.sh",
        py.display()
    );
    let api = Api::start();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api_support/docker_py.py");
    let o = std::process::Command::new(py)
        .arg(script)
        .arg(api.docker_host())
        .arg(&api.image)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("docker-py: ok"));
}

#[test]
fn podman_py_drives_the_service() {
    let py = docker_py();
    let o = std::process::Command::new(&py)
        .args(["-c", "import podman"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "podman-py is missing from {}: run scripts/install-deps.sh",
        py.display()
    );
    let api = Api::start();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api_support/podman_py.py");
    let o = std::process::Command::new(py)
        .arg(script)
        .arg(api.docker_host())
        .arg(&api.image)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("podman-py: ok"));
}

/// The head of a GET on a fresh connection to `sock`.
fn head_of(sock: &std::path::Path, path: &str) -> String {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n").next().unwrap().to_string()
}

#[test]
fn cors_headers_only_when_asked() {
    let api = Api::start();
    let plain = head_of(&api.sock, "/_ping");
    assert!(plain.starts_with("HTTP/1.1 200"), "{plain}");
    assert!(
        !plain
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{plain}"
    );
    let sock = api.store.dir.path().join("cors.sock");
    let mut child = api
        .store
        .cmd()
        .args(["system", "service", "--time", "0", "--cors", "*"])
        .arg(format!("unix://{}", sock.display()))
        .spawn()
        .unwrap();
    poll::until(Duration::from_secs(20), "the cors socket", || {
        UnixStream::connect(&sock).is_ok()
    });
    let raw = head_of(&sock, "/v1.41/version");
    // Header names as Go's net/http writes them (canonical case).
    assert!(raw.contains("\r\nAccess-Control-Allow-Origin: *"), "{raw}");
    let head = raw.to_ascii_lowercase();
    assert!(
        head.contains("access-control-allow-methods: head, get, post, delete, put, options"),
        "{head}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
