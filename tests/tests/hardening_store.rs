//! Private stores and hostile images.
//!
//! A layer with a setuid-root binary and a 0666 device node, and a
//! container that makes more of them in its upper directory: once pulled,
//! created, mounted and run, none of them can be reached by an
//! unprivileged host user through any path under the graph root or the run
//! root (the CVE-2021-41091 pattern; Podman's system test 400), and the
//! store's directories, databases and specs have containers-storage's
//! modes. Images whose /etc/passwd is a link to /dev/zero, a FIFO or a
//! host path make `run --user NAME` fail at once, never hang or read the
//! host's file.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::oci_image::ImageBuilder;
use e2e::podman::{stderr, TestStore};
use e2e::poll;
use e2e::raw_tar::{plain_layer, RawTar};
use e2e::registry::Registry;

/// The unprivileged host user the store must keep out.
const OTHER_UID: &str = "1000";

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .mode()
        & 0o7777
}

/// Every path below `dir` (not following symlinks, staying on mounts we
/// made: the container's merged view is part of what must be private).
fn walk(dir: &Path, out: &mut Vec<(PathBuf, std::fs::Metadata)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let is_dir = m.is_dir();
        out.push((p.clone(), m));
        if is_dir {
            walk(&p, out);
        }
    }
}

/// Open each path for reading as uid 1000 (no groups) in a child process;
/// returns (path, what the open said) for each.
fn open_as_other_user(paths: &[PathBuf]) -> Vec<(String, String)> {
    let script = r#"for p; do
  if msg=$(dd if="$p" of=/dev/null bs=1 count=0 status=none 2>&1); then
    printf '%s\tOPENED\n' "$p"
  else
    printf '%s\t%s\n' "$p" "$(printf '%s' "$msg" | tr '\n' ' ')"
  fi
done"#;
    let o = Command::new("setpriv")
        .args([
            "--reuid",
            OTHER_UID,
            "--regid",
            OTHER_UID,
            "--clear-groups",
            "--",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .args(paths)
        .stdin(Stdio::null())
        .output()
        .expect("run setpriv");
    assert!(o.status.success(), "setpriv: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect()
}

/// A layer with a setuid-root file and a world-usable device node.
fn hostile_layer() -> e2e::layer::Layer {
    plain_layer(
        RawTar::default()
            .dir("hostile", 0o755, 0, 0)
            .file("hostile/suid", b"#!/bin/sh\nid\n", 0o4755, 0, 0)
            .char_dev("hostile/null", 0o666, 1, 3)
            .finish(),
    )
}

#[test]
fn setuid_files_and_devices_in_the_store_are_out_of_reach_of_other_users() {
    let reg = Registry::start().unwrap();
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer(hostile_layer())
        .build()
        .unwrap();
    reg.push("hostile/suid", "latest", &image).unwrap();
    let r = reg.reference("hostile/suid", "latest");
    let s = TestStore::new();
    s.ok(&["pull", "-q", "--tls-verify=false", &r]);
    // A created (not started) container and a running one that makes a
    // setuid copy of busybox and a device node in its upper directory.
    let created = s.ok(&[
        "create",
        "--network",
        "none",
        "-e",
        "PASSWORD=hunter2",
        &r,
        "true",
    ]);
    let created = created.trim();
    let running = s.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        // Podman 5's default capabilities leave out MKNOD.
        "--cap-add",
        "mknod",
        "-e",
        "PASSWORD=hunter2",
        &r,
        "sh",
        "-c",
        "cp /bin/busybox /made-suid && chmod 4755 /made-suid && mknod -m 666 /made-null c 1 3 && touch /made && sleep 600",
    ]);
    let running = running.trim();
    poll::until(
        Duration::from_secs(20),
        "the container's setuid file and node",
        || {
            s.run(&["exec", running, "test", "-e", "/made"])
                .status
                .success()
        },
    );

    // An exec session's spec, looked at while the session runs.
    let bundle = s.runroot().join("containers").join(running);
    let mut exec = s
        .cmd()
        .args(["exec", "-e", "TOKEN=s3cret", running, "sleep", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let spec = poll::until_some(
        Duration::from_secs(20),
        "an exec spec in the bundle",
        || {
            std::fs::read_dir(&bundle)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("exec-") && n.ends_with(".json"))
                })
        },
    );
    assert_eq!(mode(&spec), 0o600, "{}", spec.display());
    let _ = exec.kill();
    let _ = exec.wait();

    // Modes, as containers-storage makes them.
    let (root, run) = (s.root(), s.runroot());
    for d in [
        root.clone(),
        run.clone(),
        root.join("overlay-layers"),
        root.join("overlay-containers"),
        root.join("overlay-containers").join(created),
        root.join("overlay-containers").join(running),
        run.join("overlay-containers"),
        run.join("overlay-containers").join(running),
        run.join("containers").join(running),
        root.join("containers").join(running),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    for e in std::fs::read_dir(root.join("overlay-layers"))
        .unwrap()
        .flatten()
    {
        if e.file_type().unwrap().is_dir() {
            assert_eq!(mode(&e.path()), 0o700, "{}", e.path().display());
        }
    }
    for db in ["db.sql", "storage.db"] {
        for suffix in ["", "-wal", "-shm"] {
            let p = root.join(format!("{db}{suffix}"));
            if suffix.is_empty() || p.exists() {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
            }
        }
    }
    let config = run.join("containers").join(running).join("config.json");
    assert_eq!(mode(&config), 0o600);
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("PASSWORD=hunter2"));

    // Every setuid file, device node and world-writable path in the store.
    let mut all = Vec::new();
    walk(&root, &mut all);
    walk(&run, &mut all);
    let dangerous: Vec<PathBuf> = all
        .iter()
        .filter(|(_, m)| {
            let ft = m.file_type();
            !ft.is_symlink()
                && (m.mode() & 0o6000 != 0
                    || ft.is_char_device()
                    || ft.is_block_device()
                    || m.mode() & 0o002 != 0)
        })
        .map(|(p, _)| p.clone())
        .collect();
    let names = |n: &str| dangerous.iter().filter(|p| p.ends_with(n)).count();
    // The layer's own, the container upper dir's, and their merged views.
    assert!(names("hostile/suid") >= 2, "{dangerous:?}");
    assert!(names("hostile/null") >= 2, "{dangerous:?}");
    assert!(names("made-suid") >= 2, "{dangerous:?}");
    assert!(names("made-null") >= 2, "{dangerous:?}");
    let results = open_as_other_user(&dangerous);
    assert_eq!(results.len(), dangerous.len());
    for (p, msg) in &results {
        assert!(
            msg.contains("Permission denied"),
            "uid {OTHER_UID} reached {p}: {msg}"
        );
    }
    // Root still reaches them: the walk saw real files, not stale names.
    assert!(std::fs::metadata(&dangerous[0]).is_ok());
}

