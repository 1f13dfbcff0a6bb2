//! podman push end to end: to another repository with a digest file, to
//! the image's own name by default, and back into a fresh store; the
//! errors for a missing image and an unreachable registry.

use e2e::image_env::{hex, inspect, layered_image, pull, registry_with, sh};
use e2e::podman::{stderr, stdout, TestStore};

#[test]
fn push_to_another_repository_and_pull_it_back_into_a_fresh_store() {
    let image = layered_image().unwrap();
    let (reg, r) = registry_with("src/img", "1", &image);
    let s = TestStore::new();
    pull(&s, &r);
    let digestfile = s.dir.path().join("digest");
    let dest = reg.reference("dst/copy", "v2");
    let o = s.run(&[
        "push",
        "--tls-verify=false",
        "--digestfile",
        digestfile.to_str().unwrap(),
        &r,
        &format!("docker://{dest}"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("Writing manifest to image destination"),
        "{}",
        stderr(&o)
    );
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    assert_eq!(reg.get_manifest("dst/copy", "v2").unwrap().digest(), digest);
    assert_eq!(
        digest, image.manifest_digest,
        "the stored manifest is pushed byte for byte"
    );

    // Default destination: the image's own name.
    s.ok(&["tag", &r, &reg.reference("dst/tagged", "t")]);
    s.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        &reg.reference("dst/tagged", "t"),
    ]);

    let fresh = TestStore::new();
    for name in [dest.clone(), reg.reference("dst/tagged", "t")] {
        assert_eq!(pull(&fresh, &name), hex(&image.config_digest));
        assert_eq!(sh(&fresh, &name, "cat /data/sub/y"), "Y\n");
    }
    let o = s.run(&["push", "--tls-verify=false", "no/such:image", &dest]);
    assert_eq!(o.status.code(), Some(125));
    let o = s.run(&["push", "--tls-verify=false", &r, "127.0.0.1:1/x:y"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o)
            .lines()
            .filter(|l| l.starts_with("Error: "))
            .count(),
        1,
        "{}",
        stderr(&o)
    );
    // Go's words for the refused ping, as Podman prints them.
    assert!(
        stderr(&o).contains("pinging container registry 127.0.0.1:1: Get \"https://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"),
        "{}",
        stderr(&o)
    );
    assert!(
        std::fs::read_dir(s.root().join("staging"))
            .unwrap()
            .next()
            .is_none(),
        "staging left behind"
    );
}

/// The oci: layout's only manifest, parsed.
fn layout_manifest(dir: &std::path::Path) -> serde_json::Value {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let d = index["manifests"][0]["digest"].as_str().unwrap();
    let blob = dir.join("blobs/sha256").join(hex(d));
    serde_json::from_slice(&std::fs::read(blob).unwrap()).unwrap()
}

#[test]
fn committed_layers_are_stored_uncompressed_and_compressed_on_push() {
    let image = layered_image().unwrap();
    let (reg, r) = registry_with("base/img", "1", &image);
    let s = TestStore::new();
    pull(&s, &r);
    let ctr = "push-compress-ctr";
    s.ok(&[
        "run",
        "--name",
        ctr,
        &r,
        "sh",
        "-c",
        "echo committed > /data/new",
    ]);
    let committed = reg.reference("made/img", "c");
    s.ok(&["commit", "-q", ctr, &committed]);

    // As Podman stores it: the new layer uncompressed, its digest the diff ID.
    let saved = s.dir.path().join("saved");
    s.ok(&[
        "push",
        "-q",
        &committed,
        &format!("oci:{}", saved.display()),
    ]);
    let stored = layout_manifest(&saved);
    let top = stored["layers"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(top["mediaType"], "application/vnd.oci.image.layer.v1.tar");
    let diff_ids = inspect(&s, &committed)["RootFS"]["Layers"].clone();
    assert_eq!(
        top["digest"],
        diff_ids.as_array().unwrap().last().unwrap().clone()
    );

    // A push compresses it and puts a rebuilt manifest.
    let digestfile = s.dir.path().join("digest");
    s.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "--digestfile",
        digestfile.to_str().unwrap(),
        &committed,
    ]);
    let pushed = reg.get_manifest("made/img", "c").unwrap();
    assert_eq!(
        pushed.digest(),
        std::fs::read_to_string(&digestfile).unwrap()
    );
    let m = pushed.json().unwrap();
    let layer = m["layers"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_ne!(layer["digest"], top["digest"]);
    let blob = reg
        .get_blob("made/img", layer["digest"].as_str().unwrap())
        .unwrap();
    assert_eq!(&blob[..2], &[0x1f, 0x8b], "a gzip stream");
    assert_eq!(blob.len() as u64, layer["size"].as_u64().unwrap());
    assert!(
        !s.ok(&["images", "--digests", "--format", "{{.Digest}}", &committed])
            .contains(&pushed.digest()),
        "the registry's manifest is not the stored one"
    );

    // zstd on request (OCI manifests), levels checked.
    s.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "--compression-format",
        "zstd",
        "--compression-level",
        "5",
        &committed,
        &reg.reference("made/img", "zstd"),
    ]);
    let z = reg
        .get_manifest("made/img", "zstd")
        .unwrap()
        .json()
        .unwrap();
    for l in z["layers"].as_array().unwrap() {
        // --compression-format forces the base's gzip layers to zstd too.
        assert_eq!(
            l["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
    }
    let o = s.run(&[
        "push",
        "--tls-verify=false",
        "--compression-level",
        "42",
        &committed,
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("compression level 42"),
        "{}",
        stderr(&o)
    );

    // A fresh store pulls both back to the same image and content.
    let fresh = TestStore::new();
    for tag in ["c", "zstd"] {
        let name = reg.reference("made/img", tag);
        assert_eq!(
            pull(&fresh, &name),
            inspect(&s, &committed)["Id"].as_str().unwrap()
        );
        assert_eq!(sh(&fresh, &name, "cat /data/new"), "committed\n");
    }
    s.ok(&["rm", ctr]);
}
