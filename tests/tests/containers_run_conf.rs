//! What a run takes from containers.conf unless its flags say otherwise,
//! and the Podman 5 details of what inspect reports about it.

use e2e::podman::{run_sh, stderr, stdout, with_busybox};

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
