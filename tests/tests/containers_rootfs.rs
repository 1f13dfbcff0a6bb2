//! `run`/`create --rootfs PATH[:O]`: containers on an exploded root file
//! system instead of an image. Plain, the directory is the container's
//! root; with `:O` an overlay keeps it untouched. Removal never deletes
//! the user's directory.

use std::path::Path;

use e2e::podman::{refused_leaving_nothing, stderr, with_busybox, TestStore};

/// A copy of the busybox image's root in `dir` (through `image mount`).
fn exploded_busybox(s: &TestStore, image: &str, dir: &Path) {
    let mp = s.ok(&["image", "mount", image]).trim().to_string();
    let st = std::process::Command::new("cp")
        .args(["-a", &format!("{mp}/."), &dir.display().to_string()])
        .status()
        .expect("cp");
    assert!(st.success());
    s.ok(&["image", "unmount", image]);
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn overlay_rootfs_leaves_the_directory_untouched() {
    let (s, _reg, r) = with_busybox();
    let dir = s.dir.path().join("exploded");
    std::fs::create_dir(&dir).expect("mkdir");
    exploded_busybox(&s, &r, &dir);
    let before = names(&dir);
    let arg = format!("{}:O", dir.display());
    let out = s.ok(&[
        "run",
        "--name",
        "rootfs-overlay",
        "--network",
        "none",
        "--rootfs",
        &arg,
        "sh",
        "-c",
        "echo written > /new-file && cat /new-file && rm /bin/true && echo gone",
    ]);
    assert_eq!(out, "written\ngone\n");
    assert_eq!(names(&dir), before, "the overlay wrote into the directory");
    assert!(
        dir.join("bin/true").exists(),
        "a deletion reached the directory"
    );
    let fmt = "{{.Rootfs}}|{{.ImageName}}|{{.ImageDigest}}|{{.Image}}";
    let got = s.ok(&["container", "inspect", "--format", fmt, "rootfs-overlay"]);
    assert_eq!(got.trim(), format!("{}|||", dir.display()));
    // A restart sees its own writes again, on the overlay.
    s.ok(&["start", "rootfs-overlay"]);
    s.ok(&["wait", "rootfs-overlay"]);
    s.ok(&["rm", "rootfs-overlay"]);
    assert_eq!(names(&dir), before, "rm touched the directory");
}

#[test]
fn plain_rootfs_is_the_root_and_survives_rm() {
    let (s, _reg, r) = with_busybox();
    let dir = s.dir.path().join("plain");
    std::fs::create_dir(&dir).expect("mkdir");
    exploded_busybox(&s, &r, &dir);
    let cid = s
        .ok(&[
            "create",
            "--network",
            "none",
            "--rootfs",
            &dir.display().to_string(),
            "sh",
            "-c",
            "echo from-container > /marker",
        ])
        .trim()
        .to_string();
    s.ok(&["start", "--attach", &cid]);
    assert_eq!(
        std::fs::read_to_string(dir.join("marker")).expect("marker"),
        "from-container\n"
    );
    s.ok(&["rm", "-f", &cid]);
    assert!(dir.join("bin/busybox").exists(), "rm deleted the rootfs");
    assert!(dir.join("marker").exists());
    // No command: the container is made, the runtime cannot run "" (127).
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--rootfs",
        &dir.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    assert!(dir.join("bin/busybox").exists());
}

#[test]
fn rootfs_that_is_not_a_directory_is_refused() {
    let s = TestStore::new();
    refused_leaving_nothing(
        &s,
        &["create", "--rootfs", "/nonexistent-rootfs-dir", "true"],
        "--rootfs /nonexistent-rootfs-dir: not a directory",
    );
}
