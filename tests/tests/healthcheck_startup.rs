//! Startup healthchecks (`--health-startup-*`): the startup check runs at
//! its own interval after each start until it passes `--health-startup-
//! success` times, then the regular check takes over the monitor's timer
//! (at the regular interval, which `update` can change on the running
//! container); `--health-startup-retries` failures restart the container.

use std::time::Duration;

use e2e::podman::{refused, with_busybox, TestStore};
use e2e::poll;
use serde_json::Value;

/// The recorded runs' outputs, oldest first.
fn outputs(s: &TestStore, name: &str) -> Vec<String> {
    let v: Value =
        serde_json::from_str(&s.ok(&["inspect", "--format", "{{json .State.Health.Log}}", name]))
            .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["Output"].as_str().unwrap().trim().to_string())
        .collect()
}

#[test]
fn the_startup_check_hands_over_to_the_regular_one() {
    let (s, _reg, image) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "boot",
        "--network",
        "none",
        "--health-cmd",
        "echo regular",
        "--health-interval",
        "1h",
        "--health-max-log-count",
        "0",
        "--health-startup-cmd",
        "echo startup; test -e /tmp/ready",
        "--health-startup-interval",
        "1s",
        "--health-startup-success",
        "2",
        &image,
        "sleep",
        "1000",
    ]);
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.Config.StartupHealthCheck.Test}} {{.Config.StartupHealthCheck.Interval}} {{.Config.StartupHealthCheck.Successes}} {{.Config.Healthcheck.Interval}}",
            "boot",
        ])
        .trim(),
        "[CMD-SHELL echo startup; test -e /tmp/ready] 1s 2 1h0m0s"
    );
    // Failing startup runs count for nothing: still starting, no streak.
    poll::until(Duration::from_secs(20), "two startup runs", || {
        outputs(&s, "boot").len() >= 2
    });
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.State.Health.Status}} {{.State.Health.FailingStreak}}",
            "boot"
        ])
        .trim(),
        "starting 0"
    );
    assert!(outputs(&s, "boot").iter().all(|o| o == "startup"));
    s.ok(&["exec", "boot", "touch", "/tmp/ready"]);
    poll::until(Duration::from_secs(20), "healthy", || {
        s.ok(&["inspect", "--format", "{{.State.Health.Status}}", "boot"])
            .trim()
            == "healthy"
    });
    // Passed: the timer now waits the regular hour. A shorter interval
    // given to the running container takes effect at once.
    s.ok(&["update", "--health-interval", "1s", "boot"]);
    let runs = poll::until_some(Duration::from_secs(20), "two regular runs", || {
        let o = outputs(&s, "boot");
        (o.iter().filter(|x| *x == "regular").count() >= 2).then_some(o)
    });
    let first = runs.iter().position(|x| x == "regular").unwrap();
    assert!(
        runs[first..].iter().all(|x| x == "regular"),
        "the startup check ran after it passed: {runs:?}"
    );
    // It took two successes in a row.
    let successes = runs[..first].iter().filter(|x| *x == "startup").count();
    assert!(successes >= 2, "{runs:?}");
    // A manual run after the handover is the regular check too.
    s.ok(&["healthcheck", "run", "boot"]);
    assert_eq!(outputs(&s, "boot").last().unwrap(), "regular");
    s.ok(&["rm", "-f", "-t", "0", "boot"]);
}

#[test]
fn a_failing_startup_check_restarts_the_container() {
    let (s, _reg, image) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "never",
        "--network",
        "none",
        "--health-cmd",
        "true",
        "--health-startup-cmd",
        "false",
        "--health-startup-interval",
        "1s",
        "--health-startup-retries",
        "2",
        &image,
        "sleep",
        "1000",
    ]);
    let first = s.ok(&["inspect", "--format", "{{.State.StartedAt}}", "never"]);
    poll::until(Duration::from_secs(30), "a restart", || {
        let now = s.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.StartedAt}}",
            "never",
        ]);
        now.starts_with("running ") && now.trim_start_matches("running ") != first
    });
    s.ok(&["rm", "-f", "-t", "0", "never"]);
}

#[test]
fn startup_flags_are_refused_without_the_checks_they_need() {
    let (s, _reg, image) = with_busybox();
    refused(
        &s,
        &["create", "--health-startup-cmd", "true", &image, "true"],
        "cannot set a startup healthcheck when there is no regular healthcheck",
    );
    refused(
        &s,
        &[
            "create",
            "--no-healthcheck",
            "--health-startup-cmd",
            "true",
            &image,
            "true",
        ],
        "cannot specify both --no-healthcheck and --health-startup-cmd",
    );
    refused(
        &s,
        &[
            "create",
            "--health-cmd",
            "true",
            "--health-startup-cmd",
            "true",
            "--health-startup-retries",
            "x",
            &image,
            "true",
        ],
        "invalid argument \"x\" for \"--health-startup-retries\" flag",
    );
    s.ok(&[
        "create",
        "--name",
        "c",
        "--health-cmd",
        "true",
        &image,
        "true",
    ]);
    refused(
        &s,
        &["update", "--health-startup-interval", "5s", "c"],
        "startup healthcheck command is not set",
    );
    s.ok(&["update", "--health-startup-cmd", "true", "c"]);
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.Config.StartupHealthCheck.Test}}",
            "c"
        ])
        .trim(),
        "[CMD-SHELL true]"
    );
    s.ok(&["update", "--no-healthcheck", "c"]);
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.Config.Healthcheck.Test}} {{.Config.StartupHealthCheck}}",
            "c"
        ])
        .trim(),
        "[NONE] <nil>"
    );
    s.ok(&["rm", "c"]);
}
