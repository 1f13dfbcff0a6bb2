//! Healthchecks beyond the flags: the image's HEALTHCHECK (and the flags
//! that override or disable it), `ps --filter health=`, `wait --condition
//! healthy|unhealthy`, where the results are kept (`--health-max-log-*`,
//! `--health-log-destination`), and a timer that comes back after its
//! monitor was killed with SIGKILL.

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::oci_image::ImageBuilder;
use e2e::podman::{stderr, stdout, TestStore};

/// Poll `podman inspect --format FORMAT NAME` until `ok` accepts it.
fn wait_until(
    s: &TestStore,
    name: &str,
    format: &str,
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let got = s.ok(&["inspect", "--format", format, name]);
        if ok(got.trim()) {
            return got.trim().to_string();
        }
        assert!(Instant::now() < deadline, "{name}: {format} stayed {got:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A store with busybox and a busybox image whose HEALTHCHECK tests /tmp/ok
/// every second: (store, registry, busybox, image with the check).
fn with_checked_image() -> (TestStore, e2e::registry::Registry, String, String) {
    let (s, reg, busybox) = e2e::podman::with_busybox();
    let image = ImageBuilder::busybox()
        .unwrap()
        .healthcheck(&["CMD-SHELL", "test -e /tmp/ok"], 1_000_000_000)
        .build()
        .unwrap();
    reg.push("checked", "latest", &image).unwrap();
    let r = reg.reference("checked", "latest");
    s.ok(&["pull", "-q", "--tls-verify=false", &r]);
    (s, reg, busybox, r)
}

#[test]
fn the_image_healthcheck_applies_unless_overridden() {
    let (s, _reg, _bb, image) = with_checked_image();
    let run = |name: &str, extra: &[&str]| {
        let mut a = vec!["run", "-d", "--name", name, "--network", "none"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&[&image, "sh", "-c", "touch /tmp/ok; sleep 1000"]);
        s.ok(&a);
    };
    run("fromimage", &[]);
    run("disabled", &["--no-healthcheck"]);
    run("none", &["--health-cmd", "none"]);
    run(
        "flags",
        &[
            "--health-cmd",
            "false",
            "--health-interval",
            "disable",
            "--health-retries",
            "1",
        ],
    );

    let test = s.ok(&["inspect", "--format", "{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}}", "fromimage"]);
    assert_eq!(test.trim(), "[CMD-SHELL test -e /tmp/ok] 1s 3");
    wait_until(
        &s,
        "fromimage",
        "{{.State.Health.Status}}",
        Duration::from_secs(15),
        |v| v == "healthy",
    );
    for name in ["disabled", "none"] {
        let o = s.run(&["healthcheck", "run", name]);
        assert_eq!(o.status.code(), Some(125), "{name}");
        assert!(
            stderr(&o).contains("has no defined healthcheck"),
            "{name}: {}",
            stderr(&o)
        );
    }
    let o = s.run(&["healthcheck", "run", "flags"]);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(1), "unhealthy"));

    // ps --filter health= reads the recorded status.
    let names = |f: &str| {
        let mut v: Vec<String> = s
            .ok(&["ps", "--filter", f, "--format", "{{.Names}}"])
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("health=healthy"), ["fromimage"]);
    assert_eq!(names("health=unhealthy"), ["flags"]);
    assert!(names("health=starting").is_empty());
    s.ok(&[
        "rm",
        "-f",
        "-t",
        "0",
        "fromimage",
        "disabled",
        "none",
        "flags",
    ]);
}

