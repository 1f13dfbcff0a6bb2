//! image-fetcher end to end: push to a real registry (blob mounts across
//! repositories, read back) and the local transports (`oci:`,
//! `docker-archive:`) pulled into a layout.
//!
//! Build first: `cargo build -p image-fetcher` (same CARGO_TARGET_DIR).

#[path = "fetcher_support/mod.rs"]
#[allow(dead_code)]
mod support;

use anyhow::Result;
use e2e::oci_image::{write_blob, ImageBuilder, ImageIndex, OCI_MANIFEST};
use e2e::registry::Registry;
use proto::fetcher::v1::{pull_event, push_event, PushRequest};
use support::*;

#[tokio::test]
async fn push_uploads_once_mounts_across_repos_and_reads_back() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = two_layer_image("pushed\n")?;
    let layout = env.path("layout");
    image.write_oci_layout(&layout, "v1")?;
    let push = |src: String, dest: &str| {
        env.cmd()
            .args(["push", &src, dest, "--tls-verify=false", "--json"])
            .output()
    };
    let dest = format!("docker://{}", registry.reference("pushed/img", "v1"));
    let done = done_json(&push(format!("{}:v1", layout.display()), &dest)?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    assert_eq!(done["blobs_uploaded"], 3);
    let fetched = registry.get_manifest("pushed/img", "v1")?;
    assert_eq!(
        (fetched.body.as_slice(), fetched.media_type.as_str()),
        (image.manifest_bytes.as_slice(), OCI_MANIFEST)
    );
    for (digest, bytes) in image.blobs() {
        assert_eq!(registry.get_blob("pushed/img", digest)?, bytes);
    }
    // Twice: every blob is already there.
    let again = done_json(&push(format!("oci:{}", layout.display()), &dest)?)?;
    assert_eq!(
        (
            again["blobs_uploaded"].as_u64(),
            again["manifest_digest"].as_str()
        ),
        (Some(0), Some(image.manifest_digest.as_str()))
    );

    // A layout pulled from pushed/img, pushed to copy/img over gRPC: the
    // blobs are mounted from pushed/img instead of uploaded.
    let pulled = env.path("pulled");
    let source = registry.reference("pushed/img", "v1");
    done_json(&env.pull(&source, &pulled, &[])?)?;
    let req = PushRequest {
        src_dir: pulled.display().to_string(),
        source,
        destination: registry.reference("copy/img", "latest"),
        tls_verify: Some(false),
        ..Default::default()
    };
    let (events, status) = grpc_push(req).await?;
    assert!(status.is_none(), "{status:?}");
    let mounted: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            push_event::Event::BlobPushed(b) => Some(b.mounted),
            _ => None,
        })
        .collect();
    assert_eq!(mounted, vec![true; 3]);
    assert!(
        matches!(events.last(), Some(push_event::Event::Done(d)) if d.manifest_digest == image.manifest_digest && d.bytes_uploaded == 0)
    );
    assert_eq!(
        registry.get_manifest("copy/img", "latest")?.body,
        image.manifest_bytes
    );

    // An index: every platform manifest, then the index under the tag.
    let (arch, _) = other_arch();
    let index = ImageIndex::oci(vec![
        two_layer_image("a")?,
        ImageBuilder::busybox()?.architecture(arch).build()?,
    ])?;
    let index_layout = env.path("index-layout");
    index.write_oci_layout(&index_layout, "multi")?;
    let done = done_json(&push(
        format!("{}:multi", index_layout.display()),
        &format!("docker://{}", registry.reference("multi/img", "latest")),
    )?)?;
    assert_eq!(done["manifest_digest"], index.digest.as_str());
    assert_eq!(
        registry.get_manifest("multi/img", "latest")?.body,
        index.bytes
    );
    for i in &index.images {
        assert_eq!(
            registry.get_manifest("multi/img", &i.manifest_digest)?.body,
            i.manifest_bytes
        );
    }

    // A corrupt blob in the layout is refused, not pushed.
    let bad = two_layer_image("corrupt me\n")?;
    let bad_layout = env.path("bad-layout");
    bad.write_oci_layout(&bad_layout, "v1")?;
    let mut bytes = bad.layers[1].tar_gz.clone();
    bytes[20] ^= 1;
    write_blob(&bad_layout, &bad.layers[1].digest, &bytes)?;
    let line = error_line(&push(
        format!("{}:v1", bad_layout.display()),
        &format!("docker://{}", registry.reference("bad/img", "v1")),
    )?);
    assert!(
        line.contains(&format!("blob {}", bad.layers[1].digest))
            && line.contains("digest mismatch"),
        "{line}"
    );
    assert!(registry.get_manifest("bad/img", "v1").is_err());
    Ok(())
}

