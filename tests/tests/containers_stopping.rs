//! The "stopping" state (upstream 050-stop "unlock while waiting for
//! timeout"): while `stop` waits out the timeout of a signal the container
//! ignores, inspect and ps read "stopping", other commands get the lock,
//! and kill ends it with 137.

use std::time::Duration;

use e2e::podman::with_busybox;
use e2e::poll::until;

#[test]
fn a_container_reads_stopping_while_its_stop_timeout_runs() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "stopme",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "trap 'echo Received SIGTERM, ignoring' TERM; echo READY; while :; do sleep 0.2; done",
    ]);
    until(Duration::from_secs(10), "READY", || {
        s.ok(&["logs", "stopme"]).contains("READY")
    });
    let mut stop = s
        .cmd()
        .args(["stop", "-t", "20", "stopme"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    until(
        Duration::from_secs(10),
        "the container to get SIGTERM",
        || s.ok(&["logs", "stopme"]).contains("Received SIGTERM"),
    );
    let status = s.ok(&["inspect", "--format", "{{.State.Status}}", "stopme"]);
    assert_eq!(status.trim(), "stopping");
    let ps = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(ps.trim(), "stopme stopping");
    // Still running as far as its process goes: rm without -f refuses.
    let o = s.run(&["rm", "stopme"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    s.ok(&["kill", "stopme"]);
    s.ok(&["wait", "stopme"]);
    let code = s.ok(&["inspect", "--format", "{{.State.ExitCode}}", "stopme"]);
    assert_eq!(code.trim(), "137");
    stop.wait().unwrap();
    let status = s.ok(&["inspect", "--format", "{{.State.Status}}", "stopme"]);
    assert_eq!(status.trim(), "exited");
}
