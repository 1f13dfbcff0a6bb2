//! Container verbs as Podman 5 has them (test/system 035, 045, 050, 055,
//! 075, 130): flags, messages and exit codes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// Poll `f` until it is true or `secs` pass.
fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// 130-kill's first test: a foreground `run` whose container another
/// command removes returns, with the container's exit code (137 after
/// SIGKILL), instead of waiting forever.
#[test]
fn foreground_run_returns_when_its_container_is_removed() {
    let (s, _reg, r) = fixture();
    let mut run = s
        .cmd()
        .args([
            "run",
            "--name",
            "gone",
            "--network",
            "none",
            &r,
            "sleep",
            "1000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(20, || !s
        .ok(&["ps", "-q", "--filter", "name=gone"])
        .trim()
        .is_empty()));
    s.ok(&["rm", "-f", "-t", "0", "gone"]);
    let mut status = None;
    assert!(
        wait_until(20, || {
            status = run.try_wait().unwrap();
            status.is_some()
        }),
        "podman run still running after its container was removed"
    );
    let out = run.wait_with_output().unwrap();
    assert_eq!(status.unwrap().code(), Some(137), "{}", stderr(&out));
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
}

fn run_d(s: &TestStore, r: &str, name: &str, cmd: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name, "--network", "none", r];
    args.extend_from_slice(cmd);
    s.ok(&args).trim().to_string()
}

fn state(s: &TestStore, name: &str) -> String {
    s.ok(&["inspect", "--format", "{{.State.Status}}", name])
        .trim()
        .to_string()
}

