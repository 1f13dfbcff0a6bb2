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
