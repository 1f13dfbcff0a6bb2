//! Later `run`/`create` flags end to end: `--env-merge`, `--requires`,
//! `--chrootdirs`, `--retry`/`--retry-delay`, and the one-line refusals of
//! `--personality` (on a runc that would ignore it), `--gpus`,
//! `--rdt-class` and `--decryption-key` where this host cannot honour them.

use e2e::podman::{refused_leaving_nothing, run_sh, stderr, with_busybox};

#[test]
fn env_merge_extends_the_image_environment() {
    let (s, _reg, r) = with_busybox();
    let path = run_sh(&s, &r, &[], "echo $PATH");
    let out = run_sh(
        &s,
        &r,
        &[
            "--env-merge",
            "PATH=${PATH}:/opt/bin",
            "--env-merge",
            "hello=${hello}-some",
        ],
        "echo $PATH; echo $hello",
    );
    assert_eq!(out, format!("{}:/opt/bin\n-some\n", path.trim()));
    refused_leaving_nothing(
        &s,
        &["create", "--env-merge", "novalue", &r, "true"],
        "missing `=` for --env-merge substitution novalue",
    );
}

#[test]
fn requires_starts_dependencies_first_and_guards_their_removal() {
    let (s, _reg, r) = with_busybox();
    let base = |name: &str| {
        s.ok(&[
            "create",
            "--name",
            name,
            "--network",
            "none",
            &r,
            "sleep",
            "100",
        ])
        .trim()
        .to_string()
    };
    let a = base("dep-a");
    let b = base("dep-b");
    s.ok(&[
        "create",
        "--name",
        "top",
        "--network",
        "none",
        "--requires",
        "dep-a,dep-b",
        &r,
        "sleep",
        "100",
    ]);
    let deps = s.ok(&["inspect", "--format", "{{.Dependencies}}", "top"]);
    assert_eq!(deps.trim(), format!("[{a} {b}]"));
    s.ok(&["start", "top"]);
    for n in ["dep-a", "dep-b", "top"] {
        assert_eq!(
            s.ok(&["inspect", "--format", "{{.State.Status}}", n])
                .trim(),
            "running",
            "{n}"
        );
    }
    let o = s.run(&["rm", "-f", "dep-a"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("has dependent containers which must be removed before it"),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "-f", "-t", "0", "top", "dep-a", "dep-b"]);
    refused_leaving_nothing(
        &s,
        &["create", "--requires", "nosuch", &r, "true"],
        "nosuch",
    );
}

#[test]
fn chrootdirs_get_the_managed_files_too() {
    let (s, _reg, r) = with_busybox();
    let out = run_sh(
        &s,
        &r,
        &["--hostname", "chr", "--chrootdirs", "/jail"],
        "cat /jail/etc/hostname; cmp /etc/hosts /jail/etc/hosts && cmp /etc/resolv.conf /jail/etc/resolv.conf && echo same",
    );
    assert_eq!(out, "chr\nsame\n");
    s.ok(&["create", "--name", "c", "--chrootdirs", "/a,/b", &r, "true"]);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Config.ChrootDirs}}", "c"])
            .trim(),
        "[/a /b]"
    );
    s.ok(&["rm", "c"]);
    refused_leaving_nothing(
        &s,
        &["create", "--chrootdirs", "rel", &r, "true"],
        "give an absolute path",
    );
}

