//! What RUN steps (and containers) see of the host: mounts.conf
//! (`--default-mounts-file`), and the build flags that add to a RUN
//! step's environment and mounts.

use e2e::build_files::{build, context, write};
use e2e::podman::{stderr, stdout};

#[test]
fn default_mounts_file_reaches_run_steps_and_containers_as_copies() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let host = tempfile::tempdir().unwrap();
    let secrets = host.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::create_dir(secrets.join("sub")).unwrap();
    write(&secrets, "token", "shhh-secret\n");
    write(&secrets.join("sub"), "deep", "deeper\n");
    let conf = host.path().join("mounts.conf");
    std::fs::write(
        &conf,
        format!(
            "# a comment\n{}:/run/secrets\n/no/such/path:/nowhere\n",
            secrets.display()
        ),
    )
    .unwrap();
    let flag = format!("--default-mounts-file={}", conf.display());

    // A RUN step reads it; the image does not keep it.
    let ctx = context(&format!(
        "FROM {r}\nRUN cat /run/secrets/token /run/secrets/sub/deep || echo no-secrets\n"
    ));
    let c = ctx.path().to_str().unwrap();
    let out = build(&s, &["-t", "withsecret", c]);
    assert!(out.contains("no-secrets"), "without the flag: {out}");
    let o = s.run(&[&flag, "build", "-t", "withsecret", "--no-cache", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("shhh-secret\ndeeper\n"), "{out}");
    let ls = s.ok(&[
        "run",
        "--rm",
        "withsecret",
        "sh",
        "-c",
        "ls /run/secrets 2>/dev/null | wc -l",
    ]);
    assert_eq!(ls.trim(), "0", "the secret stayed in the image");

    // A container gets a copy: writing to it leaves the host's file alone.
    let got = s.ok(&[
        &flag,
        "run",
        "--rm",
        &r,
        "sh",
        "-c",
        "cat /run/secrets/token; echo changed > /run/secrets/token; cat /run/secrets/token",
    ]);
    assert_eq!(got, "shhh-secret\nchanged\n");
    assert_eq!(
        std::fs::read_to_string(secrets.join("token")).unwrap(),
        "shhh-secret\n"
    );
    // A user's mount at the same destination wins.
    let mine = tempfile::tempdir().unwrap();
    write(mine.path(), "token", "mine\n");
    let v = format!("{}:/run/secrets", mine.path().display());
    let got = s.ok(&[
        &flag,
        "run",
        "--rm",
        "-v",
        &v,
        &r,
        "cat",
        "/run/secrets/token",
    ]);
    assert_eq!(got, "mine\n");

    // A malformed file is skipped with a warning naming file and line,
    // as c/common skips it.
    let bad = host.path().join("bad.conf");
    std::fs::write(&bad, "/a-source:relative-destination\n").unwrap();
    let o = s.run(&[
        &format!("--default-mounts-file={}", bad.display()),
        "run",
        "--rm",
        &r,
        "echo",
        "ran",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ran\n");
    assert!(
        stderr(&o).contains(&format!("{}:1:", bad.display())),
        "{}",
        stderr(&o)
    );
    // A named file that is missing, and a lone path (mounted at itself)
    // that does not exist, give nothing and say nothing (c/common).
    std::fs::write(&bad, "/h-cli-no-such-dir\n").unwrap();
    for file in [bad.clone(), host.path().join("missing.conf")] {
        let o = s.run(&[
            &format!("--default-mounts-file={}", file.display()),
            "run",
            "--rm",
            "--network",
            "none",
            &r,
            "echo",
            "ran",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "ran\n");
        assert_eq!(stderr(&o), "", "{file:?}");
    }
}

#[test]
fn env_flag_sets_the_image_env_and_run_steps_see_it() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!("FROM {r} AS first\nRUN echo \"first=$FOO\" > /f\nFROM {r}\nCOPY --from=first /f /f\nENV KEEP=image\nRUN echo \"run=$FOO bar=$BAR\"; cat /f\n"));
    let c = ctx.path().to_str().unwrap();
    let mut cmd = s.cmd();
    cmd.env("BAR", "from-host").args([
        "build",
        "--env",
        "FOO=flag",
        "--env",
        "BAR",
        "--env",
        "UNSET_ON_HOST_XYZ",
        "-t",
        "envimg",
        c,
    ]);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("run=flag bar=from-host\nfirst=flag\n"),
        "{out}"
    );
    let env = s.ok(&["image", "inspect", "--format", "{{.Config.Env}}", "envimg"]);
    assert!(
        env.contains("FOO=flag") && env.contains("BAR=from-host") && env.contains("KEEP=image"),
        "{env}"
    );
    assert!(!env.contains("UNSET_ON_HOST_XYZ"), "{env}");
    // Another value is another build, not a cache hit.
    let out = build(&s, &["--env", "FOO=other", c]);
    assert!(out.contains("run=other"), "{out}");
    let o = s.run(&["build", "--env", "=x", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("invalid --env"), "{}", stderr(&o));
}

#[test]
fn volume_flag_binds_host_directories_into_run_steps_only() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let host = tempfile::tempdir().unwrap();
    let rw = host.path().join("rw");
    let ro = host.path().join("ro");
    std::fs::create_dir(&rw).unwrap();
    std::fs::create_dir(&ro).unwrap();
    write(&ro, "input", "from-host\n");
    let ctx = context(&format!("FROM {r}\nRUN cat /in/input && echo built > /out/result && (touch /in/x 2>/dev/null && echo writable || echo read-only)\n"));
    let c = ctx.path().to_str().unwrap();
    let v_rw = format!("{}:/out", rw.display());
    let v_ro = format!("{}:/in:ro", ro.display());
    let out = build(&s, &["-v", &v_rw, "--volume", &v_ro, "-t", "vols", c]);
    assert!(out.contains("from-host\nread-only\n"), "{out}");
    // What RUN wrote went to the host, not into the image.
    assert_eq!(
        std::fs::read_to_string(rw.join("result")).unwrap(),
        "built\n"
    );
    let inside = s.ok(&[
        "run",
        "--rm",
        "vols",
        "sh",
        "-c",
        "cat /out/result /in/input 2>/dev/null | wc -l",
    ]);
    assert_eq!(inside.trim(), "0");

    let o = s.run(&["build", "-v", "named:/x", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("absolute path"), "{}", stderr(&o));
    let o = s.run(&["build", "-v", "/no/such/dir:/x", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("/no/such/dir"), "{}", stderr(&o));
}

#[test]
fn no_hosts_leaves_run_steps_the_image_hosts_file() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!(
        "FROM {r}\nRUN echo '10.9.9.9 from-image' > /etc/hosts\nRUN cat /etc/hosts\n"
    ));
    let c = ctx.path().to_str().unwrap();
    let with = build(&s, &["--add-host", "added.example:10.1.2.3", c]);
    assert!(with.contains("added.example"), "{with}");
    // The STEP line names it too: look for the file's line.
    assert!(!with.contains("\n10.9.9.9 from-image"), "{with}");
    let without = build(&s, &["--no-hosts", c]);
    assert!(without.contains("\n10.9.9.9 from-image"), "{without}");
    assert!(!without.contains("added.example"), "{without}");
    let o = s.run(&["build", "--no-hosts", "--add-host", "a:1.2.3.4", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("--no-hosts and --add-host cannot be set together"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn userns_maps_run_steps_and_the_image_keeps_container_ids() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!(
        "FROM {r}\nRUN cat /proc/self/uid_map && touch /made && chown 7:8 /made && mkdir /d\n"
    ));
    let c = ctx.path().to_str().unwrap();
    let out = build(
        &s,
        &[
            "--userns-uid-map",
            "0:200000:65536",
            "--userns-gid-map",
            "0:200000:65536",
            "-t",
            "usernsimg",
            c,
        ],
    );
    // The RUN step ran in a namespace of its own, with that map.
    let map: Vec<&str> = out
        .lines()
        .find(|l| l.contains("200000"))
        .unwrap_or_else(|| panic!("{out}"))
        .split_whitespace()
        .collect();
    assert_eq!(map, ["0", "200000", "65536"], "{out}");
    // What it made is recorded with the container's IDs, not the host's.
    let owners = s.ok(&[
        "run",
        "--rm",
        "usernsimg",
        "stat",
        "-c",
        "%n %u:%g",
        "/made",
        "/d",
    ]);
    assert_eq!(owners, "/made 7:8\n/d 0:0\n");
    // podman commit of a container in its own user namespace records the
    // same (the one commit path).
    s.ok(&[
        "run",
        "--name",
        "mapped",
        "--uidmap",
        "0:300000:65536",
        "--gidmap",
        "0:300000:65536",
        &r,
        "sh",
        "-c",
        "touch /c && chown 3:4 /c",
    ]);
    s.ok(&["commit", "-q", "mapped", "committed"]);
    let owners = s.ok(&["run", "--rm", "committed", "stat", "-c", "%u:%g", "/c"]);
    assert_eq!(owners, "3:4\n");

    let o = s.run(&["build", "--userns=host", "--userns-uid-map", "0:1:1", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("--userns=host cannot"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&["build", "--userns-uid-map", "0:1", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("invalid --userns-uid-map"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn secret_mounts_are_private_copies_with_their_mode_and_never_in_the_image() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    let src = ctx.path().join("tok.txt");
    std::fs::write(&src, "from-file").unwrap();
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    write(
        ctx.path(),
        "Containerfile",
        &format!(
            "FROM {r}\n\
             RUN --mount=type=secret,id=tok stat -c '%a %u %g' /run/secrets/tok > /default && cat /run/secrets/tok > /seen\n\
             RUN --mount=type=secret,id=envtok,target=/etc/tok,mode=0440,uid=1,gid=2 stat -c '%a %u %g' /etc/tok > /custom && cat /etc/tok >> /seen\n\
             RUN ls -A /run/secrets 2>/dev/null | wc -l > /left; test ! -e /etc/tok\n"
        ),
    );
    let o = s
        .cmd()
        .args([
            "build",
            "-q",
            "-t",
            "secret-mounts",
            "--secret",
            &format!("id=tok,src={}", src.display()),
            "--secret",
            "id=envtok,env=E2E_BUILD_SECRET",
            c,
        ])
        .env("E2E_BUILD_SECRET", "from-env")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "secret-mounts",
            "sh",
            "-c",
            "cat /default /custom /seen /left; test ! -e /run/secrets/tok && test ! -e /etc/tok && echo gone"
        ]),
        "400 0 0\n440 1 2\nfrom-filefrom-env0\ngone\n"
    );
    // The source file is untouched; an unset variable and a bad id are refused.
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&src).unwrap().permissions())
            & 0o777,
        0o644
    );
    let o = s
        .cmd()
        .args(["build", "--secret", "id=envtok,env=E2E_NO_SUCH_VAR", c])
        .env_remove("E2E_NO_SUCH_VAR")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("E2E_NO_SUCH_VAR is not set"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&["build", "--secret", "id=../x,src=/etc/hostname", c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("invalid --secret"), "{}", stderr(&o));
}