#[test]
fn stores_made_open_are_tightened_when_opened() {
    let reg = Registry::start().unwrap();
    reg.push(
        "open/bb",
        "latest",
        &e2e::oci_image::busybox_image().unwrap(),
    )
    .unwrap();
    let r = reg.reference("open/bb", "latest");
    let s = TestStore::new();
    s.ok(&["pull", "-q", "--tls-verify=false", &r]);
    s.ok(&["create", "--network", "none", &r, "true"]);
    let (root, run) = (s.root(), s.runroot());
    let loosened = [
        (root.clone(), 0o755),
        (run.clone(), 0o755),
        (root.join("overlay-layers"), 0o755),
        (root.join("overlay-containers"), 0o755),
        (root.join("db.sql"), 0o644),
        (root.join("storage.db"), 0o644),
    ];
    for (p, m) in &loosened {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(*m))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    // The state database is opened by `ps`, the storage index by `images`.
    s.ok(&["ps", "-a"]);
    s.ok(&["images", "-q"]);
    for (p, m) in &loosened {
        // The run root keeps search for all (never read): containers in
        // their own user namespace need it to reach their root.
        let want = match *m {
            0o755 if *p == run => 0o711,
            0o755 => 0o700,
            _ => 0o600,
        };
        assert_eq!(mode(p), want, "{}", p.display());
    }
}

/// Run `podman run --user someuser` on `image` with a deadline: it must
/// fail at once with one error line, never hang.
fn run_as_someuser(s: &TestStore, image: &str) -> String {
    let started = Instant::now();
    let mut child = s
        .cmd()
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "someuser",
            image,
            "true",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = poll::until_some(
        Duration::from_secs(30),
        "podman run --user to finish",
        || child.try_wait().unwrap(),
    );
    let o = child.wait_with_output().unwrap();
    assert!(
        !status.success(),
        "run --user someuser succeeded on {image}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_string()
}

#[test]
fn hostile_passwd_files_fail_promptly_and_never_read_the_host() {
    let reg = Registry::start().unwrap();
    // A host file the image's link names: reading it would find the user.
    let host = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(host.path(), "someuser:x:4242:4242::/:/bin/sh\n").unwrap();
    let host_path = host.path().to_str().unwrap().trim_start_matches('/');
    assert!(host_path.len() < 90);
    let cases: [(&str, RawTar); 3] = [
        (
            "zero",
            RawTar::default()
                .dir("dev", 0o755, 0, 0)
                .char_dev("dev/zero", 0o666, 1, 5)
                .symlink("etc/passwd", "/dev/zero"),
        ),
        ("fifo", RawTar::default().fifo("etc/passwd", 0o644)),
        (
            "hostpath",
            RawTar::default().symlink("etc/passwd", &format!("/{host_path}")),
        ),
    ];
    let s = TestStore::new();
    for (name, layer) in cases {
        let image = ImageBuilder::busybox()
            .unwrap()
            .layer(plain_layer(layer.finish()))
            .build()
            .unwrap();
        reg.push(&format!("passwd/{name}"), "latest", &image)
            .unwrap();
        let r = reg.reference(&format!("passwd/{name}"), "latest");
        s.ok(&["pull", "-q", "--tls-verify=false", &r]);
        let line = run_as_someuser(&s, &r);
        assert!(line.contains("someuser"), "{name}: {line}");
        match name {
            // Inside the root the link names nothing: no such user.
            "hostpath" => assert!(line.contains("unable to find user someuser"), "{line}"),
            _ => assert!(
                line.contains("/etc/passwd") && line.contains("not a regular file"),
                "{name}: {line}"
            ),
        }
        // The default user and numeric ones need no passwd entry from
        // podman. runc reads the file again itself, inside the container,
        // and refuses /dev/zero with its own error (as under Podman); a
        // FIFO would block runc's own read, so it is not started.
        match name {
            "hostpath" => {
                let out = s.ok(&["run", "--rm", "--network", "none", &r, "id", "-u"]);
                assert_eq!(out.trim(), "0");
                let out = s.ok(&[
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "--user",
                    "1234",
                    &r,
                    "id",
                    "-u",
                ]);
                assert_eq!(out.trim(), "1234");
            }
            "zero" => {
                let o = s.run(&["run", "--rm", "--network", "none", &r, "true"]);
                let err = stderr(&o);
                assert!(
                    o.status.success() || err.contains("token too long"),
                    "{err}"
                );
            }
            _ => {}
        }
    }
}
