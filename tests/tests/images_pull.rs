//! podman pull end to end through the real helpers, registry and runc:
//! a multi-layer image (whiteouts, opaque directories) giving the right
//! files, inspect document and history; platform flags picking the
//! manifest from an index.

#[path = "fetcher_support/mod.rs"]
#[allow(dead_code)]
mod fetcher_support;

use e2e::image_env::{
    assert_fails, hex, inspect, layered_image, pull, pull_with, registry_with, run_image, sh,
    try_pull,
};
use e2e::oci_image::{host_arch, ImageBuilder, ImageIndex};
use e2e::podman::TestStore;
use e2e::registry::Registry;
use serde_json::Value;

#[test]
fn a_multi_layer_pull_gives_the_right_files_inspect_and_history() {
    let image = layered_image().unwrap();
    let (reg, r) = registry_with("team/layered", "1.0", &image);
    let s = TestStore::new();
    let id = pull(&s, &r);
    assert_eq!(id, hex(&image.config_digest));

    let out = sh(&s, &r, "ls /data; echo --; ls -a /data/sub; echo --; cat /data/b /data/sub/y /etc/motd; test -e /data/a || echo a-gone; test -e /data/sub/x || echo x-gone");
    assert_eq!(
        out,
        "b\nsub\n--\n.\n..\ny\n--\nnew\nY\nwelcome\na-gone\nx-gone\n"
    );
    // The image's own command and the busybox layer underneath.
    assert_eq!(run_image(&s, &r), "new\n");
    assert_eq!(
        sh(&s, &r, "cat /etc/passwd | head -1"),
        "root:x:0:0:root:/root:/bin/sh\n"
    );

    let doc = inspect(&s, &r);
    assert_eq!(doc["Id"], hex(&image.config_digest));
    assert_eq!(doc["RepoTags"], serde_json::json!([r]));
    assert_eq!(
        doc["RepoDigests"],
        serde_json::json!([format!(
            "{}/team/layered@{}",
            reg.addr, image.manifest_digest
        )])
    );
    assert_eq!(doc["Config"]["Cmd"], serde_json::json!(["cat", "/data/b"]));
    assert_eq!(doc["Labels"]["e2e"], "layered");
    assert_eq!(doc["Architecture"], host_arch());
    assert_eq!(doc["Os"], "linux");
    let diff_ids: Vec<Value> = image
        .layers
        .iter()
        .map(|l| Value::from(l.diff_id.clone()))
        .collect();
    assert_eq!(doc["RootFS"]["Layers"], Value::Array(diff_ids));
    // The same document through short forms of the name and the ID.
    assert_eq!(inspect(&s, "layered:1.0")["Id"], doc["Id"]);
    assert_eq!(inspect(&s, &id[..12])["Id"], doc["Id"]);

    let history = s.ok(&["history", "--format", "{{.CreatedBy}}|{{.ID}}", &r]);
    let rows: Vec<&str> = history.lines().collect();
    assert_eq!(rows.len(), 3, "{history}");
    assert_eq!(rows[0], format!("whiteout and opaque|{}", &id[..12]));
    assert!(
        rows[1].starts_with("e2e fixture layer 2|<missing>"),
        "{history}"
    );
    assert!(rows[2].starts_with("ADD busybox rootfs"), "{history}");
}

#[test]
fn platform_flags_pick_the_manifest_from_an_index() {
    let reg = Registry::start().unwrap();
    let (other, variant) = fetcher_support::other_arch();
    let native = ImageBuilder::busybox()
        .unwrap()
        .label("platform", "native")
        .build()
        .unwrap();
    let mut foreign_b = ImageBuilder::busybox()
        .unwrap()
        .architecture(other)
        .label("platform", "foreign");
    if !variant.is_empty() {
        foreign_b = foreign_b.variant(variant);
    }
    let foreign = foreign_b.build().unwrap();
    let index = ImageIndex::oci(vec![native.clone(), foreign.clone()]).unwrap();
    reg.push_index("multi", "latest", &index).unwrap();
    let r = reg.reference("multi", "latest");

    let s = TestStore::new();
    assert_eq!(pull(&s, &r), hex(&native.config_digest));
    assert_eq!(sh(&s, &r, "echo runs"), "runs\n");

    let s2 = TestStore::new();
    let platform = if variant.is_empty() {
        format!("linux/{other}")
    } else {
        format!("linux/{other}/{variant}")
    };
    assert_eq!(
        pull_with(&s2, &["--platform", &platform], &r),
        hex(&foreign.config_digest)
    );
    let doc = inspect(&s2, &r);
    assert_eq!(
        (doc["Architecture"].as_str(), doc["Digest"].as_str()),
        (Some(other), Some(foreign.manifest_digest.as_str()))
    );

    let s3 = TestStore::new();
    assert_eq!(
        pull_with(&s3, &["--arch", other], &r),
        hex(&foreign.config_digest)
    );
    let o = try_pull(&s3, &["--arch", "s390x"], &r);
    assert_fails(
        &o,
        125,
        "no image found in manifest list for architecture \"s390x\"",
    );
}