#[test]
fn wait_for_healthy_and_unhealthy() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    for (condition, setup) in [("healthy", "echo ok > /tmp/flag"), ("unhealthy", "true")] {
        let name = format!("w-{condition}");
        s.ok(&[
            "run",
            "-d",
            "--name",
            &name,
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
        let mut waiter = s
            .cmd()
            .args(["wait", "--condition", condition, &name])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Nothing has run the check yet: the status is "starting".
        let status = s.ok(&["inspect", "--format", "{{.State.Health.Status}}", &name]);
        assert_eq!(status.trim(), "starting");
        assert!(
            waiter.try_wait().unwrap().is_none(),
            "wait returned before any check ran"
        );
        s.ok(&["exec", &name, "sh", "-c", setup]);
        s.run(&["healthcheck", "run", &name]);
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            if let Some(st) = waiter.try_wait().unwrap() {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "wait --condition {condition} never returned"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(code.success(), "wait --condition {condition}: {code}");
        s.ok(&["rm", "-f", "-t", "0", &name]);
    }
    // A container without a healthcheck cannot become healthy.
    s.ok(&["create", "--name", "plain", &image, "true"]);
    let o = s.run(&["wait", "--condition", "healthy", "plain"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("has no healthcheck"), "{}", stderr(&o));
}

#[test]
fn the_results_kept_follow_the_log_flags() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "logs",
        "--network",
        "none",
        "--health-cmd",
        "echo 0123456789",
        "--health-interval",
        "disable",
        "--health-max-log-count",
        "2",
        "--health-max-log-size",
        "4",
        "--health-log-destination",
        dir_s,
        &image,
        "sleep",
        "1000",
    ]);
    let id = id.trim();
    let conf = s.ok(&["inspect", "--format", "{{.Config.HealthMaxLogCount}} {{.Config.HealthMaxLogSize}} {{.Config.HealthLogDestination}}", "logs"]);
    assert_eq!(conf.trim(), format!("2 4 {dir_s}"));
    for _ in 0..4 {
        s.ok(&["healthcheck", "run", "logs"]);
    }
    let log = s.ok(&[
        "inspect",
        "--format",
        "{{len .State.Health.Log}} {{(index .State.Health.Log 0).Output}}",
        "logs",
    ]);
    assert_eq!(log.trim(), "2 0123");
    let file = dir.path().join(format!("{id}-healthcheck.log"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["Status"], "healthy");

    // Unlimited (0) keeps every run and all of the output; the defaults are Podman's.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "all",
        "--network",
        "none",
        "--health-cmd",
        "echo 0123456789",
        "--health-interval",
        "disable",
        "--health-max-log-count=0",
        "--health-max-log-size=0",
        "--health-log-destination",
        "events_logger",
        &image,
        "sleep",
        "1000",
    ]);
    for _ in 0..7 {
        s.ok(&["healthcheck", "run", "all"]);
    }
    let log = s.ok(&[
        "inspect",
        "--format",
        "{{len .State.Health.Log}} {{(index .State.Health.Log 0).Output}}",
        "all",
    ]);
    assert_eq!(log.trim(), "7 0123456789");
    s.ok(&[
        "create",
        "--name",
        "defaults",
        "--health-cmd",
        "true",
        &image,
        "true",
    ]);
    let conf = s.ok(&["inspect", "--format", "{{.Config.HealthMaxLogCount}} {{.Config.HealthMaxLogSize}} {{.Config.HealthLogDestination}}", "defaults"]);
    assert_eq!(conf.trim(), "5 500 local");

    for (flags, needle) in [
        (
            &["--health-cmd", "true", "--health-max-log-count", "many"][..],
            "invalid argument \"many\" for \"--health-max-log-count\" flag",
        ),
        (
            &["--health-cmd", "true", "--health-max-log-size", "-1"][..],
            "\"--health-max-log-size\" flag",
        ),
        (
            &[
                "--health-cmd",
                "true",
                "--health-log-destination",
                "not/absolute",
            ][..],
            "HealthCheck Log 'not/absolute' destination error",
        ),
        (
            &["--health-on-failure", "kill"][..],
            "cannot set on-failure action to kill without a health check",
        ),
    ] {
        let mut a = vec!["create"];
        a.extend_from_slice(flags);
        a.extend_from_slice(&[&image, "true"]);
        let o = s.run(&a);
        assert_eq!(o.status.code(), Some(125), "{flags:?}");
        assert!(stderr(&o).contains(needle), "{flags:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    }
    s.ok(&["rm", "-f", "-t", "0", "logs", "all", "defaults"]);
}

#[test]
fn the_timer_comes_back_after_its_monitor_is_killed() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "orphan",
        "--network",
        "none",
        "--health-cmd",
        "false",
        "--health-interval",
        "1s",
        "--health-retries",
        "1000",
        &image,
        "sleep",
        "1000",
    ]);
    let monitor: i32 = s
        .ok(&["inspect", "--format", "{{.State.ConmonPid}}", "orphan"])
        .trim()
        .parse()
        .unwrap();
    assert!(monitor > 0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Gone for good before we look (no timer runs now).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{monitor}/stat")).exists()
        && !std::fs::read_to_string(format!("/proc/{monitor}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        assert!(Instant::now() < deadline, "monitor {monitor} still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The next command repairs; the streak then keeps growing.
    let status = s.ok(&[
        "ps",
        "--format",
        "{{.Names}} {{.State}}",
        "--filter",
        "name=orphan",
    ]);
    assert_eq!(status.trim(), "orphan running");
    let first: u64 = s
        .ok(&[
            "inspect",
            "--format",
            "{{.State.Health.FailingStreak}}",
            "orphan",
        ])
        .trim()
        .parse()
        .unwrap();
    wait_until(
        &s,
        "orphan",
        "{{.State.Health.FailingStreak}}",
        Duration::from_secs(20),
        |v| v.parse::<u64>().is_ok_and(|n| n >= first + 2),
    );
    // Only one timer runs however many commands look.
    for _ in 0..3 {
        s.ok(&["ps", "-a"]);
    }
    let timers = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| {
            let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
            args.iter().any(|a| *a == b"timer")
                && args.iter().any(|a| a.ends_with(b"ctr-monitor"))
                && c.windows(s.root().as_os_str().len())
                    .any(|w| w == s.root().as_os_str().as_encoded_bytes())
        })
        .count();
    assert_eq!(timers, 1);
    s.ok(&["rm", "-f", "-t", "0", "orphan"]);
}

#[test]
fn update_changes_the_healthcheck() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "upd",
        "--network",
        "none",
        "--health-cmd",
        "false",
        "--health-interval",
        "disable",
        "--health-retries",
        "1",
        &image,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["healthcheck", "run", "upd"]);
    assert_eq!(o.status.code(), Some(1));
    s.ok(&[
        "update",
        "--health-cmd",
        "true",
        "--health-retries",
        "5",
        "--health-max-log-count",
        "3",
        "upd",
    ]);
    let conf = s.ok(&["inspect", "--format", "{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}} {{.Config.Healthcheck.Interval}} {{.Config.HealthMaxLogCount}}", "upd"]);
    assert_eq!(conf.trim(), "[CMD-SHELL true] 5 0s 3");
    let o = s.run(&["healthcheck", "run", "upd"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    s.ok(&["update", "--no-healthcheck", "upd"]);
    let o = s.run(&["healthcheck", "run", "upd"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("has no defined healthcheck"),
        "{}",
        stderr(&o)
    );
    // Nothing to merge over, no command given: refused, nothing changed.
    let o = s.run(&["update", "--health-retries", "3", "upd"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("healthcheck command is not set"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&["update", "--no-healthcheck", "--health-cmd", "true", "upd"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("cannot specify both --no-healthcheck"),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "-f", "-t", "0", "upd"]);
}

#[test]
fn ignore_result_and_the_healthcheck_method() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "ign",
        "--network",
        "none",
        "--health-cmd",
        "false",
        "--health-interval",
        "disable",
        "--health-retries",
        "1",
        &image,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["healthcheck", "run", "--ignore-result", "ign"]);
    assert_eq!(
        (o.status.code(), e2e::podman::stdout(&o).trim()),
        (Some(0), "unhealthy")
    );
    // Errors still fail.
    let o = s.run(&["healthcheck", "run", "--ignore-result", "nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("no such container"), "{}", stderr(&o));
    // Podman's State.Healthcheck() method is State.Health.
    let v = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Healthcheck.FailingStreak}} {{.State.Health.Status}}",
        "ign",
    ]);
    assert_eq!(v.trim(), "1 unhealthy");
    s.ok(&["rm", "-f", "-t", "0", "ign"]);
}
