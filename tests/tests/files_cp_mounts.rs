//! `podman cp` where the container's mounts matter and where something is
//! in the way (upstream 065's cases): into a tmpfs of a running container
//! and of a created one (copied up at start), into a named volume mounted
//! inside another volume and into a bind mount below a volume of a
//! container that is not running, and `--overwrite` replacing a directory
//! with a file and a file with a directory, with Podman's refusal without it.

use std::time::Duration;

use e2e::podman::{stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

fn ready(s: &TestStore, name: &str) {
    e2e::poll::until(Duration::from_secs(20), "the container to be ready", || {
        s.run(&["exec", name, "test", "-e", "/ready"])
            .status
            .success()
    });
}

#[test]
fn cp_into_tmpfs_volumes_and_binds() {
    let (s, _reg, image) = fixture();
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("file");
    std::fs::write(&file, "in the tmpfs\n").unwrap();
    let file = file.to_str().unwrap();

    s.ok(&[
        "run",
        "-d",
        "--name",
        "run",
        "--network",
        "none",
        "--mount",
        "type=tmpfs,dst=/tmp",
        &image,
        "sh",
        "-c",
        "touch /ready; sleep 1000",
    ]);
    ready(&s, "run");
    s.ok(&["cp", file, "run:/tmp"]);
    assert_eq!(s.ok(&["exec", "run", "cat", "/tmp/file"]), "in the tmpfs\n");

    // A created container: the file goes to the image's /tmp, which the
    // tmpfs takes in at start (Podman's tmpcopyup).
    s.ok(&[
        "create",
        "--name",
        "made",
        "--network",
        "none",
        "--mount",
        "type=tmpfs,dst=/tmp",
        &image,
        "sh",
        "-c",
        "touch /ready; sleep 1000",
    ]);
    s.ok(&["cp", file, "made:/tmp"]);
    s.ok(&["start", "made"]);
    ready(&s, "made");
    assert_eq!(
        s.ok(&["exec", "made", "cat", "/tmp/file"]),
        "in the tmpfs\n"
    );
    let mounts = s.ok(&["exec", "made", "grep", " /tmp ", "/proc/mounts"]);
    assert!(mounts.starts_with("tmpfs "), "{mounts}");

    // Volume in a volume, bind mount in a volume: the innermost one gets it.
    s.ok(&["volume", "create", "outer"]);
    s.ok(&["volume", "create", "inner"]);
    let path = |v: &str| {
        s.ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", v])
            .trim()
            .to_string()
    };
    let bind = tempfile::tempdir().unwrap();
    let bind_spec = format!("{}:/v/bind", bind.path().display());
    s.ok(&[
        "create",
        "--name",
        "vols",
        "-v",
        "outer:/v",
        "-v",
        "inner:/v/sub",
        "-v",
        &bind_spec,
        &image,
        "true",
    ]);
    s.ok(&["cp", file, "vols:/v/sub"]);
    s.ok(&["cp", file, "vols:/v/bind"]);
    assert_eq!(
        std::fs::read_to_string(format!("{}/file", path("inner"))).unwrap(),
        "in the tmpfs\n"
    );
    assert_eq!(
        std::fs::read_to_string(bind.path().join("file")).unwrap(),
        "in the tmpfs\n"
    );
    assert_eq!(
        std::fs::read_dir(path("outer")).unwrap().count(),
        0,
        "the outer volume stays empty"
    );
    s.ok(&["rm", "-f", "-t", "0", "run", "made", "vols"]);
    s.ok(&["volume", "rm", "outer", "inner"]);
}

#[test]
fn cp_overwrite_replaces_what_is_in_the_way() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "f",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "echo file > /tmp/foo; touch /ready; sleep 1000",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "d",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "mkdir /tmp/foo; echo dir > /tmp/foo/file.txt; touch /ready; sleep 1000",
    ]);
    ready(&s, "f");
    ready(&s, "d");
    let refused = |args: &[&str], name: &str| {
        let o = s.run(args);
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        let want = format!("error creating \"{name}\": ");
        assert!(
            stderr(&o).contains(&want) && stderr(&o).contains("file exists"),
            "{args:?}: {}",
            stderr(&o)
        );
    };
    // Container to container, both ways.
    refused(&["cp", "f:/tmp/foo", "d:/tmp"], "/tmp/foo");
    s.ok(&["cp", "--overwrite", "f:/tmp/foo", "d:/tmp"]);
    assert_eq!(s.ok(&["exec", "d", "cat", "/tmp/foo"]), "file\n");
    s.ok(&[
        "exec",
        "d",
        "sh",
        "-c",
        "rm -rf /tmp/foo; mkdir /tmp/foo; echo dir > /tmp/foo/file.txt",
    ]);
    // Container to host: Podman's copier names the path inside the target directory.
    let host = tempfile::tempdir().unwrap();
    let foo = host.path().join("foo");
    let hostdir = host.path().to_str().unwrap();
    std::fs::create_dir(&foo).unwrap();
    refused(&["cp", "f:/tmp/foo", hostdir], "/foo");
    s.ok(&["cp", "--overwrite", "f:/tmp/foo", hostdir]);
    assert_eq!(std::fs::read_to_string(&foo).unwrap(), "file\n");
    refused(&["cp", "d:/tmp/foo", hostdir], "/foo");
    s.ok(&["cp", "--overwrite", "d:/tmp/foo", hostdir]);
    assert_eq!(
        std::fs::read_to_string(foo.join("file.txt")).unwrap(),
        "dir\n"
    );
    // Host to container.
    refused(&["cp", foo.to_str().unwrap(), "f:/tmp"], "/tmp/foo");
    s.ok(&["cp", "--overwrite", foo.to_str().unwrap(), "f:/tmp"]);
    assert_eq!(s.ok(&["exec", "f", "cat", "/tmp/foo/file.txt"]), "dir\n");
    s.ok(&["rm", "-f", "-t", "0", "f", "d"]);
}

/// `/dev/stdout` on a pipe is neither a directory nor a regular file: the
/// copy is refused (only `-` means a tar stream on stdout) and the host's
/// /dev/stdout link is left alone.
#[test]
fn cp_to_dev_stdout_is_refused() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "out",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "echo hi > /tmp/f; touch /ready; sleep 1000",
    ]);
    ready(&s, "out");
    let o = s.run(&["cp", "out:/tmp/f", "/dev/stdout"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        "Error: invalid destination: \"/dev/stdout\" must be a directory or a regular file"
    );
    assert!(std::fs::symlink_metadata("/dev/stdout")
        .unwrap()
        .file_type()
        .is_symlink());
    s.ok(&["rm", "-f", "-t", "0", "out"]);
}
