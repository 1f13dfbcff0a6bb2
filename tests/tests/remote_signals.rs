//! `--sig-proxy` for `podman --remote run` and `attach`: a signal the
//! client receives reaches the container (through the service's kill);
//! with `--sig-proxy=false` it is the client's own, and the container
//! keeps running, as locally.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use e2e::api_service::Api;

const SCRIPT: &str = "trap 'echo got-term; exit 42' TERM; trap 'echo got-usr1; exit 43' USR1; \
     while :; do echo tick; sleep 0.2; done";

/// A client whose stdout lines arrive on the receiver.
fn spawn(mut c: Command) -> (Child, mpsc::Receiver<String>) {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// Lines until one equals `want` (panics past the deadline or at EOF).
fn wait_line(rx: &mpsc::Receiver<String>, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l == want => return,
            Ok(_) => {}
            Err(e) => panic!("waiting for {want:?}: {e}"),
        }
    }
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

fn remote(api: &Api) -> Command {
    let mut c = Command::new(e2e::binaries::bin("podman"));
    c.env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .args(["--url", &api.docker_host()]);
    c
}

fn state(api: &Api, name: &str) -> String {
    api.store
        .ok(&["inspect", "--format", "{{.State.Status}}", name])
        .trim()
        .to_string()
}

#[test]
fn remote_run_and_attach_proxy_signals() {
    use nix::sys::signal::Signal;
    let api = Api::start();
    // run: TERM to the client is TERM to the container, whose code the
    // client exits with.
    let mut c = remote(&api);
    c.args(["run", "--name", "rsig-run", &api.image, "sh", "-c", SCRIPT]);
    let (mut child, rx) = spawn(c);
    wait_line(&rx, "tick");
    signal(&child, Signal::SIGTERM);
    wait_line(&rx, "got-term");
    assert_eq!(child.wait().unwrap().code(), Some(42));
    api.store.ok(&["rm", "rsig-run"]);

    // attach: the same for a container started elsewhere.
    api.store.ok(&[
        "run",
        "-d",
        "--name",
        "rsig-attach",
        &api.image,
        "sh",
        "-c",
        SCRIPT,
    ]);
    let mut c = remote(&api);
    c.args(["attach", "rsig-attach"]);
    let (mut child, rx) = spawn(c);
    wait_line(&rx, "tick");
    signal(&child, Signal::SIGUSR1);
    wait_line(&rx, "got-usr1");
    assert_eq!(child.wait().unwrap().code(), Some(43));
    api.store.ok(&["rm", "rsig-attach"]);
}

#[test]
fn without_sig_proxy_the_signal_stays_with_the_client() {
    use nix::sys::signal::Signal;
    let api = Api::start();
    let local = {
        let mut c = api.store.cmd();
        c.args([
            "run",
            "--sig-proxy=false",
            "--name",
            "rsig-local-off",
            &api.image,
            "sh",
            "-c",
            SCRIPT,
        ]);
        c
    };
    let mut c = remote(&api);
    c.args([
        "run",
        "--sig-proxy=false",
        "--name",
        "rsig-remote-off",
        &api.image,
        "sh",
        "-c",
        SCRIPT,
    ]);
    for (cmd, name) in [(local, "rsig-local-off"), (c, "rsig-remote-off")] {
        let (mut child, rx) = spawn(cmd);
        wait_line(&rx, "tick");
        signal(&child, Signal::SIGTERM);
        let st = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(libc::SIGTERM), "{name}: {st:?}");
        assert_eq!(state(&api, name), "running", "{name}");
        api.store.ok(&["rm", "-f", "-t", "0", name]);
    }
}
