//! storage-helper end to end: real binaries, real OCI layouts built from
//! busybox-static, real overlay mounts (run as root).
//!
//! ImportOci and Mount go through gRPC on a helper spawned the way podman
//! spawns it; everything else through the subcommands people use.

#[path = "storage/images.rs"]
mod images;
#[path = "storage/support.rs"]
mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use e2e::oci_image::{
    busybox_image, busybox_layer, sha256_digest, EntryKind, ImageBuilder, LayerBuilder,
};
use proto::storage::v1 as pb;
use support::{noise, plain_layer, rt, tree, xattr, Node, RawTar, Store, MTIME};

#[test]
fn busybox_imports_over_grpc_and_mounts_file_by_file() {
    let s = Store::new();
    let image = busybox_image().unwrap();
    let name = "127.0.0.1:5000/bb:latest";
    let layout = s.layout(&image, name);
    let rt = rt();
    let (mut h, mut c) = s.grpc(&rt);
    let img = rt
        .block_on(h.call(
            "ImportOci",
            c.import_oci(pb::ImportOciRequest {
                layout_dir: layout.display().to_string(),
                ref_name: name.into(),
                ..Default::default()
            }),
        ))
        .unwrap();
    assert_eq!(img.id, &image.config_digest[7..]);
    assert_eq!(img.names, vec![name.to_string()]);
    assert_eq!(img.digest, image.manifest_digest);
    assert_eq!(
        img.manifest, image.manifest_bytes,
        "manifest kept byte for byte"
    );
    assert_eq!(img.config, image.config_bytes);
    assert_eq!(img.created, "2023-11-14T22:13:20Z");
    // One layer: its chain ID is its diff_id.
    let layer = busybox_layer().unwrap();
    assert_eq!(img.layers, vec![layer.diff_id[7..].to_string()]);
    assert_eq!(img.size, layer.tar().unwrap().len() as u64);

    // The unpacked layer is the busybox tree, file by file.
    let diff = s.layers_dir().join(&img.layers[0]).join("diff");
    let unpacked = tree(&diff);
    for e in layer.entries().unwrap() {
        let got = unpacked
            .get(&e.path)
            .unwrap_or_else(|| panic!("{} missing", e.path));
        match (&e.kind, got) {
            (
                EntryKind::File(data),
                Node::File {
                    mode,
                    uid,
                    gid,
                    data: d,
                },
            ) => {
                assert_eq!(
                    (d, *mode, *uid, *gid),
                    (data, e.mode, e.uid as u32, e.gid as u32),
                    "{}",
                    e.path
                )
            }
            (EntryKind::Dir, Node::Dir { mode, .. }) => assert_eq!(*mode, e.mode, "{}", e.path),
            (EntryKind::Symlink(t), Node::Symlink { target }) => {
                assert_eq!(t, target, "{}", e.path)
            }
            other => panic!("{}: {other:?}", e.path),
        }
    }
    assert_eq!(
        std::fs::metadata(diff.join("bin/busybox")).unwrap().mtime(),
        MTIME as i64
    );

    let ctr = rt
        .block_on(h.call(
            "CreateContainer",
            c.create_container(pb::CreateContainerRequest {
                id: "c1".into(),
                image: "bb".into(),
                ..Default::default()
            }),
        ))
        .unwrap();
    assert_eq!(
        (ctr.image_id.as_str(), ctr.layers.clone()),
        (img.id.as_str(), img.layers.clone())
    );
    let m = rt
        .block_on(h.call("Mount", c.mount(pb::MountRequest { id: "c1".into() })))
        .unwrap();
    assert_eq!(m.mount_count, 1);
    let merged = Path::new(&m.mountpoint);
    assert_eq!(
        std::fs::read(merged.join("bin/busybox")).unwrap(),
        std::fs::read("/usr/bin/busybox").unwrap()
    );
    assert_eq!(
        std::fs::read_link(merged.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert_eq!(
        std::fs::read_to_string(merged.join("etc/passwd"))
            .unwrap()
            .lines()
            .next(),
        Some("root:x:0:0:root:/root:/bin/sh")
    );
    assert_eq!(
        std::fs::metadata(merged.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
    // Writes land in the container layer, not in the shared image layer.
    std::fs::write(merged.join("tmp/hello"), "hi").unwrap();
    assert!(Path::new(&ctr.upper_dir).join("tmp/hello").exists());
    assert!(!diff.join("tmp/hello").exists());
    assert!(s.mounts().contains(&m.mountpoint));
    let u = rt
        .block_on(h.call(
            "Unmount",
            c.unmount(pb::UnmountRequest {
                id: "c1".into(),
                force: false,
            }),
        ))
        .unwrap();
    assert!(u.unmounted);
    assert!(s.mounts().is_empty());
    rt.block_on(h.call(
        "RemoveContainer",
        c.remove_container(pb::RemoveContainerRequest { id: "c1".into() }),
    ))
    .unwrap();
    let list = rt
        .block_on(h.call(
            "ListContainers",
            c.list_containers(pb::ListContainersRequest {}),
        ))
        .unwrap();
    assert!(list.containers.is_empty());
    let info = rt
        .block_on(h.call("Info", c.info(proto::common::v1::InfoRequest::default())))
        .unwrap();
    assert_eq!((info.image_count, info.layer_count), (1, 1));
    drop(c);
    rt.block_on(h.finish(Duration::from_secs(5))).unwrap();
}

#[test]
fn whiteouts_opaque_dirs_links_devices_xattrs_and_owners_merge_exactly() {
    let s = Store::new();
    let image = images::three_layer_image();
    let img = s.import(&image, "localhost/tricky:1");
    let layers: Vec<String> = img["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers.len(), 3);

    // In the layer directories: overlay's own whiteout forms.
    let l2 = s.layers_dir().join(&layers[1]).join("diff");
    let wh = std::fs::symlink_metadata(l2.join("data/gone")).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&wh.file_type()) && wh.rdev() == 0,
        "whiteout is a 0/0 char device"
    );
    assert!(!l2.join("data/.wh.gone").exists());
    assert_eq!(
        xattr(&l2.join("opq"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    let (a, b) = (
        std::fs::metadata(l2.join("srv/file")).unwrap(),
        std::fs::metadata(l2.join("srv/hard")).unwrap(),
    );
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2), "hard link kept");

    s.ok(&[
        "create-container",
        "tricky",
        "--image",
        "localhost/tricky:1",
    ]);
    let mp = s.ok(&["mount", "tricky"]).trim().to_string();
    let merged = tree(Path::new(&mp));
    assert_eq!(merged, images::three_layer_expected(), "merged view");
    assert_eq!(
        xattr(&Path::new(&mp).join("srv/file"), "user.note").as_deref(),
        Some(&b"kept"[..])
    );
    let f = std::fs::metadata(Path::new(&mp).join("srv/file")).unwrap();
    assert_eq!(f.mtime(), MTIME as i64);
    assert_eq!(
        std::fs::metadata(Path::new(&mp).join("home/user"))
            .unwrap()
            .mtime(),
        MTIME as i64,
        "directory mtimes survive their children"
    );
    s.ok(&["unmount", "tricky"]);
    assert!(s.mounts().is_empty());
}

#[test]
fn images_sharing_a_base_store_it_once_and_rmi_frees_by_refcount() {
    let s = Store::new();
    let a = busybox_image().unwrap();
    let b = ImageBuilder::busybox()
        .unwrap()
        .layer(
            LayerBuilder::new()
                .file("b.txt", "b", 0o644)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let ia = s.import(&a, "localhost/a:1");
    let ib = s.import(&b, "localhost/b:1");
    assert_eq!(ia["layers"][0], ib["layers"][0], "same base chain ID");
    assert_eq!(s.layer_dirs().len(), 2, "the shared base is stored once");
    // config+manifest each, busybox layer once, b's extra layer.
    assert_eq!(s.blob_count(), 2 + 2 + 1 + 1);

    let out = s.ok(&["rmi", "localhost/a:1"]);
    assert!(
        out.contains("Untagged: localhost/a:1")
            && out.contains(&format!("Deleted: {}", ia["id"].as_str().unwrap())),
        "{out}"
    );
    assert_eq!(s.layer_dirs().len(), 2, "b still needs the base");
    assert_eq!(s.blob_count(), 4);
    let dirs_before = s.layer_dirs();
    s.ok(&["rmi", "localhost/b:1"]);
    assert!(
        s.layer_dirs().is_empty(),
        "left: {dirs_before:?} -> {:?}",
        s.layer_dirs()
    );
    assert_eq!(s.blob_count(), 0);
    assert_eq!(
        std::fs::read_dir(s.layers_dir().join("l")).unwrap().count(),
        0,
        "links go with their layers"
    );
    assert_eq!(s.json(&["images"]), serde_json::json!([]));
}

#[test]
fn rmi_is_refused_while_a_container_uses_the_image_unless_forced() {
    let s = Store::new();
    let img = s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.ok(&["create-container", "user1", "--image", "localhost/bb"]);
    let err = s.fails(&["rmi", "localhost/bb:latest"]);
    assert!(
        err.contains("in use by container user1") && err.contains("localhost/bb:latest"),
        "{err}"
    );
    s.ok(&["rm-container", "user1"]);
    s.ok(&["rmi", "localhost/bb:latest"]);

    // Forced: the record goes, the container keeps its layers until removed.
    s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.ok(&[
        "create-container",
        "user2",
        "--image",
        img["id"].as_str().unwrap(),
    ]);
    let r = s.json(&["rmi", "--force", "localhost/bb"]);
    assert_eq!(r[0]["containers"], serde_json::json!(["user2"]));
    assert_eq!(s.layer_dirs().len(), 1);
    let mp = s.ok(&["mount", "user2"]).trim().to_string();
    assert!(Path::new(&mp).join("bin/busybox").exists());
    s.ok(&["rm-container", "user2"]);
    assert!(s.layer_dirs().is_empty(), "the last user freed the layer");
    assert!(s.mounts().is_empty());
}

#[test]
fn four_parallel_imports_in_separate_processes_all_succeed() {
    let s = Store::new();
    let imgs: Vec<_> = (0..4)
        .map(|i| {
            ImageBuilder::busybox()
                .unwrap()
                .layer(
                    LayerBuilder::new()
                        .file(&format!("n{i}"), format!("{i}"), 0o644)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        })
        .collect();
    let layouts: Vec<_> = imgs
        .iter()
        .enumerate()
        .map(|(i, im)| s.layout(im, &format!("localhost/p{i}:1")))
        .collect();
    let children: Vec<_> = layouts
        .iter()
        .enumerate()
        .map(|(i, l)| {
            s.cmd()
                .args([
                    "import-oci",
                    l.to_str().unwrap(),
                    "--ref",
                    &format!("localhost/p{i}:1"),
                ])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for ch in children {
        let o = ch.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let list = s.json(&["images"]);
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(s.layer_dirs().len(), 5, "busybox once plus four tops");
    for i in 0..4 {
        s.ok(&[
            "create-container",
            &format!("c{i}"),
            "--image",
            &format!("localhost/p{i}:1"),
        ]);
        let mp = s.ok(&["mount", &format!("c{i}")]).trim().to_string();
        assert_eq!(
            std::fs::read_to_string(Path::new(&mp).join(format!("n{i}"))).unwrap(),
            format!("{i}")
        );
        s.ok(&["rm-container", &format!("c{i}")]);
    }
    assert!(s.mounts().is_empty());
}

#[test]
fn names_ids_prefixes_and_digests_resolve_like_podman() {
    let s = Store::new();
    let image = busybox_image().unwrap();
    let img = s.import(&image, "127.0.0.1:5000/bb:latest");
    let id = img["id"].as_str().unwrap().to_string();
    let specs = [
        id.clone(),
        id[..12].to_string(),
        id[..3].to_string(),
        format!("sha256:{id}"),
        "127.0.0.1:5000/bb:latest".into(),
        "127.0.0.1:5000/bb".into(),
        "bb".into(),
        "bb:latest".into(),
        format!("127.0.0.1:5000/bb@{}", image.manifest_digest),
        image.manifest_digest.clone(),
    ];
    for spec in &specs {
        assert_eq!(s.json(&["inspect", spec])["id"], id.as_str(), "{spec}");
    }
    for bad in [
        "bb:2",
        "other",
        "127.0.0.1:5000/bb@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let err = s.fails(&["inspect", bad]);
        assert!(err.contains("image not known"), "{err}");
    }

    // Tags: a name belongs to one image; rmi of one of several names untags.
    s.ok(&["tag", "bb", "localhost/second:1", "localhost/third:1"]);
    assert_eq!(
        s.json(&["inspect", "localhost/second:1"])["names"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let err = s.fails(&["rmi", &id[..12]]);
    assert!(err.contains("several names"), "{err}");
    let out = s.ok(&["rmi", "localhost/third:1"]);
    assert_eq!(out.trim(), "Untagged: localhost/third:1");
    s.ok(&["untag", "bb", "localhost/second:1"]);
    assert_eq!(
        s.json(&["inspect", &id])["names"],
        serde_json::json!(["127.0.0.1:5000/bb:latest"])
    );
    let err = s.fails(&["tag", "bb", "Bad Name"]);
    assert!(err.contains("invalid image name"), "{err}");

    // 17 images: two IDs must share their first hex digit.
    let mut ids = vec![id.clone()];
    for i in 0..16 {
        let im = ImageBuilder::new()
            .layer(
                LayerBuilder::new()
                    .file("f", format!("{i}"), 0o644)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        ids.push(
            s.import(&im, &format!("localhost/tiny:{i}"))["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let dup = ids
        .iter()
        .find(|a| ids.iter().filter(|b| b[..1] == a[..1]).count() > 1)
        .unwrap();
    let err = s.fails(&["inspect", &dup[..1]]);
    assert!(err.contains("ambiguous"), "{err}");
    // Moving a name takes it from its old image.
    s.ok(&["tag", &ids[1], "127.0.0.1:5000/bb:latest"]);
    assert_eq!(
        s.json(&["inspect", "127.0.0.1:5000/bb:latest"])["id"],
        ids[1].as_str()
    );
    assert_eq!(s.json(&["inspect", &id])["names"], serde_json::json!([]));
}

#[test]
fn mounts_are_counted_and_leave_nothing_in_mountinfo() {
    let s = Store::new();
    s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.ok(&["create-container", "m", "--image", "bb"]);
    let rt = rt();
    let (mut h, mut c) = s.grpc(&rt);
    let m1 = rt
        .block_on(h.call("Mount", c.mount(pb::MountRequest { id: "m".into() })))
        .unwrap();
    let m2 = rt
        .block_on(h.call("Mount", c.mount(pb::MountRequest { id: "m".into() })))
        .unwrap();
    assert_eq!(
        (m1.mount_count, m2.mount_count, &m1.mountpoint),
        (1, 2, &m2.mountpoint)
    );
    assert_eq!(
        s.mounts(),
        vec![m1.mountpoint.clone()],
        "one overlay for two mounts"
    );
    let u = rt
        .block_on(h.call(
            "Unmount",
            c.unmount(pb::UnmountRequest {
                id: "m".into(),
                force: false,
            }),
        ))
        .unwrap();
    assert_eq!((u.unmounted, u.mount_count), (false, 1));
    assert_eq!(s.mounts().len(), 1);
    let u = rt
        .block_on(h.call(
            "Unmount",
            c.unmount(pb::UnmountRequest {
                id: "m".into(),
                force: false,
            }),
        ))
        .unwrap();
    assert_eq!((u.unmounted, u.mount_count), (true, 0));
    assert!(s.mounts().is_empty());
    // Unmounting what is not mounted is fine.
    let u = rt
        .block_on(h.call(
            "Unmount",
            c.unmount(pb::UnmountRequest {
                id: "m".into(),
                force: false,
            }),
        ))
        .unwrap();
    assert!(!u.unmounted);
    // A mounted container is unmounted by its removal, however often mounted.
    s.ok(&["mount", "m"]);
    s.ok(&["mount", "m"]);
    let cont = s.json(&["containers"]);
    assert_eq!(cont[0]["mount_count"], 2);
    let r = rt
        .block_on(h.call(
            "RemoveContainer",
            c.remove_container(pb::RemoveContainerRequest { id: "m".into() }),
        ))
        .unwrap();
    assert!(r.was_mounted);
    assert!(s.mounts().is_empty());
    assert!(!s.runroot().join("overlay-containers/m").exists());
    let err = rt
        .block_on(h.call("Mount", c.mount(pb::MountRequest { id: "m".into() })))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such container"), "{err}");
    drop(c);
    rt.block_on(h.finish(Duration::from_secs(5))).unwrap();
}

#[test]
fn images_of_120_and_160_layers_mount() {
    let s = Store::new();
    let mut b = ImageBuilder::busybox().unwrap();
    for i in 1..160 {
        b = b.layer(
            LayerBuilder::new()
                .dir("layers", 0o755)
                .file(&format!("layers/{i:03}"), format!("{i}"), 0o644)
                .build()
                .unwrap(),
        );
        if i == 119 {
            s.import(&b.clone().build().unwrap(), "localhost/deep:120");
        }
    }
    s.import(&b.build().unwrap(), "localhost/deep:160");
    assert_eq!(
        s.layer_dirs().len(),
        160,
        "the 160-layer image reuses the 120 layers"
    );
    for (tag, n) in [("120", 120usize), ("160", 160)] {
        // With full paths the lowerdir option alone would not fit in a page.
        let full: usize = s
            .layer_dirs()
            .iter()
            .take(n)
            .map(|d| s.layers_dir().join(d).join("diff").to_string_lossy().len() + 1)
            .sum();
        assert!(full > 4096, "{full}");
        let id = format!("deep{tag}");
        s.ok(&[
            "create-container",
            &id,
            "--image",
            &format!("localhost/deep:{tag}"),
        ]);
        let mp = s.ok(&["mount", &id]).trim().to_string();
        let files = std::fs::read_dir(Path::new(&mp).join("layers"))
            .unwrap()
            .count();
        assert_eq!(files, n - 1);
        assert_eq!(
            std::fs::read_to_string(Path::new(&mp).join("layers/100")).unwrap(),
            "100"
        );
        assert!(Path::new(&mp).join("bin/busybox").exists());
        s.ok(&["unmount", &id]);
    }
    assert!(s.mounts().is_empty());
}

#[test]
fn sigkill_during_a_big_layer_import_leaves_no_half_image_and_the_next_import_works() {
    let s = Store::new();
    let mut tar = RawTar::default().dir("big", 0o755, 0, 0);
    for i in 0..400 {
        tar = tar.file(&format!("big/{i:04}"), &noise(i, 128 * 1024), 0o644, 0, 0);
    }
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer(plain_layer(tar.finish()))
        .build()
        .unwrap();
    let layout = s.layout(&image, "localhost/big:1");
    let mut caught = false;
    for attempt in 0..5 {
        let mut child = s
            .cmd()
            .args([
                "import-oci",
                layout.to_str().unwrap(),
                "--ref",
                "localhost/big:1",
            ])
            .spawn()
            .unwrap();
        // Wait until a layer is being unpacked, then kill.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut busy = false;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            let tmp = std::fs::read_dir(s.layers_dir()).map(|rd| {
                rd.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            });
            if tmp.unwrap_or(false) && s.layer_dirs().len() == 1 {
                busy = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let st = child.wait().unwrap();
        if busy && st.code().is_none() {
            caught = true;
            // No image, and no layer but the small one that finished.
            assert_eq!(s.json(&["images"]), serde_json::json!([]));
            let recorded: Vec<String> = s
                .json(&["layers"])
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["chain_id"].as_str().unwrap().to_string())
                .collect();
            assert!(recorded.len() <= 1, "{recorded:?}");
            assert!(s.layer_dirs().len() <= 1);
            break;
        }
        eprintln!("attempt {attempt}: import finished before the kill; retrying from scratch");
        s.ok(&["rmi", "localhost/big:1"]);
    }
    assert!(
        caught,
        "never caught the import in the middle of the big layer"
    );
    let img = s.import(&image, "localhost/big:1");
    assert_eq!(img["layers"].as_array().unwrap().len(), 2);
    let leftovers: Vec<String> = std::fs::read_dir(s.layers_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    s.ok(&["create-container", "big", "--image", "localhost/big:1"]);
    let mp = s.ok(&["mount", "big"]).trim().to_string();
    assert_eq!(
        std::fs::read(Path::new(&mp).join("big/0399")).unwrap(),
        noise(399, 128 * 1024)
    );
    s.ok(&["rm-container", "big"]);
}

#[test]
fn a_layer_whose_diff_id_does_not_match_is_refused() {
    let s = Store::new();
    let mut layer = LayerBuilder::new().file("x", "x", 0o644).build().unwrap();
    layer.diff_id = sha256_digest(b"not the content");
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer(layer.clone())
        .build()
        .unwrap();
    let layout = s.layout(&image, "localhost/bad:1");
    let err = s.fails(&[
        "import-oci",
        layout.to_str().unwrap(),
        "--ref",
        "localhost/bad:1",
    ]);
    assert!(
        err.contains("diff_id")
            && err.contains(&layer.diff_id)
            && err.contains(&layer.digest[7..19])
            && err.contains("localhost/bad:1"),
        "{err}"
    );
    assert_eq!(s.json(&["images"]), serde_json::json!([]));
    let recorded = s.json(&["layers"]);
    assert_eq!(
        recorded.as_array().unwrap().len(),
        1,
        "only the good busybox layer: {recorded}"
    );
    assert_eq!(s.layer_dirs().len(), 1);
}

#[test]
fn docker_schema2_and_zstd_and_plain_layers_import() {
    let s = Store::new();
    let docker = ImageBuilder::busybox()
        .unwrap()
        .docker_schema2()
        .build()
        .unwrap();
    let img = s.import(&docker, "localhost/docker:1");
    assert_eq!(
        img["manifest_media_type"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        s.json(&["inspect", "localhost/docker:1"])["manifest"],
        serde_json::from_slice::<serde_json::Value>(&docker.manifest_bytes).unwrap()
    );

    let zl = images::zstd_layer(
        LayerBuilder::new()
            .dir("z", 0o755)
            .file("z/hello", "zstd!", 0o644),
    );
    let zimg = ImageBuilder::busybox()
        .unwrap()
        .layer(zl)
        .layer(plain_layer(
            LayerBuilder::new()
                .file("plain", "tar", 0o600)
                .tar()
                .unwrap(),
        ))
        .build()
        .unwrap();
    let dir = s.dir.path().join("zstd-layout");
    let digest = images::write_with_layer_type(
        &zimg,
        &dir,
        "localhost/z:1",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    );
    let img = s.json(&[
        "import-oci",
        dir.to_str().unwrap(),
        "--ref",
        "localhost/z:1",
    ]);
    assert_eq!(img["digest"], digest.as_str());
    assert_eq!(
        img["layers"][0],
        s.json(&["inspect", "localhost/docker:1"])["layers"][0],
        "docker and OCI busybox share the layer"
    );
    s.ok(&["create-container", "z", "--image", "localhost/z:1"]);
    let mp = s.ok(&["mount", "z"]).trim().to_string();
    assert_eq!(
        std::fs::read_to_string(Path::new(&mp).join("z/hello")).unwrap(),
        "zstd!"
    );
    assert_eq!(
        std::fs::read_to_string(Path::new(&mp).join("plain")).unwrap(),
        "tar"
    );
    s.ok(&["rm-container", "z"]);
}

#[test]
fn export_oci_gives_back_the_original_bytes_and_reimports() {
    let s = Store::new();
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer(LayerBuilder::new().file("x", "x", 0o644).build().unwrap())
        .docker_schema2()
        .build()
        .unwrap();
    let img = s.import(&image, "127.0.0.1:5000/x:1");
    s.ok(&["tag", "127.0.0.1:5000/x:1", "127.0.0.1:5000/x:2"]);
    let out = s.dir.path().join("exported");
    let r = s.json(&[
        "export-oci",
        &img["id"].as_str().unwrap()[..12],
        "--dest",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.as_array().unwrap().len(), 2, "one entry per name: {r}");
    for (d, bytes) in image.blobs() {
        assert_eq!(
            std::fs::read(out.join("blobs/sha256").join(&d[7..])).unwrap(),
            bytes,
            "{d}"
        );
    }
    assert_eq!(
        std::fs::read(out.join("blobs/sha256").join(&image.manifest_digest[7..])).unwrap(),
        image.manifest_bytes
    );
    let index = e2e::oci_image::read_index_json(&out).unwrap();
    let refs: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(refs, ["127.0.0.1:5000/x:1", "127.0.0.1:5000/x:2"]);
    assert_eq!(
        index["manifests"][0]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );

    let fresh = Store::new();
    let again = fresh.json(&[
        "import-oci",
        out.to_str().unwrap(),
        "--ref",
        "127.0.0.1:5000/x:2",
    ]);
    assert_eq!(
        (&again["id"], &again["digest"]),
        (&img["id"], &img["digest"])
    );
    // Exporting by name writes only that name.
    let one = s.dir.path().join("one");
    s.ok(&[
        "export-oci",
        "127.0.0.1:5000/x:2",
        "--dest",
        one.to_str().unwrap(),
        "--link",
    ]);
    assert_eq!(
        e2e::oci_image::read_index_json(&one).unwrap()["manifests"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn container_diff_commit_and_export() {
    let s = Store::new();
    s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.ok(&["create-container", "work", "--image", "bb"]);
    let mp = s.ok(&["mount", "work"]).trim().to_string();
    let m = Path::new(&mp);
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
    s.ok(&[
        "create-container",
        "child",
        "--image",
        "localhost/committed:1",
    ]);
    let cm = s.ok(&["mount", "child"]).trim().to_string();
    let cm = Path::new(&cm);
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

#[test]
fn import_tar_makes_a_one_layer_image() {
    let s = Store::new();
    let layer = busybox_layer().unwrap();
    let tarball = s.dir.path().join("rootfs.tar.gz");
    std::fs::write(&tarball, &layer.tar_gz).unwrap();
    let img = s.json(&[
        "import-tar",
        tarball.to_str().unwrap(),
        "--name",
        "localhost/imported:1",
        "--cmd",
        "[\"sh\"]",
        "--message",
        "from a tarball",
    ]);
    assert_eq!(img["layers"], serde_json::json!([&layer.diff_id[7..]]));
    let config = s.json(&["inspect", "localhost/imported:1"])["config"].clone();
    assert_eq!(config["history"][0]["comment"], "from a tarball");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
    // The layer is the very same one a pulled busybox uses.
    let pulled = s.import(&busybox_image().unwrap(), "localhost/bb:1");
    assert_eq!(pulled["layers"], img["layers"]);
    assert_eq!(s.layer_dirs().len(), 1);
    let plain = s.dir.path().join("rootfs.tar");
    std::fs::write(
        &plain,
        LayerBuilder::new().file("only", "1", 0o644).tar().unwrap(),
    )
    .unwrap();
    let img = s.json(&["import-tar", plain.to_str().unwrap()]);
    assert_eq!(img["names"], serde_json::json!([]));
    s.ok(&[
        "create-container",
        "t",
        "--image",
        &img["id"].as_str().unwrap()[..16],
    ]);
    let mp = s.ok(&["mount", "t"]).trim().to_string();
    assert_eq!(std::fs::read_dir(&mp).unwrap().count(), 1);
    s.ok(&["rm-container", "t"]);
}

#[test]
fn hostile_layers_cannot_write_outside_their_directory() {
    let s = Store::new();
    let outside = s.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    // `..` in a path is refused outright.
    let dotdot = RawTar::default()
        .file("../../escaped", b"x", 0o644, 0, 0)
        .finish();
    let image = ImageBuilder::new()
        .layer(plain_layer(dotdot))
        .build()
        .unwrap();
    let err = s.fails(&[
        "import-oci",
        s.layout(&image, "localhost/evil:1").to_str().unwrap(),
        "--ref",
        "localhost/evil:1",
    ]);
    assert!(
        err.contains("'..'") && err.contains("localhost/evil:1"),
        "{err}"
    );
    // A symlink to an absolute path is followed inside the layer only.
    let target = outside.to_str().unwrap();
    let escape = RawTar::default()
        .symlink("esc", target)
        .file("esc/pwned", b"x", 0o644, 0, 0)
        .symlink("up", "../../../../../..")
        .file("up/tmp/pwned2", b"y", 0o644, 0, 0)
        .finish();
    let image = ImageBuilder::new()
        .layer(plain_layer(escape))
        .build()
        .unwrap();
    let img = s.import(&image, "localhost/evil:2");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside"
    );
    assert!(!Path::new("/tmp/pwned2").exists());
    let diff = s
        .layers_dir()
        .join(img["layers"][0].as_str().unwrap())
        .join("diff");
    assert!(
        diff.join(target.trim_start_matches('/'))
            .join("pwned")
            .exists(),
        "landed inside the layer"
    );
    assert!(diff.join("tmp/pwned2").exists());
    let err = s.fails(&["import-oci", "/nonexistent-layout", "--ref", "x"]);
    assert!(err.contains("not an OCI image layout"), "{err}");
    let err = s.fails(&[
        "import-oci",
        s.layout(&image, "localhost/evil:2").to_str().unwrap(),
        "--ref",
        "localhost/missing:1",
    ]);
    assert!(
        err.contains("no image named \"localhost/missing:1\"") && err.contains("localhost/evil:2"),
        "{err}"
    );
}

#[test]
fn blobs_are_linked_on_one_filesystem_and_copied_and_verified_across() {
    let s = Store::new();
    let image = busybox_image().unwrap();
    let img = s.import(&image, "localhost/bb:1");
    let layer_blob = |st: &Store| {
        st.root()
            .join("blobs/sha256")
            .join(&image.layers[0].digest[7..])
    };
    assert_eq!(
        std::fs::metadata(layer_blob(&s)).unwrap().nlink(),
        2,
        "hardlinked from the layout"
    );
    // The same image again under another name: one record, two names.
    let again = s.import(&image, "localhost/bb:2");
    assert_eq!(again["id"], img["id"]);
    assert_eq!(
        again["names"],
        serde_json::json!(["localhost/bb:1", "localhost/bb:2"])
    );

    // tmpfs is another filesystem: blobs are copied, and checked on the way.
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    image
        .write_oci_layout(shm.path(), "localhost/bb:1")
        .unwrap();
    let other = Store::new();
    other.json(&[
        "import-oci",
        shm.path().to_str().unwrap(),
        "--ref",
        "localhost/bb:1",
    ]);
    assert_eq!(
        std::fs::metadata(layer_blob(&other)).unwrap().nlink(),
        1,
        "copied"
    );
    assert_eq!(
        std::fs::read(layer_blob(&other)).unwrap(),
        image.layers[0].tar_gz
    );

    let bad = tempfile::tempdir_in("/dev/shm").unwrap();
    let corrupt = ImageBuilder::busybox()
        .unwrap()
        .layer(LayerBuilder::new().file("c", "c", 0o644).build().unwrap())
        .build()
        .unwrap();
    corrupt
        .write_oci_layout(bad.path(), "localhost/c:1")
        .unwrap();
    let victim = bad
        .path()
        .join("blobs/sha256")
        .join(&corrupt.layers[1].digest[7..]);
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let fresh = Store::new();
    let err = fresh.fails(&[
        "import-oci",
        bad.path().to_str().unwrap(),
        "--ref",
        "localhost/c:1",
    ]);
    assert!(
        err.contains(&corrupt.layers[1].digest) && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(fresh.json(&["images"]), serde_json::json!([]));
    // Same filesystem (hardlinked, not hashed yet): caught while unpacking.
    let same = s.dir.path().join("corrupt-layout");
    corrupt.write_oci_layout(&same, "localhost/c:1").unwrap();
    std::fs::copy(
        &victim,
        same.join("blobs/sha256")
            .join(&corrupt.layers[1].digest[7..]),
    )
    .unwrap();
    let err = s.fails(&[
        "import-oci",
        same.to_str().unwrap(),
        "--ref",
        "localhost/c:1",
    ]);
    assert!(
        err.contains(&corrupt.layers[1].digest[7..19])
            && (err.contains("corrupt") || err.contains("unreadable")),
        "{err}"
    );
    assert!(
        !s.root()
            .join("blobs/sha256")
            .join(&corrupt.layers[1].digest[7..])
            .exists(),
        "a corrupt blob does not stay in the store"
    );
    assert_eq!(s.json(&["images"]).as_array().unwrap().len(), 1);
}
