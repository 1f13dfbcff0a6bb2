//! The vfs storage driver end to end: layers as full copies (whiteouts
//! applied), a container's root used in place, its diff, commit and
//! export (storage-helper), and podman's pull/run/rm/rmi/inspect/info with
//! `--storage-driver vfs`; a store made with one driver refused by the
//! other with libpod's "database configuration mismatch" (run as root).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use e2e::oci_image::busybox_image;
use e2e::podman::{stderr, stdout, TestStore};
use e2e::storage_env::{tree, Store};
use e2e::storage_fixtures::{three_layer_expected, three_layer_image};

/// `storage-helper --driver vfs ARGS`, which must succeed; its stdout.
fn vfs_ok(s: &Store, args: &[&str]) -> String {
    let o = s
        .cmd()
        .args(["--driver", "vfs"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "storage-helper --driver vfs {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn vfs_import(s: &Store, image: &e2e::oci_image::Image, name: &str) -> serde_json::Value {
    let layout = s.layout(image, name);
    let out = vfs_ok(
        s,
        &[
            "import-oci",
            layout.to_str().unwrap(),
            "--ref",
            name,
            "--json",
        ],
    );
    serde_json::from_str(&out).unwrap()
}

fn hex_dirs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 64)
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn layers_are_full_copies_with_whiteouts_applied() {
    let s = Store::new();
    let img = vfs_import(&s, &three_layer_image().unwrap(), "localhost/tricky:1");
    let layers: Vec<String> = img["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let dir = s.root().join("vfs/dir");
    assert_eq!(hex_dirs(&dir), {
        let mut l = layers.clone();
        l.sort();
        l
    });
    for d in ["vfs-layers", "vfs-images", "vfs-containers"] {
        assert!(s.root().join(d).is_dir(), "{d}");
    }
    assert!(!s.root().join("overlay-layers").exists());
    // The top layer alone is the image's whole file system: no whiteout
    // devices, no opaque markers.
    assert_eq!(tree(&dir.join(&layers[2])), three_layer_expected());

    vfs_ok(
        &s,
        &[
            "create-container",
            "tricky",
            "--image",
            "localhost/tricky:1",
        ],
    );
    let mp = PathBuf::from(vfs_ok(&s, &["mount", "tricky"]).trim());
    assert_eq!(mp, dir.join("tricky"), "the root is used in place");
    assert_eq!(tree(&mp), three_layer_expected());
    assert!(s.mounts().is_empty(), "vfs mounts nothing");
    let f = std::fs::metadata(mp.join("srv/file")).unwrap();
    let h = std::fs::metadata(mp.join("srv/hard")).unwrap();
    assert_eq!(f.ino(), h.ino(), "hard links survive the copy");
    let c: serde_json::Value =
        serde_json::from_str(&vfs_ok(&s, &["containers", "--json"])).unwrap();
    assert_eq!(c[0]["mount_count"], 1);
    assert_eq!(c[0]["work_dir"], "");
    vfs_ok(&s, &["unmount", "tricky"]);
    assert!(mp.is_dir(), "unmounting a vfs root leaves it in place");
    vfs_ok(&s, &["rm-container", "tricky"]);
    assert!(!mp.exists());
}

#[test]
fn vfs_container_diff_commit_and_export() {
    let s = Store::new();
    vfs_import(&s, &busybox_image().unwrap(), "localhost/bb:latest");
    vfs_ok(&s, &["create-container", "work", "--image", "bb"]);
    let m = PathBuf::from(vfs_ok(&s, &["mount", "work"]).trim());
    std::fs::write(m.join("etc/motd"), "hello\n").unwrap();
    std::fs::write(m.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    std::fs::remove_file(m.join("etc/group")).unwrap();
    std::fs::remove_file(m.join("bin/wget")).unwrap();
    std::fs::create_dir(m.join("newdir")).unwrap();
    std::fs::write(m.join("newdir/f"), "f").unwrap();
    let diff = vfs_ok(&s, &["diff", "work"]);
    let lines: Vec<&str> = diff.lines().collect();
    // The same answer overlay gives for the same changes.
    assert_eq!(
        lines,
        [
            "C /bin",
            "D /bin/wget",
            "C /etc",
            "D /etc/group",
            "A /etc/motd",
            "C /etc/passwd",
            "A /newdir",
            "A /newdir/f"
        ],
        "{diff}"
    );

    let tarball = s.dir.path().join("rootfs.tar");
    vfs_ok(
        &s,
        &["export", "work", "--output", tarball.to_str().unwrap()],
    );
    let names: Vec<String> = tar::Archive::new(std::fs::File::open(&tarball).unwrap())
        .entries()
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    assert!(names.contains(&"etc/motd".to_string()) && names.contains(&"bin/busybox".to_string()));
    assert!(!names.contains(&"etc/group".to_string()));

    let committed: serde_json::Value = serde_json::from_str(&vfs_ok(
        &s,
        &[
            "commit",
            "work",
            "--name",
            "localhost/committed:1",
            "--json",
        ],
    ))
    .unwrap();
    let layers = committed["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    // The new layer is a diff: its blob holds the changes, not the image.
    let config: serde_json::Value =
        serde_json::from_str(&vfs_ok(&s, &["inspect", "localhost/committed:1", "--json"])).unwrap();
    assert_eq!(
        config["config"]["rootfs"]["diff_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    vfs_ok(
        &s,
        &[
            "create-container",
            "child",
            "--image",
            "localhost/committed:1",
        ],
    );
    let cm = PathBuf::from(vfs_ok(&s, &["mount", "child"]).trim());
    assert_eq!(
        std::fs::read_to_string(cm.join("etc/motd")).unwrap(),
        "hello\n"
    );
    assert!(!cm.join("etc/group").exists() && !cm.join("bin/wget").exists());
    assert!(cm.join("bin/busybox").exists() && cm.join("newdir/f").exists());
    assert_eq!(
        vfs_ok(&s, &["diff", "child"]),
        "",
        "a fresh copy has no changes"
    );
    for c in ["work", "child"] {
        vfs_ok(&s, &["rm-container", c]);
    }
    vfs_ok(&s, &["rmi", "localhost/committed:1"]);
    vfs_ok(&s, &["rmi", "localhost/bb:latest"]);
    assert_eq!(hex_dirs(&s.root().join("vfs/dir")), Vec::<String>::new());

    // The store is a vfs store now: overlay is refused.
    let o = s.run(&["images"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "database graph driver \"vfs\" does not match our graph driver \"overlay\": database configuration mismatch"
        ),
        "{err}"
    );
}

fn vfs_podman(s: &TestStore, args: &[&str]) -> std::process::Output {
    s.cmd()
        .args(["--storage-driver", "vfs"])
        .args(args)
        .output()
        .unwrap()
}

fn vfs_podman_ok(s: &TestStore, args: &[&str]) -> String {
    let o = vfs_podman(s, args);
    assert!(
        o.status.success(),
        "podman --storage-driver vfs {args:?}: {}",
        stderr(&o)
    );
    stdout(&o)
}

#[test]
fn podman_pulls_runs_and_removes_with_vfs() {
    let reg = e2e::registry::Registry::start().unwrap();
    reg.push("bb", "latest", &busybox_image().unwrap()).unwrap();
    let r = reg.reference("bb", "latest");
    let s = TestStore::new();
    // An empty store lists nothing, with headings.
    assert_eq!(
        vfs_podman_ok(&s, &["images"]).trim_end(),
        "REPOSITORY  TAG         IMAGE ID    CREATED     SIZE"
    );
    vfs_podman_ok(&s, &["pull", "-q", "--tls-verify=false", &r]);
    assert_eq!(hex_dirs(&s.root().join("vfs/dir")).len(), 1);
    assert_eq!(
        vfs_podman_ok(
            &s,
            &[
                "info",
                "--format",
                "{{.Store.GraphDriverName}} {{json .Store.GraphStatus}}"
            ]
        )
        .trim(),
        "vfs {}"
    );
    let gd = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&vfs_podman_ok(&s, args)).unwrap()
    };
    let vfs_data = serde_json::json!({"Name": "vfs", "Data": null});
    assert_eq!(
        gd(&["image", "inspect", &r, "--format", "{{json .GraphDriver}}"]),
        vfs_data
    );

    assert_eq!(
        vfs_podman_ok(
            &s,
            &["run", "--rm", &r, "sh", "-c", "echo hi > /x && cat /x"]
        )
        .trim(),
        "hi"
    );
    vfs_podman_ok(
        &s,
        &[
            "run",
            "--name",
            "c1",
            &r,
            "sh",
            "-c",
            "echo changed > /etc/motd",
        ],
    );
    assert_eq!(
        gd(&["inspect", "c1", "--format", "{{json .GraphDriver}}"]),
        vfs_data
    );
    // The container's root is its own copy: the image's layer is untouched.
    let id = vfs_podman_ok(&s, &["inspect", "c1", "--format", "{{.Id}}"]);
    let root = s.root().join("vfs/dir").join(id.trim());
    assert_eq!(
        std::fs::read_to_string(root.join("etc/motd")).unwrap(),
        "changed\n"
    );
    assert_eq!(
        vfs_podman_ok(&s, &["start", "-a", "c1"]).trim(),
        "",
        "a restart keeps its root"
    );
    vfs_podman_ok(&s, &["rm", "c1"]);
    assert!(!root.exists());
    vfs_podman_ok(&s, &["rmi", &r]);
    assert_eq!(hex_dirs(&s.root().join("vfs/dir")), Vec::<String>::new());

    // STORAGE_DRIVER chooses it too; another driver is refused as libpod does.
    let o = s
        .cmd()
        .env("STORAGE_DRIVER", "vfs")
        .args(["images", "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = s
        .cmd()
        .args(["--storage-driver", "overlay", "images"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim(),
        "Error: database graph driver \"vfs\" does not match our graph driver \"overlay\": database configuration mismatch"
    );
    let o = s
        .cmd()
        .env("STORAGE_DRIVER", "zfs")
        .args(["images"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown storage driver \"zfs\""),
        "{}",
        stderr(&o)
    );
}
