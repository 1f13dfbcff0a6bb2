//! Tests of the end-to-end fixtures themselves: layers, images, OCI layouts
//! and the real registry.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use e2e::oci_image::{
    build_busybox_layer, busybox_image, busybox_layer, digest_hex, host_arch, read_blob,
    read_index_json, sha256_digest, write_blob, Entry, EntryKind, ImageBuilder, ImageIndex,
    LayerBuilder, DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST,
    OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, REF_NAME_ANNOTATION, REQUIRED_APPLETS,
};
use e2e::registry::Registry;
use e2e::registry_client::{base64, upload_url};
use serde_json::Value;

fn by_path(entries: Vec<Entry>) -> BTreeMap<String, Entry> {
    entries.into_iter().map(|e| (e.path.clone(), e)).collect()
}

#[test]
fn busybox_layer_has_binary_applets_and_etc() -> Result<()> {
    let layer = busybox_layer()?;
    assert_eq!(layer.digest, sha256_digest(&layer.tar_gz));
    assert_eq!(layer.diff_id, sha256_digest(&layer.tar()?));
    assert_ne!(layer.digest, layer.diff_id);

    let entries = by_path(layer.entries()?);
    let busybox = &entries["bin/busybox"];
    assert_eq!(busybox.mode, 0o755);
    assert_eq!((busybox.uid, busybox.gid), (0, 0));
    assert_eq!(
        busybox.kind,
        EntryKind::File(std::fs::read("/usr/bin/busybox")?)
    );
    for applet in REQUIRED_APPLETS {
        let entry = entries
            .get(&format!("bin/{applet}"))
            .with_context(|| format!("no {applet}"))?;
        assert_eq!(
            entry.kind,
            EntryKind::Symlink("busybox".into()),
            "bin/{applet}"
        );
    }
    assert_eq!(entries["tmp"].kind, EntryKind::Dir);
    assert_eq!(entries["tmp"].mode, 0o1777);
    for dir in ["etc", "proc", "sys", "dev", "root", "var", "bin"] {
        assert_eq!(entries[dir].kind, EntryKind::Dir, "{dir}");
    }
    let EntryKind::File(passwd) = &entries["etc/passwd"].kind else {
        panic!("passwd not a file")
    };
    let passwd = String::from_utf8(passwd.clone())?;
    assert!(passwd.starts_with("root:x:0:0:"), "{passwd}");
    assert!(passwd.contains("\nnobody:x:65534:65534:"), "{passwd}");
    assert!(matches!(entries["etc/group"].kind, EntryKind::File(_)));

    // Parents come before children in the archive.
    let order: Vec<String> = layer.entries()?.into_iter().map(|e| e.path).collect();
    let pos = |p: &str| order.iter().position(|x| x == p);
    assert!(pos("bin") < pos("bin/busybox") && pos("etc") < pos("etc/passwd"));
    Ok(())
}

#[test]
fn layers_are_deterministic() -> Result<()> {
    let first = build_busybox_layer()?;
    let second = build_busybox_layer()?;
    assert_eq!(first.digest, second.digest);
    assert_eq!(first.diff_id, second.diff_id);
    assert_eq!(first, busybox_layer()?);

    // Insertion order does not matter.
    let a = LayerBuilder::new()
        .dir("a", 0o755)
        .file("a/x", "x", 0o600)
        .symlink("b", "a")
        .build()?;
    let b = LayerBuilder::new()
        .symlink("b", "a")
        .file("a/x", "x", 0o600)
        .dir("a", 0o755)
        .build()?;
    assert_eq!(a.digest, b.digest);
    let c = LayerBuilder::new()
        .dir("a", 0o755)
        .file("a/x", "y", 0o600)
        .symlink("b", "a")
        .build()?;
    assert_ne!(a.digest, c.digest);

    assert_eq!(
        busybox_image()?.manifest_digest,
        busybox_image()?.manifest_digest
    );
    Ok(())
}

