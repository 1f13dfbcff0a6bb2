//! exec, attach/detach, init, pause, rename, restart, top, inspect shape.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, TestStore};
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
    std::thread::sleep(Duration::from_millis(600));
    s.ok(&["exec", "box", "test", "-f", "/tmp/marker"]);
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
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = s.ok(&[
            "inspect",
            "--format",
            "{{.RestartCount}} {{.State.Status}}",
            "flaky",
        ]);
        if st == "2 exited\n" && s.ok(&["logs", "flaky"]).lines().count() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{st}");
        std::thread::sleep(Duration::from_millis(100));
    }
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