#[tokio::test]
async fn local_transports_pull_into_a_layout() -> Result<()> {
    let env = Env::new()?;
    let image = two_layer_image("local\n")?;
    let layout = env.path("layout");
    image.write_oci_layout(&layout, "v1")?;

    let reference = format!("oci:{}:v1", layout.display());
    let done = done_json(&env.pull(&reference, &env.path("from-oci"), &[])?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(
        &env.path("from-oci"),
        &format!("{}:v1", layout.display()),
        &image.manifest_digest,
    )?;

    let archive = env.path("oci.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&archive)?);
    b.append_dir_all(".", &layout)?;
    b.finish()?;
    drop(b);
    let done = done_json(&env.pull(
        &format!("oci-archive:{}:v1", archive.display()),
        &env.path("from-archive"),
        &[],
    )?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());

    // dir: manifest.json and blobs named by hex.
    let dir = env.path("dir");
    std::fs::create_dir(&dir)?;
    std::fs::write(dir.join("version"), "Directory Transport Version: 1.1\n")?;
    std::fs::write(dir.join("manifest.json"), &image.manifest_bytes)?;
    for (d, bytes) in image.blobs() {
        std::fs::write(dir.join(d.trim_start_matches("sha256:")), bytes)?;
    }
    let done = done_json(&env.pull(
        &format!("dir:{}", dir.display()),
        &env.path("from-dir"),
        &[],
    )?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());

    // docker-archive: an OCI manifest is made, its layers are the
    // uncompressed tars (checked against the config's diff_ids).
    let saved = env.path("saved.tar");
    write_docker_archive(&saved, &image, "localhost/bb:saved")?;
    let dest = env.path("from-docker-archive");
    let mut req = pull_request(
        &format!("docker-archive:{}:localhost/bb:saved", saved.display()),
        &dest,
    );
    req.tls_verify = None;
    let (events, status) = grpc_pull(req).await?;
    assert!(status.is_none(), "{status:?}");
    let pull_event::Event::Resolved(r) = &events[0] else {
        panic!()
    };
    assert_eq!(r.config_digest, image.config_digest);
    assert_eq!(r.source_names, vec!["localhost/bb:saved".to_string()]);
    let layer_digests: Vec<&str> = r.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(
        layer_digests,
        image
            .layers
            .iter()
            .map(|l| l.diff_id.as_str())
            .collect::<Vec<_>>()
    );
    assert!(r.layers.iter().all(|l| l.media_type == OCI_LAYER_TAR));
    verify_layout(
        &dest,
        &format!("{}:localhost/bb:saved", saved.display()),
        &r.manifest_digest,
    )?;

    // A multi-platform layout resolves to this host; unknown refs are named.
    let (arch, _) = other_arch();
    let index = ImageIndex::oci(vec![
        image.clone(),
        ImageBuilder::busybox()?.architecture(arch).build()?,
    ])?;
    let multi = env.path("multi");
    index.write_oci_layout(&multi, "all")?;
    let done = done_json(&env.pull(
        &format!("oci:{}:all", multi.display()),
        &env.path("from-multi"),
        &[],
    )?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    let line = error_line(&env.pull(
        &format!("oci:{}:nope", multi.display()),
        &env.path("x"),
        &[],
    )?);
    assert!(line.contains("no such image in index.json"), "{line}");
    Ok(())
}
