//! image-fetcher end to end: the real binary (CLI face and gRPC over the
//! socketpair transport) against a real docker-registry on loopback.
//!
//! Build first: `cargo build -p image-fetcher` (same CARGO_TARGET_DIR).

#[path = "fetcher_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use e2e::oci_image::{
    busybox_image, host_arch, read_blob, read_index_json, sha256_digest, write_blob, ImageBuilder,
    ImageIndex, LayerBuilder, OCI_MANIFEST,
};
use e2e::registry::Registry;
use proto::fetcher::v1::{
    fetcher_client::FetcherClient, pull_event, push_event, Platform, PushRequest,
};
use support::*;

#[test]
fn cli_pulls_oci_and_docker_schema2_busybox() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let oci = busybox_image()?;
    registry.push("library/busybox", "latest", &oci)?;
    let docker = ImageBuilder::busybox()?.docker_schema2().build()?;
    registry.push("docker/busybox", "v1", &docker)?;

    for (repo, tag, image) in [
        ("library/busybox", "latest", &oci),
        ("docker/busybox", "v1", &docker),
    ] {
        let dest = env.path(&format!("dest-{tag}"));
        let reference = registry.reference(repo, tag);
        let done = done_json(&env.pull(&format!("docker://{reference}"), &dest, &[])?)?;
        assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
        assert_eq!(done["config_digest"], image.config_digest.as_str());
        assert_eq!(done["ref_name"], reference.as_str());
        assert_eq!(done["blobs_copied"], 2);
        verify_layout(&dest, &reference, &image.manifest_digest)?;
        // Stored byte for byte, media type kept.
        assert_eq!(
            read_blob(&dest, &image.manifest_digest)?,
            image.manifest_bytes
        );
        let index = read_index_json(&dest)?;
        assert_eq!(
            index["manifests"][0]["mediaType"],
            image.manifest_media_type.as_str()
        );

        // Again, bare reference: everything is reused, the entry replaced.
        let again = done_json(&env.pull(&reference, &dest, &[])?)?;
        assert_eq!(again["blobs_copied"], 0);
        assert_eq!(
            read_index_json(&dest)?["manifests"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    // Two pulls into one layout at once: both entries survive (index.json is locked).
    let both = env.path("both");
    let pulls: Vec<_> = [
        registry.reference("library/busybox", "latest"),
        registry.reference("docker/busybox", "v1"),
    ]
    .iter()
    .map(|r| {
        env.cmd()
            .args(["pull", r, "--tls-verify=false", "--quiet", "--dest"])
            .arg(&both)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    })
    .collect::<std::io::Result<_>>()?;
    for p in pulls {
        let out = p.wait_with_output()?;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    verify_layout(
        &both,
        &registry.reference("library/busybox", "latest"),
        &oci.manifest_digest,
    )?;
    verify_layout(
        &both,
        &registry.reference("docker/busybox", "v1"),
        &docker.manifest_digest,
    )?;

    // Plain progress lines without --json, digest on stdout.
    let dest = env.path("plain");
    let out = env
        .cmd()
        .args([
            "pull",
            &registry.reference("library/busybox", "latest"),
            "--tls-verify=false",
            "--dest",
        ])
        .arg(&dest)
        .output()?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        oci.manifest_digest
    );
    let err = stderr(&out);
    assert!(
        err.contains("Copying blob")
            && err.contains("Copying config")
            && err.contains("Writing manifest"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn grpc_pull_of_a_multi_layer_image_reports_every_stage() -> Result<()> {
    let registry = Registry::start()?;
    let image = ImageBuilder::busybox()?
        .layer(
            LayerBuilder::new()
                .dir("data", 0o755)
                .file("data/a", "a\n", 0o644)
                .build()?,
        )
        .layer(
            LayerBuilder::new()
                .file("data/b", vec![7u8; 300_000], 0o644)
                .build()?,
        )
        .build()?;
    registry.push("multi/layers", "v2", &image)?;
    let dest = tempfile::tempdir()?;
    let reference = registry.reference("multi/layers", "v2");
    let (events, status) =
        grpc_pull(pull_request(&format!("docker://{reference}"), dest.path())).await?;
    assert!(status.is_none(), "{status:?}");
    let pull_event::Event::Resolved(r) = &events[0] else {
        panic!("first event {:?}", events[0])
    };
    assert_eq!(r.manifest_digest, image.manifest_digest);
    assert_eq!(r.config_digest, image.config_digest);
    assert_eq!(r.index_digest, "");
    assert_eq!(r.ref_name, reference);
    let layers: Vec<&str> = r.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(
        layers,
        image
            .layers
            .iter()
            .map(|l| l.digest.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(r.layers[2].size, image.layers[2].size());
    let done: BTreeSet<String> = reused_of(&events)
        .into_iter()
        .map(|(d, reused)| {
            assert!(!reused);
            d
        })
        .collect();
    let want: BTreeSet<String> = image.blobs().iter().map(|(d, _)| d.to_string()).collect();
    assert_eq!(done, want);
    let Some(pull_event::Event::Done(d)) = events.last() else {
        panic!("last event {:?}", events.last())
    };
    assert_eq!(
        (d.manifest_digest.as_str(), d.config_digest.as_str()),
        (image.manifest_digest.as_str(), image.config_digest.as_str())
    );
    assert!(events.iter().any(
        |e| matches!(e, pull_event::Event::Progress(p) if p.bytes_total == image.layers[0].size())
    ));
    verify_layout(dest.path(), &reference, &image.manifest_digest)?;
    Ok(())
}

#[tokio::test]
async fn index_resolves_to_the_requested_platform() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let (arch, variant) = other_arch();
    let host = ImageBuilder::busybox()?.build()?;
    let mut other = ImageBuilder::busybox()?.architecture(arch);
    if !variant.is_empty() {
        other = other.variant(variant);
    }
    let other = other.build()?;
    let index = ImageIndex::oci(vec![host.clone(), other.clone()])?;
    registry.push_index("multi/bb", "latest", &index)?;
    let list = ImageIndex::docker_manifest_list(vec![
        ImageBuilder::busybox()?.docker_schema2().build()?,
        ImageBuilder::busybox()?
            .architecture(arch)
            .docker_schema2()
            .build()?,
    ])?;
    registry.push_index("multi/docker", "latest", &list)?;
    let reference = registry.reference("multi/bb", "latest");

    // Host platform by default, over gRPC: the index digest is reported.
    let dest = env.path("host");
    let (events, status) = grpc_pull(pull_request(&reference, &dest)).await?;
    assert!(status.is_none(), "{status:?}");
    let pull_event::Event::Resolved(r) = &events[0] else {
        panic!()
    };
    assert_eq!(
        (r.manifest_digest.as_str(), r.index_digest.as_str()),
        (host.manifest_digest.as_str(), index.digest.as_str())
    );
    assert_eq!(
        r.platform.as_ref().map(|p| p.architecture.as_str()),
        Some(host_arch())
    );
    verify_layout(&dest, &reference, &host.manifest_digest)?;
    assert!(
        !has_blob(&dest, &index.digest),
        "the index itself is not stored"
    );

    // --platform picks the other one; gRPC platform too.
    let dest = env.path("other");
    let done =
        done_json(&env.pull(&reference, &dest, &["--platform", &format!("linux/{arch}")])?)?;
    assert_eq!(done["manifest_digest"], other.manifest_digest.as_str());
    verify_layout(&dest, &reference, &other.manifest_digest)?;
    let mut req = pull_request(&reference, &env.path("other-grpc"));
    req.platform = Some(Platform {
        os: "linux".into(),
        architecture: arch.into(),
        variant: String::new(),
    });
    let (events, _) = grpc_pull(req).await?;
    assert!(
        matches!(events.last(), Some(pull_event::Event::Done(d)) if d.manifest_digest == other.manifest_digest)
    );

    // A Docker manifest list works the same way.
    let done = done_json(&env.pull(
        &registry.reference("multi/docker", "latest"),
        &env.path("list"),
        &[],
    )?)?;
    assert_eq!(
        done["manifest_digest"],
        list.images[0].manifest_digest.as_str()
    );

    // No such platform: one clear line, and the gRPC code says why.
    let line = error_line(&env.pull(
        &reference,
        &env.path("none"),
        &["--platform", "linux/s390x"],
    )?);
    assert!(line.contains(&format!("choosing an image from manifest list {reference}: no image found in manifest list for architecture \"s390x\", variant \"\", OS \"linux\"")), "{line}");
    let mut req = pull_request(&reference, &env.path("none-grpc"));
    req.platform = Some(Platform {
        os: "linux".into(),
        architecture: "s390x".into(),
        variant: String::new(),
    });
    let (_, status) = grpc_pull(req).await?;
    assert_eq!(
        status.map(|s| s.code()),
        Some(tonic::Code::FailedPrecondition)
    );
    Ok(())
}

#[tokio::test]
async fn missing_tags_and_bad_references_are_one_line_errors() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    registry.push("library/busybox", "latest", &busybox_image()?)?;
    let dest = env.path("d");
    let line = error_line(&env.pull(&registry.reference("library/busybox", "nope"), &dest, &[])?);
    assert_eq!(
        line,
        format!(
            "Error: image-fetcher: reading manifest nope in {}/library/busybox: manifest unknown",
            registry.addr
        )
    );
    let (_, status) = grpc_pull(pull_request(
        &registry.reference("library/busybox", "nope"),
        &dest,
    ))
    .await?;
    let status = status.context("no error")?;
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(
        status.message().ends_with("manifest unknown"),
        "{}",
        status.message()
    );
    assert!(
        !dest.exists(),
        "nothing is created for an image that was not found"
    );

    let line = error_line(&env.pull("busybox", &dest, &[])?);
    assert!(line.contains("not fully qualified"), "{line}");
    // Without --tls-verify=false a plain-HTTP registry is refused with a hint.
    let out = env
        .cmd()
        .args([
            "pull",
            &registry.reference("library/busybox", "latest"),
            "--dest",
        ])
        .arg(&dest)
        .output()?;
    let line = error_line(&out);
    assert!(
        line.contains("pinging container registry") && line.contains("--tls-verify=false"),
        "{line}"
    );
    Ok(())
}

#[tokio::test]
async fn htpasswd_registry_needs_credentials() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start_with_htpasswd("e2e-user", "s3cret pass")?;
    let image = busybox_image()?;
    registry.push("private/busybox", "latest", &image)?;
    let reference = registry.reference("private/busybox", "latest");

    let line = error_line(&env.pull(&reference, &env.path("anon"), &[])?);
    assert_eq!(line, format!("Error: image-fetcher: reading manifest latest in {}/private/busybox: authentication required: use --creds or podman login", registry.addr));
    let (_, status) = grpc_pull(pull_request(&reference, &env.path("anon-grpc"))).await?;
    assert_eq!(status.map(|s| s.code()), Some(tonic::Code::Unauthenticated));
    let line = error_line(&env.pull(
        &reference,
        &env.path("wrong"),
        &["--creds", "e2e-user:wrong"],
    )?);
    assert!(
        line.contains("authentication failed for \"e2e-user\""),
        "{line}"
    );

    let done = done_json(&env.pull(
        &reference,
        &env.path("creds"),
        &["--creds", "e2e-user:s3cret pass"],
    )?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(&env.path("creds"), &reference, &image.manifest_digest)?;

    // auth.json: by --authfile, by $REGISTRY_AUTH_FILE, and over gRPC.
    let auth = env.path("auth.json");
    let token = e2e::registry_client::base64(b"e2e-user:s3cret pass");
    std::fs::write(
        &auth,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{token}"}}}}}}"#,
            registry.addr
        ),
    )?;
    done_json(&env.pull(
        &reference,
        &env.path("authfile"),
        &["--authfile", auth.to_str().context("utf8")?],
    )?)?;
    let out = env
        .cmd()
        .env("REGISTRY_AUTH_FILE", &auth)
        .args(["pull", &reference, "--tls-verify=false", "--json", "--dest"])
        .arg(env.path("envauth"))
        .output()?;
    done_json(&out)?;
    let mut req = pull_request(&reference, &env.path("grpc-auth"));
    req.auth_file = auth.display().to_string();
    let (_, status) = grpc_pull(req).await?;
    assert!(status.is_none(), "{status:?}");
    verify_layout(&env.path("grpc-auth"), &reference, &image.manifest_digest)?;
    Ok(())
}

#[test]
fn a_corrupted_blob_is_refused_and_never_stored() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = ImageBuilder::busybox()?
        .layer(
            LayerBuilder::new()
                .file("f", vec![1u8; 100_000], 0o644)
                .build()?,
        )
        .build()?;
    registry.push("bad/img", "latest", &image)?;
    // Same size, other bytes, planted in the registry's own storage.
    let layer = &image.layers[1];
    let hex = layer.digest.trim_start_matches("sha256:");
    let data = registry.storage_dir().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    let mut bytes = std::fs::read(&data)?;
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data, &bytes)?;

    let dest = env.path("d");
    let line = error_line(&env.pull(&registry.reference("bad/img", "latest"), &dest, &[])?);
    assert_eq!(
        line,
        format!(
            "Error: image-fetcher: blob {} from {}/bad/img: digest mismatch, got {}",
            layer.digest,
            registry.addr,
            sha256_digest(&bytes)
        )
    );
    assert!(!has_blob(&dest, &layer.digest));
    assert!(!has_blob(&dest, &image.manifest_digest));
    let names: Vec<String> = std::fs::read_dir(&dest)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert_eq!(
        read_index_json(&dest)?["manifests"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    Ok(())
}

#[tokio::test]
async fn sigkill_mid_pull_then_pull_again_reuses_verified_blobs() -> Result<()> {
    let registry = Registry::start()?;
    let big = random_layer(30 << 20)?;
    let image = ImageBuilder::busybox()?.layer(big.clone()).build()?;
    registry.push("big/img", "latest", &image)?;
    let proxy = throttling_proxy(registry.addr.clone())?;
    let dest = tempfile::tempdir()?;

    let mut helper = spawn_fetcher().await?;
    let mut client = FetcherClient::new(helper.channel()?);
    let mut req = pull_request(&format!("127.0.0.1:{proxy}/big/img:latest"), dest.path());
    req.max_concurrent = 1; // config and busybox first, then the big layer
    let mut stream = client.pull(req).await?.into_inner();
    let mut done_before = Vec::new();
    loop {
        let ev = stream
            .message()
            .await?
            .context("stream ended before the big layer was half way")?;
        match ev.event {
            Some(pull_event::Event::BlobDone(b)) => done_before.push(b.digest),
            Some(pull_event::Event::Progress(p))
                if p.digest == big.digest && p.bytes_done > 2 << 20 =>
            {
                break
            }
            _ => {}
        }
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(helper.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    assert!(
        stream.message().await.is_err(),
        "the stream must fail when the fetcher dies"
    );
    drop(client);
    let exit = helper.finish(Duration::from_secs(5)).await?;
    assert!(!exit.success());
    assert!(
        !has_blob(dest.path(), &big.digest),
        "a half-downloaded blob must not be in blobs/"
    );
    assert_eq!(done_before.len(), 2, "{done_before:?}");
    assert!(read_index_json(dest.path())?["manifests"]
        .as_array()
        .is_some_and(|m| m.is_empty()));

    // Straight to the registry this time: only the big layer is downloaded.
    let reference = registry.reference("big/img", "latest");
    let (events, status) = grpc_pull(pull_request(&reference, dest.path())).await?;
    assert!(status.is_none(), "{status:?}");
    for (digest, reused) in reused_of(&events) {
        assert_eq!(reused, digest != big.digest, "{digest}");
    }
    let Some(pull_event::Event::Done(d)) = events.last() else {
        panic!()
    };
    assert_eq!((d.blobs_copied, d.bytes_copied), (1, big.size()));
    verify_layout(dest.path(), &reference, &image.manifest_digest)?;
    Ok(())
}

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

#[test]
fn registries_conf_mirrors_blocked_registries_and_policy_json() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = busybox_image()?;
    registry.push("library/busybox", "latest", &image)?;
    std::fs::write(
        env.path("registries.conf"),
        format!(
            "[[registry]]\nprefix = \"mirrored.invalid\"\nlocation = \"mirrored.invalid\"\n[[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n\n[[registry]]\nlocation = \"blocked.invalid\"\nblocked = true\n",
            registry.addr
        ),
    )?;
    // No --tls-verify: the mirror's `insecure` allows plain HTTP.
    let dest = env.path("d");
    let out = env
        .cmd()
        .args([
            "pull",
            "mirrored.invalid/library/busybox:latest",
            "--json",
            "--dest",
        ])
        .arg(&dest)
        .output()?;
    let done = done_json(&out)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(
        &dest,
        "mirrored.invalid/library/busybox:latest",
        &image.manifest_digest,
    )?;

    let out = env
        .cmd()
        .args(["pull", "docker://blocked.invalid/x:1", "--dest"])
        .arg(&dest)
        .output()?;
    assert_eq!(error_line(&out), "Error: image-fetcher: registry blocked.invalid is blocked in registries.conf (\"blocked.invalid\")");

    // policy.json: reject is refused before any request; other scopes pass.
    let policy = env.path("policy.json");
    std::fs::write(
        &policy,
        format!(
            r#"{{"default":[{{"type":"insecureAcceptAnything"}}],"transports":{{"docker":{{"{}/library":[{{"type":"reject"}}]}}}}}}"#,
            registry.addr
        ),
    )?;
    let policy_arg = policy.to_str().context("utf8")?;
    let rejected = registry.reference("library/busybox", "latest");
    let line = error_line(&env.pull(
        &rejected,
        &env.path("p1"),
        &["--signature-policy", policy_arg],
    )?);
    assert_eq!(line, format!("Error: image-fetcher: source image rejected: docker:{rejected}: rejected by policy (policy {policy_arg})"));
    registry.push("other/busybox", "latest", &image)?;
    done_json(&env.pull(
        &registry.reference("other/busybox", "latest"),
        &env.path("p2"),
        &["--signature-policy", policy_arg],
    )?)?;
    Ok(())
}

/// Basic credentials reach the registry and nothing else: a blob redirect
/// to another host (127.0.0.2, the "CDN") carries no Authorization, and a
/// 401 with a Basic challenge from that host neither receives the
/// credentials nor replaces the registry's challenge.
#[test]
fn credentials_never_follow_a_redirect_to_another_host() -> Result<()> {
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = busybox_image()?;
    registry.push("private/cdn", "latest", &image)?;
    let creds = ["--creds", "cdn-user:cdn pass"];

    let (port, cdn_log) = cdn_front(registry.addr.clone(), "cdn-user", "cdn pass", false)?;
    let reference = format!("127.0.0.1:{port}/private/cdn:latest");
    let dest = env.path("ok");
    let done = done_json(&env.pull(&reference, &dest, &creds)?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(&dest, &reference, &image.manifest_digest)?;
    let seen = cdn_log
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert!(!seen.is_empty(), "no blob went through the CDN");
    assert!(seen.iter().all(|(_, auth)| auth.is_empty()), "{seen:?}");

    let (port, cdn_log) = cdn_front(registry.addr.clone(), "cdn-user", "cdn pass", true)?;
    let reference = format!("127.0.0.1:{port}/private/cdn:latest");
    let out = env.pull(&reference, &env.path("hostile"), &creds)?;
    assert!(!out.status.success());
    let line = error_line(&out);
    assert!(
        line.contains("HTTP 401 Unauthorized from 127.0.0.2:")
            && line.contains("where the registry redirected us (credentials are never sent there)"),
        "{line}"
    );
    let seen = cdn_log
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert!(!seen.is_empty(), "the CDN was never asked");
    assert!(seen.iter().all(|(_, auth)| auth.is_empty()), "{seen:?}");
    Ok(())
}

#[test]
fn bearer_token_auth_asks_the_realm_with_basic_credentials_and_follows_blob_redirects() -> Result<()>
{
    let env = Env::new()?;
    let registry = Registry::start()?;
    let image = busybox_image()?;
    registry.push("private/bb", "latest", &image)?;
    let (port, tokens) = bearer_front(registry.addr.clone(), "tok-user", "tok pass")?;
    let reference = format!("127.0.0.1:{port}/private/bb:latest");

    let line = error_line(&env.pull(&reference, &env.path("anon"), &[])?);
    assert_eq!(line, format!("Error: image-fetcher: reading manifest latest in 127.0.0.1:{port}/private/bb: authentication required: use --creds or podman login"));
    let line = error_line(&env.pull(
        &reference,
        &env.path("wrong"),
        &["--creds", "tok-user:nope"],
    )?);
    assert!(
        line.contains("authentication failed for \"tok-user\": incorrect username or password"),
        "{line}"
    );

    let dest = env.path("ok");
    let done = done_json(&env.pull(&reference, &dest, &["--creds", "tok-user:tok pass"])?)?;
    assert_eq!(done["manifest_digest"], image.manifest_digest.as_str());
    verify_layout(&dest, &reference, &image.manifest_digest)?;
    let log = tokens
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let granted: Vec<_> = log.iter().filter(|(_, _, ok)| *ok).collect();
    // One token for the pull scope, reused for the manifest and every blob.
    assert_eq!(granted.len(), 1, "{log:?}");
    assert_eq!(
        (granted[0].0.as_str(), granted[0].1.as_str()),
        ("e2e", "repository:private/bb:pull")
    );
    Ok(())
}
