//! Files in and out of containers as Podman 5 has them (test/system 060,
//! 065, 140 and the commit/export parts of others): `cp` both ways for
//! running and created containers and through stdin/stdout, `mount` /
//! `umount`, `diff`, `export`, `commit`, and the bad input: a symlink that
//! points out of the container, a missing source, a missing container, an
//! export onto a terminal.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use e2e::podman::{stderr, stdout, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

fn run_d(s: &TestStore, r: &str, name: &str, script: &str) {
    s.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        r,
        "sh",
        "-c",
        script,
    ]);
    e2e::poll::until(Duration::from_secs(20), "the container to be ready", || {
        s.run(&["exec", name, "test", "-e", "/tmp/ready"])
            .status
            .success()
    });
}

fn exec(s: &TestStore, name: &str, script: &str) -> String {
    s.ok(&["exec", name, "sh", "-c", script])
}

/// Exit code and stderr of a podman command expected to fail.
fn fails(s: &TestStore, args: &[&str]) -> (i32, String) {
    let o = s.run(args);
    assert!(
        !o.status.success(),
        "podman {args:?} succeeded: {}",
        stdout(&o)
    );
    (o.status.code().unwrap_or(-1), stderr(&o).trim().to_string())
}

fn write_file(p: &Path, content: &str, mode: u32, mtime: i64) {
    std::fs::write(p, content).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    let t = nix::sys::time::TimeSpec::new(mtime, 0);
    nix::sys::stat::utimensat(
        None,
        p,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

/// 065: host -> created and running container, container -> host, the
/// `/.` and new-name rules, container -> container, and stdin/stdout as
/// tar; modes and times kept, ownership per `--archive`.
#[test]
fn cp_copies_both_ways_with_podmans_path_rules() {
    let (s, _reg, r) = fixture();
    let host = tempfile::tempdir().unwrap();
    let src = host.path().join("src");
    std::fs::create_dir(&src).unwrap();
    write_file(&src.join("f1"), "one\n", 0o640, 1_500_000_000);
    std::fs::create_dir(src.join("sub")).unwrap();
    write_file(&src.join("sub/f2"), "two\n", 0o600, 1_400_000_000);
    let hf = src.join("f1").display().to_string();

    // Into a created container: lands in its layer, seen once it runs.
    s.ok(&[
        "create",
        "--name",
        "made",
        "--network",
        "none",
        "--user",
        "65534",
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&["cp", &hf, "made:/tmp/"]);
    s.ok(&["cp", &hf, "made:/tmp/renamed"]);
    s.ok(&["start", "made"]);
    assert_eq!(exec(&s, "made", "cat /tmp/f1 /tmp/renamed"), "one\none\n");
    // --archive (the default) gives the files to the container's user;
    // mode and mtime come from the source.
    assert_eq!(
        exec(&s, "made", "stat -c '%u:%g %a %Y' /tmp/f1"),
        "65534:65534 640 1500000000\n"
    );
    s.ok(&["rm", "-f", "-t", "0", "made"]);

    // Into a running container: a directory with its name, its contents
    // with `/.`, a new name when the destination does not exist.
    run_d(&s, &r, "live", "mkdir /srv; touch /tmp/ready; sleep 1000");
    let hd = src.display().to_string();
    s.ok(&["cp", &hd, "live:/srv"]);
    s.ok(&["cp", &format!("{hd}/."), "live:/tmp"]);
    s.ok(&["cp", &hd, "live:/newdir"]);
    assert_eq!(
        exec(
            &s,
            "live",
            "cat /srv/src/f1 /srv/src/sub/f2 /tmp/f1 /tmp/sub/f2 /newdir/sub/f2"
        ),
        "one\ntwo\none\ntwo\ntwo\n"
    );
    assert_eq!(
        exec(&s, "live", "stat -c '%u %a %Y' /srv/src/sub/f2"),
        "0 600 1400000000\n"
    );
    // A directory never replaces a file.
    let (code, err) = fails(&s, &["cp", &hd, "live:/etc/passwd"]);
    assert_eq!(
        (code, err.as_str()),
        (
            125,
            "Error: destination must be a directory when copying a directory"
        )
    );

    // A file never replaces a directory, unless --overwrite.
    exec(&s, "live", "mkdir -p /ow/f1/keep");
    let (code, err) = fails(&s, &["cp", &hf, "live:/ow"]);
    assert_eq!(code, 125);
    assert!(
        err.starts_with("Error: error creating \"/ow/f1\": ") && err.ends_with("file exists"),
        "{err}"
    );
    s.ok(&["cp", "--overwrite", &hf, "live:/ow"]);
    assert_eq!(exec(&s, "live", "cat /ow/f1"), "one\n");

    // Out of the running container to the host.
    exec(
        &s,
        "live",
        "mkdir -p /data/d && echo out > /data/d/x && chmod 604 /data/d/x && touch -d @1300000000 /data/d/x",
    );
    let out = host.path().join("out");
    std::fs::create_dir(&out).unwrap();
    s.ok(&["cp", "live:/data/d", &out.display().to_string()]);
    let x = out.join("d/x");
    assert_eq!(std::fs::read_to_string(&x).unwrap(), "out\n");
    let m = std::fs::metadata(&x).unwrap();
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o604, 1_300_000_000));
    s.ok(&[
        "cp",
        "live:/data/d/x",
        &out.join("named").display().to_string(),
    ]);
    assert_eq!(std::fs::read_to_string(out.join("named")).unwrap(), "out\n");
    s.ok(&[
        "cp",
        "live:/data/d/.",
        &out.join("contents").display().to_string(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("contents/x")).unwrap(),
        "out\n"
    );

    // Container to container (the other one stopped).
    s.ok(&["create", "--name", "other", "--network", "none", &r, "true"]);
    s.ok(&["cp", "live:/data/d", "other:/tmp"]);
    s.ok(&[
        "cp",
        "other:/tmp/d/x",
        &out.join("via").display().to_string(),
    ]);
    assert_eq!(std::fs::read_to_string(out.join("via")).unwrap(), "out\n");

    // To stdout as a tar, and from stdin as a tar (ownership kept with
    // --archive=false).
    let o = s.run(&["cp", "live:/data/d", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut ar = tar::Archive::new(&o.stdout[..]);
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["d/", "d/x"]);

    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(1042);
    h.set_gid(1043);
    h.set_mtime(1_200_000_000);
    h.set_cksum();
    b.append_data(&mut h, "a.txt", &b"hi\n"[..]).unwrap();
    let tarball = b.into_inner().unwrap();
    let mut child = s
        .cmd()
        .args(["cp", "-a=false", "-", "live:/tmp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tarball).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        exec(&s, "live", "stat -c '%u:%g %Y' /tmp/a.txt; cat /tmp/a.txt"),
        "1042:1043 1200000000\nhi\n"
    );
    // Not a tar on stdin.
    let mut child = s
        .cmd()
        .args(["cp", "-", "live:/tmp"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[b'x'; 2048])
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: source must be a (compressed) tar archive when copying from stdin"
    );
}

/// The bad input: a symlink in the container that points at a
/// host path through `..` is resolved inside the container's root, for a
/// running and for a stopped container, into and out of it.
#[test]
fn cp_never_follows_a_symlink_out_of_the_container() {
    let (s, _reg, r) = fixture();
    let host = tempfile::tempdir().unwrap();
    let target = host.path().join("hostside");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("secret"), "host secret\n").unwrap();
    let t = target.display().to_string();
    let payload = host.path().join("payload");
    std::fs::write(&payload, "from cp\n").unwrap();
    let p = payload.display().to_string();

    // /etc/evil -> /../../..<host dir>: inside the container that is the
    // container's own <host dir>, made here so the copy has a place to go.
    let script = format!(
        "mkdir -p {t}; ln -sfn /../../..{t} /etc/evil; ln -sfn ../../../..{t}/secret /etc/leak; touch /tmp/ready; sleep 1000"
    );
    run_d(&s, &r, "trap", &script);
    s.ok(&["cp", &p, "trap:/etc/evil/"]);
    s.ok(&["cp", &p, "trap:/etc/evil/named"]);
    assert_eq!(
        exec(&s, "trap", &format!("cat {t}/payload {t}/named")),
        "from cp\nfrom cp\n"
    );
    // A symlink to nothing: the copy creates its target, as Podman's.
    exec(&s, "trap", "mkdir /tmp/d1; ln -s /tmp/nonesuch1 /tmp/d1/x");
    s.ok(&["cp", &p, "trap:/tmp/d1/x"]);
    assert_eq!(exec(&s, "trap", "cat /tmp/nonesuch1"), "from cp\n");
    // Out: the link names the container's (missing) file, never the host's.
    let out = host.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (code, err) = fails(&s, &["cp", "trap:/etc/leak", &out.display().to_string()]);
    assert_eq!(code, 125);
    assert_eq!(
        err,
        "Error: \"/etc/leak\" could not be found on container trap: no such file or directory"
    );
    s.ok(&["stop", "-t", "0", "trap"]);
    // Stopped: the same through the mounted layer.
    s.ok(&["cp", &p, "trap:/etc/evil/again"]);
    let (code, _) = fails(&s, &["cp", "trap:/etc/leak", &out.display().to_string()]);
    assert_eq!(code, 125);
    // Nothing landed on the host, nothing came out of it.
    let mut on_host: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_host.sort();
    assert_eq!(on_host, ["secret"]);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    s.ok(&["start", "trap"]);
    e2e::poll::until(Duration::from_secs(20), "trap to run", || {
        s.run(&["exec", "trap", "true"]).status.success()
    });
    assert_eq!(exec(&s, "trap", &format!("cat {t}/again")), "from cp\n");
}

/// 065's error texts and exit codes: a missing source on either side, a
/// destination whose parent is missing, a container that does not exist.
#[test]
fn cp_reports_missing_things_as_podman() {
    let (s, _reg, r) = fixture();
    s.ok(&["create", "--name", "c", "--network", "none", &r, "true"]);
    let host = tempfile::tempdir().unwrap();
    let hf = host.path().join("f");
    std::fs::write(&hf, "x").unwrap();
    let hf = hf.display().to_string();
    let missing = host.path().join("IdoNotExist").display().to_string();

    let (code, err) = fails(&s, &["cp", &missing, "c:/tmp"]);
    assert_eq!(code, 125);
    assert!(
        err.starts_with(&format!(
            "Error: \"{missing}\" could not be found on the host"
        )),
        "{err}"
    );
    let (code, err) = fails(
        &s,
        &["cp", "c:/IdoNotExist", &host.path().display().to_string()],
    );
    assert_eq!(
        (code, err.as_str()),
        (
            125,
            "Error: \"/IdoNotExist\" could not be found on container c: no such file or directory"
        )
    );
    let (code, err) = fails(&s, &["cp", &hf, "c:/IdoNotExist/"]);
    assert_eq!(
        (code, err.as_str()),
        (
            125,
            "Error: \"/IdoNotExist/\" could not be found on container c: no such file or directory"
        )
    );
    let (code, err) = fails(&s, &["cp", &hf, "c:/no/such/dir"]);
    assert_eq!(
        (code, err.as_str()),
        (
            125,
            "Error: \"/no/such/dir\" could not be found on container c: no such file or directory"
        )
    );
    let (code, err) = fails(&s, &["cp", &hf, "nope:/tmp"]);
    assert_eq!(
        (code, err.as_str()),
        (125, "Error: container \"nope\" does not exist")
    );
    // A bind mount: the copy lands in its source, stopped or running.
    let bind = host.path().join("bind");
    std::fs::create_dir(&bind).unwrap();
    let vol = format!("{}:/mnt", bind.display());
    s.ok(&[
        "create",
        "--name",
        "withbind",
        "--network",
        "none",
        "-v",
        &vol,
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&["cp", &hf, "withbind:/mnt/stopped"]);
    s.ok(&["start", "withbind"]);
    s.ok(&["cp", &hf, "withbind:/mnt/running"]);
    assert_eq!(std::fs::read_to_string(bind.join("stopped")).unwrap(), "x");
    assert_eq!(std::fs::read_to_string(bind.join("running")).unwrap(), "x");
    s.ok(&["rm", "-f", "-t", "0", "withbind"]);
    // The failed copies left the created container unmounted.
    assert_eq!(s.ok(&["mount"]), "");
}

/// 060, 140, export and commit: what a container changed, its file
/// system mounted, exported and committed as a new image.
#[test]
fn mount_diff_export_and_commit() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "--name",
        "changed",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo new > /newfile; rm /etc/group",
    ]);
    let id = s
        .ok(&["inspect", "--format", "{{.ID}}", "changed"])
        .trim()
        .to_string();

    // diff
    let j: serde_json::Value =
        serde_json::from_str(&s.ok(&["diff", "--format", "json", "changed"])).unwrap();
    assert_eq!(j["added"], serde_json::json!(["/newfile"]), "{j}");
    assert_eq!(j["deleted"], serde_json::json!(["/etc/group"]), "{j}");
    assert_eq!(j["changed"], serde_json::json!(["/etc"]), "{j}");
    let text = s.ok(&["container", "diff", "changed"]);
    assert!(
        text.contains("A /newfile\n") && text.contains("D /etc/group\n"),
        "{text}"
    );

    // mount / umount
    let mp = s.ok(&["mount", "changed"]).trim().to_string();
    assert_eq!(
        std::fs::read_to_string(Path::new(&mp).join("newfile")).unwrap(),
        "new\n"
    );
    let listed = s.ok(&["mount", "--notruncate"]);
    assert_eq!(
        listed.split_whitespace().collect::<Vec<_>>(),
        [id.as_str(), mp.as_str()]
    );
    let j: serde_json::Value = serde_json::from_str(&s.ok(&["mount", "--format", "json"])).unwrap();
    assert_eq!(j[0]["id"], id.as_str());
    assert_eq!(j[0]["Names"][0], "changed");
    assert_eq!(j[0]["mountpoint"], mp.as_str());
    assert_eq!(s.ok(&["umount", "changed"]).trim(), id);
    assert!(!Path::new(&mp).join("newfile").exists());
    assert_eq!(s.ok(&["mount"]), "");

    // export: to a file, and to stdout when that is not a terminal
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("c.tar");
    s.ok(&["export", "-o", &file.display().to_string(), "changed"]);
    let from_file = tar_names(&std::fs::read(&file).unwrap());
    assert!(from_file.contains(&"newfile".to_string()), "{from_file:?}");
    assert!(!from_file.contains(&"etc/group".to_string()));
    let o = s.run(&["export", "changed"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(tar_names(&o.stdout), from_file);
    // ... never onto a terminal
    let pty = nix::pty::openpty(None, None).unwrap();
    let o = s
        .cmd()
        .args(["export", "changed"])
        .stdout(Stdio::from(pty.slave))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: refusing to export to terminal. Use -o flag or redirect"
    );

    // commit: a message needs Docker's format (an OCI config has no
    // field for it), as in Podman; nothing is made.
    let o = s.run(&["commit", "-q", "-m", "a message", "changed", "refused:v1"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim(),
        "Error: messages are only compatible with the docker image format (-f docker)"
    );
    assert_eq!(
        s.run(&["image", "exists", "refused:v1"]).status.code(),
        Some(1)
    );
    // The change is in the new image, with its config changes.
    let iid = s
        .ok(&[
            "commit",
            "-q",
            "--format",
            "docker",
            "--change",
            "CMD [\"cat\", \"/newfile\"]",
            "--message",
            "a message",
            "--author",
            "me",
            "changed",
            "committed:v1",
        ])
        .trim()
        .to_string();
    assert_eq!(iid.len(), 64, "{iid}");
    assert_eq!(
        s.ok(&["run", "--rm", "--network", "none", "committed:v1"]),
        "new\n"
    );
    let hist = s.ok(&["history", "--format", "{{.Comment}}", "committed:v1"]);
    assert!(hist.lines().next() == Some("a message"), "{hist}");
    assert_eq!(
        s.ok(&["image", "inspect", "--format", "{{.Author}}", &iid])
            .trim(),
        "me"
    );
    // --squash: one layer; --format docker: Docker media types
    s.ok(&[
        "commit", "-q", "--squash", "--format", "docker", "changed", "squashed",
    ]);
    let j: serde_json::Value =
        serde_json::from_str(&s.ok(&["image", "inspect", "squashed"])).unwrap();
    assert_eq!(j[0]["RootFS"]["Layers"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(
        j[0]["ManifestType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "squashed",
            "cat",
            "/newfile"
        ]),
        "new\n"
    );
    // The container's entrypoint and command become the image's.
    s.ok(&[
        "run",
        "--name",
        "h-cli-ep",
        "--network",
        "none",
        "--entrypoint",
        "[\"/bin/echo\",\"h-cli-magic\"]",
        &r,
    ]);
    s.ok(&["commit", "-q", "h-cli-ep", "h-cli-epimg"]);
    assert_eq!(
        s.ok(&["run", "--rm", "--network", "none", "h-cli-epimg"]),
        "h-cli-magic\n"
    );
    s.ok(&["rm", "h-cli-ep"]);
    // a missing container
    let (code, err) = fails(&s, &["commit", "nosuch", "x"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("no container with name or ID \"nosuch\" found"),
        "{err}"
    );
}

fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(bytes);
    ar.entries()
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .unwrap()
                .display()
                .to_string()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}
