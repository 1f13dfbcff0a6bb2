//! exec, attach/detach and the container's stdio end to end: exit codes,
//! detach keys, `run --attach` streams, binary stdin, and the passthrough
//! log driver handing podman's own stdio to the container.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use e2e::podman::{stderr, stdout, with_busybox};
use e2e::poll;

#[test]
fn exec_runs_in_the_container_with_its_exit_codes() {
    let (s, _reg, r) = with_busybox();
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
    let (s, _reg, r) = with_busybox();
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
fn log_driver_passthrough_hands_podmans_own_stdio_to_the_container() {
    let (s, _reg, r) = with_busybox();
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
fn run_attach_shows_only_the_chosen_output_stream() {
    // Upstream 030-run attaches stderr alone to keep dd's NULs off stdout.
    let (s, _r, image) = with_busybox();
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
    let (s, _r, image) = with_busybox();
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

/// The `exec_pid` files under the graph root (Podman keeps one per running
/// exec session under the container's directory).
fn exec_pid_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                walk(&e.path(), out);
            } else if t.is_file() && e.file_name() == "exec_pid" {
                out.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

#[test]
fn exec_sessions_show_as_exec_ids_and_exec_pid_files_while_they_run() {
    let (s, _reg, r) = with_busybox();
    let name = "execids-ctr-x7q";
    s.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    let root = std::path::PathBuf::from(s.ok(&["info", "--format", "{{.Store.GraphRoot}}"]).trim());
    let ids = |s: &e2e::podman::TestStore| s.ok(&["inspect", "--format", "{{len .ExecIDs}}", name]);
    assert_eq!(ids(&s).trim(), "0");
    // Sessions that never start leave nothing behind.
    for _ in 0..2 {
        assert_eq!(
            s.run(&["exec", name, "no-such-cmd"]).status.code(),
            Some(127)
        );
        assert_eq!(
            s.run(&["exec", "-d", name, "no-such-cmd"]).status.code(),
            Some(125)
        );
    }
    for _ in 0..3 {
        s.ok(&["exec", name, "true"]);
    }
    assert_eq!(ids(&s).trim(), "0");
    assert_eq!(exec_pid_files(&root), Vec::<std::path::PathBuf>::new());

    let sid = s
        .ok(&["exec", "-d", name, "sleep", "1000"])
        .trim()
        .to_string();
    let files = exec_pid_files(&root);
    assert_eq!(files.len(), 1, "{files:?}");
    let f = &files[0];
    assert!(f.to_string_lossy().contains("containers"), "{f:?}");
    assert_eq!(
        f.parent().unwrap().file_name().unwrap().to_string_lossy(),
        sid
    );
    let pid: i32 = std::fs::read_to_string(f).unwrap().trim().parse().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).starts_with("sleep\0"),
        "{cmdline:?}"
    );
    assert_eq!(
        s.ok(&["inspect", "--format", "{{json .ExecIDs}}", name])
            .trim(),
        format!("[\"{sid}\"]")
    );
    // The session ends: its file and its ID go.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    poll::until(
        Duration::from_secs(20),
        "the ended session's exec_pid gone",
        || exec_pid_files(&root).is_empty(),
    );
    assert_eq!(ids(&s).trim(), "0");
    s.ok(&["rm", "-f", "-t", "0", name]);
}

#[test]
fn top_hands_ps_options_to_ps_in_the_containers_pid_namespace() {
    let (s, _reg, r) = with_busybox();
    let name = "topps-ctr-k3v";
    s.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    // Separate arguments, a space-separated list, one argument split as a
    // shell would.
    for args in [
        &["-eo", "pid,comm"][..],
        &["-eo", "pid comm"][..],
        &["-eo 'pid,comm'"][..],
    ] {
        let mut cmd = vec!["top", name];
        cmd.extend_from_slice(args);
        let out = s.ok(&cmd);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["PID", "COMMAND"],
            "{out}"
        );
        // The container's own pid namespace: its init is pid 1.
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["1", "sleep"],
            "{out}"
        );
    }
    // ps's own line (it shows the options) is left out.
    let out = s.ok(&["top", name, "-eo", "pid,args"]);
    assert!(out.contains("sleep 1000"), "{out}");
    assert!(!out.contains("-eo pid,args"), "{out}");
    // ps refusing its options is the error.
    let o = s.run(&["top", name, "--no-such-ps-option"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("ps(1) failed"), "{}", stderr(&o));
    s.ok(&["rm", "-f", "-t", "0", name]);
}
