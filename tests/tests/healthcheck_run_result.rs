//! What one `podman healthcheck run` says is that run's result, as libpod's
//! HealthCheckStatus: a failed run prints "unhealthy" and exits 1 before
//! the failing streak turns the container unhealthy, a startup check's
//! failure is "starting", and a check cut short by `stop` is "stopped"
//! (recorded so, counting as no failure).

use std::process::Stdio;
use std::time::Duration;

use e2e::podman::{stdout, with_busybox};
use e2e::poll;

#[test]
fn each_run_reports_its_own_result() {
    let (s, _reg, image) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "three",
        "--network",
        "none",
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-retries",
        "3",
        "--health-interval",
        "disable",
        &image,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["healthcheck", "run", "three"]);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(1), "unhealthy"));
    let rec = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Health.Status}} {{.State.Health.FailingStreak}}",
        "three",
    ]);
    assert_eq!(rec.trim(), "starting 1", "one failure of three allowed");

    s.ok(&[
        "run",
        "-d",
        "--name",
        "boot",
        "--network",
        "none",
        "--health-cmd",
        "true",
        "--health-startup-cmd",
        "false",
        "--health-startup-interval",
        "disable",
        &image,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["healthcheck", "run", "boot"]);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(1), "starting"));

    s.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--network",
        "none",
        "--health-cmd",
        "sleep 20; echo late",
        "--health-interval",
        "disable",
        &image,
        "sleep",
        "1000",
    ]);
    let check = s
        .cmd()
        .args(["healthcheck", "run", "slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop once the check's process runs in the container.
    poll::until(Duration::from_secs(20), "the check running", || {
        s.ok(&["top", "slow", "args"]).contains("sleep 20")
    });
    s.ok(&["stop", "-t", "1", "slow"]);
    let o = check.wait_with_output().unwrap();
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(1), "stopped"));
    let rec = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}}--{{.State.Health.Status}}--{{.State.Health.FailingStreak}}",
        "slow",
    ]);
    assert_eq!(rec.trim(), "exited--stopped--0");
    s.ok(&["rm", "-f", "-t", "0", "three", "boot", "slow"]);
}