#[test]
fn layer_builder_writes_whiteouts_links_and_owners() -> Result<()> {
    let layer = LayerBuilder::new()
        .dir("/etc", 0o755)
        .hardlink("etc/hosts-link", "/etc/hosts")
        .file("/etc/hosts", "127.0.0.1 localhost\n", 0o640)
        .whiteout("/etc/motd")
        .opaque("/var/cache/")
        .whiteout("top")
        .entry(Entry::file("home/user/f", "u", 0o600).owner(1000, 1001))
        .build()?;
    let entries = layer.entries()?;
    // The hardlink comes after its target.
    assert_eq!(
        entries.last().map(|e| e.path.as_str()),
        Some("etc/hosts-link")
    );
    let map = by_path(entries);
    assert_eq!(
        map["etc/hosts-link"].kind,
        EntryKind::Hardlink("etc/hosts".into())
    );
    assert_eq!(map["etc/hosts-link"].mode, 0o640);
    assert_eq!(map["etc/.wh.motd"].kind, EntryKind::File(Vec::new()));
    assert_eq!(
        map["var/cache/.wh..wh..opq"].kind,
        EntryKind::File(Vec::new())
    );
    assert!(map.contains_key(".wh.top"));
    assert_eq!(
        (map["home/user/f"].uid, map["home/user/f"].gid),
        (1000, 1001)
    );

    assert!(LayerBuilder::new()
        .file("a", "", 0o644)
        .file("/a", "", 0o644)
        .build()
        .is_err());
    assert!(LayerBuilder::new().file("../x", "", 0o644).build().is_err());
    assert!(LayerBuilder::new()
        .hardlink("x", "missing")
        .build()
        .is_err());
    Ok(())
}

#[test]
fn image_config_and_manifest() -> Result<()> {
    let image = busybox_image()?;
    let config: Value = serde_json::from_slice(&image.config_bytes)?;
    assert_eq!(config, image.config);
    assert_eq!(image.config_digest, sha256_digest(&image.config_bytes));
    assert_eq!(image.manifest_digest, sha256_digest(&image.manifest_bytes));
    assert_eq!(config["architecture"], host_arch());
    if cfg!(target_arch = "x86_64") {
        assert_eq!(host_arch(), "amd64");
    }
    assert_eq!(config["os"], "linux");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
    assert!(config["config"]["Env"][0]
        .as_str()
        .unwrap_or("")
        .starts_with("PATH=/"));
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        image.layers[0].diff_id.as_str()
    );
    assert_eq!(config["history"].as_array().map(Vec::len), Some(1));
    assert!(config["created"].is_string());

    let manifest: Value = serde_json::from_slice(&image.manifest_bytes)?;
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], OCI_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], OCI_CONFIG);
    assert_eq!(manifest["config"]["digest"], image.config_digest.as_str());
    assert_eq!(manifest["config"]["size"], image.config_bytes.len());
    assert_eq!(manifest["layers"][0]["mediaType"], OCI_LAYER_GZIP);
    assert_eq!(
        manifest["layers"][0]["digest"],
        image.layers[0].digest.as_str()
    );
    assert_eq!(manifest["layers"][0]["size"], image.layers[0].tar_gz.len());

    let extra = LayerBuilder::new()
        .dir("data", 0o755)
        .file("data/a", "a\n", 0o644)
        .build()?;
    let docker = ImageBuilder::busybox()?
        .layer(extra.clone())
        .layer_from_entries([Entry::whiteout("data/a")])?
        .entrypoint(&["/bin/sh", "-c"])
        .env("FOO", "bar")
        .env("FOO", "baz")
        .user("nobody")
        .working_dir("/data")
        .label("fixture", "yes")
        .expose("8080/tcp")
        .docker_schema2()
        .build()?;
    let manifest: Value = serde_json::from_slice(&docker.manifest_bytes)?;
    assert_eq!(manifest["mediaType"], DOCKER_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], DOCKER_CONFIG);
    assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(3));
    assert_eq!(manifest["layers"][1]["mediaType"], DOCKER_LAYER_GZIP);
    assert_eq!(manifest["layers"][1]["digest"], extra.digest.as_str());
    let c = &docker.config["config"];
    assert_eq!(
        c["Env"]
            .as_array()
            .map(|e| e.iter().filter(|v| *v == "FOO=baz").count()),
        Some(1)
    );
    assert!(!c["Env"]
        .as_array()
        .is_some_and(|e| e.iter().any(|v| v == "FOO=bar")));
    assert_eq!(c["User"], "nobody");
    assert_eq!(c["WorkingDir"], "/data");
    assert_eq!(c["Labels"]["fixture"], "yes");
    assert!(c["ExposedPorts"]["8080/tcp"].is_object());
    assert_eq!(
        docker.config["rootfs"]["diff_ids"].as_array().map(Vec::len),
        Some(3)
    );
    Ok(())
}

