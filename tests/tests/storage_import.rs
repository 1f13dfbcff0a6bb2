//! storage-helper end to end, getting images in: ImportOci over gRPC on a
//! helper spawned the way podman spawns it, import-oci from parallel
//! processes, Docker schema 2 / zstd / plain-tar layers, import-tar, and
//! blobs linked on one filesystem but copied and verified across two.
//! Real binaries, real OCI layouts built from busybox-static, real overlay
//! mounts (run as root).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use e2e::oci_image::{
    busybox_image, busybox_layer, busybox_with_file, EntryKind, ImageBuilder, LayerBuilder,
};
use e2e::raw_tar::{plain_layer, MTIME};
use e2e::storage_env::{tree, Node, Store};
use e2e::storage_fixtures::{write_with_layer_type, zstd_layer};

#[test]
fn busybox_imports_over_grpc_and_mounts_file_by_file() {
    let s = Store::new();
    let image = busybox_image().unwrap();
    let name = "127.0.0.1:5000/bb:latest";
    let layout = s.layout(&image, name);
    let mut g = s.grpc();
    let img = g.import_oci(&layout, name).unwrap();
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

    let ctr = g.create_container("c1", "bb").unwrap();
    assert_eq!(
        (ctr.image_id.as_str(), ctr.layers.clone()),
        (img.id.as_str(), img.layers.clone())
    );
    let m = g.mount("c1").unwrap();
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
    let u = g.unmount("c1").unwrap();
    assert!(u.unmounted);
    assert!(s.mounts().is_empty());
    g.remove_container("c1").unwrap();
    let list = g.list_containers().unwrap();
    assert!(list.containers.is_empty());
    let info = g.info().unwrap();
    assert_eq!((info.image_count, info.layer_count), (1, 1));
    g.finish().unwrap();
}

#[test]
fn four_parallel_imports_in_separate_processes_all_succeed() {
    let s = Store::new();
    let imgs: Vec<_> = (0..4)
        .map(|i| busybox_with_file(&format!("n{i}"), format!("{i}")).unwrap())
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
        let id = format!("c{i}");
        s.create_container(&id, &format!("localhost/p{i}:1"));
        let mp = s.mount(&id);
        assert_eq!(
            std::fs::read_to_string(mp.join(format!("n{i}"))).unwrap(),
            format!("{i}")
        );
        s.ok(&["rm-container", &id]);
    }
    assert!(s.mounts().is_empty());
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

    let zl = zstd_layer(
        LayerBuilder::new()
            .dir("z", 0o755)
            .file("z/hello", "zstd!", 0o644),
    )
    .unwrap();
    let plain = LayerBuilder::new()
        .file("plain", "tar", 0o600)
        .tar()
        .unwrap();
    let zimg = ImageBuilder::busybox()
        .unwrap()
        .layer(zl)
        .layer(plain_layer(plain))
        .build()
        .unwrap();
    let dir = s.dir.path().join("zstd-layout");
    let digest = write_with_layer_type(
        &zimg,
        &dir,
        "localhost/z:1",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    )
    .unwrap();
    let img = s.import_layout(&dir, "localhost/z:1");
    assert_eq!(img["digest"], digest.as_str());
    assert_eq!(
        img["layers"][0],
        s.json(&["inspect", "localhost/docker:1"])["layers"][0],
        "docker and OCI busybox share the layer"
    );
    s.create_container("z", "localhost/z:1");
    let mp = s.mount("z");
    assert_eq!(
        std::fs::read_to_string(mp.join("z/hello")).unwrap(),
        "zstd!"
    );
    assert_eq!(std::fs::read_to_string(mp.join("plain")).unwrap(), "tar");
    s.ok(&["rm-container", "z"]);
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
    s.create_container("t", &img["id"].as_str().unwrap()[..16]);
    let mp = s.mount("t");
    assert_eq!(std::fs::read_dir(&mp).unwrap().count(), 1);
    s.ok(&["rm-container", "t"]);
}

#[test]
fn blobs_are_linked_on_one_filesystem_and_copied_and_verified_across() {
    let s = Store::new();
    let image = busybox_image().unwrap();
    let img = s.import(&image, "localhost/bb:1");
    let layer_digest = &image.layers[0].digest;
    assert_eq!(
        std::fs::metadata(s.blob(layer_digest)).unwrap().nlink(),
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
    other.import_layout(shm.path(), "localhost/bb:1");
    assert_eq!(
        std::fs::metadata(other.blob(layer_digest)).unwrap().nlink(),
        1,
        "copied"
    );
    assert_eq!(
        std::fs::read(other.blob(layer_digest)).unwrap(),
        image.layers[0].tar_gz
    );

    let bad = tempfile::tempdir_in("/dev/shm").unwrap();
    let corrupt = busybox_with_file("c", "c").unwrap();
    let corrupt_digest = &corrupt.layers[1].digest;
    corrupt
        .write_oci_layout(bad.path(), "localhost/c:1")
        .unwrap();
    let victim = bad.path().join("blobs/sha256").join(&corrupt_digest[7..]);
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let fresh = Store::new();
    let err = fresh.import_layout_fails(bad.path(), "localhost/c:1");
    assert!(
        err.contains(corrupt_digest.as_str()) && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(fresh.json(&["images"]), serde_json::json!([]));
    // Same filesystem (hardlinked, not hashed yet): caught while unpacking.
    let same = s.dir.path().join("corrupt-layout");
    corrupt.write_oci_layout(&same, "localhost/c:1").unwrap();
    std::fs::copy(
        &victim,
        same.join("blobs/sha256").join(&corrupt_digest[7..]),
    )
    .unwrap();
    let err = s.import_layout_fails(&same, "localhost/c:1");
    assert!(
        err.contains(&corrupt_digest[7..19])
            && (err.contains("corrupt") || err.contains("unreadable")),
        "{err}"
    );
    assert!(
        !s.blob(corrupt_digest).exists(),
        "a corrupt blob does not stay in the store"
    );
    assert_eq!(s.json(&["images"]).as_array().unwrap().len(), 1);
}