#[test]
fn pulls_during_create_are_retried_on_network_failures() {
    let s = e2e::podman::TestStore::new();
    // A loopback port nobody listens on.
    let port = e2e::registry::closed_port();
    let image = format!("127.0.0.1:{port}/none:latest");
    let o = s.run(&[
        "create",
        "--tls-verify=false",
        "--retry",
        "2",
        "--retry-delay",
        "10ms",
        &image,
        "true",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(err.contains("retrying in 10ms ... (1/2)"), "{err}");
    assert!(err.contains("retrying in 10ms ... (2/2)"), "{err}");
    assert!(!err.contains("(3/2)"), "{err}");
    let o = s.run(&[
        "create",
        "--tls-verify=false",
        "--retry",
        "0",
        &image,
        "true",
    ]);
    assert!(!stderr(&o).contains("retrying"), "{}", stderr(&o));
    refused_leaving_nothing(
        &s,
        &["create", "--retry-delay", "bogus", &image, "true"],
        "time: invalid duration \"bogus\"",
    );
    // The pull's credentials: an --authfile that is not there is refused
    // before anything, as in Podman (even when no pull would happen).
    refused_leaving_nothing(
        &s,
        &[
            "create",
            "--authfile",
            "/nonexistent/auth.json",
            &image,
            "true",
        ],
        "credential file is not accessible",
    );
    refused_leaving_nothing(&s, &["create", "--creds", ":pw", &image, "true"], "creds");
}

#[test]
fn flags_this_host_cannot_honour_are_refused_in_one_line() {
    let (s, _reg, r) = with_busybox();
    let runc = std::process::Command::new("runc")
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&runc.stdout).to_string();
    if version.starts_with("runc version 1.0") || version.starts_with("runc version 1.1") {
        refused_leaving_nothing(
            &s,
            &["create", "--personality", "LINUX32", &r, "true"],
            "does not apply personalities",
        );
    } else {
        let m = run_sh(&s, &r, &["--personality", "LINUX32"], "uname -m");
        assert!(m.trim() == "i686" || m.trim() == "armv8l", "{m}");
    }
    refused_leaving_nothing(
        &s,
        &["create", "--personality", "BSD", &r, "true"],
        "the execution domains are LINUX and LINUX32",
    );
    if !std::path::Path::new("/etc/cdi").exists() && !std::path::Path::new("/var/run/cdi").exists()
    {
        refused_leaving_nothing(
            &s,
            &["create", "--gpus", "all", &r, "true"],
            "unresolvable CDI devices nvidia.com/gpu=all",
        );
    }
    let resctrl = std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .contains(" resctrl ");
    if !resctrl {
        refused_leaving_nothing(
            &s,
            &["create", "--rdt-class", "gold", &r, "true"],
            "resctrl is not mounted at /sys/fs/resctrl",
        );
    }
    refused_leaving_nothing(
        &s,
        &["create", "--decryption-key", "/k.pem", &r, "true"],
        "cannot decrypt encrypted images",
    );
}

#[test]
fn users_the_image_lacks_are_added_to_its_account_files() {
    let (s, _reg, r) = with_busybox();
    // A numeric user without an account here or in the image.
    let uid = (54321..60000)
        .find(|u| nix::unistd::User::from_uid((*u).into()).unwrap().is_none())
        .unwrap()
        .to_string();
    let user = format!("{uid}:{uid}");
    let out = run_sh(
        &s,
        &r,
        &["--user", &user, "--workdir", "/tmp"],
        &format!("grep '^{uid}:' /etc/passwd; grep '^{uid}:' /etc/group; id -un"),
    );
    assert_eq!(
        out,
        format!("{uid}:*:{uid}:{uid}:container user:/tmp:/bin/sh\n{uid}:x:{uid}:{uid}\n{uid}\n")
    );
    // Templates, and a host account by name (daemon: not in the image).
    let out = run_sh(
        &s,
        &r,
        &[
            "--user",
            &format!("{uid}:{uid}"),
            "--passwd-entry",
            "$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/false",
            "--group-entry",
            "grp:x:$GID:$USERLIST",
            "--hostuser",
            "daemon",
        ],
        &format!("grep -e '^daemon:' -e '^{uid}:' /etc/passwd; grep '^grp:' /etc/group; id -gn"),
    );
    assert_eq!(
        out,
        format!(
            "daemon:x:1:1:daemon:/:/bin/false\n{uid}:x:{uid}:{uid}:container user:/:/bin/false\ngrp:x:{uid}:{uid}\ngrp\n"
        )
    );
    // --passwd=false leaves the files alone.
    let out = run_sh(
        &s,
        &r,
        &["--user", &user, "--passwd=false"],
        &format!("grep -c '^{uid}:' /etc/passwd /etc/group || true"),
    );
    assert_eq!(out, "/etc/passwd:0\n/etc/group:0\n");
    // --user NAME works once --hostuser NAME added it.
    assert_eq!(
        run_sh(
            &s,
            &r,
            &["--hostuser", "daemon", "--user", "daemon"],
            "id -u"
        ),
        "1\n"
    );
    let o = s.run(&["run", "--rm", "--hostuser", "no-such-user-x", &r, "true"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown user no-such-user-x"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&[
        "run",
        "--rm",
        "--user",
        &format!("{uid}:nosuchgroup"),
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no matching entries in group file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_pull_of_run_takes_creds() {
    let reg = e2e::registry::Registry::start_with_htpasswd("alice", "s3cret").unwrap();
    reg.push(
        "private/bb",
        "latest",
        &e2e::oci_image::busybox_image().unwrap(),
    )
    .unwrap();
    let r = reg.reference("private/bb", "latest");
    let s = e2e::podman::TestStore::new();
    let base = [
        "run",
        "--rm",
        "--network",
        "none",
        "--tls-verify=false",
        "--retry",
        "0",
    ];
    let mut args = base.to_vec();
    args.extend([r.as_str(), "true"]);
    let o = s.run(&args);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("authentication required"),
        "{}",
        stderr(&o)
    );
    let mut args = base.to_vec();
    args.extend(["--creds", "alice:s3cret", r.as_str(), "echo", "in"]);
    assert_eq!(s.ok(&args), "in\n");
}

#[test]
fn seccomp_policy_image_takes_the_images_profile() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Containerfile"),
        format!(
            "FROM {r}\nLABEL io.containers.seccomp.profile=\"{{\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\",\\\"syscalls\\\":[{{\\\"names\\\":[\\\"mkdir\\\",\\\"mkdirat\\\"],\\\"action\\\":\\\"SCMP_ACT_ERRNO\\\"}}]}}\"\n"
        ),
    )
    .unwrap();
    s.ok(&[
        "build",
        "-q",
        "--tls-verify=false",
        "-t",
        "localhost/sec:1",
        dir.path().to_str().unwrap(),
    ]);
    let script = "mkdir /tmp/d && echo made || echo refused";
    assert_eq!(run_sh(&s, "localhost/sec:1", &[], script), "made\n");
    assert_eq!(
        run_sh(&s, "localhost/sec:1", &["--seccomp-policy=image"], script),
        "refused\n"
    );
    // --security-opt seccomp= wins over the image's.
    assert_eq!(
        run_sh(
            &s,
            "localhost/sec:1",
            &[
                "--seccomp-policy=image",
                "--security-opt",
                "seccomp=unconfined"
            ],
            script
        ),
        "made\n"
    );
    refused_leaving_nothing(
        &s,
        &["create", "--seccomp-policy=bogus", &r, "true"],
        "invalid seccomp policy \"bogus\"",
    );
}