#[test]
fn oci_layout_on_disk_has_valid_blobs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let image = busybox_image()?;
    image.write_oci_layout(dir.path(), "latest")?;
    image.write_oci_layout(dir.path(), "latest")?; // replaces, not duplicates
    let second = ImageBuilder::busybox()?.label("v", "2").build()?;
    second.write_oci_layout(dir.path(), "v2")?;

    let layout: Value = serde_json::from_slice(&std::fs::read(dir.path().join("oci-layout"))?)?;
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
    let index = read_index_json(dir.path())?;
    assert_eq!(index["schemaVersion"], 2);
    let manifests = index["manifests"].as_array().context("manifests")?;
    assert_eq!(manifests.len(), 2);
    assert_eq!(manifests[0]["annotations"][REF_NAME_ANNOTATION], "latest");
    assert_eq!(manifests[0]["digest"], image.manifest_digest.as_str());
    assert_eq!(manifests[0]["mediaType"], OCI_MANIFEST);
    assert_eq!(manifests[0]["size"], image.manifest_bytes.len());
    assert_eq!(manifests[1]["annotations"][REF_NAME_ANNOTATION], "v2");

    // Every blob is named after the sha256 of its content.
    let blobs = dir.path().join("blobs/sha256");
    let mut names = Vec::new();
    for file in std::fs::read_dir(&blobs)? {
        let file = file?;
        let name = file.file_name().to_string_lossy().into_owned();
        assert_eq!(
            sha256_digest(&std::fs::read(file.path())?),
            format!("sha256:{name}")
        );
        names.push(name);
    }
    // Shared busybox layer stored once: layer + 2 configs + 2 manifests.
    assert_eq!(names.len(), 5, "{names:?}");

    // The manifest blob references blobs that exist with the right sizes.
    let manifest: Value = serde_json::from_slice(&read_blob(dir.path(), &image.manifest_digest)?)?;
    let mut descriptors = vec![manifest["config"].clone()];
    descriptors.extend(
        manifest["layers"]
            .as_array()
            .context("layers")?
            .iter()
            .cloned(),
    );
    for d in descriptors {
        let hex = digest_hex(d["digest"].as_str().context("digest")?)?;
        assert_eq!(
            std::fs::metadata(blobs.join(hex))?.len(),
            d["size"].as_u64().context("size")?
        );
    }

    // An index in a layout.
    let index_dir = tempfile::tempdir()?;
    let multi = ImageIndex::oci(vec![image, second])?;
    multi.write_oci_layout(index_dir.path(), "multi")?;
    let index: Value =
        serde_json::from_slice(&std::fs::read(index_dir.path().join("index.json"))?)?;
    assert_eq!(index["manifests"][0]["mediaType"], OCI_INDEX);
    assert_eq!(index["manifests"][0]["digest"], multi.digest.as_str());
    assert_eq!(read_blob(index_dir.path(), &multi.digest)?, multi.bytes);
    for image in &multi.images {
        assert_eq!(
            read_blob(index_dir.path(), &image.manifest_digest)?,
            image.manifest_bytes
        );
    }

    // read_blob notices a corrupt blob.
    write_blob(index_dir.path(), &multi.digest, b"corrupt")?;
    assert!(read_blob(index_dir.path(), &multi.digest).is_err());
    Ok(())
}

