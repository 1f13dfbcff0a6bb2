//! storage-helper end to end, containers: overlay mounts counted over gRPC
//! and leaving nothing in mountinfo, removal of a mounted container, and a
//! container's diff, export and commit (run as root).

use e2e::oci_image::busybox_image;
use e2e::storage_env::Store;

#[test]
fn mounts_are_counted_and_leave_nothing_in_mountinfo() {
    let s = Store::new();
    s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.create_container("m", "bb");
    let mut g = s.grpc();
    let m1 = g.mount("m").unwrap();
    let m2 = g.mount("m").unwrap();
    assert_eq!(
        (m1.mount_count, m2.mount_count, &m1.mountpoint),
        (1, 2, &m2.mountpoint)
    );
    assert_eq!(
        s.mounts(),
        vec![m1.mountpoint.clone()],
        "one overlay for two mounts"
    );
    let u = g.unmount("m").unwrap();
    assert_eq!((u.unmounted, u.mount_count), (false, 1));
    assert_eq!(s.mounts().len(), 1);
    let u = g.unmount("m").unwrap();
    assert_eq!((u.unmounted, u.mount_count), (true, 0));
    assert!(s.mounts().is_empty());
    // Unmounting what is not mounted is fine.
    let u = g.unmount("m").unwrap();
    assert!(!u.unmounted);
    // A mounted container is unmounted by its removal, however often mounted.
    s.mount("m");
    s.mount("m");
    let cont = s.json(&["containers"]);
    assert_eq!(cont[0]["mount_count"], 2);
    let r = g.remove_container("m").unwrap();
    assert!(r.was_mounted);
    assert!(s.mounts().is_empty());
    assert!(!s.runroot().join("overlay-containers/m").exists());
    let err = g.mount("m").unwrap_err().to_string();
    assert!(err.contains("no such container"), "{err}");
    g.finish().unwrap();
}

#[test]
fn container_diff_commit_and_export() {
    let s = Store::new();
    s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.create_container("work", "bb");
    let m = s.mount("work");
    std::fs::write(m.join("etc/motd"), "hello\n").unwrap();
    std::fs::write(m.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    std::fs::remove_file(m.join("etc/group")).unwrap();
    std::fs::remove_file(m.join("bin/wget")).unwrap();
    std::fs::create_dir(m.join("newdir")).unwrap();
    std::fs::write(m.join("newdir/f"), "f").unwrap();
    let diff = s.ok(&["diff", "work"]);
    let lines: Vec<&str> = diff.lines().collect();
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
    s.ok(&["export", "work", "--output", tarball.to_str().unwrap()]);
    let mut names = Vec::new();
    for e in tar::Archive::new(std::fs::File::open(&tarball).unwrap())
        .entries()
        .unwrap()
    {
        names.push(
            e.unwrap()
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string(),
        );
    }
    assert!(names.contains(&"etc/motd".to_string()) && names.contains(&"bin/busybox".to_string()));
    assert!(!names.contains(&"etc/group".to_string()) && !names.iter().any(|n| n.contains(".wh.")));
    assert_eq!(
        s.json(&["containers"])[0]["mount_count"],
        1,
        "export's own mount was undone"
    );

    let committed = s.json(&[
        "commit",
        "work",
        "--name",
        "localhost/committed:1",
        "--cmd",
        "[\"cat\",\"/etc/motd\"]",
        "--env",
        "A=b",
    ]);
    assert_eq!(committed["layers"].as_array().unwrap().len(), 2);
    let config = s.json(&["inspect", "localhost/committed:1"])["config"].clone();
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["cat", "/etc/motd"])
    );
    assert!(config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "A=b"));
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    s.create_container("child", "localhost/committed:1");
    let cm = s.mount("child");
    assert_eq!(
        std::fs::read_to_string(cm.join("etc/motd")).unwrap(),
        "hello\n"
    );
    assert!(!cm.join("etc/group").exists() && !cm.join("bin/wget").exists());
    assert!(cm.join("bin/busybox").exists() && cm.join("newdir/f").exists());
    for c in ["work", "child"] {
        s.ok(&["rm-container", c]);
    }
    assert!(s.mounts().is_empty());
}

/// The mount options of the overlay at `mountpoint`, from mountinfo.
fn super_options(mountpoint: &str) -> String {
    e2e::mountinfo::mount_options(mountpoint)
        .unwrap_or_else(|| panic!("{mountpoint} is not mounted"))
}

#[test]
fn volatile_containers_mount_volatile_and_mount_again_after_an_unmount() {
    let s = Store::new();
    s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.ok(&["create-container", "v", "--image", "bb", "--volatile"]);
    s.create_container("d", "bb");
    let cont = s.json(&["containers"]);
    let volatile = |id: &str| {
        cont.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["volatile"].clone())
    };
    assert_eq!(volatile("v"), Some(serde_json::json!(true)));
    assert_eq!(volatile("d"), Some(serde_json::json!(false)));
    let mut g = s.grpc();
    let v = g.mount("v").unwrap().mountpoint;
    let d = g.mount("d").unwrap().mountpoint;
    // Shown as fsync=volatile by newer kernels, volatile by older ones.
    assert!(
        super_options(&v).contains("volatile"),
        "{}",
        super_options(&v)
    );
    assert!(
        !super_options(&d).contains("volatile"),
        "{}",
        super_options(&d)
    );
    std::fs::write(std::path::Path::new(&v).join("kept"), "x").unwrap();
    // Overlay leaves work/incompat/volatile behind and refuses to mount
    // over it; the helper clears it, and the upper dir is still there.
    assert!(g.unmount("v").unwrap().unmounted);
    let v2 = g.mount("v").unwrap().mountpoint;
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(&v2).join("kept")).unwrap(),
        "x"
    );
    assert!(g.remove_container("v").unwrap().was_mounted);
    assert!(g.remove_container("d").unwrap().was_mounted);
    assert!(s.mounts().is_empty());
    g.finish().unwrap();
}
