//! storage-helper end to end, image records: names, IDs, prefixes and
//! digests resolving like podman's, tags moving between images, rmi
//! refused while a container uses an image unless forced, and export-oci
//! giving back the original bytes (run as root).

use e2e::oci_image::{busybox_image, ImageBuilder, LayerBuilder};
use e2e::storage_env::Store;

#[test]
fn rmi_is_refused_while_a_container_uses_the_image_unless_forced() {
    let s = Store::new();
    let img = s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.create_container("user1", "localhost/bb");
    let err = s.fails(&["rmi", "localhost/bb:latest"]);
    assert!(
        err.contains("in use by container user1") && err.contains("localhost/bb:latest"),
        "{err}"
    );
    s.ok(&["rm-container", "user1"]);
    s.ok(&["rmi", "localhost/bb:latest"]);

    // Forced: the record goes, the container keeps its layers until removed.
    s.import(&busybox_image().unwrap(), "localhost/bb:latest");
    s.create_container("user2", img["id"].as_str().unwrap());
    let r = s.json(&["rmi", "--force", "localhost/bb"]);
    assert_eq!(r[0]["containers"], serde_json::json!(["user2"]));
    assert_eq!(s.layer_dirs().len(), 1);
    let mp = s.mount("user2");
    assert!(mp.join("bin/busybox").exists());
    s.ok(&["rm-container", "user2"]);
    assert!(s.layer_dirs().is_empty(), "the last user freed the layer");
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
    let again = fresh.import_layout(&out, "127.0.0.1:5000/x:2");
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