#[test]
fn digest_helpers() {
    assert!(digest_hex("sha256:abc").is_err());
    assert!(digest_hex("sha256:").is_err());
    assert!(digest_hex(&"a".repeat(64)).is_err());
    assert!(digest_hex(&format!("sha256:{}", "A".repeat(64))).is_err());
    assert!(digest_hex(&format!("sha256:{}/..", "a".repeat(62))).is_err());
    assert_eq!(digest_hex(&sha256_digest(b"")).ok().map(str::len), Some(64));
    assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    assert_eq!(base64(b"a"), "YQ==");
    assert_eq!(base64(b"ab"), "YWI=");
    let d = "sha256:00";
    assert_eq!(
        upload_url("http://h:1", "/v2/r/blobs/uploads/u", d),
        "http://h:1/v2/r/blobs/uploads/u?digest=sha256%3A00"
    );
    assert_eq!(
        upload_url("http://h:1", "http://h:1/u?_state=x", d),
        "http://h:1/u?_state=x&digest=sha256%3A00"
    );
}

#[test]
fn registry_push_and_fetch_busybox() -> Result<()> {
    let registry = Registry::start()?;
    assert!(registry.addr.starts_with("127.0.0.1:"));
    assert_eq!(registry.anonymous_client().ping()?, 200);
    let image = busybox_image()?;
    let digest = registry.push("library/busybox", "latest", &image)?;
    assert_eq!(digest, image.manifest_digest);

    let fetched = registry.get_manifest("library/busybox", "latest")?;
    assert_eq!(fetched.media_type, OCI_MANIFEST);
    assert_eq!(
        fetched.digest_header.as_deref(),
        Some(image.manifest_digest.as_str())
    );
    assert_eq!(fetched.digest(), image.manifest_digest);
    assert_eq!(fetched.body, image.manifest_bytes);
    let by_digest = registry.get_manifest("library/busybox", &image.manifest_digest)?;
    assert_eq!(by_digest.body, image.manifest_bytes);

    for (digest, bytes) in image.blobs() {
        let blob = registry.get_blob("library/busybox", digest)?;
        assert_eq!(sha256_digest(&blob), digest);
        assert_eq!(blob, bytes);
    }
    assert_eq!(
        registry.client().list_tags("library/busybox")?,
        vec!["latest".to_string()]
    );

    // Pushing again skips existing blobs and yields the same digest.
    let client = registry.client();
    assert!(!client.push_blob(
        "library/busybox",
        &image.layers[0].digest,
        &image.layers[0].tar_gz
    )?);
    assert_eq!(registry.push("library/busybox", "again", &image)?, digest);

    // A Docker schema 2 variant of a multi-layer image.
    let docker = ImageBuilder::busybox()?
        .layer(LayerBuilder::new().file("hello", "hi\n", 0o644).build()?)
        .docker_schema2()
        .build()?;
    registry.push("other/img", "v1", &docker)?;
    let fetched = registry.get_manifest("other/img", "v1")?;
    assert_eq!(fetched.media_type, DOCKER_MANIFEST);
    assert_eq!(fetched.digest(), docker.manifest_digest);
    assert!(registry.get_manifest("other/img", "missing").is_err());

    client.delete_manifest("other/img", &docker.manifest_digest)?;
    assert!(registry
        .get_manifest("other/img", &docker.manifest_digest)
        .is_err());
    Ok(())
}