/// 130-kill: signal names and numbers as Podman parses them, and its
/// error for a bad one (before looking up the container).
#[test]
fn kill_parses_signals_as_podman() {
    let (s, _reg, r) = fixture();
    for bad in ["0", "SIGBADSIG", "SIG", "BADSIG", "%%", "!", " "] {
        let o = s.run(&["kill", "-s", bad, "nosuchcontainer"]);
        assert_eq!(o.status.code(), Some(125));
        assert_eq!(
            stderr(&o).trim_end(),
            format!("Error: invalid signal: {}", bad.trim_start_matches('-')).trim_end()
        );
    }
    run_d(
        &s,
        &r,
        "sig",
        &[
            "sh",
            "-c",
            "for i in 1 2 8 10 12; do trap \"echo got: $i\" $i; done; echo READY; while :; do sleep 0.1; done",
        ],
    );
    assert!(wait_until(20, || s.ok(&["logs", "sig"]).contains("READY")));
    let mut expect = vec!["READY".to_string()];
    for (sig, n) in [
        ("-1", 1),
        ("-INT", 2),
        ("FPE", 8),
        ("-SIGUSR1", 10),
        ("SIGUSR2", 12),
        ("hup", 1),
    ] {
        assert_eq!(s.ok(&["kill", "-s", sig, "sig"]).trim(), "sig");
        expect.push(format!("got: {n}"));
        let want = expect.join("\n");
        assert!(
            wait_until(10, || s.ok(&["logs", "sig"]).trim() == want),
            "after kill -s {sig}: {}",
            s.ok(&["logs", "sig"])
        );
    }
    // kill --all signals the running ones, printing their IDs.
    let id = s
        .ok(&["inspect", "--format", "{{.Id}}", "sig"])
        .trim()
        .to_string();
    s.ok(&["create", "--name", "idle", "--network", "none", &r, "true"]);
    assert_eq!(s.ok(&["kill", "--all"]).trim(), id);
    assert!(wait_until(10, || state(&s, "sig") == "exited"));
    // A stopped container cannot be killed: Podman's words.
    let o = s.run(&["kill", "sig"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("can only kill running containers"),
        "{}",
        stderr(&o)
    );
}

/// 050-stop: --ignore, --cidfile, --all printing IDs, --filter.
#[test]
fn stop_flags_as_podman() {
    let (s, _reg, r) = fixture();
    let o = s.run(&["stop", "nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: no container with name or ID \"nosuch\" found: no such container"
    );
    let o = s.run(&["stop", "--ignore", "nosuch"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    let missing = s.dir.path().join("nosuchfile");
    let m = missing.to_str().unwrap();
    let o = s.run(&["stop", &format!("--cidfile={m}")]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        format!("Error: reading CIDFile: open {m}: no such file or directory")
    );
    let o = s.run(&["stop", &format!("--cidfile={m}"), "--ignore"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");

    let a = run_d(&s, &r, "a", &["sleep", "1000"]);
    let b = run_d(&s, &r, "b", &["sleep", "1000"]);
    let cidfile = s.dir.path().join("cid");
    std::fs::write(&cidfile, format!("{a}\n")).unwrap();
    let o = s.ok(&["stop", "-t", "0", "--cidfile", cidfile.to_str().unwrap()]);
    assert_eq!(o.trim(), a);
    assert_eq!(state(&s, "a"), "exited");
    // --filter with names is refused; alone it picks.
    let o = s.run(&["stop", "--filter", "name=b", "b"]);
    assert_eq!(stderr(&o).trim(), "Error: --filter takes no arguments");
    assert_eq!(s.ok(&["stop", "-t", "0", "--filter", "name=^b$"]).trim(), b);
    assert_eq!(state(&s, "b"), "exited");
    // Stopping stopped containers is quiet success; --all prints IDs.
    let mut all = s
        .ok(&["stop", "--all"])
        .lines()
        .map(String::from)
        .collect::<Vec<_>>();
    all.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(all, want);
    assert_eq!(s.ok(&["stop", "a"]).trim(), "a");
}

/// 055-rm: exit codes and messages, --force on missing names, --depend,
/// --cidfile, --filter, --volumes accepted.
#[test]
fn rm_flags_and_exit_codes_as_podman() {
    let (s, _reg, r) = fixture();
    let o = s.run(&["container", "rm", "bogus"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        "Error: no container with ID or name \"bogus\" found: no such container"
    );
    let o = s.run(&["rm", "-t", "0", "bogus"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: --force option must be specified to use the --time option"
    );
    let o = s.run(&["rm", "--force", "bogus"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    s.ok(&["create", "--name", "t1", "--network", "none", &r, "true"]);
    assert_eq!(s.ok(&["rm", "--force", "bogus", "t1"]).trim(), "t1");

    let id = run_d(&s, &r, "busy", &["sleep", "1000"]);
    let o = s.run(&["rm", &id]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        format!("Error: cannot remove container {id} as it is running - running or paused containers cannot be removed without force: container state improper")
    );
    assert_eq!(s.ok(&["rm", "-t", "0", "-f", "-v", &id]).trim(), id);

    let base = s
        .ok(&["create", "--network", "none", &r, "true"])
        .trim()
        .to_string();
    let dep = s
        .ok(&["create", &format!("--network=container:{base}"), &r, "true"])
        .trim()
        .to_string();
    let o = s.run(&["rm", &base]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).starts_with(&format!(
            "Error: container {base} has dependent containers which must be removed before it:"
        )),
        "{}",
        stderr(&o)
    );
    let out = s.ok(&["rm", "--depend", &base]);
    assert!(out.contains(&dep) && out.contains(&base), "{out}");

    let c = s
        .ok(&[
            "create",
            "--name",
            "byfile",
            "--network",
            "none",
            &r,
            "true",
        ])
        .trim()
        .to_string();
    let cidfile = s.dir.path().join("cid");
    std::fs::write(&cidfile, &c).unwrap();
    assert_eq!(
        s.ok(&["rm", "--cidfile", cidfile.to_str().unwrap()]).trim(),
        c
    );
    let c = s
        .ok(&[
            "create",
            "--name",
            "filtered",
            "--network",
            "none",
            &r,
            "true",
        ])
        .trim()
        .to_string();
    assert_eq!(s.ok(&["rm", "--filter", "name=filtered"]).trim(), c);
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
}

/// 045-start: --all, --filter (alone, with names, with --all), Podman's
/// texts, and -a on a --rm container.
#[test]
fn start_flags_as_podman() {
    let (s, _reg, r) = fixture();
    let o = s.run(&["start", "--all", "12333"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: either start all containers or the container(s) provided in the arguments"
    );
    let c1 = s
        .ok(&[
            "create",
            "--name",
            "c1",
            "--restart=always",
            "--network",
            "none",
            &r,
            "true",
        ])
        .trim()
        .to_string();
    s.ok(&[
        "create",
        "--name",
        "c2",
        "--restart=on-failure",
        "--network",
        "none",
        &r,
        "true",
    ]);
    let c3 = s
        .ok(&[
            "create",
            "--name",
            "c3",
            "--restart=always",
            "--network",
            "none",
            &r,
            "true",
        ])
        .trim()
        .to_string();
    let out = s.ok(&["start", "--filter", "restart-policy=always"]);
    assert!(
        out.contains(&c1) && out.contains(&c3) && out.lines().count() == 2,
        "{out}"
    );
    assert_eq!(
        s.ok(&["start", "--filter", "restart-policy=on-failure", "c2", "c3"])
            .trim(),
        "c2"
    );
    assert_eq!(
        s.ok(&["start", "--filter", "restart-policy=none", "--all"])
            .trim(),
        ""
    );
    let o = s.run(&["start", "--filter", "restart-policy=fakepolicy", "c1"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: fakepolicy invalid restart policy"
    );
    s.ok(&["rm", "-af", "-t", "0"]);

    let ok = run_d(&s, &r, "ok", &["true"]);
    run_d(&s, &r, "bad", &["false"]);
    s.ok(&["wait", "ok", "bad"]);
    assert_eq!(s.ok(&["start", "--all", "--filter", "exited=0"]).trim(), ok);
    // --all names only what it starts: a running container is left out.
    s.ok(&["wait", "ok"]);
    let long = run_d(&s, &r, "h-cli-long", &["sleep", "100"]);
    let started = s.ok(&["start", "--all"]);
    assert!(!started.contains(&long), "{started}");
    assert!(started.contains(&ok), "{started}");
    s.ok(&["rm", "-f", "-t", "0", "h-cli-long"]);

    let cid = s
        .ok(&[
            "create",
            "--rm",
            "--network",
            "none",
            &r,
            "echo",
            "hello-rm",
        ])
        .trim()
        .to_string();
    assert_eq!(s.ok(&["start", "-a", &cid]).trim(), "hello-rm");
    assert_eq!(s.run(&["container", "exists", &cid]).status.code(), Some(1));
}

/// 035-logs: --since/--until forms, several containers with Podman's
/// prefixes, --names, --color, --tail, -t, and --until ending --follow.
#[test]
fn logs_flags_as_podman() {
    let (s, _reg, r) = fixture();
    let a = run_d(&s, &r, "la", &["sh", "-c", "echo a1; echo a2"]);
    let b = run_d(&s, &r, "lb", &["sh", "-c", "echo b1; echo b2"]);
    s.ok(&["wait", "la", "lb"]);
    let out = s.ok(&["logs", "-f", "la", "lb"]);
    assert_eq!(
        out,
        format!("{0} a1\n{0} a2\n{1} b1\n{1} b2\n", &a[..12], &b[..12])
    );
    assert_eq!(
        s.ok(&["logs", "--names", "la", "lb"]),
        "la a1\nla a2\nlb b1\nlb b2\n"
    );
    assert_eq!(s.ok(&["logs", "--names", "la"]), "a1\na2\n");
    assert_eq!(
        s.ok(&["logs", "--color", "la", "lb"]),
        format!(
            "\x1b[37m{0} a1\x1b[0m\n\x1b[37m{0} a2\x1b[0m\n\x1b[31m{1} b1\x1b[0m\n\x1b[31m{1} b2\x1b[0m\n",
            &a[..12],
            &b[..12]
        )
    );
    assert_eq!(s.ok(&["logs", "--since", "1000", "la"]), "a1\na2\n");
    assert_eq!(s.ok(&["logs", "--until", "1000", "la"]), "");
    assert_eq!(
        s.ok(&["logs", "--since", "2000-01-01T00:00:00Z", "la"]),
        "a1\na2\n"
    );
    assert_eq!(s.ok(&["logs", "--until", "2000-01-01", "la"]), "");
    assert_eq!(s.ok(&["logs", "--since", "-1s", "-f", "la"]), "");
    assert_eq!(s.ok(&["logs", "--until", "1h", "la"]), "a1\na2\n");
    assert_eq!(s.ok(&["logs", "--tail", "1", "la"]), "a2\n");
    let t = s.ok(&["logs", "-t", "--tail", "1", "la"]);
    let re_ok = t.split_once(' ').is_some_and(|(ts, rest)| {
        ts.len() > 20 && ts.as_bytes()[4] == b'-' && ts.contains('T') && rest == "a2\n"
    });
    assert!(re_ok, "{t}");
    assert_eq!(s.ok(&["logs", "--latest"]), "b1\nb2\n");
    let o = s.run(&["logs", "--since", "yesterday", "la"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("unable to interpret time value"),
        "{}",
        stderr(&o)
    );

    // --until ends a follow of a running container.
    run_d(
        &s,
        &r,
        "lc",
        &[
            "sh",
            "-c",
            "n=1; while :; do echo c--$n; n=$((n+1)); sleep 0.1; done",
        ],
    );
    let started = Instant::now();
    let out = s.ok(&["logs", "--until", "2s", "-f", "lc"]);
    let took = started.elapsed();
    assert!(
        took > Duration::from_millis(1500) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert!(out.starts_with("c--1\nc--2\n"), "{out}");
}

/// 075-exec: exit codes 126/127/125 and texts, --env-file, --workdir,
/// --user, -d, --latest, TERM from a -t container.
#[test]
fn exec_flags_and_exit_codes_as_podman() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "ex",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    let o = s.run(&["exec", "ex", "/etc"]);
    assert_eq!(o.status.code(), Some(126));
    assert!(stderr(&o).contains("permission denied"), "{}", stderr(&o));
    let o = s.run(&["exec", "ex", "/no/such/command"]);
    assert_eq!(o.status.code(), Some(127));
    assert!(stderr(&o).contains("such file or dir"), "{}", stderr(&o));
    let o = s.run(&["exec", "ex"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("must provide a non-empty command to start an exec session"));
    assert_eq!(
        s.run(&["exec", "-d", "ex", "blahblah"]).status.code(),
        Some(125)
    );
    assert_eq!(
        s.run(&["exec", "ex", "sh", "-c", "exit 42"]).status.code(),
        Some(42)
    );
    let envf = s.dir.path().join("env");
    std::fs::write(&envf, "# comment\nX=from-file\nY=file\n").unwrap();
    assert_eq!(
        s.ok(&[
            "exec",
            "--env-file",
            envf.to_str().unwrap(),
            "-e",
            "Y=flag",
            "ex",
            "sh",
            "-c",
            "echo $X $Y"
        ]),
        "from-file flag\n"
    );
    assert_eq!(s.ok(&["exec", "-w", "/tmp", "ex", "pwd"]), "/tmp\n");
    assert_eq!(s.ok(&["exec", "--user", "1:2", "ex", "id", "-u"]), "1\n");
    assert_eq!(s.ok(&["exec", "ex", "sh", "-c", "echo -n $TERM"]), "xterm");
    assert_eq!(
        s.ok(&["exec", "-e", "TERM=mine", "ex", "sh", "-c", "echo -n $TERM"]),
        "mine"
    );
    assert_eq!(s.ok(&["exec", "-l", "echo", "latest"]), "latest\n");
    s.ok(&["exec", "-d", "ex", "touch", "/tmp/made"]);
    assert!(wait_until(10, || s
        .run(&["exec", "ex", "test", "-e", "/tmp/made"])
        .status
        .success()));
}

/// --sig-proxy: a signal to an attached podman reaches the container.
#[test]
fn attached_run_proxies_signals() {
    let (s, _reg, r) = fixture();
    let child = s
        .cmd()
        .args([
            "run",
            "--name",
            "px",
            "--network",
            "none",
            &r,
            "sh",
            "-c",
            "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(20, || stdout(&s.run(&["logs", "px"])).contains("ready")));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ready\ngot TERM\n");
}
