//! exec, attach/detach, init, pause, rename, restart, top (from /proc),
//! inspect shape, log driver passthrough.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, TestStore};
use e2e::poll;
use e2e::registry::Registry;

fn fixture() -> (TestStore, Registry, String) {
    e2e::podman::with_busybox()
}

#[test]
fn exec_runs_in_the_container_with_its_exit_codes() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--network",
        "none",
        "-e",
        "FOO=bar",
        &r,
        "sleep",
        "1000",
    ]);
    assert_eq!(
        s.ok(&["exec", "box", "sh", "-c", "echo $FOO $(hostname)"])
            .split_whitespace()
            .next(),
        Some("bar")
    );
    let o = s.run(&["exec", "box", "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7));
    assert_eq!(s.run(&["exec", "box", "/no/such"]).status.code(), Some(127));
    assert_eq!(
        s.ok(&[
            "exec",
            "-e",
            "X=1",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "box",
            "sh",
            "-c",
            "echo $X $(pwd) $(id -u)"
        ]),
        "1 /tmp 65534\n"
    );
    let mut child = s
        .cmd()
        .args(["exec", "-i", "box", "wc", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"12345").unwrap();
    assert_eq!(stdout(&child.wait_with_output().unwrap()).trim(), "5");
    // exec -d returns at once; the process runs.
    s.ok(&[
        "exec",
        "-d",
        "box",
        "sh",
        "-c",
        "sleep 0.2; touch /tmp/marker",
    ]);
    poll::until(
        Duration::from_secs(10),
        "the detached exec's marker",
        || {
            s.run(&["exec", "box", "test", "-f", "/tmp/marker"])
                .status
                .success()
        },
    );
    let top = s.ok(&["top", "box"]);
    assert!(top.contains("sleep 1000"), "{top}");
    let o = s.run(&["exec", "nosuch", "true"]);
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn attach_and_detach_keep_the_container_running() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        "echoer",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "while read l; do echo got:$l; done",
    ]);
    let mut child = s
        .cmd()
        .args(["attach", "--detach-keys", "ctrl-x", "echoer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    let n = out.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"got:hello\n");
    stdin.write_all(&[0x18]).unwrap(); // ctrl-x detaches
    let st = child.wait().unwrap();
    assert!(st.success());
    assert!(s
        .ok(&["ps", "--format", "{{.Names}} {{.State}}"])
        .contains("echoer running"));
}

#[test]
fn init_pause_rename_restart() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "create",
        "--name",
        "later",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo started",
    ]);
    s.ok(&["init", "later"]);
    let o = s.run(&["start", "-a", "later"]);
    assert_eq!(stdout(&o), "started\n", "{}", stderr(&o));
    s.ok(&[
        "run",
        "-d",
        "--name",
        "p1",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&["pause", "p1"]);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "p1"]),
        "paused\n"
    );
    s.ok(&["unpause", "p1"]);
    s.ok(&["rename", "p1", "p2"]);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Name}} {{.State.Status}}", "p2"]),
        "p2 running\n"
    );
    let pid1 = s.ok(&["inspect", "--format", "{{.State.Pid}}", "p2"]);
    s.ok(&["restart", "-t", "0", "p2"]);
    let pid2 = s.ok(&["inspect", "--format", "{{.State.Pid}}", "p2"]);
    assert_ne!(pid1, pid2);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "p2"]),
        "running\n"
    );
    assert_eq!(s.run(&["container", "exists", "p2"]).status.code(), Some(0));
    assert_eq!(s.run(&["container", "exists", "p1"]).status.code(), Some(1));
}

