//! Healthchecks in real containers: the monitor's timer runs `podman
//! healthcheck run` every interval, the status goes starting -> healthy ->
//! unhealthy as the check's outcome changes, the on-failure actions act,
//! a hanging check is stopped at its timeout, and Podman's refusals.

use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, TestStore};
use serde_json::Value;

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// Poll `podman inspect --format FORMAT NAME` until it gives `want`.
fn wait_for(s: &TestStore, name: &str, format: &str, want: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = s.ok(&["inspect", "--format", format, name]);
        if got.trim() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: {format} is {got:?}, never {want:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_timer_turns_a_container_healthy_then_unhealthy() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--network",
        "none",
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        &image,
        "sh",
        "-c",
        "touch /tmp/ok; sleep 1000",
    ]);
    let ps = s.ok(&["ps", "--format", "{{.Status}}", "--filter", "name=hc"]);
    assert!(
        ps.contains("(starting)") || ps.contains("(healthy)"),
        "{ps}"
    );
    wait_for(
        &s,
        "hc",
        "{{.State.Health.Status}}",
        "healthy",
        Duration::from_secs(15),
    );
    let ps = s.ok(&["ps", "--format", "{{.Status}}", "--filter", "name=hc"]);
    assert!(ps.trim().ends_with("(healthy)"), "{ps}");
    s.ok(&["exec", "hc", "rm", "/tmp/ok"]);
    wait_for(
        &s,
        "hc",
        "{{.State.Health.Status}}",
        "unhealthy",
        Duration::from_secs(15),
    );
    let v: Value = serde_json::from_str(&s.ok(&["inspect", "hc"])).unwrap();
    let health = &v[0]["State"]["Health"];
    assert!(health["FailingStreak"].as_u64().unwrap() >= 2, "{health}");
    let log = health["Log"].as_array().unwrap();
    assert!(!log.is_empty() && log.len() <= 5, "{health}");
    assert_eq!(log.last().unwrap()["ExitCode"], 1);
    assert_eq!(v[0]["Config"]["Healthcheck"]["Test"][0], "CMD-SHELL");
    assert_eq!(v[0]["Config"]["Healthcheck"]["Retries"], 2);
    assert_eq!(v[0]["Config"]["Healthcheck"]["Interval"], 1_000_000_000u64);
    s.ok(&["rm", "-f", "-t", "0", "hc"]);
}

#[test]
fn healthcheck_run_reports_as_podman() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "manual",
        "--network",
        "none",
        "--health-cmd",
        "cat /tmp/flag",
        "--health-interval",
        "disable",
        "--health-retries",
        "1",
        &image,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["healthcheck", "run", "manual"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "unhealthy");
    s.ok(&["exec", "manual", "sh", "-c", "echo ok > /tmp/flag"]);
    let o = s.run(&["healthcheck", "run", "manual"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let out = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Health.Status}} {{(index .State.Health.Log 1).Output}}",
        "manual",
    ]);
    assert_eq!(out.trim(), "healthy ok");
    for _ in 0..6 {
        s.ok(&["healthcheck", "run", "manual"]);
    }
    let n = s.ok(&["inspect", "--format", "{{len .State.Health.Log}}", "manual"]);
    assert_eq!(n.trim(), "5", "the log keeps the last five runs");

    // A check that hangs is killed at its timeout and counts as failed.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--network",
        "none",
        "--health-cmd",
        "sleep 30",
        "--health-timeout",
        "1s",
        "--health-interval",
        "disable",
        &image,
        "sleep",
        "1000",
    ]);
    let t = Instant::now();
    s.run(&["healthcheck", "run", "slow"]);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    let code = s.ok(&[
        "inspect",
        "--format",
        "{{(index .State.Health.Log 0).ExitCode}}",
        "slow",
    ]);
    assert_eq!(code.trim(), "-1");
    s.ok(&["rm", "-f", "-t", "0", "manual", "slow"]);
}

#[test]
fn on_failure_kill_and_restart_act() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "killme",
        "--network",
        "none",
        "--health-cmd",
        "false",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "--health-on-failure",
        "kill",
        &image,
        "sleep",
        "1000",
    ]);
    wait_for(
        &s,
        "killme",
        "{{.State.Status}} {{.State.ExitCode}}",
        "exited 137",
        Duration::from_secs(20),
    );
    s.ok(&[
        "run",
        "-d",
        "--name",
        "again",
        "--network",
        "none",
        "--health-cmd",
        "false",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "--health-on-failure",
        "restart",
        &image,
        "sleep",
        "1000",
    ]);
    let first = s.ok(&["inspect", "--format", "{{.State.StartedAt}}", "again"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = s.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.StartedAt}}",
            "again",
        ]);
        if now.starts_with("running ") && now.trim_start_matches("running ") != first {
            break;
        }
        assert!(Instant::now() < deadline, "never restarted: {now}");
        std::thread::sleep(Duration::from_millis(100));
    }
    s.ok(&["rm", "-f", "-t", "0", "killme", "again"]);
}

#[test]
fn healthcheck_refusals() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "plain",
        "--network",
        "none",
        &image,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["healthcheck", "run", "plain"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("has no defined healthcheck"),
        "{}",
        stderr(&o)
    );
    s.ok(&[
        "create",
        "--name",
        "idle",
        "--health-cmd",
        "true",
        &image,
        "true",
    ]);
    let o = s.run(&["healthcheck", "run", "idle"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("is not running"), "{}", stderr(&o));
    for (flags, needle) in [
        (
            &["--no-healthcheck", "--health-cmd", "true"][..],
            "cannot specify both --no-healthcheck and other HealthCheck flags",
        ),
        (
            &["--health-cmd", "true", "--health-on-failure", "explode"][..],
            "invalid on-failure action",
        ),
        (
            &["--health-cmd", "true", "--health-retries", "0"][..],
            "healthcheck-retries must be greater than 0",
        ),
        (
            &["--health-cmd", "true", "--health-interval", "soon"][..],
            "invalid healthcheck-interval",
        ),
    ] {
        let mut a = vec!["create"];
        a.extend_from_slice(flags);
        a.extend_from_slice(&[&image, "true"]);
        let o = s.run(&a);
        assert_eq!(o.status.code(), Some(125), "{flags:?}");
        assert!(stderr(&o).contains(needle), "{flags:?}: {}", stderr(&o));
    }
    s.ok(&["rm", "-f", "-t", "0", "plain", "idle"]);
}
