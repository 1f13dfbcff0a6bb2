//! Volumes in containers: named volumes made on first use, copy-up,
//! anonymous volumes (`-v /path`, an image's VOLUME) removed with `rm -v`
//! and `--rm`, `--volumes-from`, `--mount type=volume`, bind options, and
//! inspect's Mounts. Real containers through runc.

mod volume_support;

use std::os::unix::fs::MetadataExt;

use e2e::oci_image::ImageBuilder;
use e2e::podman::{stderr, stdout};
use volume_support::{fixture, inspect, mountpoint, names};

#[test]
fn named_volumes_in_containers() {
    let (s, _reg, r) = fixture();
    // Made on first use, kept after --rm, shared by the next container.
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data:/data",
        "-v",
        "data:/data2",
        &r,
        "sh",
        "-c",
        "echo hi >/data/f",
    ]);
    assert_eq!(names(&s), ["data"]);
    assert_eq!(inspect(&s, "data").get("Anonymous"), None);
    assert_eq!(
        std::fs::read_to_string(mountpoint(&s, "data").join("f")).unwrap(),
        "hi\n"
    );
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--mount",
            "type=volume,source=data,destination=/m",
            &r,
            "cat",
            "/m/f"
        ]),
        "hi\n"
    );
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data:/data:ro",
        &r,
        "touch",
        "/data/x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Read-only file system"),
        "{}",
        stderr(&o)
    );

    // Copy-up: an empty volume takes the image's content at its path once;
    // nocopy leaves it empty.
    s.ok(&["volume", "create", "etcvol"]);
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "etcvol:/vol",
        &r,
        "true",
    ]);
    assert_eq!(
        inspect(&s, "etcvol")["NeedsCopyUp"],
        true,
        "nothing at /vol"
    );
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "etcvol:/etc",
        &r,
        "ls",
        "/etc/passwd",
    ]);
    let v = inspect(&s, "etcvol");
    assert_eq!(
        (v["NeedsCopyUp"].clone(), v["NeedsChown"].clone()),
        (false.into(), false.into())
    );
    assert!(mountpoint(&s, "etcvol").join("passwd").exists());
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "nc:/etc:nocopy",
        &r,
        "true",
    ]);
    // (The runtime makes the mount points of /etc/hosts and friends there.)
    assert!(!mountpoint(&s, "nc").join("passwd").exists());
    assert_eq!(inspect(&s, "nc")["NeedsCopyUp"], true);

    // In use: refused (2) by rm and left by prune; -f removes the container.
    let cid = s
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "-v",
            "data:/data",
            &r,
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let o = s.run(&["volume", "rm", "data"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        format!("Error: volume data is being used by the following container(s): {cid}: volume is being used")
    );
    let pruned = s.ok(&["volume", "prune", "-f", "-a"]);
    assert!(!pruned.contains("data"), "{pruned}");
    assert!(names(&s).contains(&"data".to_string()));

    // Inspect's Mounts, as Podman shows a volume.
    let c: serde_json::Value = serde_json::from_str(&s.ok(&["inspect", &cid])).unwrap();
    let m = &c[0]["Mounts"][0];
    assert_eq!(m["Type"], "volume");
    assert_eq!(m["Name"], "data");
    assert_eq!(m["Source"], mountpoint(&s, "data").display().to_string());
    assert_eq!(m["Destination"], "/data");
    assert_eq!(m["Driver"], "local");
    assert_eq!(m["RW"], true);
    assert_eq!(m["Propagation"], "rprivate");

    assert_eq!(s.ok(&["volume", "rm", "-f", "-t", "0", "data"]), "data\n");
    assert_eq!(s.run(&["container", "exists", &cid]).status.code(), Some(1));
}

