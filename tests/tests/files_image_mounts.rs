//! Images as file systems (upstream 060 and 140): `image mount` /
//! `image umount` (counted, listed, `--all`, `--force`), `--mount
//! type=image` (read-only, `rw` over a throwaway layer, `subpath=`, inspect),
//! `diff IMAGE`, and the `O` (overlay) option of `-v`.

use std::path::Path;

use e2e::podman::{stderr, stdout, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

fn image_id(s: &TestStore, r: &str) -> String {
    s.ok(&["image", "inspect", "--format", "{{.ID}}", r])
        .trim()
        .to_string()
}

fn is_mountpoint(p: &str) -> bool {
    let canon = std::fs::canonicalize(p).unwrap_or_default();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(canon.to_str().unwrap_or("-")))
}

#[test]
fn image_mount_is_counted_listed_and_undone() {
    let (s, _reg, r) = fixture();
    let iid = image_id(&s, &r);

    let mp = s.ok(&["image", "mount", &r]).trim().to_string();
    assert!(Path::new(&mp).join("bin/busybox").exists(), "{mp}");
    assert!(is_mountpoint(&mp));
    // Read-only: nothing can be written through it.
    let e = std::fs::write(Path::new(&mp).join("x"), "x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(nix::libc::EROFS), "{e}");

    // No names: what is mounted, by its first name.
    let listed = s.ok(&["image", "mount"]);
    assert_eq!(
        listed.split_whitespace().collect::<Vec<_>>(),
        [r.as_str(), mp.as_str()]
    );
    let j: serde_json::Value =
        serde_json::from_str(&s.ok(&["image", "mount", "--format", "json"])).unwrap();
    assert_eq!(j[0]["id"], iid.as_str());
    assert_eq!(j[0]["mountpoint"], mp.as_str());
    assert_eq!(j[0]["Repositories"][0], r.as_str());

    // Two mounts need two unmounts; --force takes all of them.
    assert_eq!(s.ok(&["image", "mount", &r]).trim(), mp);
    assert_eq!(s.ok(&["image", "umount", &r]).trim(), iid);
    assert!(is_mountpoint(&mp), "still mounted once");
    assert_eq!(s.ok(&["image", "mount", &r]).trim(), mp);
    assert_eq!(s.ok(&["image", "umount", "-f", &r]).trim(), iid);
    assert!(!is_mountpoint(&mp));
    assert_eq!(
        s.ok(&["image", "umount", &r]),
        "",
        "not mounted: nothing said"
    );
    assert_eq!(s.ok(&["image", "mount"]), "");

    // --all mounts every image, and umount --all lets them go.
    let all = s.ok(&["image", "mount", "-a"]);
    assert!(all.contains(&r) && all.contains(&mp), "{all}");
    assert!(s.ok(&["image", "umount", "-a"]).contains(&iid));
    assert_eq!(s.ok(&["image", "mount"]), "");

    // Bad input, in Podman's words.
    let o = s.run(&["image", "umount", "no-such-image"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).trim(), "Error: no-such-image: image not known");
    let o = s.run(&["image", "mount", "-a", &r]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("--all"), "{}", stderr(&o));

    // Removing a mounted image takes its mount down.
    s.ok(&["create", "--name", "src", &r, "true"]);
    s.ok(&["commit", "-q", "src", "localhost/mounted-own:1"]);
    let mp2 = s
        .ok(&["image", "mount", "localhost/mounted-own:1"])
        .trim()
        .to_string();
    assert!(is_mountpoint(&mp2));
    s.ok(&["rm", "src"]);
    s.ok(&["rmi", "localhost/mounted-own:1"]);
    assert!(!is_mountpoint(&mp2), "rmi unmounted it");
}

#[test]
fn mount_type_image_in_containers() {
    let (s, _reg, r) = fixture();
    let iid = image_id(&s, &r);
    let opts = format!("type=image,src={r},dst=/image-mount");

    // The image's files, read-only.
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        &opts,
        &r,
        "cmp",
        "/bin/busybox",
        "/image-mount/bin/busybox",
    ]);
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        &opts,
        &r,
        "touch",
        "/image-mount/x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("Read-only file system")
            || stderr(&o).contains("Read-only file system")
    );
    // rw: writes land in a layer of their own, never in the image.
    for rw in ["rw=true", "readwrite=true"] {
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--mount",
            &format!("{opts},{rw}"),
            &r,
            "sh",
            "-c",
            "touch /image-mount/written && test -e /image-mount/written",
        ]);
    }
    let mp = s.ok(&["image", "mount", &r]).trim().to_string();
    assert!(!Path::new(&mp).join("written").exists());

    // subpath, and inspect's record of the mount.
    s.ok(&[
        "run",
        "--name",
        "sub",
        "--network",
        "none",
        "--mount",
        &format!("{opts},subpath=/etc"),
        &r,
        "ls",
        "/image-mount/passwd",
    ]);
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{ (index .Mounts 0).SubPath }}",
            "sub"
        ])
        .trim(),
        "/etc"
    );
    assert_eq!(s.ok(&["inspect", "--format", "{{ (index .Mounts 0).Type }} {{ (index .Mounts 0).Source }} {{ (index .Mounts 0).RW }}", "sub"]).trim(), format!("image {r} false"));
    s.ok(&["rm", "sub"]);

    // A container's use is counted beside the hand-made mount: the image
    // stays mounted after the container is gone.
    assert!(s.ok(&["image", "mount"]).contains(&mp));
    assert_eq!(s.ok(&["image", "umount", &r]).trim(), iid);
    assert_eq!(
        s.ok(&["image", "mount"]),
        "",
        "no mount left by the containers"
    );

    // A running container keeps its view after the host lets go.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "bg",
        "--network",
        "none",
        "--mount",
        &format!("type=image,src={iid},dst=/image-mount"),
        &r,
        "sleep",
        "1000",
    ]);
    assert_eq!(s.ok(&["image", "umount", &r]).trim(), iid);
    s.ok(&[
        "exec",
        "bg",
        "cmp",
        "/bin/busybox",
        "/image-mount/bin/busybox",
    ]);
    s.ok(&["rm", "-f", "-t", "0", "bg"]);

    // Bad input.
    let o = s.run(&[
        "run",
        "--rm",
        "--mount",
        "type=image,src=no-such-image,dst=/m",
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("no-such-image: image not known"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&[
        "run",
        "--rm",
        "--mount",
        &format!("{opts},subpath=../x"),
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("subpath="), "{}", stderr(&o));
    assert_eq!(
        s.ok(&["image", "mount"]),
        "",
        "a failed start leaves no mount"
    );
}

#[test]
fn diff_of_an_image_is_its_top_layer() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "run",
        "--name",
        "diffctr",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo x > /added; rm /etc/group",
    ]);
    s.ok(&["commit", "-q", "diffctr", "localhost/diffed:1"]);
    let j: serde_json::Value =
        serde_json::from_str(&s.ok(&["diff", "--format", "json", "localhost/diffed:1"])).unwrap();
    // The commit's layer also holds the mount points podman made (/etc/hosts...).
    assert!(
        j["added"].as_array().unwrap().contains(&"/added".into()),
        "{j}"
    );
    assert_eq!(j["deleted"], serde_json::json!(["/etc/group"]), "{j}");
    let text = s.ok(&["image", "diff", "localhost/diffed:1"]);
    assert!(
        text.contains("A /added\n") && text.contains("D /etc/group\n"),
        "{text}"
    );
    // A container goes first for `podman diff`; `image diff` never looks at containers.
    assert!(s.ok(&["diff", "diffctr"]).contains("A /added"));
    let o = s.run(&["image", "diff", "diffctr"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).trim(), "Error: diffctr: image not known");
    let o = s.run(&["diff", "nothing-here"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("nothing-here not found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn overlay_volume_option_keeps_the_source_unchanged() {
    let (s, _reg, r) = fixture();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("seen"), "from host\n").unwrap();
    let v = format!("{}:/data:O", host.path().display());
    let out = s.ok(&[
        "run",
        "--name",
        "ov",
        "--network",
        "none",
        "-v",
        &v,
        &r,
        "sh",
        "-c",
        "cat /data/seen; echo new > /data/written; rm /data/seen; ls /data",
    ]);
    assert_eq!(out, "from host\nwritten\n");
    // The host directory is as it was.
    assert!(host.path().join("seen").exists());
    assert!(!host.path().join("written").exists());
    // Each start begins from the source again.
    let again = s.ok(&["start", "-a", "ov"]);
    assert_eq!(again, "from host\nwritten\n");
    // A file cannot be the lower layer of an overlay.
    let f = host.path().join("seen");
    let o = s.run(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/f:O", f.display()),
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("must be a directory"), "{}", stderr(&o));
}
