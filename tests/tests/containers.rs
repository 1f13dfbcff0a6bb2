//! Containers end to end: the real podman, helpers, registry and runc.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, TestStore};
use e2e::poll;
use e2e::registry::Registry;

fn fixture() -> (TestStore, Registry, String) {
    e2e::podman::with_busybox()
}

fn mounts_under(s: &TestStore) -> Vec<String> {
    let root = s.dir.path().display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&root))
        .map(String::from)
        .collect()
}

#[test]
fn run_gives_output_and_the_containers_exit_codes() {
    let (s, _reg, r) = fixture();
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "out\n");
    assert!(stderr(&o).contains("err"), "{}", stderr(&o));
    // Not found: 127; not executable: 126; both with one error line.
    let o = s.run(&["run", "--rm", "--network", "none", &r, "/nonexistent"]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent"));
    let o = s.run(&["run", "--rm", "--network", "none", &r, "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    // --rm left nothing behind.
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert!(mounts_under(&s).is_empty(), "{:?}", mounts_under(&s));
}

#[test]
fn stdin_is_piped_with_interactive() {
    let (s, _reg, r) = fixture();
    let mut child = s
        .cmd()
        .args([
            "run",
            "-i",
            "--rm",
            "--network",
            "none",
            &r,
            "sh",
            "-c",
            "cat; echo done",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello\nworld\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o), "hello\nworld\ndone\n");
}

#[test]
fn stop_is_idempotent_and_records_no_error() {
    let (s, _reg, r) = fixture();
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    assert_eq!(id.trim().len(), 64);
    assert!(s
        .ok(&["ps", "--format", "{{.Names}} {{.State}}"])
        .contains("web running"));
    // sleep as PID 1 ignores SIGTERM: the stop falls back to SIGKILL after the timeout.
    let t = Instant::now();
    s.ok(&["stop", "-t", "1", "web"]);
    assert!(t.elapsed() < Duration::from_secs(8));
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}} [{{.State.Error}}]",
            "web"
        ]),
        "exited 137 []\n"
    );
    // Stopping again, and stopping a created container, succeed quietly.
    s.ok(&["stop", "web"]);
    s.ok(&["create", "--name", "fresh", "--network", "none", &r, "true"]);
    s.ok(&["stop", "fresh"]);
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} [{{.State.Error}}]",
            "fresh"
        ]),
        "created []\n"
    );
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Error}}", "web"]),
        "\n"
    );
    s.ok(&["rm", "web", "fresh"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert!(mounts_under(&s).is_empty());
}

#[test]
fn bad_input_is_one_line_exit_125_and_creates_nothing() {
    let (s, _reg, r) = fixture();
    for args in [
        vec!["run", "--rm", "127.0.0.1:1/no/such:image"],
        vec!["run", "--rm", "-v", "/no/such/dir:/x", &r, "true"],
        vec!["run", "--rm", "--ulimit", "nofile=abc", &r, "true"],
        vec!["run", "--rm", "-p", "99999:80", &r, "true"],
        vec!["run", "--rm", "--cap-add", "bogus", &r, "true"],
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.lines().filter(|l| l.starts_with("Error:")).count() == 1,
            "{args:?}: {err}"
        );
    }
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    s.ok(&["create", "--name", "dup", "--network", "none", &r, "true"]);
    let o = s.run(&["create", "--name", "dup", "--network", "none", &r, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("already in use"), "{}", stderr(&o));
}

#[test]
fn removing_a_running_container_needs_force() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["rm", "busy"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot remove container"),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "-f", "-t", "0", "busy"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert!(mounts_under(&s).is_empty());
}

#[test]
fn logs_outlive_the_cli_that_started_the_container() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo one; echo two >&2; echo three",
    ]);
    assert_eq!(s.ok(&["wait", "talker"]), "0\n");
    let o = s.run(&["logs", "talker"]);
    assert_eq!(stdout(&o), "one\nthree\n");
    assert_eq!(stderr(&o), "two\n");
    // stdout and stderr are separate pipes: which of "two" and "three" was
    // logged last is up to the scheduler, but --tail 1 gives exactly one.
    let o = s.run(&["logs", "--tail", "1", "talker"]);
    let last = format!("{}{}", stdout(&o), stderr(&o));
    assert!(last == "three\n" || last == "two\n", "{last:?}");
    let ts = s.ok(&["logs", "-t", "talker"]);
    assert!(
        ts.lines()
            .all(|l| l.len() > 30 && l.chars().next().unwrap().is_ascii_digit()),
        "{ts}"
    );
}

