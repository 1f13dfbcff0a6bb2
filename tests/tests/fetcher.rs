//! image-fetcher end to end: the real binary (CLI face and gRPC over the
//! socketpair transport) pulling from a real docker-registry on loopback:
//! schemes, platforms, errors, corrupt blobs, and a pull killed midway.
//! Authentication and registries.conf are in fetcher_auth.rs, push and the
//! local transports in fetcher_transports.rs.
//!
//! Build first: `cargo build -p image-fetcher` (same CARGO_TARGET_DIR).

#[path = "fetcher_support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use e2e::oci_image::{
    busybox_image, host_arch, read_blob, read_index_json, sha256_digest, ImageBuilder, ImageIndex,
    LayerBuilder,
};
use e2e::registry::Registry;
use proto::fetcher::v1::{fetcher_client::FetcherClient, pull_event, Platform};
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
