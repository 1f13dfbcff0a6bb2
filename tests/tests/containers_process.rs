//! The container's process settings Podman's flags change: `--umask`.

use e2e::podman::{stderr, with_busybox};

#[test]
fn umask_is_applied_validated_and_inspected() {
    // Upstream 075-exec "podman run umask".
    let (s, _r, image) = with_busybox();
    let status = |args: &[&str]| {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[image.as_str(), "grep", "Umask", "/proc/self/status"]);
        s.ok(&all)
    };
    assert!(status(&[]).contains("0022"), "default umask");
    assert!(status(&["--umask", "0724"]).contains("0724"));
    // The umask is the process's: files it makes get the mode it allows.
    let o = s.ok(&[
        "run",
        "--rm",
        "--umask",
        "0077",
        &image,
        "sh",
        "-c",
        "touch /f; stat -c %a /f",
    ]);
    assert_eq!(o, "600\n");
    s.ok(&["create", "--name", "u1", "--umask", "027", &image, "true"]);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Config.Umask}}", "u1"]),
        "027\n"
    );
    s.ok(&["rm", "u1"]);
    for bad in ["8", "00000", "abc", ""] {
        let o = s.run(&["run", "--rm", "--umask", bad, &image, "true"]);
        assert_eq!(
            o.status.code(),
            Some(125),
            "--umask {bad:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("invalid umask string"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn a_workdir_given_must_exist_unless_a_mount_makes_it() {
    // Upstream 030-run "check workdir".
    let (s, _r, image) = with_busybox();
    let o = s.run(&["run", "--rm", "--workdir", "/i/do/not/exist", &image, "pwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(r#"workdir "/i/do/not/exist" does not exist on container"#),
        "{}",
        stderr(&o)
    );
    let dir = tempfile_dir();
    std::fs::write(dir.join("content"), "hi\n").unwrap();
    let vol = format!("{}:/NotOnTheImage", dir.display());
    let out = s.ok(&[
        "run",
        "--rm",
        "--workdir",
        "/NotOnTheImage",
        "-v",
        &vol,
        &image,
        "cat",
        "content",
    ]);
    assert_eq!(out, "hi\n");
    let file = format!("{}/content:/NotOnTheImage/foo", dir.display());
    let out = s.ok(&[
        "run",
        "--rm",
        "--workdir",
        "/NotOnTheImage",
        "-v",
        &file,
        &image,
        "cat",
        "foo",
    ]);
    assert_eq!(out, "hi\n");
    // An existing one works; `start` of a bad one is podman's error (125).
    assert_eq!(
        s.ok(&["run", "--rm", "--workdir", "/tmp", &image, "pwd"]),
        "/tmp\n"
    );
    s.ok(&[
        "create",
        "--name",
        "wd",
        "--workdir",
        "/nope",
        &image,
        "pwd",
    ]);
    assert_eq!(s.run(&["start", "wd"]).status.code(), Some(125));
    s.ok(&["rm", "wd"]);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wd-{}-{}", std::process::id(), line!()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