#[test]
fn twenty_containers_start_in_parallel() {
    let (s, _reg, r) = fixture();
    let children: Vec<_> = (0..20)
        .map(|i| {
            s.cmd()
                .args([
                    "run",
                    "-d",
                    "--name",
                    &format!("c{i}"),
                    "--network",
                    "none",
                    &r,
                    "sleep",
                    "1000",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(s.ok(&["ps", "-q"]).lines().count(), 20);
    s.ok(&["rm", "-af", "-t", "0"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert!(mounts_under(&s).is_empty());
}

#[test]
fn a_killed_monitor_or_container_leaves_a_manageable_state() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "orphan",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    let inspect_pid = |field: &str| -> i32 {
        s.ok(&["inspect", "--format", field, "orphan"])
            .trim()
            .parse()
            .unwrap()
    };
    let (mon, pid) = (
        inspect_pid("{{.State.ConmonPid}}"),
        inspect_pid("{{.State.Pid}}"),
    );
    assert!(mon > 0 && pid > 0 && mon != pid);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(mon),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    poll::until(Duration::from_secs(10), "the killed monitor to go", || {
        !poll::running(mon)
    });
    // The container survives its monitor: its process still runs, podman
    // still sees it running, and stop and rm still work.
    assert!(poll::running(pid), "the container died with its monitor");
    assert_eq!(
        s.ok(&["ps", "--format", "{{.Names}} {{.State}}"]),
        "orphan running\n"
    );
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "orphan"]),
        "running\n"
    );
    s.ok(&["stop", "-t", "0", "orphan"]);
    poll::until(
        Duration::from_secs(10),
        "the stopped container's process to end",
        || !poll::running(pid),
    );
    assert_eq!(s.ok(&["ps", "-q"]), "");
    s.ok(&["rm", "orphan"]);

    s.ok(&[
        "run",
        "-d",
        "--name",
        "victim",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    let pid: i32 = s
        .ok(&["inspect", "--format", "{{.State.Pid}}", "victim"])
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    poll::until(
        Duration::from_secs(10),
        "ps to show the killed container exited",
        || {
            s.ok(&[
                "ps",
                "-a",
                "--format",
                "{{.Names}} {{.State}} {{.ExitCode}}",
            ])
            .contains("victim exited 137")
        },
    );
    s.ok(&["rm", "victim"]);
    assert!(mounts_under(&s).is_empty());
}

#[test]
fn a_terminal_session_runs_under_a_pty() {
    let (s, _reg, r) = fixture();
    // `script` gives podman a real terminal.
    let cmd = format!(
        "{} --root {} --runroot {} run -it --rm --network none {r} sh -c 'tty; echo cols=$(stty size)'",
        e2e::binaries::bin("podman").display(),
        s.root().display(),
        s.runroot().display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out} {}", stderr(&o));
    assert!(out.contains("/dev/pts/"), "{out}");
}

#[test]
fn sigkill_of_podman_during_run_leaves_a_manageable_container() {
    let (s, _reg, r) = fixture();
    let mut child = s
        .cmd()
        .args([
            "run",
            "--name",
            "abandoned",
            "--network",
            "none",
            &r,
            "sleep",
            "1000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    poll::until(Duration::from_secs(20), "the container to start", || {
        s.ok(&["ps", "--format", "{{.Names}}"])
            .contains("abandoned")
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // The container outlives the CLI; ps, inspect, stop and rm handle it.
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "abandoned"]),
        "running\n"
    );
    s.ok(&["exec", "abandoned", "true"]);
    let ps = s.ok(&["ps", "--size", "--format", "{{.Names}} {{.Size}}"]);
    assert!(
        ps.starts_with("abandoned ") && !ps.trim_end().ends_with(' '),
        "{ps}"
    );
    s.ok(&["stop", "-t", "0", "abandoned"]);
    s.ok(&["rm", "abandoned"]);
    assert!(mounts_under(&s).is_empty());
}

#[test]
fn a_full_log_disk_does_not_block_the_container() {
    let (s, _reg, r) = fixture();
    let id = s
        .ok(&[
            "create",
            "--name",
            "chatty",
            "--network",
            "none",
            &r,
            "sh",
            "-c",
            "seq 1 200000; echo done >&2",
        ])
        .trim()
        .to_string();
    // The log lives in the container's data directory: make that a 64 KiB disk.
    let data = s.root().join("containers").join(&id);
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(st.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let guard = Unmount(data.clone());
    let t = Instant::now();
    s.ok(&["start", "chatty"]);
    assert_eq!(s.ok(&["wait", "chatty"]), "0\n");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "the container was held up by its log"
    );
    // What fit is readable; the rest was dropped, not waited for.
    let logs = s.run(&["logs", "chatty"]);
    let out = stdout(&logs);
    assert!(
        out.starts_with("1\n2\n3\n"),
        "{}",
        &out[..out.len().min(100)]
    );
    assert!(out.lines().count() < 200_000);
    drop(guard);
    s.ok(&["rm", "chatty"]);
    assert!(mounts_under(&s).is_empty());
}

#[test]
fn logs_follow_streams_until_the_container_exits() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo first; sleep 1; echo second; sleep 1; echo third",
    ]);
    let t = Instant::now();
    let out = s.ok(&["logs", "-f", "slow"]);
    assert_eq!(out, "first\nsecond\nthird\n");
    assert!(t.elapsed() < Duration::from_secs(10));
    let o = s.run(&["logs", "-f", "--since", "2000-01-01T00:00:00Z", "slow"]);
    assert_eq!(stdout(&o), "first\nsecond\nthird\n");
}

#[test]
fn rm_force_of_an_initialized_container_ends_its_runtime_process_and_monitor() {
    let (s, _reg, r) = fixture();
    let id = s.ok(&["create", "--network", "none", &r, "sleep", "1000"]);
    let id = id.trim();
    s.ok(&["init", id]);
    let pid: i32 = s
        .ok(&["inspect", "--format", "{{.State.ConmonPid}}", id])
        .trim()
        .parse()
        .unwrap();
    assert!(
        poll::running(pid),
        "the monitor holds the created container"
    );
    s.ok(&["rm", "-f", id]);
    // `runc delete --force` ends `runc init`; the monitor then handles the
    // exit and goes (a zombie here at most: PID 1 of this sandbox does not reap).
    poll::until(
        Duration::from_secs(10),
        "the monitor of a removed container to go",
        || !poll::running(pid),
    );
    assert!(mounts_under(&s).is_empty(), "{:?}", mounts_under(&s));
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}