#[test]
fn registry_push_two_platform_index() -> Result<()> {
    let registry = Registry::start()?;
    let amd64 = ImageBuilder::busybox()?.architecture("amd64").build()?;
    let arm64 = ImageBuilder::busybox()?
        .architecture("arm64")
        .variant("v8")
        .build()?;
    assert_ne!(amd64.manifest_digest, arm64.manifest_digest);
    let index = ImageIndex::oci(vec![amd64.clone(), arm64.clone()])?;
    let digest = registry.push_index("multi/busybox", "latest", &index)?;
    assert_eq!(digest, index.digest);

    let fetched = registry.get_manifest("multi/busybox", "latest")?;
    assert_eq!(fetched.media_type, OCI_INDEX);
    assert_eq!(
        fetched.digest_header.as_deref(),
        Some(index.digest.as_str())
    );
    assert_eq!(fetched.digest(), index.digest);
    let json = fetched.json()?;
    let manifests = json["manifests"].as_array().context("manifests")?;
    assert_eq!(manifests.len(), 2);
    assert_eq!(manifests[0]["platform"]["architecture"], "amd64");
    assert_eq!(manifests[0]["platform"]["os"], "linux");
    assert_eq!(manifests[1]["platform"]["architecture"], "arm64");
    assert_eq!(manifests[1]["platform"]["variant"], "v8");
    for (descriptor, image) in manifests.iter().zip([&amd64, &arm64]) {
        let reference = descriptor["digest"].as_str().context("digest")?;
        let platform = registry.get_manifest("multi/busybox", reference)?;
        assert_eq!(platform.body, image.manifest_bytes);
        let config = registry.get_blob("multi/busybox", &image.config_digest)?;
        let config: Value = serde_json::from_slice(&config)?;
        assert_eq!(
            config["architecture"],
            descriptor["platform"]["architecture"]
        );
    }

    // A Docker manifest list of schema 2 images.
    let list = ImageIndex::docker_manifest_list(vec![
        ImageBuilder::busybox()?
            .architecture("amd64")
            .docker_schema2()
            .build()?,
        ImageBuilder::busybox()?
            .architecture("arm64")
            .docker_schema2()
            .build()?,
    ])?;
    registry.push_index("multi/docker", "latest", &list)?;
    let fetched = registry.get_manifest("multi/docker", "latest")?;
    assert_eq!(fetched.media_type, DOCKER_MANIFEST_LIST);
    assert_eq!(fetched.digest(), list.digest);
    Ok(())
}

#[test]
fn htpasswd_registry_requires_credentials() -> Result<()> {
    let registry = Registry::start_with_htpasswd("e2e-user", "s3cret pass")?;
    assert_eq!(registry.credentials(), Some(("e2e-user", "s3cret pass")));
    let anonymous = registry.anonymous_client();
    assert_eq!(anonymous.ping()?, 401);
    let wrong = registry
        .anonymous_client()
        .with_basic_auth("e2e-user", "wrong");
    assert_eq!(wrong.ping()?, 401);
    assert_eq!(registry.client().ping()?, 200);

    let image = busybox_image()?;
    let err = anonymous.push_image("private/busybox", "latest", &image);
    assert!(format!("{:#}", err.err().context("anonymous push succeeded")?).contains("401"));

    let digest = registry.push("private/busybox", "latest", &image)?;
    assert_eq!(digest, image.manifest_digest);
    assert_eq!(
        registry.get_manifest("private/busybox", "latest")?.digest(),
        digest
    );
    assert!(anonymous.get_manifest("private/busybox", "latest").is_err());
    Ok(())
}

#[test]
fn registry_process_is_reaped_on_drop() -> Result<()> {
    let registry = Registry::start()?;
    let pid = registry.pid();
    let dir = registry.dir().to_path_buf();
    assert!(registry.storage_dir().is_dir());
    drop(registry);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "registry {pid} survived"
    );
    assert!(!dir.exists());
    Ok(())
}