#[test]
fn inspect_has_podmans_shape_and_flags_reach_the_spec() {
    let (s, _reg, r) = fixture();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), "from-host").unwrap();
    let vol = format!("{}:/data:ro", dir.path().display());
    let o = s.run(&[
        "run", "--rm", "--network", "none", "-v", &vol, "--tmpfs", "/scratch", "--read-only", "-w", "/data", "--hostname", "hh",
        "--ulimit", "nofile=512:1024", "--cap-drop", "all", "--cap-add", "chown", &r, "sh", "-c",
        "cat f; hostname; ulimit -n; touch /x 2>/dev/null || echo ro-root; touch /scratch/y && echo tmpfs-ok; grep CapEff /proc/self/status",
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out} {}", stderr(&o));
    assert!(
        out.starts_with("from-hosthh\n512\nro-root\ntmpfs-ok\n"),
        "{out}"
    );
    assert!(out.contains("CapEff:\t0000000000000001"), "{out}");
    s.ok(&[
        "create",
        "--name",
        "shape",
        "--network",
        "none",
        "-l",
        "a=b",
        "--restart",
        "on-failure:2",
        &r,
        "true",
    ]);
    let v: serde_json::Value = serde_json::from_str(&s.ok(&["inspect", "shape"])).unwrap();
    let c = &v[0];
    for k in [
        "Id",
        "Created",
        "Path",
        "Args",
        "State",
        "Image",
        "ImageName",
        "Name",
        "Config",
        "HostConfig",
        "NetworkSettings",
        "Mounts",
    ] {
        assert!(!c[k].is_null(), "missing {k}");
    }
    assert_eq!(c["Config"]["Labels"]["a"], "b");
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(c["State"]["Status"], "created");
    let t = Instant::now();
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--stop-signal",
        "SIGFOO",
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn restart_policy_and_init() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--network",
        "none",
        "--restart",
        "on-failure:2",
        &r,
        "sh",
        "-c",
        "echo try; exit 1",
    ]);
    poll::until(
        Duration::from_secs(20),
        "two restarts, then the exit",
        || {
            let st = s.ok(&[
                "inspect",
                "--format",
                "{{.RestartCount}} {{.State.Status}}",
                "flaky",
            ]);
            st == "2 exited\n" && s.ok(&["logs", "flaky"]).lines().count() == 3
        },
    );
    assert_eq!(s.ok(&["logs", "flaky"]), "try\ntry\ntry\n");
    let out = s.ok(&[
        "run",
        "--rm",
        "--init",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(out.starts_with("/run/podman-init -- sh"), "{out}");
}

#[test]
fn log_driver_passthrough_hands_podmans_own_stdio_to_the_container() {
    let (s, _reg, r) = fixture();
    // Foreground: the container writes straight to podman's stdout/stderr
    // (the monitor hands them down), with its exit code.
    let o = s.run(&[
        "run",
        "--rm",
        "--log-driver",
        "passthrough",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "out\n");
    assert!(stderr(&o).contains("err\n"), "{}", stderr(&o));
    // stdin too: the container reads what podman was given.
    let mut child = s
        .cmd()
        .args([
            "run",
            "--rm",
            "-i",
            "--log-driver",
            "passthrough",
            "--network",
            "none",
            &r,
            "wc",
            "-c",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"1234567").unwrap();
    assert_eq!(stdout(&child.wait_with_output().unwrap()).trim(), "7");

    // Nothing is logged or attachable: podman says so, as Podman does.
    s.ok(&[
        "run",
        "--name",
        "pt",
        "--log-driver",
        "passthrough",
        "--network",
        "none",
        &r,
        "true",
    ]);
    // Detached: allowed (systemd units do it), no ID printed; the output
    // still goes to the stdout podman was started with.
    let o = s.run(&[
        "run",
        "-d",
        "--name",
        "ptd",
        "--log-driver",
        "passthrough",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo from-the-background",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "from-the-background\n");
    // (Not into a pipe we read to its end: the container would hold it.)
    let st = s
        .cmd()
        .args([
            "run",
            "-d",
            "--name",
            "ptl",
            "--log-driver",
            "passthrough",
            "--network",
            "none",
            &r,
            "sleep",
            "1000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let o = s.run(&["attach", "ptl"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("'passthrough' log driver, cannot attach"),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "-f", "-t", "0", "ptl"]);
    let o = s.run(&["logs", "pt"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o)
            .contains("this container is using the 'passthrough' log driver, cannot read logs"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.HostConfig.LogConfig.Type}}",
            "pt"
        ])
        .trim(),
        "passthrough"
    );
}

#[test]
fn top_reads_the_containers_processes_from_proc() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "tp",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "sleep 1000 & sleep 2000; echo done",
    ]);
    s.ok(&["exec", "-d", "-u", "nobody", "tp", "sleep", "3000"]);
    // No ps(1) needed: podman reads /proc itself.
    let top = |args: &[&str]| {
        let o = s
            .cmd()
            .arg("top")
            .args(args)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap();
        assert!(o.status.success(), "top {args:?}: {}", stderr(&o));
        stdout(&o)
    };
    // The shell's background sleep and the exec'd one show up once they run.
    let out = poll::until_some(Duration::from_secs(10), "all four processes in top", || {
        let out = top(&["tp"]);
        let shown = |cmd: &str| out.lines().any(|l| l.ends_with(cmd));
        ["sleep 1000", "sleep 2000", "sleep 3000"]
            .iter()
            .all(|c| shown(c))
            .then_some(out)
    });
    let lines: Vec<&str> = out.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"],
        "{out}"
    );
    assert_eq!(lines.len(), 5, "sh, two sleeps, the exec'd sleep:\n{out}");
    let row = |needle: &str| -> Vec<String> {
        lines
            .iter()
            .find(|l| l.ends_with(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{out}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    // Ids as the container sees them: its init is pid 1 with parent 0.
    let init = row("sh -c sleep 1000 & sleep 2000; echo done");
    assert_eq!(&init[..3], ["root", "1", "0"], "{out}");
    assert!(init[3].parse::<f64>().is_ok(), "{out}");
    assert!(init[4].ends_with('s'), "elapsed as a Go duration: {out}");
    assert_eq!(init[5], "?", "no terminal: {out}");
    assert_eq!(init[6], "0s", "{out}");
    assert_eq!(row("sleep 2000")[2], "1", "{out}");
    // The exec'd process: its user from the container's /etc/passwd, its
    // parent outside the container.
    let exec = row("sleep 3000");
    assert_eq!(exec[0], "nobody", "{out}");
    assert_eq!(exec[2], "0", "{out}");

    // Descriptors as one comma list or as separate words, codes too.
    let out = top(&[
        "tp", "pid,comm", "group", "%n", "pgid", "state", "rss", "vsz", "seccomp", "hpid",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMMAND", "GROUP", "NI", "PGID", "STATE", "RSS", "VSZ", "SECCOMP", "HPID"],
        "{out}"
    );
    let first: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&first[..4], ["1", "sh", "root", "0"], "{out}");
    assert!(["S", "R"].contains(&first[5]), "{out}");
    assert!(first[6].parse::<u64>().unwrap() > 0, "rss: {out}");
    assert!(first[7].parse::<u64>().unwrap() > 0, "vsz: {out}");
    assert!(
        ["disabled", "strict", "filter"].contains(&first[8]),
        "{out}"
    );
    let hpid: i32 = first[9].parse().unwrap();
    let init_pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", "tp"]);
    assert_eq!(hpid.to_string(), init_pid.trim(), "{out}");

    // --latest: every argument is a descriptor.
    let out = top(&["-l", "pid,user"]);
    assert!(
        out.lines().any(|l| l.split_whitespace().eq(["1", "root"])),
        "{out}"
    );

    // An unknown descriptor: one line, exit 125.
    let o = s.run(&["top", "tp", "pid", "bogus"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("\"bogus\""), "{}", stderr(&o));
    // Not running: Podman's words.
    s.ok(&["stop", "-t", "0", "tp"]);
    let o = s.run(&["top", "tp"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("top can only be used on running containers"));
}

/// The overlay options of the mount at `mountpoint`, empty when it is not
/// mounted.
fn overlay_options(mountpoint: &str) -> String {
    e2e::mountinfo::mount_options(mountpoint).unwrap_or_default()
}

#[test]
fn run_rm_containers_are_volatile_as_in_podman() {
    let (s, _reg, r) = fixture();
    let rm = s.ok(&[
        "run",
        "--rm",
        "-d",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    let kept = s.ok(&["run", "-d", "--network", "none", &r, "sleep", "1000"]);
    // Where the container's rootfs is mounted, as Podman reports it.
    let mountpoint = |id: &str| {
        s.ok(&[
            "inspect",
            "--format",
            "{{.GraphDriver.Name}} {{.GraphDriver.Data.MergedDir}}",
            id.trim(),
        ])
        .trim()
        .strip_prefix("overlay ")
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no overlay GraphDriver for {id}"))
    };
    let (m_rm, m_kept) = (mountpoint(&rm), mountpoint(&kept));
    // No sync of the upper dir (nor at unmount) for a container that is
    // removed when it exits; an ordinary one keeps overlay's default.
    assert!(
        overlay_options(m_rm.trim()).contains("volatile"),
        "{}",
        overlay_options(m_rm.trim())
    );
    let opts = overlay_options(m_kept.trim());
    assert!(!opts.is_empty() && !opts.contains("volatile"), "{opts}");
    s.ok(&["rm", "-f", "-t", "0", rm.trim(), kept.trim()]);
    assert!(overlay_options(m_rm.trim()).is_empty());
}

#[test]
fn run_attach_shows_only_the_chosen_output_stream() {
    // Upstream 030-run attaches stderr alone to keep dd's NULs off stdout.
    let (s, _r, image) = fixture();
    let o = s.run(&[
        "run",
        "--name",
        "a1",
        "--attach",
        "stderr",
        &image,
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!((stdout(&o).as_str(), stderr(&o).as_str()), ("", "err\n"));
    // The stream not attached still reaches the log.
    let o = s.run(&["logs", "a1"]);
    assert_eq!(
        (stdout(&o).as_str(), stderr(&o).as_str()),
        ("out\n", "err\n")
    );
    let o = s.run(&[
        "run",
        "--rm",
        "-a",
        "stdout",
        &image,
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert_eq!((stdout(&o).as_str(), stderr(&o).as_str()), ("out\n", ""));
    let o = s.run(&[
        "run",
        "--rm",
        "-a",
        "stdout",
        "-a",
        "stderr",
        &image,
        "sh",
        "-c",
        "echo out; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "out\n");
    s.ok(&["rm", "a1"]);
}

#[test]
fn exec_stdin_carries_binary_data_with_the_detach_keys_inside() {
    // Upstream 075-exec "cat from stdin": 1.5 MB through `exec -i dd`. Piped
    // data holds ctrl-p ctrl-q often; as in Podman, only typed keys detach.
    let (s, _r, image) = fixture();
    let id = s.ok(&["run", "-d", &image, "sleep", "600"]);
    let id = id.trim();
    let mut data = Vec::with_capacity(1_536_000);
    let mut x: u32 = 12345;
    while data.len() < 1_536_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        data.push((x >> 16) as u8);
        if data.len() % 50_000 == 0 {
            data.extend_from_slice(&[0x10, 0x11]);
        }
    }
    data.truncate(1_536_000);
    let mut child = s
        .cmd()
        .args(["exec", "-i", id, "dd", "of=/tmp/big", "bs=512"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&data).map(|_| data));
    let o = child.wait_with_output().unwrap();
    let data = writer.join().unwrap().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("3000+0 records in"), "{}", stderr(&o));
    let sum = s.ok(&["exec", id, "md5sum", "/tmp/big"]);
    let expect = {
        let p = std::env::temp_dir().join(format!("exec-big-{}", std::process::id()));
        std::fs::write(&p, &data).unwrap();
        let o = std::process::Command::new("md5sum")
            .arg(&p)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&p);
        stdout(&o).split_whitespace().next().unwrap().to_string()
    };
    assert_eq!(sum.split_whitespace().next(), Some(expect.as_str()));
    s.ok(&["rm", "-f", "-t0", id]);
}
