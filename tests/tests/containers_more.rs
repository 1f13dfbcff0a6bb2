//! init, pause, rename, restart (and restart policies), top (from /proc),
//! the inspect shape, and volatile `run --rm` containers. exec, attach and
//! the container's stdio are in containers_exec_attach.rs.

use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, with_busybox};
use e2e::poll;

#[test]
fn init_pause_rename_restart() {
    let (s, _reg, r) = with_busybox();
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
    let (s, _reg, r) = with_busybox();
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
    let (s, _reg, r) = with_busybox();
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
fn top_reads_the_containers_processes_from_proc() {
    let (s, _reg, r) = with_busybox();
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
    // psgo's %CPU: whole CPU seconds over the lifetime; an idle shell has
    // used none (upstream 085-top expects 0.000).
    assert_eq!(init[3], "0.000", "{out}");
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

    // What psgo does not know goes to ps(1), as in Podman 5; what ps
    // refuses too is one line, exit 125.
    let o = s.run(&["top", "tp", "pid", "bogus"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("Error: ps(1) failed with exit code 1"),
        "{}",
        stderr(&o)
    );
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
    let (s, _reg, r) = with_busybox();
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