#[test]
fn anonymous_volumes_volumes_from_and_bind_options() {
    let (s, reg, r) = fixture();
    // -v /path: an anonymous volume, gone with rm -v.
    s.ok(&[
        "run",
        "--name",
        "c1",
        "--network",
        "none",
        "-v",
        "/anon",
        &r,
        "sh",
        "-c",
        "echo a >/anon/f",
    ]);
    let anon = names(&s);
    assert_eq!(anon.len(), 1);
    assert_eq!(inspect(&s, &anon[0])["Anonymous"], true);
    s.ok(&["rm", "-v", "c1"]);
    assert!(names(&s).is_empty(), "rm -v removes anonymous volumes");
    // --rm removes them too.
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/anon",
        &r,
        "true",
    ]);
    assert!(names(&s).is_empty(), "--rm removes anonymous volumes");

    // An image's VOLUME: an anonymous volume filled from the image, or a
    // tmpfs, or nothing (--image-volume).
    let img = ImageBuilder::busybox()
        .unwrap()
        .layer_from_entries([
            e2e::layer::Entry::dir("seed", 0o755),
            e2e::layer::Entry::file("seed/hello", "from the image\n", 0o644),
        ])
        .unwrap()
        .volume("/seed")
        .build()
        .unwrap();
    reg.push("volimg", "latest", &img).unwrap();
    let vi = reg.reference("volimg", "latest");
    s.ok(&["pull", "-q", "--tls-verify=false", &vi]);
    s.ok(&[
        "create",
        "--name",
        "iv",
        "--network",
        "none",
        &vi,
        "cat",
        "/seed/hello",
    ]);
    assert_eq!(names(&s).len(), 1);
    assert_eq!(s.ok(&["start", "-a", "iv"]), "from the image\n");
    s.ok(&["rm", "-v", "iv"]);
    assert!(names(&s).is_empty());
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--image-volume",
            "tmpfs",
            &vi,
            "stat",
            "-f",
            "-c",
            "%T",
            "/seed"
        ]),
        "tmpfs\n"
    );
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--image-volume",
            "ignore",
            &vi,
            "sh",
            "-c",
            "grep -c ' /seed ' /proc/mounts; cat /seed/hello"
        ]),
        "0\nfrom the image\n"
    );
    let o = s.run(&["run", "--rm", "--image-volume", "sometimes", &vi, "true"]);
    assert_eq!(o.status.code(), Some(125));

    // --volumes-from, read-only.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "src",
        "--network",
        "none",
        "-v",
        "shared:/shared",
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&["exec", "src", "sh", "-c", "echo s >/shared/f"]);
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--volumes-from",
        "src:ro",
        &r,
        "sh",
        "-c",
        "cat /shared/f; touch /shared/g",
    ]);
    assert_eq!(stdout(&o), "s\n");
    assert_eq!(o.status.code(), Some(1), "ro from --volumes-from");
    let o = s.run(&["run", "--rm", "--volumes-from", "nosuchctr", &r, "true"]);
    assert_eq!(o.status.code(), Some(125));

    // Two different mounts at one place: refused.
    let o = s.run(&["run", "--rm", "-v", "a:/x", "-v", "b:/x", &r, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).trim(), "Error: /x: duplicate mount destination");
    assert!(!names(&s).contains(&"a".to_string()), "nothing half-made");
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--tmpfs",
        "/t",
        "--tmpfs",
        "/t",
        &r,
        "true",
    ]);
    let o = s.run(&[
        "run", "--rm", "--tmpfs", "/t", "--tmpfs", "/t:ro", &r, "true",
    ]);
    assert_eq!(stderr(&o).trim(), "Error: /t: duplicate mount destination");

    // Bind options: U chowns to the container user; z accepted; idmap
    // refused; propagation reaches the runtime.
    let dir = s.dir.path().join("udir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("f"), "").unwrap();
    let spec = format!("{}:/d:U,z", dir.display());
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "1000:2000",
            "-v",
            &spec,
            &r,
            "stat",
            "-c",
            "%u:%g",
            "/d/f"
        ]),
        "1000:2000\n"
    );
    assert_eq!(std::fs::metadata(dir.join("f")).unwrap().uid(), 1000);
    let o = s.run(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/d:idmap", dir.display()),
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("idmap mounts are not supported"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&[
        "run",
        "--rm",
        "--mount",
        "type=image,source=x,destination=/i",
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{}:/d:rshared", dir.display()),
        &r,
        "grep",
        " /d ",
        "/proc/self/mountinfo",
    ]);
    assert!(out.contains("shared:"), "{out}");
}
