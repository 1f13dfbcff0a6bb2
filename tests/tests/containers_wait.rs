//! `podman wait --condition`: woken by state changes (inotify on the state
//! database and the exit files), not by sleep-polling.

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout};
use e2e::poll;

fn fixture() -> (e2e::podman::TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// Context switches of every thread of `pid` so far: a process that
/// sleep-polls keeps adding to them, one blocked on inotify does not.
fn context_switches(pid: u32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

/// Inotify watches process `pid` holds (its /proc/PID/fdinfo lines).
fn inotify_watches(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .map(|fds| {
            fds.flatten()
                .filter_map(|fd| std::fs::read_to_string(fd.path()).ok())
                .map(|info| {
                    info.lines()
                        .filter(|l| l.starts_with("inotify wd:"))
                        .count()
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Whether every thread of `pid` is asleep (state S).
fn all_threads_asleep(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('S'))
        })
    })
}

/// Wait until the `podman wait` process `pid` has settled into its wait:
/// it watches something with inotify and all its threads sleep.
fn settled(pid: u32) {
    poll::until(
        Duration::from_secs(10),
        "podman wait to block on inotify",
        || inotify_watches(pid) > 0 && all_threads_asleep(pid),
    );
}

#[test]
fn wait_conditions_wake_on_state_changes_without_polling() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "create",
        "--name",
        "w",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    assert_eq!(s.ok(&["wait", "--condition", "created", "w"]), "-1\n");
    let waiter = s
        .cmd()
        .args(["wait", "--condition", "running", "w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Settled into its wait, it stays asleep: no 50 ms polling. Showing
    // that nothing happens takes watching for a while: this sleep is the
    // observation window, not a wait for something.
    settled(waiter.id());
    let before = context_switches(waiter.id());
    std::thread::sleep(Duration::from_millis(1500));
    let switches = context_switches(waiter.id()) - before;
    assert!(switches < 10, "{switches} context switches while waiting");
    // It wakes as the container starts, long before its 5 s fallback.
    s.ok(&["start", "w"]);
    let started = Instant::now();
    let o = waiter.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "-1\n");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Any one of several conditions is enough; a running one matches now.
    assert_eq!(
        s.ok(&[
            "wait",
            "--condition",
            "paused",
            "--condition",
            "running",
            "w"
        ]),
        "-1\n"
    );
    // Exit conditions print the exit code; mixed with a state, the exit
    // (an exit file appearing) wakes the waiter too.
    let waiter = s
        .cmd()
        .args([
            "wait",
            "--condition",
            "paused",
            "--condition",
            "exited",
            "w",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    settled(waiter.id());
    s.ok(&["kill", "w"]);
    let killed = Instant::now();
    let o = waiter.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "137\n");
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "{:?}",
        killed.elapsed()
    );
    assert_eq!(s.ok(&["wait", "w"]), "137\n");

    // Removal: a waiter for "removing" returns when the container goes.
    let waiter = s
        .cmd()
        .args(["wait", "--condition", "removing", "w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    settled(waiter.id());
    s.ok(&["rm", "w"]);
    let o = waiter.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o), "-1\n");

    // --ignore, and bad input as one line with 125.
    assert_eq!(s.ok(&["wait", "--ignore", "nosuch"]), "-1\n");
    let o = s.run(&["wait", "nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    let o = s.run(&["wait", "--condition", "sleepy", "nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("invalid --condition \"sleepy\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);
}

#[test]
fn a_killed_container_is_stopped_by_its_user_and_not_restarted() {
    // Upstream 130-kill "no restart" and "wait - exit codes".
    let (s, _registry, image) = fixture();
    let id = s.ok(&[
        "run",
        "-d",
        "--restart=always",
        "--name",
        "k1",
        &image,
        "sh",
        "-c",
        "trap 'exit 42' TERM; echo READY; while :; do sleep 0.2; done",
    ]);
    let id = id.trim();
    poll::until(Duration::from_secs(20), "READY in the logs", || {
        s.ok(&["logs", id]).contains("READY")
    });
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.StoppedByUser}}", id]),
        "false\n"
    );
    s.ok(&["kill", "-s=TERM", id]);
    assert_eq!(s.ok(&["wait", id]), "42\n");
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.State.StoppedByUser}} {{.State.Status}}",
            id
        ]),
        "true exited\n"
    );
    s.ok(&["rm", id]);

    // A command that cannot be found: `start` exits 125 (not 127 as `run`).
    s.ok(&["create", "--name", "w1", &image, "/no/such/command"]);
    assert_eq!(s.ok(&["wait", "w1"]), "0\n");
    let o = s.run(&["start", "w1"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unable to start container"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&["run", "--rm", &image, "/no/such/command"]);
    assert_eq!(o.status.code(), Some(127), "{}{}", stdout(&o), stderr(&o));
}
